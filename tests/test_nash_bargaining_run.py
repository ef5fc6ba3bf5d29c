"""The cooperative design through model and chain (§B.1): the coalition's day by ADMM with a
shared storage station, the Nash split computed again by the contract, the station checked on
chain and paid its fees, money balanced, the ledger verified, the same bytes from the same seed."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from experiments.cli import main
from ledger.service import MarketLedger
from market.design import Design
from market.shared_storage import SharedStorage

STATION = "shared_storage={operator: Shared Co, energy_mwh: 40, power_mw: 10, fee_per_mwh: 5}"
ARGS = ["run", "paper-4dn", "--set", "design.coordination.stage=nash_bargaining", "--set", STATION]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("nash") / "run"
    assert main([*ARGS, "--out", str(out)]) == 0
    return out


def test_the_coalition_reaches_the_central_optimum_and_splits_its_saving_equally(run):
    summary = json.loads((run / "summary.json").read_text())
    b = summary["bargaining"]
    assert b["converged_days"] == 1 and b["cost_gap_share"] <= 1e-3  # ADMM against the central P1
    assert b["saving_rmb"] > 0 and b["violation_mwh"] <= 0.1
    split = pd.read_csv(run / "bargaining.csv")  # written to 6 decimals: sums of 4 values agree to 1e-5
    assert split.payment_rmb.sum() == pytest.approx(0.0, abs=1e-5)
    assert (split.final_cost_rmb <= split.standalone_cost_rmb + 1e-6).all()  # nobody worse off than alone
    assert split.gain_rmb.max() - split.gain_rmb.min() == pytest.approx(0.0, abs=1e-5)  # symmetric
    assert split.gain_rmb.sum() == pytest.approx(b["saving_rmb"], abs=1e-5)
    admm = pd.read_csv(run / "admm.csv")
    assert len(admm) == b["iterations"] and (admm.primal_residual_mwh >= 0).all()


def test_the_chain_accepted_the_split_and_paid_the_station(run):
    assert main(["ledger", "verify", str(run / "ledger.sqlite")]) == 0
    summary = json.loads((run / "summary.json").read_text())
    assert summary["agreements"] == {"accepted": 1, "refused": [], "refused_submissions": [], "incomplete_days": []}
    split = pd.read_csv(run / "bargaining.csv").set_index("dno")
    settle = pd.read_csv(run / "settlement.csv")
    assert summary["bargaining"]["station_fees_rmb"] > 0
    # what each DNO was paid on chain is the split (payments received are minus what it pays)
    outcomes = summary["outcomes"]
    assert set(outcomes["gain_by_dno_rmb"]) == set(split.index) == set(settle.dno)


def test_same_seed_same_bytes(run, tmp_path):
    again = tmp_path / "again"
    assert main([*ARGS, "--out", str(again)]) == 0
    for name in ("admm.csv", "bargaining.csv", "summary.json", "trades.csv", "ledger.sqlite"):
        assert (run / name).read_bytes() == (again / name).read_bytes(), name


def _ledger():
    design = Design.model_validate({"coordination": {"stage": "nash_bargaining"}})
    station = SharedStorage("Shared Co", 20.0, 5.0, fee_per_mwh=4.0)
    return MarketLedger(run_seed=7, dnos=["DN1", "DN2"], design=design, storage_owners=["Shared Co"], station=station)


def _views(pay=15.0, sell=2.0, to_station=1.0):
    """DN1 sells DN2 2 MWh in hour 3 and puts 1 MWh into the station in hour 1, taking 0.9025 back
    in hour 2 (the station ends where it started); alone 100 and 200, together 80 and 190."""
    empty = [0.0] * 24
    to, back = list(empty), list(empty)
    to[0], back[1] = to_station, to_station * 0.95 * 0.95
    return {
        "DN1": {"trades": [{"counterparty": "DN2", "hour": 3, "side": "sell", "quantity_mwh": sell, "price_per_mwh": 0.0}],
                "payment_rmb": -pay, "station": {"to_mwh": to, "from_mwh": back},
                "claims": {"standalone_cost_rmb": 100.0, "coalition_cost_rmb": 80.0, "supplied_mwh": 3.0,
                           "received_mwh": 0.9025}},
        "DN2": {"trades": [{"counterparty": "DN1", "hour": 3, "side": "buy", "quantity_mwh": 2.0, "price_per_mwh": 0.0}],
                "payment_rmb": pay,
                "claims": {"standalone_cost_rmb": 200.0, "coalition_cost_rmb": 190.0, "supplied_mwh": 0.0,
                           "received_mwh": 2.0}},
    }


def test_the_contract_refuses_what_is_not_reciprocal_not_the_split_or_beyond_the_station():
    """Saving 30: the symmetric split leaves each 15 better off, so DN1 (saving 20) pays 5."""
    ledger = _ledger()
    ledger.submit_schedules(0, "nash_bargaining", _views(pay=5.0), at_ms=0.0)  # the split
    ledger.submit_schedules(1, "nash_bargaining", _views(pay=5.0, sell=1.5), at_ms=0.0)  # one-sided trade
    ledger.submit_schedules(2, "nash_bargaining", _views(pay=10.0), at_ms=0.0)  # not the Nash split
    ledger.submit_schedules(3, "nash_bargaining", _views(pay=5.0, to_station=9.0), at_ms=0.0)  # beyond 5 MW
    ledger.run_until(20_000.0)
    state = ledger.chain.state
    refused = [(r["day"], r["dno"]) for r in state["refused_schedules"]]
    assert refused in ([(1, "DN1")], [(1, "DN2")])  # whichever came second contradicts the first
    assert "not claimed alike" in state["refused_schedules"][0]["reason"]
    reasons = {r["day"]: r["reason"] for r in state["refused_agreements"]}
    assert set(reasons) == {2, 3}
    assert "not the stage's split" in reasons[2]
    assert "shared storage" in reasons[3] and "exceeds the station's 5 MW" in reasons[3]
    booked = state["agreements"]["0"]
    assert booked["accounts"]["DN1"]["payments_rmb"] == -5.0 and booked["accounts"]["DN2"]["payments_rmb"] == 5.0
    used = 1.0 + 0.9025
    assert booked["station_fees_rmb"] == pytest.approx(4.0 * used)
    assert booked["accounts"]["DN1"]["station_fee_rmb"] == pytest.approx(4.0 * used)
    assert math.isclose(booked["accounts"]["DN2"]["net_rmb"], 5.0 - 0.5 * 100.0 * 2.0)
    # Tokens: the station's fees reach its operator, and none is minted or burnt.
    balances = ledger.token_balances()
    assert balances["Shared Co"] == pytest.approx(4.0 * used)
    assert balances["DN1"] == pytest.approx(-5.0 - 0.5 * 100.0 * 2.0 - 4.0 * used)
    assert abs(math.fsum(balances.values())) < 1e-9


@pytest.mark.parametrize("override, message", [
    ("shared_storage={operator: S, energy_mwh: 0, power_mw: 10}", "shared_storage: power_mw: a station with power "
     "needs energy_mwh above 0"),
    ("shared_storage={operator: S, energy_mwh: 10, power_mw: 2, fee_per_mwh: -1}", "shared_storage.fee_per_mwh"),
    ("design.coordination={stage: nash_bargaining, eps_rel: 0, eps_abs: 0, max_iterations: null}",
     "design.coordination.max_iterations: with both tolerances 0, ADMM needs an iteration cap"),
])
def test_bad_input_names_the_field(override, message, capsys):
    assert main(["run", "paper-4dn", "--set", override, "--out", "/nonexistent/never"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


def test_money_balances_with_the_station_paid():
    """Every RMB the DNOs pay goes to the grid, the market operator or the station's operator:
    trades carry no price and the bargaining payments cancel among the DNOs."""
    from model.job import simulate
    from model.scenario import load

    result = simulate(load("paper-4dn", ["design.coordination.stage=nash_bargaining", STATION,
                                         "design.coordination.max_iterations=30"]), 0)
    model, o = result.model, result.summary["outcomes"]
    accounts = model.ledger.chain.state["agreements"]["0"]["accounts"]
    assert sum(a["payments_rmb"] for a in accounts.values()) == pytest.approx(0.0, abs=1e-6)
    station_fees = model.station_owner.revenue_rmb
    assert station_fees == pytest.approx(result.summary["bargaining"]["station_fees_rmb"], abs=1e-6) and station_fees > 0
    tokens = model.ledger.token_balances()  # the chain's own bill agrees, and mints nothing
    assert tokens[model.station.operator] == pytest.approx(station_fees, abs=1e-6)
    assert abs(math.fsum(tokens.values())) < 1e-6
    day_ahead_energy = sum(r["plan"].cost for r in model.plan_rows)
    assert o["total_cost_rmb"] == pytest.approx(
        day_ahead_energy + model.main_grid.net_rmb + o["operator_balance_rmb"] + station_fees, abs=1e-6)
    # the station did what the day's agreement said, and ended the day where it started
    assert model.station_owner.soc[0] == pytest.approx(model.station.soc_start, abs=1e-6)


@pytest.mark.parametrize("split, real_time", [("contribution", "vcg"), ("equal_satisfaction", "bilateral_rounds")])
def test_other_splits_with_another_real_time_stage(split, real_time):
    """The split is the one named, the contract agrees with it, and the hours trade each DNO's
    deviation from its cooperative plan through the real-time stage chosen."""
    from market.bargaining import contribution_weights, satisfaction
    from model.job import simulate
    from model.scenario import load

    result = simulate(load("paper-4dn", ["design.coordination.stage=nash_bargaining", STATION,
                                         "design.coordination.max_iterations=30", f"design.coordination.split={split}",
                                         f"design.real_time.stage={real_time}"]), 0)
    model, summary = result.model, result.summary
    assert summary["agreements"]["accepted"] == 1 and summary["bargaining"]["split"] == split
    table = pd.DataFrame(model.coordination_tables["bargaining"][0]).set_index("dno")
    if split == "contribution":
        expected = contribution_weights(table["supplied_mwh"].to_dict(), table["received_mwh"].to_dict())
        assert table["weight"].to_dict() == pytest.approx(expected)
    else:
        degrees = satisfaction(table["standalone_cost_rmb"].to_dict(), table["coalition_cost_rmb"].to_dict(),
                               table["final_cost_rmb"].to_dict())
        assert max(degrees.values()) - min(degrees.values()) < 1e-6
    assert (table["final_cost_rmb"] <= table["standalone_cost_rmb"] + 1e-6).all()  # nobody worse off than alone
    assert model.bid_rows, "the DNOs' deviations from the cooperative plans reach the real-time stage"
    assert all(dno.day_ahead is not dno.own_plan for dno in model.dnos if table.loc[dno.name, "received_mwh"] > 0)
