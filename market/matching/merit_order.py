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
    fills: list[Fill] = []
    a = b = 0
    supply = offers[sellers[0]].quantity_mwh if sellers else 0.0
    demand = bids[buyers[0]].quantity_mwh if buyers else 0.0
    while a < len(sellers) and b < len(buyers):
        i, j = sellers[a], buyers[b]
        if offers[i].price_per_mwh > bids[j].price_per_mwh:
            break
        quantity = min(supply, demand)
        if quantity > 0:
            fills.append(Fill(i, j, quantity))
        supply -= quantity
        demand -= quantity
        if supply <= 0:
            a += 1
            supply = offers[sellers[a]].quantity_mwh if a < len(sellers) else 0.0
        if demand <= 0:
            b += 1
            demand = bids[buyers[b]].quantity_mwh if b < len(buyers) else 0.0
    return fills
