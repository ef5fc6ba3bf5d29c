"""Security check and congestion management: the exact LP against scipy's linprog, flows within
limits after either mode, offered = traded + curtailed, and the greedy rule of docs/rules.md §B.3.4 on small cases."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from market.network.congestion import TIE_SHARE, TOLERANCE_MW, Lines, Trades, exact, greedy, security_check, sensitivity
from market.network.feeder import Feeder
from network_helpers import books, feeders


def _books(extra_lines: int = 0, negative_surplus: bool = True):
    return feeders(min_buses=2, max_buses=8, extra_lines=extra_lines).flatmap(
        lambda f: books(f, negative_surplus=negative_surplus)
    )


def _linprog_welfare(lines: Lines, trades: Trades, seller_cap, buyer_cap) -> float:
    w, offered = trades.net_surplus_per_mwh, trades.quantity_mw
    s = sensitivity(lines, trades)
    limit, base = lines.effective_limit_mw, lines.base_flow_mw
    rows = [np.equal.outer(np.arange(len(seller_cap)), trades.seller), np.equal.outer(np.arange(len(buyer_cap)), trades.buyer), s, -s]
    bounds = np.concatenate([seller_cap, buyer_cap, limit - base, limit + base])
    res = linprog(-w, A_ub=np.vstack(rows).astype(float), b_ub=bounds,
                  bounds=[(0.0, q if wk >= 0 else 0.0) for q, wk in zip(offered, w)], method="highs")
    assert res.status == 0
    return -res.fun


def _tie_allowance(trades: Trades) -> float:
    """Welfare the exact LP may give up by its tie-break: it charges each MWh up to 2 x TIE_SHARE
    of the largest surplus, so a pair whose surplus is below that stays out."""
    tie = 2 * TIE_SHARE * (1.0 + float(np.abs(trades.net_surplus_per_mwh).max(initial=0.0)))
    return tie * float(trades.quantity_mw.sum())


@settings(max_examples=60)
@given(_books(extra_lines=2))
def test_exact_lp_agrees_with_linprog(book):
    lines, trades, seller_cap, buyer_cap = book
    managed = exact(lines, trades, seller_cap, buyer_cap)
    expected = _linprog_welfare(lines, trades, seller_cap, buyer_cap)
    assert expected - _tie_allowance(trades) - 1e-6 <= managed.welfare <= expected * (1 + 1e-6) + 1e-6
    x = managed.quantity_mw
    assert np.all(x[trades.net_surplus_per_mwh < 0] == 0), "a pair with negative net surplus never trades"
    for ids, cap in ((trades.seller, seller_cap), (trades.buyer, buyer_cap)):
        assert np.all(np.bincount(ids, weights=x, minlength=len(cap)) <= cap + 1e-7)


@settings(max_examples=80)
@given(_books(extra_lines=2), st.sampled_from(["greedy", "exact"]))
def test_after_management_flows_are_within_limits_and_volumes_add_up(book, mode):
    lines, trades, _, _ = book
    managed = greedy(lines, trades) if mode == "greedy" else exact(lines, trades)
    x = managed.quantity_mw
    assert np.all(x >= 0) and np.all(x <= trades.quantity_mw)
    assert np.allclose(x + managed.curtailed_mw, trades.quantity_mw, rtol=0, atol=1e-12), "offered = traded + curtailed"
    after = security_check(lines, trades, x)
    assert np.allclose(after.flow_mw, managed.flow_mw)
    assert np.all(np.abs(after.flow_mw) <= lines.effective_limit_mw + TOLERANCE_MW)
    if np.all(np.abs(lines.base_flow_mw) <= lines.limit_mw):
        assert after.secure


@settings(max_examples=60)
@given(_books(extra_lines=1, negative_surplus=False))
def test_exact_is_never_worse_than_greedy(book):
    lines, trades, _, _ = book
    assert exact(lines, trades).welfare >= greedy(lines, trades).welfare - _tie_allowance(trades) - 1e-6


@given(feeders(min_buses=2, max_buses=8), st.data())
def test_trades_move_energy_between_buses_and_nothing_else(feeder, data):
    """A trade injects x at the seller's bus and takes x out at the buyer's: the bus injections sum
    to zero, so the slack supplies nothing for them, and their flows are the feeder's flows."""
    lines, trades, _, _ = data.draw(books(feeder))
    injection = np.zeros(feeder.n_buses)
    np.add.at(injection, trades.seller_bus, trades.quantity_mw)
    np.add.at(injection, trades.buyer_bus, -trades.quantity_mw)
    assert injection.sum() == pytest.approx(0.0, abs=1e-9)
    checked = security_check(lines, trades)
    assert np.allclose(checked.flow_mw, lines.base_flow_mw + feeder.flows(injection))


def _line_feeder(limits=(10.0, 1.0)) -> Feeder:
    """0 (slack) - 1 - 2 in a row."""
    return Feeder(buses=(0, 1, 2), slack_bus=0, lines=(0, 1), from_bus=(0, 1), to_bus=(1, 2),
                  r_ohm=(0.1, 0.1), x_ohm=(0.1, 0.1), limit_mw=limits, base_kv=11.0)


def _trades(seller_bus, buyer_bus, quantity, surplus) -> Trades:
    k = len(seller_bus)
    return Trades(np.arange(k), np.arange(k), np.array(seller_bus), np.array(buyer_bus),
                  np.array(quantity, dtype=float), np.array(surplus, dtype=float))


def test_greedy_cuts_the_least_surplus_per_mw_of_relief_by_just_enough():
    feeder = _line_feeder()
    lines = Lines(feeder.ptdf(), np.zeros(2), np.asarray(feeder.limit_mw))
    # both sell from bus 2 over line 1 (limit 1 MW): 2.5 MW offered, 1.5 MW too much
    trades = _trades([2, 2, 1], [1, 0, 0], [1.0, 1.5, 3.0], [30.0, 10.0, 5.0])
    assert security_check(lines, trades).overload_mw.tolist() == [0.0, 1.5]
    managed = greedy(lines, trades)
    assert managed.quantity_mw.tolist() == [1.0, 0.0, 3.0]  # the 10 RMB/MWh trade goes first, all of it
    trades = _trades([2, 2], [1, 0], [2.0, 0.5], [30.0, 40.0])  # 1.5 MW over: the cheaper one loses 1.5
    assert greedy(lines, trades).quantity_mw.tolist() == [0.5, 0.5]


def test_greedy_weighs_surplus_by_sensitivity():
    """On a ring a trade sends part of its flow round the other way: a trade with 2/3 of its MW on
    the congested line relieves more per MW cut than one with 1/3."""
    ring = Feeder(buses=(0, 1, 2), slack_bus=0, lines=(0, 1, 2), from_bus=(0, 1, 2), to_bus=(1, 2, 0),
                  r_ohm=(1.0,) * 3, x_ohm=(1.0,) * 3, limit_mw=(0.5, 10.0, 10.0), base_kv=11.0)
    lines = Lines(ring.ptdf(), np.zeros(3), np.asarray(ring.limit_mw))
    trades = _trades([1, 2], [0, 0], [1.0, 1.0], [12.0, 8.0])  # on line 0: -2/3 and -1/3 per MW
    s = sensitivity(lines, trades)
    assert s[0] == pytest.approx([-2 / 3, -1 / 3])
    managed = greedy(lines, trades)  # ratios 12 / (2/3) = 18 and 8 / (1/3) = 24: cut the first
    assert managed.quantity_mw == pytest.approx([0.25, 1.0])
    assert abs(managed.flow_mw[0]) == pytest.approx(0.5)


def test_a_line_the_base_case_overloads_may_be_relieved_never_worsened():
    feeder = _line_feeder()
    lines = Lines(feeder.ptdf(), np.array([0.0, 1.5]), np.asarray(feeder.limit_mw))  # 1.5 MW towards bus 2
    trades = _trades([2, 0], [0, 2], [0.4, 0.6], [5.0, 50.0])  # the first relieves line 1, the second worsens it
    assert security_check(lines, trades, np.zeros(2)).congested.tolist() == [False, True]
    for managed in (greedy(lines, trades), exact(lines, trades)):  # the worsening trade only up to the relief
        assert managed.quantity_mw == pytest.approx([0.4, 0.4], abs=1e-9)
        assert managed.flow_mw[1] == pytest.approx(1.5, abs=TOLERANCE_MW)
    alone = _trades([0], [2], [0.6], [50.0])
    assert greedy(lines, alone).quantity_mw.tolist() == exact(lines, alone).quantity_mw.tolist() == [0.0]


def test_exact_is_deterministic_and_prefers_earlier_trades_among_equals():
    feeder = _line_feeder()
    lines = Lines(feeder.ptdf(), np.zeros(2), np.asarray(feeder.limit_mw))
    trades = _trades([2, 2, 2], [0, 1, 0], [1.0, 1.0, 1.0], [20.0, 20.0, 20.0])
    first, again = exact(lines, trades), exact(lines, trades)
    assert first.quantity_mw.tobytes() == again.quantity_mw.tobytes()
    assert first.quantity_mw.tolist() == [1.0, 0.0, 0.0]
