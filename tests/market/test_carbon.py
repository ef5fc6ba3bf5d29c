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
