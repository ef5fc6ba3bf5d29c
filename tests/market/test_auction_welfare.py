"""Welfare optimality (§A.5.1): merit_order against an independent GLOP LP each round, and the
block integer program against merit_order, all-or-nothing bids and bundles.
"""

from __future__ import annotations

from collections import defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from market.auction import Bid, ClearingResult, Rules, clear_hour
from market.welfare import optimal_welfare_lp
from market_helpers import PRICES, QUANTITIES, TIMES, close, rules_for, side


def round_welfare(result: ClearingResult, round_no: int) -> float:
    return sum(t.welfare_rmb for t in result.trades if t.round == round_no)


def _scale(offers: list[Bid], bids: list[Bid]) -> float:
    return sum(b.quantity_mwh * b.price_per_mwh for b in offers + bids)


@settings(max_examples=200)
@given(offers=side("s", 8), bids=side("b", 8), rules=rules_for("merit_order"))
def test_merit_order_welfare_equals_lp_optimum_every_round(offers, bids, rules):
    result = clear_hour(offers, bids, rules)
    scale = _scale(offers, bids)
    if not result.rounds:  # one side had nothing above the quantity tolerance
        tolerance = rules.quantity_tolerance_mwh
        active = [[b for b in book if b.quantity_mwh > tolerance] for book in (offers, bids)]
        assert close(optimal_welfare_lp(*active), 0.0, scale)
    for book in result.rounds:
        optimum = optimal_welfare_lp(book.offers, book.bids)
        assert close(round_welfare(result, book.round), optimum, scale)


@settings(max_examples=200)
@given(offers=side("s", 8), bids=side("b", 8), rules=rules_for("net_surplus_greedy"))
def test_net_surplus_greedy_is_the_lp_optimum_every_round_off_a_network(offers, bids, rules):
    """Off a network the surplus b_j - a_i of a pair is a Monge array, for which filling the best
    pair first is optimal: the on-chain rule loses nothing to the LP until charges enter."""
    result = clear_hour(offers, bids, rules)
    scale = _scale(offers, bids)
    for book in result.rounds:
        assert close(round_welfare(result, book.round), optimal_welfare_lp(book.offers, book.bids), scale)


@settings(max_examples=80)
@given(offers=side("s", 6), bids=side("b", 6), rules=rules_for("block"))
def test_block_equals_merit_order_on_divisible_single_hour_bids(offers, bids, rules):
    block = clear_hour(offers, bids, rules)
    merit = clear_hour(offers, bids, rules.model_copy(update={"matching": "merit_order"}))
    scale = _scale(offers, bids)
    assert close(round_welfare(block, 1), round_welfare(merit, 1), scale)
    for book in block.rounds:
        optimum = optimal_welfare_lp(book.offers, book.bids)
        assert close(round_welfare(block, book.round), optimum, scale)


@st.composite
def block_book(draw) -> tuple[list[Bid], list[Bid]]:
    """Bids over hours 1-2; some all-or-nothing, some bundled across hours, one arbitrage bundle
    that sells in hour 1 and buys in hour 2."""
    sides: tuple[list[Bid], list[Bid]] = ([], [])
    for k in range(draw(st.integers(0, 7))):
        selling = draw(st.booleans())
        bundle = draw(st.sampled_from([None, "day"]))
        aon = draw(st.booleans())
        for hour in draw(st.sampled_from([[1], [2], [1, 2]])):
            q, p, t = draw(QUANTITIES), draw(PRICES), draw(TIMES)
            sides[0 if selling else 1].append(Bid(f"n{k}", q, p, t, aon, bundle, hour))
    if draw(st.booleans()):
        aon = draw(st.booleans())
        sides[0].append(Bid("arb", draw(QUANTITIES), draw(PRICES), 0.5, aon, "spread", 1))
        sides[1].append(Bid("arb", draw(QUANTITIES), draw(PRICES), 0.5, aon, "spread", 2))
    return sides


def _per_hour_lp(offers: list[Bid], bids: list[Bid]) -> float:
    return sum(
        optimal_welfare_lp([b for b in offers if b.hour == h], [b for b in bids if b.hour == h])
        for h in {b.hour for b in offers + bids}
    )


@settings(max_examples=60)
@given(book=block_book(), rules=rules_for("block"))
def test_block_respects_all_or_nothing_and_bundles(book, rules):
    offers, bids = book
    result = clear_hour(offers, bids, rules)
    scale = _scale(offers, bids)
    for round_book in result.rounds:
        trades = [t for t in result.trades if t.round == round_book.round]
        done: dict[tuple[str, int], float] = defaultdict(float)
        for t in trades:
            done[(t.seller, t.hour)] += t.quantity_mwh
            done[(t.buyer, t.hour)] += t.quantity_mwh
        selling = {(b.bidder, b.hour) for b in round_book.offers}
        buying = {(b.bidder, b.hour) for b in round_book.bids}
        assert all((t.seller, t.hour) in selling and (t.buyer, t.hour) in buying for t in trades)
        shares: dict[tuple[str, str], set[float]] = defaultdict(set)
        for bid in round_book.offers + round_book.bids:
            share = done[(bid.bidder, bid.hour)] / bid.quantity_mwh
            assert share <= 1 + 1e-7
            if bid.all_or_nothing:
                assert close(share, 0.0) or close(share, 1.0)
            if bid.bundle is not None:
                shares[(bid.bidder, bid.bundle)].add(round(share, 6))
        assert all(len(s) == 1 for s in shares.values())
        plain = [b for b in round_book.offers if b.bundle is None and not b.all_or_nothing], [
            b for b in round_book.bids if b.bundle is None and not b.all_or_nothing
        ]
        welfare = round_welfare(result, round_book.round)
        assert welfare >= _per_hour_lp(*plain) - 1e-7 * max(1.0, scale)
        assert welfare <= _per_hour_lp(round_book.offers, round_book.bids) + 1e-7 * max(1.0, scale)


@pytest.mark.parametrize("solver", ["HIGHS", "GSCIP"])
def test_all_or_nothing_seller_refuses_a_partial_fill(solver):
    """Merit order would sell 5 of 10 MWh to the 100 buyer; all-or-nothing cannot, since the
    40 buyer is below the 50 ask, so the block auction trades nothing."""
    offers = [Bid("aon", 10.0, 50.0, all_or_nothing=True)]
    bids = [Bid("high", 5.0, 100.0), Bid("low", 5.0, 40.0)]
    rules = Rules(matching="block", max_rounds=1, block_solver=solver)
    assert clear_hour(offers, bids, rules).trades == ()
    divisible = [Bid("aon", 10.0, 50.0)]
    assert sum(t.quantity_mwh for t in clear_hour(divisible, bids, rules).trades) == 5.0


def test_bundle_across_hours_trades_whole_or_not_at_all():
    """A seller's all-or-nothing bundle of 5 MWh in each of hours 1 and 2 meets demand of 5 and 3:
    hour 2 cannot take all, so neither hour trades; with demand 5 and 5 both do."""
    offers = [Bid("s", 5.0, 10.0, all_or_nothing=True, bundle="b", hour=h) for h in (1, 2)]
    rules = Rules(matching="block", max_rounds=1)
    short = [Bid("b1", 5.0, 20.0, hour=1), Bid("b2", 3.0, 20.0, hour=2)]
    assert clear_hour(offers, short, rules).trades == ()
    enough = [Bid("b1", 5.0, 20.0, hour=1), Bid("b2", 5.0, 20.0, hour=2)]
    result = clear_hour(offers, enough, rules)
    assert sorted((t.hour, t.buyer, t.quantity_mwh) for t in result.trades) == [
        (1, "b1", 5.0),
        (2, "b2", 5.0),
    ]
    assert result.residual_by_hour[("s", 1)] == result.residual_by_hour[("s", 2)] == 0.0
