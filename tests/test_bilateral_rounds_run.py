"""`bilateral_rounds` with the risk-attitude strategy through the model and the chain, with
forecast errors settled after delivery.

One run of the paper's day: the ledger verifies, money balances, bids.csv shows what each quote
rested on, and each DNO's strategy state travels with it from hour to hour (signed into its next
bid exactly as the chain left it); a second run writes the same bytes. The contract refuses bids
whose state is missing or malformed.
"""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

from experiments.cli import main
from ledger.service import MarketLedger
from market.design import Design
from run_helpers import simulate_into
from test_designs import _money_balances

# with forecast errors settled after delivery, so the same-bytes check covers meter readings too
OVERRIDES = ["design.real_time.stage=bilateral_rounds",
             "design.real_time.strategy={name: risk_attitude, attitudes: {DN1: averse, DN4: seeking}}",
             "design.delivery.settle=true", "scheduling.intraday_mode=rolling"]


def _simulate(folder):
    return simulate_into(folder, "paper-4dn", OVERRIDES, 3)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return _simulate(tmp_path_factory.mktemp("bilateral") / "run")


def test_the_ledger_verifies_and_money_balances(run):
    folder, result = run
    assert main(["ledger", "verify", str(folder / "ledger.sqlite")]) == 0
    _money_balances(result)


def test_bids_show_the_aggressiveness_and_estimate_of_every_round(run):
    bids = pd.read_csv(run[0] / "bids.csv")
    assert {"aggressiveness", "equilibrium_estimate_per_mwh"} <= set(bids.columns)
    assert bids["aggressiveness"].between(-1, 1).all() and (bids["equilibrium_estimate_per_mwh"] > 0).all()
    first = bids[bids["round"] == 1].drop_duplicates("dno")  # each DNO's first quote of the day
    r0 = dict(zip(first["dno"], first["aggressiveness"]))
    assert r0["DN1"] == 0.5 and r0["DN4"] == -0.5  # the attitudes, before any learning
    assert bids["round"].max() > 1


def test_each_dno_carries_its_state_from_hour_to_hour(run):
    """The state a DNO signs into a bid is the one the contract returned after its bid of the
    hour before (when it bid in both)."""
    model = run[1].model
    signed = {(int(key.split(":")[0]), int(key.split(":")[1]), r["bidder"]): r["strategy"]
              for key, book in model.ledger.chain.state["bids"].items() for r in book}
    carried = 0
    for (day, hour), clearing in sorted(model.clearings.items()):
        for name, after in clearing.states_after.items():
            if (day, hour + 1, name) in signed:
                assert signed[(day, hour + 1, name)] == after, (day, hour, name)
                carried += 1
    assert carried > 0


def test_a_second_run_writes_the_same_bytes(run, tmp_path):
    again, _ = _simulate(tmp_path / "again")
    for name in ("bids.csv", "trades.csv", "settlement.csv", "delivery.csv", "summary.json", "ledger.sqlite"):
        digest = [hashlib.sha256((folder / name).read_bytes()).hexdigest() for folder in (run[0], again)]
        assert digest[0] == digest[1], name


def test_the_contract_refuses_a_bid_without_its_state_or_with_a_bad_one():
    design = Design.model_validate({"real_time": {"stage": "bilateral_rounds"}})
    ledger = MarketLedger(run_seed=2, dnos=["DN1", "DN2", "DN3"], design=design)
    good = {"r": 0.0, "theta": -2.0, "beta_1": 0.3, "beta_2": 0.3, "positions": [], "alpha_range": None}
    ledger.submit_bid("DN1", 0, 1, "sell", 2.0, 500.0, at_ms=0.0)  # no state
    ledger.submit_bid("DN2", 0, 1, "buy", 2.0, 600.0, at_ms=0.0, strategy={**good, "r": 3.0})
    ledger.submit_bid("DN3", 0, 1, "buy", 2.0, 600.0, at_ms=0.0, strategy=good)
    ledger.run_until(15_000.0)
    book = {r["bidder"]: r for r in ledger.chain.state["bids"]["0:1"]}
    assert "needs its state" in book["DN1"]["refused"] and "out of range" in book["DN2"]["refused"]
    assert "refused" not in book["DN3"] and book["DN3"]["included"]


def test_a_paper_design_bid_may_not_carry_a_state():
    ledger = MarketLedger(run_seed=2, dnos=["DN1"])
    ledger.submit_bid("DN1", 0, 1, "sell", 2.0, 500.0, at_ms=0.0, strategy={"r": 0.0})
    ledger.run_until(15_000.0)
    assert "carry no strategy state" in ledger.chain.state["bids"]["0:1"][0]["refused"]
