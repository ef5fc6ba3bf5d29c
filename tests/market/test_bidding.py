"""Bid prices (§A.4): R1 stays in the tariff band, the ratio scope is honoured; and the
concession step of §A.6.2 in both forms, with and without clamping."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from market.auction import Rules
from market.bidding import Position, price_bids
from market.concession import concessions

QUANTITY = st.floats(0.001, 100.0)


@given(
    seller_mwh=QUANTITY,
    buyer_mwh=QUANTITY,
    scale_mwh=st.floats(0.0, 200.0),
    tou=st.sampled_from([270.0, 650.0, 1100.0]),
    k=st.floats(0.0, 1.0),
)
def test_band_interpolation_stays_in_band_and_valley_pairs_cross(
    seller_mwh, buyer_mwh, scale_mwh, tou, k
):
    rules = Rules(tou_buy_per_mwh=tou, feed_in_per_mwh=400.0, price_adjustment_k=k)
    (offer,), (bid,) = price_bids(
        [Position("s", seller_mwh, scale_mwh)], [Position("b", buyer_mwh, scale_mwh)], rules
    )
    for price in (offer.price_per_mwh, bid.price_per_mwh):
        assert rules.band_low_per_mwh - 1e-9 <= price <= rules.band_high_per_mwh + 1e-9
    if tou < 400.0 and k <= 0.5:  # valley: each side moves at most halfway, so the pair crosses (§A.4.2)
        assert offer.price_per_mwh <= bid.price_per_mwh
    if k == 0.5 and tou == 270.0:  # the round-1 trade price lies inside the IR band [300, 370] (§A.8)
        assert 302.5 - 1e-9 <= (offer.price_per_mwh + bid.price_per_mwh) / 2 <= 367.5 + 1e-9


def test_ratio_scope_market_divides_by_the_side_total():
    """Own scope: 5 of 10 MWh -> rho 0.5; market scope: 5 of 10 + 30 MWh -> rho 0.125."""
    sellers = [Position("s1", 5.0, 10.0), Position("s2", 5.0, 30.0)]
    buyers = [Position("b", 4.0, 8.0)]
    band = 650.0 - 400.0
    own, _ = price_bids(sellers, buyers, Rules(tou_buy_per_mwh=650.0))
    market, _ = price_bids(sellers, buyers, Rules(tou_buy_per_mwh=650.0, ratio_scope="market"))
    assert own[0].price_per_mwh == pytest.approx(650.0 - 0.5 * band * 0.5)
    assert market[0].price_per_mwh == pytest.approx(650.0 - 0.5 * band * 0.125)
    assert market[1].price_per_mwh == market[0].price_per_mwh


@pytest.mark.parametrize(
    ("form", "clamp", "seller_price", "expected_seller", "buyer_price", "expected_buyer"),
    [
        ("multiplicative", False, 600.0, 570.0, 420.0, 441.0),  # p -/+ 5 % of |p|
        ("additive", False, 600.0, 587.5, 420.0, 432.5),  # p -/+ 5 % of the 250 band
        ("multiplicative", True, 405.0, 400.0, 640.0, 650.0),  # stopped at the band edges
        ("multiplicative", True, 380.0, 380.0, 700.0, 700.0),  # outside the band: never reversed
    ],
)
def test_concession_step(form, clamp, seller_price, expected_seller, buyer_price, expected_buyer):
    """One concession round at a flat hour (band 400..650 RMB/MWh), delta_s = delta_b = 0.05."""
    rules = Rules(tou_buy_per_mwh=650.0, concession_form=form, clamp_to_band=clamp)
    seller, buyer = concessions(rules)
    assert seller(seller_price) == pytest.approx(expected_seller)
    assert buyer(buyer_price) == pytest.approx(expected_buyer)
