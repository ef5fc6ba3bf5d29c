"""The `vcg` stage through the model and the chain: the ledger verifies, money balances with the
market operator's deficit, vcg.csv agrees with settlement.csv and summary.json, the real-time
window is checked (a warning, timings only), and the same seed writes the same bytes."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json

import pandas as pd
import pytest

from experiments.cli import main

ARGS = ["--seed", "4", "--set", "design.real_time.stage=vcg", "--set", "design.real_time.window_s=0.000001"]


def _run(out):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()) as printed:
        assert main(["run", "paper-4dn", "--out", str(out), *ARGS]) == 0
    return out, err.getvalue() + printed.getvalue()


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("vcg") / "run")


def test_the_deficit_is_the_operators_and_money_balances(run):
    out, _ = run
    assert main(["ledger", "verify", str(out / "ledger.sqlite")]) == 0
    summary = json.loads((out / "summary.json").read_text())
    settle, vcg = pd.read_csv(out / "settlement.csv"), pd.read_csv(out / "vcg.csv")
    deficit = summary["vcg"]["deficit_rmb"]
    assert deficit > 0 and summary["platform"]["top_ups_paid_rmb"] == pytest.approx(deficit)
    assert settle.top_up_rmb.sum() == pytest.approx(deficit)
    assert vcg.receipt_rmb.sum() - vcg.payment_rmb.sum() == pytest.approx(deficit, abs=1e-6)
    assert (vcg.utility_rmb >= -1e-9).all()  # truthful reports never lose
    total = settle.revenue_rmb.sum() + summary["main_grid_net_rmb"] + summary["platform"]["net_rmb"]
    assert total == pytest.approx(0.0, abs=1e-6)
    assert summary["outcomes"]["operator_balance_rmb"] == pytest.approx(summary["platform"]["net_rmb"])
    assert "VCG: the operator&#x27;s deficit" in (out / "report.html").read_text()  # the deficit by hour, drawn


def test_an_hour_beyond_the_window_is_named_in_timings_only(run, tmp_path):
    out, printed = run
    timings = json.loads((out / "timings.json").read_text())
    assert timings["clearing_max_seconds"] > 0.000001
    assert f"the clearing of day {timings['clearing_max_day']} hour {timings['clearing_max_hour']} took" in printed
    summary = (out / "summary.json").read_text()
    assert "clearing_max" not in summary and " took " not in summary  # byte-reproducible outputs never see wall time
    again, _ = _run(tmp_path / "again")
    for name in ("vcg.csv", "trades.csv", "settlement.csv", "summary.json", "report.html", "ledger.sqlite"):
        digest = [hashlib.sha256((folder / name).read_bytes()).hexdigest() for folder in (out, again)]
        assert digest[0] == digest[1], name


def test_a_stage_that_does_not_clear_on_a_network_is_refused_with_one():
    from model.scenario import ScenarioError, load

    with pytest.raises(ScenarioError, match="design.real_time.stage: vcg does not trade on a distribution network"):
        load("feeder-33bus", ["design.real_time.stage=vcg"])
