"""`merit_order`: the standard double auction, the exact welfare optimum of §A.5.1.

Walking the sorted sides and trading the smaller residual is optimal for one divisible hour:
at the optimum there is a clearing price with every accepted seller below and every accepted
buyer above it, and the walk fills exactly those in tie-break order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from market.book import Bid, buyer_rank, merit_order_indices, seller_rank
from market.matching.registry import Fill, register

if TYPE_CHECKING:
    from market.auction import Rules


@register("merit_order")
def match(offers: Sequence[Bid], bids: Sequence[Bid], rules: Rules) -> list[Fill]:
    """Fills of the merit-order walk; partially filled bidders continue in the same round."""
    sellers = merit_order_indices(offers, seller_rank)
    buyers = merit_order_indices(bids, buyer_rank)
    return [
        Fill(sellers[a], buyers[b], q)
        for a, b, q in walk(
            [offers[i].quantity_mwh for i in sellers], [offers[i].price_per_mwh for i in sellers],
            [bids[j].quantity_mwh for j in buyers], [bids[j].price_per_mwh for j in buyers],
        )
    ]


def walk(
    supply_mwh: list[float], ask: list[float], demand_mwh: list[float], bid: list[float]
) -> list[tuple[int, int, float]]:
    """(seller place, buyer place, MWh) of the walk over both sides given in merit order.

    Plain lists of floats, so the columnar clearing (market.columnar_clearing) and this mode
    share one walk and its rounding: each residual is its quantity minus the fills so far.
    """
    fills: list[tuple[int, int, float]] = []
    n_sellers, n_buyers = len(supply_mwh), len(demand_mwh)
    a = b = 0
    supply = supply_mwh[0] if n_sellers else 0.0
    demand = demand_mwh[0] if n_buyers else 0.0
    while a < n_sellers and b < n_buyers:
        if ask[a] > bid[b]:
            break
        quantity = supply if supply <= demand else demand  # min(), which keeps the first of equals
        if quantity > 0:
            fills.append((a, b, quantity))
        supply -= quantity
        demand -= quantity
        if supply <= 0:
            a += 1
            supply = supply_mwh[a] if a < n_sellers else 0.0
        if demand <= 0:
            b += 1
            demand = demand_mwh[b] if b < n_buyers else 0.0
    return fills
