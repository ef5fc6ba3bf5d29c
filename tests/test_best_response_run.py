"""`best_response` through the model and the chain: the bids on chain are where each hour's
dynamics ended, the outcomes are counted, the messages counted, the ledger verifies, money
balances, and the same seed writes the same bytes."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

from experiments.cli import main
from run_helpers import simulate_into
from test_designs import _money_balances

OVERRIDES = ["design.real_time.stage=best_response", "design.real_time.step_per_mwh=10"]


def _simulate(folder):
    return simulate_into(folder, "paper-4dn", OVERRIDES, 2)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return _simulate(tmp_path_factory.mktemp("best_response") / "run")


def test_the_bids_on_chain_are_where_the_dynamics_ended(run):
    folder, result = run
    assert main(["ledger", "verify", str(folder / "ledger.sqlite")]) == 0
    moves = pd.read_csv(folder / "best_response.csv")
    bids = pd.read_csv(folder / "bids.csv")
    last = moves.groupby(["day", "hour", "dno"]).bid_per_mwh.last()
    on_chain = bids[bids["round"] == 1].set_index(["day", "hour", "dno"]).price_per_mwh
    assert len(last) > 0 and set(last.index) <= set(on_chain.index)
    for key, price in last.items():
        assert on_chain[key] == price, key
    assert bids["round"].max() == 1  # the contract clears once
    hours = moves.groupby(["day", "hour"]).outcome.first()
    summary = result.summary
    assert summary["negotiation"]["hours"] == len(hours)
    for outcome in ("converged", "cycling", "not_converged"):
        assert summary["negotiation"][outcome] == int((hours == outcome).sum())
    # each update went to every other participant of its hour: client links both ways, and hops
    assert summary["outcomes"]["coordination_messages"] >= 2 * sum(
        len(g) * (g.dno.nunique() - 1) for _, g in moves.groupby(["day", "hour"]))
    _money_balances(result)


def test_a_second_run_writes_the_same_bytes(run, tmp_path):
    again, _ = _simulate(tmp_path / "again")
    for name in ("bids.csv", "best_response.csv", "trades.csv", "settlement.csv", "summary.json", "ledger.sqlite"):
        digest = [hashlib.sha256((folder / name).read_bytes()).hexdigest() for folder in (run[0], again)]
        assert digest[0] == digest[1], name
