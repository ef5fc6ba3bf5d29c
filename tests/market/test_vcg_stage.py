"""The `vcg` real-time stage: the VCG outcome written as trades the shared settlement can book.

Over random books: buyers pay exactly their VCG payments through their trades, each seller's
trades plus its top-up from the market operator are exactly its VCG receipt, the top-ups sum to
the deficit, trades move each participant's allocation and no more, and settling the hour
balances every RMB between the DNOs, the grid and the operator.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from market.auction import Bid, Rules
from market.bidding import Position
from market.bidding.strategies import grid_limits
from market.realtime import REAL_TIME
from market.settlement import close_day, settle_hour
from market.vcg import clear as vcg_clear
from market_helpers import PRICES

STAGE = REAL_TIME["vcg"]
RULES = Rules(tou_buy_per_mwh=1100.0, feed_in_per_mwh=400.0, is_valley=False)

side = st.lists(st.tuples(st.floats(0.0, 20.0), PRICES), min_size=0, max_size=6)


@settings(max_examples=150, deadline=None)
@given(asks=side, bids_=side)
def test_trades_and_top_ups_are_the_vcg_outcome(asks, bids_):
    offers = [Bid(f"s{k}", q, p, float(k)) for k, (q, p) in enumerate(asks)]
    bids = [Bid(f"b{k}", q, p, float(k)) for k, (q, p) in enumerate(bids_)]
    vcg = vcg_clear(offers, bids, RULES.quantity_tolerance_mwh)
    result = STAGE.clear(offers, bids, RULES, STAGE.Params())
    for b in bids:
        paid = math.fsum(t.value_rmb for t in result.trades if t.buyer == b.bidder)
        assert paid == pytest.approx(vcg.payments_rmb[b.bidder], abs=1e-6)
    for o in offers:
        got = math.fsum(t.value_rmb for t in result.trades if t.seller == o.bidder) + result.top_ups.get(o.bidder, 0.0)
        assert got == pytest.approx(vcg.receipts_rmb[o.bidder], abs=1e-6)
    assert math.fsum(result.top_ups.values()) == pytest.approx(vcg.deficit_rmb, abs=1e-6)
    for b in (*offers, *bids):
        traded = math.fsum(t.quantity_mwh for t in result.trades if b.bidder in (t.seller, t.buyer))
        assert traded == pytest.approx(vcg.allocation_mwh[b.bidder], abs=1e-9)
        assert traded + result.residual[b.bidder] == pytest.approx(b.quantity_mwh, abs=1e-9)
    assert result.welfare_rmb == pytest.approx(vcg.welfare_rmb, abs=1e-6)
    # the shared settlement: DNOs + grid + market operator = 0
    hour = settle_hour(10, result, RULES)
    day = close_day([hour], RULES, [b.bidder for b in (*offers, *bids)])
    dnos = math.fsum(a.revenue_rmb for a in day.accounts.values())
    assert dnos + day.grid_net_rmb + day.platform.net_rmb == pytest.approx(0.0, abs=1e-6)
    assert day.platform.top_ups_paid_rmb == pytest.approx(vcg.deficit_rmb, abs=1e-6)


def test_reports_are_truthful_limits_and_every_participant_ends_at_or_above_zero():
    sellers = [Position("s1", 5.0, 10.0), Position("s2", 3.0, 10.0)]
    buyers = [Position("b1", 4.0, 10.0)]
    offers, bids = STAGE.price_bids(sellers, buyers, RULES, STAGE.Params())
    seller_limit, buyer_limit = grid_limits(RULES)
    assert {o.price_per_mwh for o in offers} == {seller_limit} and {b.price_per_mwh for b in bids} == {buyer_limit}
    rows = STAGE.hour_rows(STAGE.clear(offers, bids, RULES, STAGE.Params()))
    assert {r["dno"] for r in rows} == {"s1", "s2", "b1"} and all(r["utility_rmb"] >= -1e-9 for r in rows)
    buyer = next(r for r in rows if r["dno"] == "b1")
    # supply exceeds demand at one ask: the buyer pays the asks it displaces, 4 MWh at the sellers' limit
    assert buyer["allocation_mwh"] == 4.0 and buyer["payment_rmb"] == pytest.approx(4 * seller_limit)
