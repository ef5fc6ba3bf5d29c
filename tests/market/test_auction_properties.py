"""Invariants of clearing one hour (§A.5-A.6) over many random books, for every matching mode.

Books include ties in price and upload time, zero quantities, an empty side and equal prices.
"""

from __future__ import annotations

from collections import defaultdict

import pytest
from hypothesis import given, settings

from market.auction import Bid, ClearingResult, Rules, clear_hour
from market_helpers import close, rules_for, side, traded_by_round


def check_invariants(offers: list[Bid], bids: list[Bid], rules: Rules) -> ClearingResult:
    result = clear_hour(offers, bids, rules)
    _check_trades_inside_limits(result)
    _check_conservation(result)
    _check_rounds(result, rules)
    return result


def _check_trades_inside_limits(result: ClearingResult) -> None:
    sellers = {b.bidder for b in result.offers}
    books = {book.round: book for book in result.rounds}
    for trade in result.trades:
        book = books[trade.round]
        ask = {b.bidder: b.price_per_mwh for b in book.offers}[trade.seller]
        offer = {b.bidder: b.price_per_mwh for b in book.bids}[trade.buyer]
        assert trade.seller in sellers and trade.buyer not in sellers
        assert trade.quantity_mwh > 0
        assert ask == trade.seller_price_per_mwh <= trade.price_per_mwh
        assert trade.price_per_mwh <= trade.buyer_price_per_mwh == offer


def _check_conservation(result: ClearingResult) -> None:
    """Traded + residual = bid for each bidder; per hour volume sold = bought, money paid = received."""
    traded: dict[str, float] = defaultdict(float)
    received: dict[str, float] = defaultdict(float)
    paid: dict[str, float] = defaultdict(float)
    for trade in result.trades:
        traded[trade.seller] += trade.quantity_mwh
        traded[trade.buyer] += trade.quantity_mwh
        received[trade.seller] += trade.value_rmb
        paid[trade.buyer] += trade.value_rmb
    for bid in result.offers + result.bids:
        assert result.residual[bid.bidder] >= 0
        accounted = traded[bid.bidder] + result.residual[bid.bidder]
        assert close(accounted, bid.quantity_mwh, bid.quantity_mwh)
    sold = sum(b.quantity_mwh - result.residual[b.bidder] for b in result.offers)
    bought = sum(b.quantity_mwh - result.residual[b.bidder] for b in result.bids)
    assert close(sold, bought, sold)
    assert close(sum(received.values()), sum(paid.values()), sum(paid.values()))


def _check_rounds(result: ClearingResult, rules: Rules) -> None:
    """Rounds within the limit; prices concede monotonically; filled bidders leave, others carry on."""
    assert [book.round for book in result.rounds] == list(range(1, len(result.rounds) + 1))
    assert len(result.rounds) <= rules.max_rounds
    tolerance = rules.quantity_tolerance_mwh
    if result.rounds:
        first = result.rounds[0]
        assert first.offers == tuple(b for b in result.offers if b.quantity_mwh > tolerance)
        assert first.bids == tuple(b for b in result.bids if b.quantity_mwh > tolerance)
    traded = traded_by_round(result)
    for book, after in zip(result.rounds, result.rounds[1:]):
        sides = ((book.offers, after.offers, -1), (book.bids, after.bids, 1))
        for before_side, after_side, sign in sides:
            later = {b.bidder: b for b in after_side}
            for bid in before_side:
                left = bid.quantity_mwh - traded[book.round][bid.bidder]
                assert (bid.bidder in later) == (left > tolerance)
                if bid.bidder in later:
                    assert close(later[bid.bidder].quantity_mwh, left, bid.quantity_mwh)
                    assert sign * (later[bid.bidder].price_per_mwh - bid.price_per_mwh) >= 0
            assert set(later) <= {b.bidder for b in before_side}


def check_ties(result: ClearingResult, *, strict: bool) -> None:
    """Between equal prices on one side, the earlier upload is served first.

    strict: the later bidder trades only once the earlier one is full (merit order);
    otherwise: the later bidder trades only if the earlier one trades too (one pair per round).
    """
    traded = traded_by_round(result)
    for book in result.rounds:
        done = traded[book.round]
        for bids in (book.offers, book.bids):
            for early in bids:
                for late in bids:
                    tie = late.price_per_mwh == early.price_per_mwh
                    if not tie or late.submitted_at <= early.submitted_at or done[late.bidder] <= 0:
                        continue
                    if strict:
                        assert close(done[early.bidder], early.quantity_mwh, early.quantity_mwh)
                    else:
                        assert done[early.bidder] > 0


@settings(max_examples=200)
@given(offers=side("s"), bids=side("b"), rules=rules_for("merit_order"))
def test_merit_order_invariants(offers, bids, rules):
    check_ties(check_invariants(offers, bids, rules), strict=True)


@settings(max_examples=200)
@given(offers=side("s"), bids=side("b"), rules=rules_for("pairwise_rounds"))
def test_pairwise_rounds_invariants(offers, bids, rules):
    result = check_invariants(offers, bids, rules)
    check_ties(result, strict=False)
    for book in result.rounds:  # one counterpart per bidder per round
        pairs = [(t.seller, t.buyer) for t in result.trades if t.round == book.round]
        assert len({s for s, _ in pairs}) == len({b for _, b in pairs}) == len(pairs)


@settings(max_examples=200)
@given(offers=side("s"), bids=side("b"), rules=rules_for("net_surplus_greedy"))
def test_net_surplus_greedy_invariants(offers, bids, rules):
    check_ties(check_invariants(offers, bids, rules), strict=True)


@settings(max_examples=60)
@given(offers=side("s", 5), bids=side("b", 5), rules=rules_for("block"))
def test_block_invariants(offers, bids, rules):
    check_ties(check_invariants(offers, bids, rules), strict=True)


@pytest.mark.parametrize("matching", ["merit_order", "pairwise_rounds", "block", "net_surplus_greedy"])
def test_equal_price_goes_to_the_earlier_upload(matching):
    """Listed first but uploaded later, seller 'late' loses the tie for the only buyer."""
    offers = [Bid("late", 5.0, 300.0, submitted_at=2.0), Bid("early", 5.0, 300.0, submitted_at=1.0)]
    bids = [Bid("buyer", 5.0, 350.0, submitted_at=0.0)]
    result = clear_hour(offers, bids, Rules(matching=matching))
    assert [(t.seller, t.quantity_mwh) for t in result.trades] == [("early", 5.0)]
    assert result.residual == {"late": 5.0, "early": 0.0, "buyer": 0.0}


def test_rounds_stop_when_nothing_can_change():
    """With no concession an incompatible book stays incompatible: after max_idle_rounds rounds
    without trade or price move the hour ends instead of running to max_rounds (§A.6.3)."""
    offers, bids = [Bid("s", 5.0, 400.0)], [Bid("b", 5.0, 300.0)]
    frozen = Rules(seller_concession=0.0, buyer_concession=0.0, max_rounds=9, max_idle_rounds=2)
    assert len(clear_hour(offers, bids, frozen).rounds) == 2
    conceding = frozen.model_copy(update={"seller_concession": 0.01})
    assert len(clear_hour(offers, bids, conceding).rounds) == 9
