"""The paper's hour-2 narrative (§A.11) rebuilt under `pairwise_rounds`.

Bids chosen (the paper's Table 1 is unpublished), priced by `anchor_scaling` (§A.4.3), k = 0.5,
at hour 2 (valley, TOU 270, feed-in 400 RMB/MWh):
  DN2 sells 4,866.80 MWh, storage 9,733.6 MWh  -> rho 0.5      -> asks 202.5, uploaded at t=0
  DN3 sells   105.26 MWh, storage 1.0526e8 MWh -> rho ~0       -> asks ~270,  uploaded at t=1
  DN4 buys 10,000 MWh,    load 10,000/0.3355   -> rho 0.3355   -> bids 467.1, uploaded at t=0.5
Concession rate delta_s = delta_b = 0.9/197.1 (~0.46 %), the rate at which DN3 and DN4 meet at
369.00 in round 2. Table 2 is gross of fees, so the service fee is 0.
"""

from __future__ import annotations

import pytest

from market.auction import Rules
from market.bidding import Position, price_bids
from market.params import MechanismParams
from market.settlement import HourBook, settle_day
from market.tariff import Tariff
from market.variants import variant

DELTA = 0.9 / 197.1
PARAMS = MechanismParams(
    bid_price_rule="anchor_scaling",
    matching="pairwise_rounds",
    seller_concession=DELTA,
    buyer_concession=DELTA,
    service_fee_per_mwh=0.0,
)
SELLERS = [Position("DN2", 4866.80, 9733.6, 0.0), Position("DN3", 105.26, 1.0526e8, 1.0)]
BUYERS = [Position("DN4", 10_000.0, 10_000.0 / 0.3355, 0.5)]


def hour2_book() -> HourBook:
    offers, bids = price_bids(SELLERS, BUYERS, Rules.for_hour(PARAMS, Tariff(), 2))
    return HourBook(2, tuple(offers), tuple(bids))


def test_hour2_rounds_trades_and_grid_residual():
    book = hour2_book()
    assert [round(b.price_per_mwh, 2) for b in book.offers + book.bids] == [202.5, 270.0, 467.1]
    day = settle_day([book], Tariff(), variant(PARAMS, "S1"))
    (hour,) = day.hours
    trades = [(t.seller, t.buyer, t.round, t.quantity_mwh) for t in hour.result.trades]
    assert trades == [("DN2", "DN4", 1, 4866.80), ("DN3", "DN4", 2, 105.26)]
    first, second = hour.result.trades
    assert first.price_per_mwh == pytest.approx(334.80, abs=0.005)
    assert second.price_per_mwh == pytest.approx(369.00, abs=0.005)
    assert second.price_per_mwh > first.price_per_mwh
    assert len(hour.result.rounds) == 2  # no seller is left for a third round
    (grid,) = hour.grid_trades
    assert (grid.dno, grid.dno_sells, grid.price_per_mwh) == ("DN4", False, 270.0)
    assert grid.quantity_mwh == pytest.approx(5027.94, abs=1e-6)
    volumes = {n: a.p2p_volume_mwh for n, a in day.accounts.items()}
    assert volumes == pytest.approx({"DN2": 4866.80, "DN3": 105.26, "DN4": 4972.06})


def test_hour2_scenario_gaps_match_table2():
    """S1 - S2 is the compensation: DN2 +0.48668 M, DN4 -0.49721 M (Table 2); S3 is all grid:
    DN2 1.94672 M and DN4 2.7 M (Table 2)."""
    book = hour2_book()
    revenue = {}
    for name in ("S1", "S2", "S3"):
        day = settle_day([book], Tariff(), variant(PARAMS, name))
        revenue[name] = {dno: account.revenue_rmb for dno, account in day.accounts.items()}
    assert revenue["S1"]["DN2"] - revenue["S2"]["DN2"] == pytest.approx(486_680.0)
    assert revenue["S2"]["DN4"] - revenue["S1"]["DN4"] == pytest.approx(-497_206.0)
    assert revenue["S3"]["DN2"] == pytest.approx(1_946_720.0)
    assert revenue["S3"]["DN4"] == pytest.approx(-2_700_000.0)
