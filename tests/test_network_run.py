"""A run on a distribution network, end to end: the chain clears with use-of-system charges and
congestion management, the DSO collects the charges, and the outputs agree with each other, with
the chain and with the rules (docs/network.md)."""

from __future__ import annotations

import contextlib
import copy
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from experiments.cli import main
from ledger.verify import verify_store
from model.job import simulate
from model.scenario import bundled, load

TOL = 2e-3
PAPER = yaml.safe_load(bundled()["paper-4dn"].read_text())
NETWORK = {"case": "case33bw", "buses": {"DN1": 17, "DN2": 32, "DN3": 24, "DN4": 6},
           "line_limits": {"base_flow_multiple": 1.5}}


def _scenario(tmp_path: Path, name: str = "on-feeder", **network) -> Path:
    data = copy.deepcopy(PAPER)
    data["name"] = name
    data["network"] = {**NETWORK, **network}
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture(scope="module")
def feeder_run(tmp_path_factory) -> Path:
    """The CLI's run of the paper's DNOs on case33bw (seed 0); its stdout is kept beside the outputs."""
    tmp = tmp_path_factory.mktemp("feeder")
    out, printed = tmp / "out", io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["run", str(_scenario(tmp)), "--out", str(out), "--seed", "0"]) == 0
    (tmp / "stdout.txt").write_text(printed.getvalue())
    return out


def _csv(out: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(out / f"{name}.csv")


def _summary(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text())


def test_network_outputs_have_one_row_per_hour_and_line_or_bus(feeder_run):
    network, buses = _csv(feeder_run, "network"), _csv(feeder_run, "buses")
    assert list(network.columns) == ["day", "hour", "line", "from_bus", "to_bus", "flow_mw", "limit_mw",
                                     "loading_pct", "congested"]
    assert list(buses.columns) == ["day", "hour", "bus", "p_mw", "v_pu"]
    assert len(network) == 24 * 32 and len(buses) == 24 * 33  # case33bw's tie lines are out of service
    assert set(network.line) == set(range(32))
    hourly = _csv(feeder_run, "hourly")
    for (day, hour), rows in buses.groupby(["day", "hour"]):  # the DNOs' deviations are the injections
        dev = hourly[(hourly.day == day) & (hourly.hour == hour)]
        assert rows.p_mw.sum() == pytest.approx((dev.supply_mwh - dev.demand_mwh).sum(), abs=1e-5)
        assert rows.set_index("bus").p_mw[17] == pytest.approx(
            float((dev[dev.dno == "DN1"].supply_mwh - dev[dev.dno == "DN1"].demand_mwh).iloc[0]), abs=1e-5)


def test_charges_are_rate_times_distance_and_money_balances_with_the_dso(feeder_run, tmp_path):
    scenario = load(str(_scenario(tmp_path)))
    net = scenario.network.market_network
    trades = _csv(feeder_run, "trades")
    p2p = trades[trades.kind == "p2p"]
    assert len(p2p) > 0
    for t in p2p.itertuples():
        assert (t.seller_bus, t.buyer_bus) == (NETWORK["buses"][t.seller], NETWORK["buses"][t.buyer])
        assert t.distance == pytest.approx(net.distance(t.seller, t.buyer), abs=1e-6)
        assert t.uos_per_mwh == pytest.approx(net.rate * t.distance, abs=1e-5)
    assert trades[trades.kind == "grid"].uos_per_mwh.isna().all()
    summary, settle = _summary(feeder_run), _csv(feeder_run, "settlement")
    charged = float((p2p.uos_per_mwh * p2p.quantity_mwh).sum())
    assert charged > 0 and summary["network"]["uos_collected_rmb"] == pytest.approx(charged, abs=TOL)
    assert settle.uos_rmb.sum() == pytest.approx(charged, abs=TOL)
    assert summary["outcomes"]["network_charges_rmb"] == pytest.approx(charged, abs=TOL)
    total = (settle.revenue_rmb.sum() + summary["main_grid_net_rmb"] + summary["platform"]["net_rmb"]
             + summary["network"]["uos_collected_rmb"])
    assert total == pytest.approx(0.0, abs=TOL)


def test_the_ledger_replays_the_network_clearing(feeder_run):
    report = verify_store(str(feeder_run / "ledger.sqlite"))
    assert report.ok, report.summary()


def test_management_leaves_no_linear_congestion_and_the_flags_match_the_summary(feeder_run):
    network, summary = _csv(feeder_run, "network"), _summary(feeder_run)["network"]
    assert summary["congested_line_hours_before"] == int(network.congested.sum())
    assert summary["congested_line_hours_before"] > 0
    assert summary["congested_line_hours_after"] == 0  # greedy management, the default
    assert summary["curtailed_mwh"] > 0
    converged = network.dropna(subset=["loading_pct"])
    assert summary["worst_loading_pct"] == pytest.approx(converged.loading_pct.max(), abs=1e-3)
    assert summary["ac_overloaded_line_hours"] == int((converged.loading_pct > 100).sum())


def test_without_management_the_congestion_stays_and_more_trades(feeder_run, tmp_path):
    off = simulate(load(str(_scenario(tmp_path, congestion="off"))), 0).summary
    managed = _summary(feeder_run)
    assert off["network"]["congested_line_hours_after"] == off["network"]["congested_line_hours_before"]
    assert off["network"]["congested_line_hours_after"] > 0 and off["network"]["curtailed_mwh"] == 0
    assert off["p2p_volume_mwh"] > managed["p2p_volume_mwh"]
    assert np.isfinite(off["network"]["losses_mwh"])


def test_run_prints_what_the_ac_power_flow_found_that_the_linear_check_missed(feeder_run):
    printed = (feeder_run.parent / "stdout.txt").read_text()
    missed = _summary(feeder_run)["network"]["ac_missed_by_linear"]
    assert missed["line_hours"] > 0
    assert f"network: {missed['line_hours']} line-hours over their limit" in printed


def test_the_dso_is_an_agent_with_the_documented_frame(tmp_path):
    import storagemarket as sm
    from test_api import documented_columns

    result = simulate(load(str(_scenario(tmp_path))), 0)
    frame = sm.agent_frames(result)["NetworkOperator"]
    assert list(frame.columns) == documented_columns()["NetworkOperator"]
    assert frame.index.get_level_values(0).max() == 24
    assert frame.uos_rmb.iloc[-1] == pytest.approx(result.summary["network"]["uos_collected_rmb"], abs=1e-6)
    assert frame.uos_rmb.is_monotonic_increasing


def test_a_network_run_may_run_again_into_its_own_folder(feeder_run):
    from model.out_dir import check

    check(feeder_run, "on-feeder")  # network.csv and buses.csv are a run's own files: no error
