"""Rational participation through model and chain: compensation now changes what DNOs do in the
valley; an opted-out DNO is settled with the grid on chain; `always` keeps the paper's market."""

from __future__ import annotations

import math

import pytest

from experiments.cli import main
from model.job import simulate
from model.scenario import load

RATIONAL = "mechanism.participation=rational"


def _run(*overrides):
    return simulate(load("paper-4dn", list(overrides)), 0)


@pytest.fixture(scope="module")
def runs():
    return {comp: _run(RATIONAL, f"mechanism.valley_compensation_per_mwh={comp}") for comp in (100.0, 150.0)}


def test_compensation_moves_valley_p2p_volume(runs):
    """Below 115 RMB/MWh nobody gains from a valley trade at the band's middle: all valley
    deviations go to the grid; above it they trade, as when every DNO always joins."""
    low, high = (runs[c].summary for c in (100.0, 150.0))
    always = _run().summary
    assert low["valley_p2p_volume_mwh"] == 0.0 and high["valley_p2p_volume_mwh"] > 1.0
    assert high["valley_p2p_volume_mwh"] == pytest.approx(always["valley_p2p_volume_mwh"])
    # outside the valley the band is wider than the fee: the same trades either way
    assert low["p2p_volume_mwh"] - low["valley_p2p_volume_mwh"] == pytest.approx(
        always["p2p_volume_mwh"] - always["valley_p2p_volume_mwh"])
    # trading at the paper's compensation, some sides do worse than the grid; rational ones do not
    assert always["individual_rationality"]["trade_sides_worse_than_grid"] > 0
    assert low["individual_rationality"]["trade_sides_worse_than_grid"] == 0


def test_opted_out_bids_are_on_chain_and_settled_with_the_grid(runs):
    result = runs[100.0]
    bids, trades = result.tables["bids"], result.tables["trades"]
    out = bids[bids.opted_out.astype(bool)]
    assert len(out) > 0 and not out.included.astype(bool).any()
    for row in out.itertuples():
        grid = trades[(trades.hour == row.hour) & (trades.kind == "grid")
                      & ((trades.seller == row.dno) | (trades.buyer == row.dno))]
        assert grid.quantity_mwh.sum() == pytest.approx(row.quantity_mwh)
    settle = result.tables["settlement"]
    # every account is whole: revenue is what the contracts booked, and the baseline counts every MWh
    assert settle.deviation_mwh.sum() == pytest.approx(_run().tables["settlement"].deviation_mwh.sum())
    assert math.isclose(settle.baseline_s0_rmb.sum(), _run().tables["settlement"].baseline_s0_rmb.sum(),
                        rel_tol=1e-12)


def test_an_unknown_participation_rule_names_the_field(capsys):
    assert main(["run", "paper-4dn", "--set", "mechanism.participation=sometimes", "--out", "/nonexistent/x"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "mechanism.participation" in err[0] and "sometimes" in err[0], err
