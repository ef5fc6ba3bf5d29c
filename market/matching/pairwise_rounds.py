"""`pairwise_rounds`: each bidder meets at most one counterpart per round (§A.5.3).

The paper-faithful reading of the hour-2 narrative: the m-th cheapest seller meets the m-th
dearest buyer; the first incompatible pair ends the round because all later pairs are worse.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from market.book import Bid, buyer_rank, merit_order_indices, seller_rank
from market.matching.registry import Fill, register

if TYPE_CHECKING:
    from market.auction import Rules


@register("pairwise_rounds")
def match(offers: Sequence[Bid], bids: Sequence[Bid], rules: Rules) -> list[Fill]:
    """Fills of the sorted one-to-one pairing, min of the two residuals each."""
    sellers = merit_order_indices(offers, seller_rank)
    buyers = merit_order_indices(bids, buyer_rank)
    fills: list[Fill] = []
    for i, j in zip(sellers, buyers):
        if offers[i].price_per_mwh > bids[j].price_per_mwh:
            break
        fills.append(Fill(i, j, min(offers[i].quantity_mwh, bids[j].quantity_mwh)))
    return fills
