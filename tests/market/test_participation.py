"""Participation that responds to fees and compensation (market.participation), and the bid-price
rule that prices between the two sides' reservation prices."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from market.auction import Rules
from market.bidding import Position, price_bids
from market.participation import PARTICIPATION, expected_price, reservation_prices

VALLEY = dict(tou_buy_per_mwh=270.0, feed_in_per_mwh=400.0, is_valley=True)  # the paper's hour 2
FLAT = dict(tou_buy_per_mwh=650.0, feed_in_per_mwh=400.0, is_valley=False)


def test_reservation_prices_by_hand():
    # seller: 400 + 50 fee share - 100 compensation; buyer: 270 - 50 + 100
    assert reservation_prices(Rules(**VALLEY)) == (350.0, 320.0)
    assert reservation_prices(Rules(**FLAT)) == (450.0, 600.0)  # no compensation outside the valley
    assert reservation_prices(Rules(**VALLEY, fee_payer="buyer")) == (300.0, 270.0)


@pytest.mark.parametrize("compensation, joins", [(0.0, False), (100.0, False), (115.0, False), (116.0, True),
                                                 (300.0, True)])
def test_rational_dnos_join_the_valley_once_compensation_beats_half_the_band_and_the_fee(compensation, joins):
    """The valley's middle price 335 is 65 below feed-in and 65 above TOU; each side pays 50 of fee:
    the compensation must exceed 115 RMB/MWh for either side to gain."""
    rules = Rules(**VALLEY, valley_compensation_per_mwh=compensation)
    assert expected_price(rules) == 335.0
    assert PARTICIPATION["rational"]("sell", rules) is joins
    assert PARTICIPATION["rational"]("buy", rules) is joins
    assert PARTICIPATION["always"]("sell", rules) and PARTICIPATION["always"]("buy", rules)


def test_who_pays_the_fee_decides_who_joins():
    rules = Rules(**VALLEY, valley_compensation_per_mwh=100.0, fee_payer="buyer")
    assert PARTICIPATION["rational"]("sell", rules) and not PARTICIPATION["rational"]("buy", rules)
    assert PARTICIPATION["rational"]("sell", Rules(**FLAT)) and PARTICIPATION["rational"]("buy", Rules(**FLAT))
    assert not PARTICIPATION["rational"]("buy", Rules(**FLAT, service_fee_per_mwh=600.0))  # a fee above the band


positions = st.lists(st.tuples(st.floats(0.01, 50), st.floats(0, 100)), min_size=1, max_size=4)


@given(positions, st.floats(0, 500), st.floats(0, 300), st.sampled_from([True, False]),
       st.sampled_from(["split", "buyer", "seller", "both"]))
def test_the_net_rule_prices_between_the_reservation_prices(sides, fee, compensation, valley, payer):
    hour = {**(VALLEY if valley else FLAT), "service_fee_per_mwh": fee, "valley_compensation_per_mwh": compensation,
            "fee_payer": payer}
    rules = Rules(**hour, bid_price_rule="band_interpolation_net")
    sellers = [Position(f"S{i}", q, s) for i, (q, s) in enumerate(sides)]
    buyers = [Position(f"B{i}", q, s) for i, (q, s) in enumerate(sides)]
    offers, bids = price_bids(sellers, buyers, rules)
    floor, cap = reservation_prices(rules)
    low, high = min(floor, cap), max(floor, cap)
    for b in (*offers, *bids):
        assert low - 1e-9 <= b.price_per_mwh <= high + 1e-9
    # with neither fee nor compensation it is the paper's band interpolation
    plain = Rules(**{**hour, "service_fee_per_mwh": 0.0, "valley_compensation_per_mwh": 0.0})
    gross = price_bids(sellers, buyers, plain)
    net = price_bids(sellers, buyers, plain.model_copy(update={"bid_price_rule": "band_interpolation_net"}))
    assert [b.price_per_mwh for b in gross[0] + gross[1]] == pytest.approx([b.price_per_mwh for b in net[0] + net[1]])


def test_an_unknown_participation_rule_is_refused():
    with pytest.raises(ValueError, match="unknown 'sometimes'"):
        Rules(participation="sometimes")
