"""Forecast-error settlement after delivery (market.delivery), case by case against hand
calculations, and two properties: delivering exactly what cleared costs nothing, and delivering
less never costs a seller less."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from market.delivery import Contracted, DeliveryParams, settle_delivery

TOU, FIT = 50.0, 30.0
RULES = DeliveryParams(settle=True)  # tolerance 5 %, penalty 0.1 x TOU = 5 per MWh


def test_the_worked_example_a_seller_short_by_two():
    """Sold 10 MWh at 40, delivered 8: the grid supplies the buyer 2 MWh at TOU 50, paid by the
    seller; the band is 0.5 MWh, so 1.5 MWh are penalised at 5. Seller nets 400 - 100 - 7.5."""
    s = settle_delivery(Contracted(p2p_sold_mwh=10.0), 8.0, 0.0, TOU, FIT, RULES)
    assert (s.shortfall_mwh, s.grid_sold_mwh, s.grid_bought_mwh) == (2.0, 2.0, 0.0)
    assert s.penalty_rmb == pytest.approx(7.5) and s.grid_rmb == pytest.approx(100.0)
    assert 10.0 * 40.0 - s.cost_rmb == pytest.approx(292.5)


def test_a_shortfall_within_the_band_is_replaced_but_not_penalised():
    s = settle_delivery(Contracted(p2p_sold_mwh=10.0), 9.6, 0.0, TOU, FIT, RULES)
    assert s.shortfall_mwh == pytest.approx(0.4) and s.penalty_rmb == 0.0 and s.grid_rmb == pytest.approx(0.4 * TOU)


def test_a_seller_delivering_more_sells_the_surplus_at_feed_in():
    # 10 sold P2P and 2 to the grid at clearing; 13 delivered: one more MWh to the grid
    s = settle_delivery(Contracted(p2p_sold_mwh=10.0, grid_took_mwh=2.0), 13.0, 0.0, TOU, FIT, RULES)
    assert (s.shortfall_mwh, s.grid_bought_mwh, s.penalty_rmb) == (0.0, 1.0, 0.0)
    assert s.grid_rmb == pytest.approx(-FIT)  # the grid pays it


def test_delivery_goes_to_contracts_first_then_to_the_grid():
    # 10 sold P2P, 2 to the grid; 9 delivered: contracts short by 1, the grid sale undone
    s = settle_delivery(Contracted(p2p_sold_mwh=10.0, grid_took_mwh=2.0), 9.0, 0.0, TOU, FIT, RULES)
    assert (s.shortfall_mwh, s.grid_sold_mwh, s.grid_bought_mwh) == (1.0, 1.0, -2.0)
    assert s.penalty_rmb == pytest.approx(0.5 * 5.0)
    assert s.grid_rmb == pytest.approx(1.0 * TOU + 2.0 * FIT)  # pays the replacement, refunds the grid sale


def test_a_buyer_drawing_more_buys_the_extra_at_tou():
    s = settle_delivery(Contracted(p2p_bought_mwh=10.0, grid_supplied_mwh=3.0), 0.0, 15.0, TOU, FIT, RULES)
    assert (s.grid_sold_mwh, s.grid_bought_mwh, s.penalty_rmb) == (2.0, 0.0, 0.0)
    assert s.grid_rmb == pytest.approx(2.0 * TOU)


def test_a_buyer_drawing_less_takes_or_pays_and_the_rest_is_sold_at_feed_in():
    s = settle_delivery(Contracted(p2p_bought_mwh=10.0), 0.0, 7.0, TOU, FIT, RULES)
    assert (s.grid_sold_mwh, s.grid_bought_mwh, s.penalty_rmb) == (0.0, 3.0, 0.0)
    assert s.grid_rmb == pytest.approx(-3.0 * FIT)  # credited to the buyer; its P2P bill stands


def test_a_buyer_drawing_less_than_its_p2p_gets_its_grid_purchase_undone():
    s = settle_delivery(Contracted(p2p_bought_mwh=4.0, grid_supplied_mwh=2.0), 0.0, 3.0, TOU, FIT, RULES)
    assert (s.grid_sold_mwh, s.grid_bought_mwh) == (-2.0, 1.0)
    assert s.grid_rmb == pytest.approx(-2.0 * TOU - 1.0 * FIT)


def test_a_seller_that_ends_up_drawing_is_short_of_everything_and_buys_its_draw():
    s = settle_delivery(Contracted(p2p_sold_mwh=5.0), 0.0, 2.0, TOU, FIT, RULES)
    assert (s.shortfall_mwh, s.grid_sold_mwh) == (5.0, 7.0)
    assert s.penalty_rmb == pytest.approx(5.0 * (5.0 - 0.25))


def test_metered_volumes_are_magnitudes():
    with pytest.raises(ValueError, match="magnitudes"):
        settle_delivery(Contracted(), -1.0, 0.0, TOU, FIT, RULES)


volumes = st.floats(0.0, 50.0)


@given(sold=volumes, took=volumes, bought=volumes, supplied=volumes)
def test_delivering_exactly_what_cleared_costs_nothing(sold, took, bought, supplied):
    seller = settle_delivery(Contracted(p2p_sold_mwh=sold, grid_took_mwh=took), sold + took, 0.0, TOU, FIT, RULES)
    buyer = settle_delivery(Contracted(p2p_bought_mwh=bought, grid_supplied_mwh=supplied), 0.0, bought + supplied,
                            TOU, FIT, RULES)
    for s in (seller, buyer):
        assert s.shortfall_mwh == 0.0 and s.penalty_rmb == 0.0
        assert s.grid_rmb == pytest.approx(0.0, abs=1e-9)


@given(sold=volumes, took=volumes, delivered=volumes, less=st.floats(0.0, 10.0))
def test_delivering_less_never_costs_a_seller_less(sold, took, delivered, less):
    more = settle_delivery(Contracted(p2p_sold_mwh=sold, grid_took_mwh=took), delivered, 0.0, TOU, FIT, RULES)
    fewer = settle_delivery(Contracted(p2p_sold_mwh=sold, grid_took_mwh=took), max(0.0, delivered - less), 0.0,
                            TOU, FIT, RULES)
    assert fewer.cost_rmb >= more.cost_rmb - 1e-9
