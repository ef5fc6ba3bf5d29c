"""The ladder carbon cost (docs/rules.md §B.2.3): continuous, convex, equal to a hand calculation
on each interval, and the maximum of its pieces (what a MILP's epigraph constraints write)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from market.carbon import ladder_cost, ladder_pieces

PRICE, STEP, GROWTH = 250.0, 2.0, 0.25  # the placeholder defaults: RMB/t, t, per interval


@pytest.mark.parametrize("emission, by_hand", [
    (-3.0, -750.0),  # revenue: 250 per t below the quota
    (0.0, 0.0),
    (1.5, 375.0),  # first interval: 250 x 1.5
    (2.0, 500.0),
    (3.0, 500.0 + 312.5),  # second: 250 x 2 + 250 x 1.25 x 1
    (4.0, 500.0 + 625.0),
    (5.0, 1125.0 + 375.0),  # third: slope 250 x 1.5
    (7.0, 1125.0 + 750.0 + 437.5),  # fourth: slope 250 x 1.75
])
def test_each_interval_by_hand(emission, by_hand):
    assert ladder_cost(emission, PRICE, STEP, GROWTH) == pytest.approx(by_hand)


finite = dict(allow_nan=False, allow_infinity=False)
ladders = st.tuples(st.floats(0, 1000, **finite), st.floats(0.01, 50, **finite), st.floats(0, 2, **finite))


@given(ladders, st.floats(-100, 500, **finite), st.floats(-100, 500, **finite), st.floats(0, 1))
def test_convex_and_continuous(ladder, a, b, w):
    price, step, growth = ladder
    cost = lambda e: ladder_cost(e, price, step, growth)  # noqa: E731
    mid = w * a + (1 - w) * b
    scale = 1.0 + price * (1 + growth * 500 / step) * 600
    assert cost(mid) <= w * cost(a) + (1 - w) * cost(b) + 1e-9 * scale  # convex
    for k in range(1, 6):  # no jump at the interval boundaries
        edge = k * step
        assert cost(edge + 1e-9) - cost(edge - 1e-9) == pytest.approx(0.0, abs=1e-6 * scale)


@given(ladders, st.floats(-100, 100, **finite))
def test_the_pieces_are_its_epigraph(ladder, emission):
    price, step, growth = ladder
    intervals = int(100 / step) + 2  # enough to cover the emission
    pieces = ladder_pieces(price, step, growth, intervals)
    best = max(s * emission + c for s, c in pieces)
    assert best == pytest.approx(ladder_cost(emission, price, step, growth), rel=1e-9, abs=1e-6)


def test_bad_ladders_are_refused():
    with pytest.raises(ValueError, match="step_t must be positive"):
        ladder_cost(1.0, PRICE, 0.0, GROWTH)
    with pytest.raises(ValueError, match="convex"):
        ladder_cost(1.0, PRICE, STEP, -0.1)


def test_the_milps_carbon_cost_is_the_ladder_of_its_own_net_emission():
    """A DNO that must import pays the ladder on what it buys, and a dearer ladder never makes it
    buy more."""
    import numpy as np

    from market.carbon import CarbonLadder
    from market.scheduling import HOURS, DnoScheduler
    from market.tariff import Tariff

    class Unit:
        name, energy_mwh, power_mw = "b", 20.0, 5.0
        charge_efficiency = discharge_efficiency = 0.95
        soc_min, soc_max, soc_start = 0.1, 0.9, 0.5

    tariff = Tariff()
    hours = np.arange(HOURS)
    load = 20 + 8 * np.sin((hours - 14) / 24 * 2 * np.pi)
    pv = np.clip(15 * np.sin((hours - 6) / 12 * np.pi), 0, None)
    bought = []
    for price in (0.0, 250.0, 2500.0):
        ladder = CarbonLadder(0.58, 0.39, price, STEP, GROWTH)
        s = DnoScheduler("DN", [Unit()], tariff.buy_per_mwh(), tariff.sell_per_mwh(), 60.0, 60.0, carbon=ladder)
        plan = s.solve(pv, np.zeros(HOURS), load)
        assert plan.carbon_rmb == pytest.approx(ladder.cost(float(plan.buy_mw.sum())), rel=1e-7, abs=1e-4)
        bought.append(float(plan.buy_mw.sum()))
    assert bought[0] >= bought[1] - 1e-6 >= bought[2] - 2e-6


def test_a_negative_emission_factor_is_one_line(capsys):
    from experiments.cli import main

    assert main(["run", "paper-4dn", "--set", "carbon.grid_emission_t_per_mwh=-1", "--out", "/nonexistent/x"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "carbon.grid_emission_t_per_mwh" in err[0], err


def test_a_priced_run_reports_its_plans_emissions_and_carbon_cost():
    """hourly.csv gains the committed plans' emissions, and the run's carbon cost is the ladder on
    each DNO's planned purchases (the outcome measure); an unpriced run has neither."""
    from market.carbon import CarbonLadder
    from model.job import simulate
    from model.scenario import load

    priced = simulate(load("paper-4dn", ["carbon.price_per_t=250"]), 0)
    hourly = priced.tables["hourly"]
    ladder = CarbonLadder(0.58, 0.39, 250.0, STEP, GROWTH)
    expected = sum(ladder.cost(float(d.day_ahead.buy_mw.sum())) for d in priced.model.dnos)
    assert priced.summary["outcomes"]["carbon_cost_rmb"] == pytest.approx(expected, rel=1e-7)
    for d in priced.model.dnos:
        mine = hourly[hourly.dno == d.name].planned_emission_t.sum()
        assert mine == pytest.approx(0.58 * d.day_ahead.buy_mw.sum(), rel=1e-9)
    plain = simulate(load("paper-4dn"), 0)
    assert "planned_emission_t" not in plain.tables["hourly"] and plain.summary["outcomes"]["carbon_cost_rmb"] == 0.0
