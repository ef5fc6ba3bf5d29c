"""The dual_decomposition coordination through model and chain: trades agreed off chain over the
validators' network, accepted on chain, plans committed, deviations traded in real time."""

from __future__ import annotations

import json

import pytest

from experiments.cli import main
from model.job import simulate
from model.scenario import load

STAGE = "design.coordination.stage=dual_decomposition"


def _run(*overrides, seed=0):
    return simulate(load("paper-4dn", [STAGE, "design.coordination.max_iterations=25", *overrides]), seed)


@pytest.mark.parametrize("form", ["pool", "bilateral"])
def test_the_agreed_trades_are_accepted_on_chain_and_money_balances(form):
    result = _run(f"design.coordination.form={form}")
    model, summary = result.model, result.summary
    state = model.ledger.chain.state
    assert "refused_agreements" not in state and set(state["agreements"]) == {"0"}
    accounts = state["agreements"]["0"]["accounts"]
    assert sum(a["p2p_volume_mwh"] for a in accounts.values()) > 0  # they traded day-ahead
    # trade money cancels among the DNOs; the fee goes to the operator
    assert sum(a["p2p_sales_rmb"] - a["p2p_purchases_rmb"] for a in accounts.values()) == pytest.approx(0, abs=1e-6)
    o = summary["outcomes"]
    day_ahead_energy = sum(r["plan"].cost for r in model.plan_rows)
    assert o["total_cost_rmb"] == pytest.approx(day_ahead_energy + model.main_grid.net_rmb + o["operator_balance_rmb"],
                                                abs=1e-6)
    # every DNO's committed plan takes its agreed trades: its grid exchange is its own plan's less them
    for dno in model.dnos:
        assert dno.traded_mw.any() or not any(t for t in accounts[dno.name].values() if t)
    d = summary["decomposition"]
    assert d["form"] == form and d["iterations"] == 25 and d["central_rmb"] <= d["agreed_cost_rmb"] + 1e-6
    frame = result.tables["coordination"]
    pairs = 1 if form == "pool" else 6
    assert len(frame) == 25 * 24 * pairs and frame.iteration.max() == 25
    assert o["coordination_messages"] > 0


def test_same_seed_same_bytes_and_the_ledger_verifies(tmp_path):
    args = ["run", "paper-4dn", "--set", STAGE, "--set", "design.coordination.max_iterations=10"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    assert main([*args, "--out", str(tmp_path / "b")]) == 0
    assert "Day-ahead coordination: price convergence" in (tmp_path / "a" / "report.html").read_text()
    for name in ("coordination.csv", "summary.json", "trades.csv", "report.html", "ledger.sqlite"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert main(["ledger", "verify", str(tmp_path / "a" / "ledger.sqlite")]) == 0
    assert json.loads((tmp_path / "a" / "summary.json").read_text())["decomposition"]["iterations"] == 10


def test_day_ahead_trades_that_ignore_the_feeder_are_refused_on_one():
    """Its trades would not respect the feeder's limits and charges: a scenario with a network refuses it."""
    from model.scenario import ScenarioError

    with pytest.raises(ScenarioError, match="design.coordination.stage: dual_decomposition does not trade on a "
                                            "distribution network"):
        load("feeder-33bus", [STAGE])


@pytest.mark.parametrize("mode", ["oracle", "rolling"])
def test_the_no_trade_baseline_is_the_dno_alone_whatever_it_agreed(mode):
    """Agreed trades are firm, so intraday re-plans keep them; the baseline each DNO's gain is
    measured against re-plans without them: it is the same as under the paper's design."""
    setting = f"scheduling.intraday_mode={mode}"
    traded = _run(setting, "design.coordination.max_iterations=15").summary["outcomes"]
    alone = simulate(load("paper-4dn", [setting]), 0).summary["outcomes"]
    for dno, cost in traded["cost_by_dno_rmb"].items():
        baseline = cost + traded["gain_by_dno_rmb"][dno]
        assert baseline == pytest.approx(alone["cost_by_dno_rmb"][dno] + alone["gain_by_dno_rmb"][dno], abs=1e-6), dno
