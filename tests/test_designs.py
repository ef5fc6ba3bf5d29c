"""Market designs as pluggable stages.

The default design is today's model byte for byte; stages registered only here (a real-time market
that sends everything to the grid, a day-ahead pool with bilateral trades) run through the whole
model, chain included; the chain checks agreements before any money moves; and the outcome
measures keep the money of every design balanced.
"""

import dataclasses
import hashlib
import json
import math
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import Field

from experiments.cli import main
from market.auction import ClearingResult
from market.coordination import COORDINATION, Agreement, BilateralTrade, CoordinationStage
from market.design import Design
from market.realtime import REAL_TIME, RealTimeStage
from market.stages import StageParams
from model.job import simulate
from model.scenario import ScenarioError, load

FIXTURE = Path(__file__).parent / "fixtures" / "paper-4dn-seed0"
TOL = 1e-6


class GridOnly(RealTimeStage):
    name = "test_grid_only"
    summary = "every deviation settled with the main grid (a test stage)"

    def clear(self, offers, bids, rules, params):
        return ClearingResult.unmatched(offers, bids)


class PoolParams(StageParams):
    price_weight: float = Field(0.5, ge=0, le=1, description="price between feed-in (0) and TOU (1), fraction; [A]")


class ForecastPool(CoordinationStage):
    """Each DNO tells the others its planned grid exchange; in every hour exporters then sell to
    importers pro rata at a price between the feed-in and TOU prices, and confirm the trades."""

    name = "test_forecast_pool"
    summary = "day-ahead pool of planned grid exchange (a test stage)"
    Params = PoolParams

    def coordinate(self, participants, channel, tariff, params):
        channel.exchange([(a.name, b.name, {"net_mw": (a.own_plan.buy_mw - a.own_plan.sell_mw).tolist()})
                          for a in participants for b in participants if a is not b])
        buy_price, sell_price = tariff.buy_per_mwh(), tariff.sell_per_mwh()
        buys = {p.name: p.own_plan.buy_mw.copy() for p in participants}
        sells = {p.name: p.own_plan.sell_mw.copy() for p in participants}
        trades = []
        for t in range(24):
            supply = {n: s[t] for n, s in sells.items() if s[t] > TOL}
            demand = {n: b[t] for n, b in buys.items() if b[t] > TOL}
            if not supply or not demand:
                continue
            total = min(sum(supply.values()), sum(demand.values()))
            price = float(sell_price[t] + params.price_weight * (buy_price[t] - sell_price[t]))
            for s, qs in sorted(supply.items()):
                for b, qb in sorted(demand.items()):
                    q = float(total * qs / sum(supply.values()) * qb / sum(demand.values()))
                    trades.append(BilateralTrade(s, b, t + 1, q, price))
                    sells[s][t] -= q
                    buys[b][t] -= q
        channel.exchange([(t.seller, t.buyer, {"hour": t.hour, "mwh": t.quantity_mwh}) for t in trades])
        plans = {p.name: dataclasses.replace(p.own_plan, buy_mw=buys[p.name], sell_mw=sells[p.name],
                                             cost=float(buy_price @ buys[p.name] - sell_price @ sells[p.name]))
                 for p in participants}
        return Agreement(plans=plans, trades=tuple(trades), iterations=2)


@pytest.fixture(scope="module", autouse=True)
def registered_stages():
    """The two stages above exist only while this module's tests run."""
    REAL_TIME.register(GridOnly)
    COORDINATION.register(ForecastPool)
    yield
    REAL_TIME.unregister(GridOnly.name)
    COORDINATION.unregister(ForecastPool.name)


def _run(overrides, seed=0):
    return simulate(load("paper-4dn", overrides), seed)


def test_paper_4dn_outputs_are_pinned_byte_for_byte(tmp_path):
    """Every interpreter in the support matrix writes these bytes. The default design reproduced
    every output from before designs existed (summary.json gained `design` and `outcomes`); since
    then, on purpose: exactly rounded money sums (math.fsum) moved the last digit of two fees on
    chain, genesis records the run's horizon, and summary.json and the report gained the tip, the
    lowest honest height, conflicting commits and fault warnings; and report.html took the one
    convention of issue 12 (each DNO in its colour of model.colours, supply hatched, validators
    named v0.. as the scenario numbers them); then report.html's captions said what the deviation
    figure's Q is and cited docs/rules.md, and summary.json gained `individual_rationality` (every
    other byte of both, and every other file, unchanged); then the scheduling MILP left out the
    grid's buy-or-sell binary in hours where buying at once with selling only loses money (an exact
    reformulation: every plan equal to the sixth decimal) and the plan commitment's hash stopped
    telling -0.0 from 0.0 (DN3's plan had a -0.0 MW hour before, and 0.0 now): the commitments'
    hashes changed, so did the transaction ids in bids.csv, trades.csv and the ledger, and with
    them the tip hash and the chain's message bytes (+36 B of 1.27 MB) in summary.json and
    report.html; hourly.csv and settlement.csv kept their bytes. Re-pin deliberately only, saying why:
    `storagemarket run paper-4dn --out DIR`, then `sha256sum` the files listed."""
    assert main(["run", "paper-4dn", "--seed", "0", "--out", str(tmp_path)]) == 0
    for line in (FIXTURE / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split()
        assert hashlib.sha256((tmp_path / name).read_bytes()).hexdigest() == digest, name
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["design"] == Design().model_dump(mode="json")


def _money_balances(result):
    """Every RMB a DNO pays goes to the grid (day-ahead energy and real-time grid trades) or the
    market operator: P2P money and side payments cancel among the DNOs."""
    o, model = result.summary["outcomes"], result.model
    day_ahead_energy = sum(r["plan"].cost for r in model.plan_rows)
    assert o["total_cost_rmb"] == pytest.approx(
        day_ahead_energy + model.main_grid.net_rmb + o["operator_balance_rmb"], abs=1e-6)
    assert o["gain_rmb"] == pytest.approx(sum(o["gain_by_dno_rmb"].values()))


def test_a_real_time_stage_registered_in_a_test_runs_through_model_and_chain(tmp_path):
    out = tmp_path / "grid_only"
    assert main(["run", "paper-4dn", "--out", str(out), "--set", "design.real_time.stage=test_grid_only"]) == 0
    assert main(["ledger", "verify", str(out / "ledger.sqlite")]) == 0
    trades = (out / "trades.csv").read_text()
    assert ",p2p," not in trades and ",grid," in trades
    summary = json.loads((out / "summary.json").read_text())
    assert summary["design"]["real_time"] == {"stage": "test_grid_only"}
    # Everything with the grid is the no-trading baseline: nobody gains, nobody loses, no fees.
    gains = summary["outcomes"]["gain_by_dno_rmb"]
    assert all(abs(g) < 1e-6 for g in gains.values()) and summary["outcomes"]["operator_balance_rmb"] == 0
    # ... and the same outcomes as the paper's S0 switch of the concession auction.
    s0 = _run(["mechanism.p2p_enabled=false"]).summary["outcomes"]
    for key in ("total_cost_rmb", "grid_import_mwh", "grid_export_mwh", "peak_import_mw", "emissions_t"):
        assert summary["outcomes"][key] == pytest.approx(s0[key], abs=1e-6), key


def test_the_design_is_in_the_genesis_only_when_it_is_not_the_default():
    default = _run([])
    assert "design" not in default.model.ledger.genesis.market
    _money_balances(default)
    grid_only = _run(["design.real_time.stage=test_grid_only"])
    assert grid_only.model.ledger.genesis.market["design"]["real_time"]["stage"] == "test_grid_only"
    _money_balances(grid_only)


def test_a_coordination_stage_talks_over_the_network_and_its_agreement_is_settled_on_chain():
    result = _run(["design.coordination.stage=test_forecast_pool", "design.coordination.price_weight=0.25"])
    model, o = result.model, result.summary["outcomes"]
    agreed = model.ledger.chain.state["agreements"]["0"]
    assert agreed["stage"] == "test_forecast_pool"
    assert "refused_agreements" not in model.ledger.chain.state
    # The agreement's trades and side payments balance among the DNOs; the fee goes to the operator.
    accounts = agreed["accounts"]
    assert sum(a["p2p_sales_rmb"] - a["p2p_purchases_rmb"] + a["payments_rmb"] for a in accounts.values()) == \
        pytest.approx(0.0, abs=1e-6)
    day_ahead_p2p = sum(a["p2p_volume_mwh"] for a in accounts.values()) / 2
    assert day_ahead_p2p > 1.0
    assert o["p2p_volume_mwh"] == pytest.approx(model.p2p_volume_mwh + day_ahead_p2p)
    # Two rounds of messages over the validator graph: 12 forecasts, then one per trade.
    assert o["coordination_iterations"] == 2
    assert o["coordination_messages"] >= 2 * (12 + 1) and o["coordination_bytes"] > 0
    assert o["coordination_time_ms"] > 0
    _money_balances(result)
    # Trading planned exchange day-ahead lowers grid import against planning alone.
    assert o["grid_import_mwh"] < _run([]).summary["outcomes"]["grid_import_mwh"] - 1.0


def _ledger_with_pool():
    from ledger.service import MarketLedger

    design = Design.model_validate({"coordination": {"stage": "test_forecast_pool"}})
    return MarketLedger(run_seed=5, dnos=["DN1", "DN2", "DN3"], design=design)


VIEWS = {
    "DN1": {"trades": [{"counterparty": "DN2", "hour": 3, "side": "sell", "quantity_mwh": 2.0, "price_per_mwh": 300.0}],
            "payment_rmb": 10.0},
    "DN2": {"trades": [{"counterparty": "DN1", "hour": 3, "side": "buy", "quantity_mwh": 2.0, "price_per_mwh": 300.0}],
            "payment_rmb": -10.0},
    "DN3": {"trades": [], "payment_rmb": 0.0},
}


def test_the_chain_refuses_one_sided_unbalanced_or_foreign_submissions():
    ledger = _ledger_with_pool()
    one_sided = json.loads(json.dumps(VIEWS))
    one_sided["DN2"]["trades"][0]["quantity_mwh"] = 1.0
    unbalanced = json.loads(json.dumps(VIEWS))
    unbalanced["DN3"]["payment_rmb"] = 5.0
    foreign = json.loads(json.dumps(VIEWS))
    foreign["DN3"]["trades"] = [{**VIEWS["DN1"]["trades"][0], "counterparty": "DN9"}]
    ledger.submit_schedules(0, "test_forecast_pool", one_sided, at_ms=0.0)
    ledger.submit_schedules(1, "test_forecast_pool", unbalanced, at_ms=0.0)
    ledger.submit_schedules(2, "independent", VIEWS, at_ms=0.0)  # not the design's stage
    ledger.submit_schedules(3, "test_forecast_pool", foreign, at_ms=0.0)
    ledger.submit_schedules(4, "test_forecast_pool", {k: v for k, v in VIEWS.items() if k != "DN3"}, at_ms=0.0)
    ledger.submit_schedules(5, "test_forecast_pool", VIEWS, at_ms=0.0)
    ledger.run_until(20_000.0)
    state = ledger.chain.state
    refused = defaultdict(list)
    for r in state["refused_schedules"]:
        refused[r["day"]].append((r["dno"], r["reason"]))
    # The one-sided trade: whichever of DN1 and DN2 came second is refused, naming the trade.
    assert [dno for dno, _ in refused[0]] in (["DN1"], ["DN2"]) and "not claimed alike" in refused[0][0][1]
    assert sorted(refused[2]) == [(n, "stage 'independent' is not the design's 'test_forecast_pool'")
                                  for n in ("DN1", "DN2", "DN3")]
    assert refused[3] == [("DN3", "DN3 trades with 'DN9'")]
    assert set(refused) == {0, 2, 3}
    assert [(r["day"], "sum to" in r["reason"]) for r in state["refused_agreements"]] == [(1, True)]
    assert set(state["agreements"]) == {"5"}
    assert set(state["schedules"]) == {"0", "3", "4"}  # each still waits for a DNO's submission
    booked = state["agreements"]["5"]["accounts"]
    assert booked["DN1"]["p2p_sales_rmb"] == 600.0 and booked["DN2"]["payments_rmb"] == -10.0
    assert booked["DN1"]["service_fee_rmb"] == pytest.approx(0.5 * 100.0 * 2.0)
    # A DNO's second submission for a day is a duplicate the chain never admits.
    second = ledger.submit("DN1", "dno", "schedule", {"day": 5, "stage": "test_forecast_pool",
                                                      "view": {"trades": [], "payment_rmb": 0.0}}, at_ms=21_000.0)
    ledger.run_until(30_000.0)
    assert second not in {x["tx_id"] for x in ledger.committed("schedule")}
    # Only the accepted day moves tokens.
    balances = ledger.token_balances()
    assert balances["DN1"] == pytest.approx(600.0 + 10.0 - 100.0) and abs(math.fsum(balances.values())) < 1e-9


@pytest.mark.parametrize("override, message", [
    ("design.real_time.stage=nope", "design.real_time.stage: unknown real_time stage 'nope'"),
    ("design.coordination.stage=test_forecast_pool --set design.coordination.colour=1",
     "design.coordination.colour: unknown field"),
    ("design.coordination.stage=test_forecast_pool --set design.coordination.price_weight=2",
     "design.coordination.price_weight: Input should be less than or equal to 1"),
    ("design.real_time.matching=block", "design.real_time.matching: unknown field (concession_auction's "
                                        "parameters are the mechanism: block)"),
    ("design.coordination=pool", "design.coordination: expected a mapping"),
    ("design.delivery.tol=1", "design.delivery.tol: unknown field"),
    ("design.delivery.tolerance=2", "design.delivery.tolerance: Input should be less than 1"),
    ("design.real_time.stage=bilateral_rounds --set design.real_time.strategy={name: riskattitude}",
     "design.real_time.strategy.name: unknown bid strategy 'riskattitude'; known: concession, risk_attitude"),
    ("design.real_time.stage=bilateral_rounds --set design.real_time.strategy={name: risk_attitude, omega: 2}",
     "design.real_time.strategy.omega: Input should be less than or equal to 1"),
    ("design.real_time.stage=bilateral_rounds --set design.real_time.strategy={name: risk_attitude, "
     "attitudes: {DN9: averse}}", "design.real_time.strategy.attitudes: 'DN9' is not a DNO"),
    ("design.real_time.stage=best_response --set design.real_time.step_per_mwh=0",
     "design.real_time.step_per_mwh: Input should be greater than 0"),
])
def test_bad_designs_get_one_line_naming_the_field(override, message, capsys, tmp_path):
    args = ["run", "paper-4dn", "--out", str(tmp_path / "x")]
    for item in override.split(" --set "):
        args += ["--set", item]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "x").exists()
    with pytest.raises(ScenarioError):
        load("paper-4dn", override.split(" --set "))


def test_designs_lists_every_registered_stage_with_its_parameters(capsys):
    assert main(["designs"]) == 0
    out = capsys.readouterr().out
    for name in ("independent", "concession_auction", "test_grid_only", "test_forecast_pool"):
        assert f"  {name} " in out
    assert "price_weight = 0.5: price between feed-in (0) and TOU (1), fraction; [A]" in out
    assert "seller_concession = 0.05" in out and "the mechanism: block" in out


def test_scenario_show_round_trips_a_design(tmp_path, capsys):
    assert main(["scenario", "show", "paper-4dn", ]) == 0
    text = capsys.readouterr().out
    assert "design:" in text and "stage: independent" in text
    scenario = load("paper-4dn", ["design.coordination.stage=test_forecast_pool",
                                  "design.coordination.price_weight=0.3"])
    dumped = scenario.model_dump(mode="json")["design"]
    assert dumped["coordination"] == {"stage": "test_forecast_pool", "price_weight": 0.3}
    assert Design.model_validate(dumped) == scenario.design
    assert np.isclose(scenario.design.coordination.params.price_weight, 0.3)


def test_a_stage_registered_in_a_test_shows_up_in_compare(tmp_path):
    spec = tmp_path / "mine.yaml"
    spec.write_text("name: mine\ndays: {scenario: paper-4dn, seeds: 2}\nreference: paper\n"
                    "designs:\n  paper: {}\n  grid-only: {design.real_time.stage: test_grid_only}\n"
                    "  pool: {design.coordination.stage: test_forecast_pool}\n")
    out = tmp_path / "out"
    assert main(["compare", str(spec), "--out", str(out), "--processes", "1"]) == 0  # in this process
    rows = pd.read_parquet(out / "results.parquet")
    assert (rows.status == "ok").all(), rows.error.dropna().tolist()
    by_design = rows.set_index(["design_name", "seed"])
    assert (by_design.loc["grid-only", "outcomes.p2p_volume_mwh"] == 0).all()
    assert (by_design.loc["pool", "outcomes.coordination_iterations"] == 2).all()
    assert (by_design.loc["grid-only", "design.real_time.stage"] == "test_grid_only").all()
    page = (out / "compare.html").read_text()
    assert "<td>grid-only</td>" in page and "<td>pool</td>" in page
