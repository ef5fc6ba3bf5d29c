"""The VCG double auction (market/vcg.py): a hand-worked hour, the walk and the displacement
payments against the Clarke pivot of scipy's LP re-solves, individual rationality, deficit,
truthfulness against price misreports and withheld volume, determinism and bad input.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from market.book import Bid
from market.vcg import VcgResult, clear
from market_helpers import close, side


def lp_welfare(offers: list[Bid], bids: list[Bid]) -> float:
    """W* by HiGHS: max sum b y - sum a z  s.t.  sum z = sum y, 0 <= y, z <= quantity."""
    book = [*offers, *bids]
    if not book:
        return 0.0
    cost = [o.price_per_mwh for o in offers] + [-b.price_per_mwh for b in bids]
    balance = [[1.0] * len(offers) + [-1.0] * len(bids)]
    bounds = [(0.0, bid.quantity_mwh) for bid in book]
    solved = linprog(cost, A_eq=balance, b_eq=[0.0], bounds=bounds, method="highs")
    assert solved.status == 0, solved.message
    return -solved.fun


def scale(offers: list[Bid], bids: list[Bid]) -> float:
    """The book's money at stake, the yardstick for round-off."""
    return math.fsum(b.quantity_mwh * abs(b.price_per_mwh) for b in [*offers, *bids])


def utility(result: VcgResult, bidder: str, true_price: float) -> float:
    """Utility at the bidder's true price: b x - t for a buyer, r - a x for a seller."""
    value = true_price * result.allocation_mwh[bidder]
    if bidder in result.payments_rmb:
        return value - result.payments_rmb[bidder]
    return result.receipts_rmb[bidder] - value


def test_hand_worked_three_bidder_hour():
    # S sells 5 MWh at 300; B1 buys 3 at 500, B2 buys 4 at 400.
    # Walk: S->B1 3 MWh (500 >= 300), S->B2 2 MWh (400 >= 300), S is empty: x* = S 5, B1 3, B2 2.
    # W* = 3*500 + 2*400 - 5*300 = 800. Reported utilities: U_S = -1500, U_B1 = 1500, U_B2 = 800.
    # W*_-S  = 0 (no seller); W*_-B1 = S->B2 4 MWh at 100 = 400; W*_-B2 = S->B1 3 MWh at 200 = 600.
    # t_B1 = W*_-B1 - (U_S + U_B2) = 400 + 700 = 1100  (2 MWh of B2's rejected 400, 1 of S's 300)
    # t_B2 = W*_-B2 - (U_S + U_B1) = 600 - 0   = 600   (2 MWh of S's 300; its own 2 rejected leave)
    # r_S  = 300*5 + (W* - W*_-S)  = 1500 + 800 = 2300  (B2's 2 MWh at 400 and B1's 3 at 500)
    # deficit = 2300 - (1100 + 600) = 600; utilities B1 400, B2 200, S 800 sum to W* + deficit.
    offers = [Bid("S", 5.0, 300.0)]
    bids = [Bid("B1", 3.0, 500.0), Bid("B2", 4.0, 400.0)]
    assert [lp_welfare([], bids), lp_welfare(offers, bids[1:]), lp_welfare(offers, bids[:1])] == [
        0.0, 400.0, 600.0
    ]
    result = clear(offers, bids)
    assert result.allocation_mwh == {"S": 5.0, "B1": 3.0, "B2": 2.0}
    assert result.welfare_rmb == 800.0
    assert result.payments_rmb == {"B1": 1100.0, "B2": 600.0}
    assert result.receipts_rmb == {"S": 2300.0}
    assert result.deficit_rmb == 600.0
    assert result.price_per_mwh == {"S": 460.0, "B1": 1100.0 / 3.0, "B2": 300.0}


@settings(max_examples=300)
@given(offers=side("s", 8), bids=side("b", 8))
def test_efficient_feasible_individually_rational_with_a_deficit(offers, bids):
    result = clear(offers, bids)
    tolerance = 1e-9 * max(1.0, scale(offers, bids))
    # the reference LP holds its balance to HiGHS's feasibility tolerance (1e-7 MWh), which at the
    # book's dearest price is welfare the clearing, exactly balanced, cannot have
    feasibility = 1e-7 * max((abs(b.price_per_mwh) for b in [*offers, *bids]), default=0.0)
    assert abs(result.welfare_rmb - lp_welfare(offers, bids)) <= 1e-7 * max(1.0, scale(offers, bids)) + feasibility
    sold = [result.allocation_mwh[o.bidder] for o in offers]
    bought = [result.allocation_mwh[b.bidder] for b in bids]
    assert abs(math.fsum(sold) - math.fsum(bought)) <= 1e-9 * max(1.0, math.fsum(sold))
    for bid in [*offers, *bids]:
        allocated = result.allocation_mwh[bid.bidder]
        assert 0.0 <= allocated <= bid.quantity_mwh
        assert utility(result, bid.bidder, bid.price_per_mwh) >= -tolerance
        if allocated == 0.0:
            assert result.price_per_mwh[bid.bidder] is None
            assert {**result.payments_rmb, **result.receipts_rmb}[bid.bidder] == 0.0
    assert set(result.allocation_mwh) == {b.bidder for b in [*offers, *bids]}
    assert all(t >= 0.0 for t in result.payments_rmb.values())
    assert result.deficit_rmb >= 0.0  # round-off at tied margins is clamped, not tolerated


@settings(max_examples=150)
@given(offers=side("s", 6), bids=side("b", 6))
def test_payments_are_the_clarke_pivot_of_lp_resolves_without_each_bidder(offers, bids):
    result = clear(offers, bids)
    welfare = lp_welfare(offers, bids)
    reported = {b.bidder: b.price_per_mwh * result.allocation_mwh[b.bidder] for b in bids}
    reported |= {o.bidder: -o.price_per_mwh * result.allocation_mwh[o.bidder] for o in offers}
    for bid in [*offers, *bids]:
        without = lp_welfare([o for o in offers if o is not bid], [b for b in bids if b is not bid])
        others = math.fsum(u for name, u in reported.items() if name != bid.bidder)
        if bid in bids:
            assert close(result.payments_rmb[bid.bidder], without - others, scale(offers, bids))
        else:
            receipt = bid.price_per_mwh * result.allocation_mwh[bid.bidder] + welfare - without
            assert close(result.receipts_rmb[bid.bidder], receipt, scale(offers, bids))


@settings(max_examples=150)
@given(offers=side("s", 5), bids=side("b", 5), data=st.data())
def test_no_price_misreport_or_withheld_volume_raises_true_utility(offers, bids, data):
    assume(offers and bids)
    liar = data.draw(st.sampled_from([*offers, *bids]))
    truthful = utility(clear(offers, bids), liar.bidder, liar.price_per_mwh)
    prices = [b.price_per_mwh for b in [*offers, *bids]]
    grid = {*np.linspace(min(prices) - 50.0, max(prices) + 50.0, 20).tolist(), *prices}
    for price in sorted(grid):
        for share in (1.0, 0.5):
            lie = replace(liar, quantity_mwh=share * liar.quantity_mwh, price_per_mwh=price)
            lied = clear(*([lie if b is liar else b for b in book] for book in (offers, bids)))
            assert utility(lied, liar.bidder, liar.price_per_mwh) <= truthful + 1e-6


@given(offers=side("s", 8), bids=side("b", 8), data=st.data())
def test_input_order_does_not_matter(offers, bids, data):
    shuffled = clear(data.draw(st.permutations(offers)), data.draw(st.permutations(bids)))
    assert shuffled == clear(offers, bids)


@pytest.mark.parametrize(
    ("offers", "bids", "message"),
    [
        ([Bid("s1", 1.0, 300.0), Bid("s1", 2.0, 310.0)], [], "s1 appears twice in offers"),
        ([], [Bid("b1", 1.0, 500.0), Bid("b1", 2.0, 510.0)], "b1 appears twice in bids"),
        ([Bid("x", 1.0, 300.0)], [Bid("x", 1.0, 500.0)], "x appears in both offers and bids"),
        ([Bid("s1", 1.0, 300.0)], [("b9", 1.0, 500.0)], r"bids\[0\] is not a Bid: \('b9'"),
        ([Bid("s1", 1.0, 300.0, all_or_nothing=True)], [], "s1 is all-or-nothing"),
    ],
)
def test_bad_books_are_refused_naming_the_bidder(offers, bids, message):
    with pytest.raises(ValueError, match=message):
        clear(offers, bids)
