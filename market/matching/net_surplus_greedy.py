"""`net_surplus_greedy`: the on-chain variant of §B.3.3's clearing, step by step.

Every compatible pair (ask <= bid) is ranked by its net surplus b - a (on a network, b - a - u:
market.network.clearing), highest first, and given the smaller of the two residuals; a bidder may
fill against several counterparts. Unlike `merit_order` it is not the welfare optimum in general
(on a network), but a contract can run it without a solver; off a network it fills the same
volume as the merit-order walk, with the best pairs first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from market.book import Bid, buyer_rank, merit_order_indices, seller_rank
from market.matching.registry import Fill, register

if TYPE_CHECKING:
    from market.auction import Rules


def greedy_fill(surplus: np.ndarray, seller: np.ndarray, buyer: np.ndarray, supply: Sequence[float],
                demand: Sequence[float], seller_pos: Sequence[int], buyer_pos: Sequence[int]) -> np.ndarray:
    """Volume per candidate pair: highest `surplus` first, ties in merit order (the seller's, then
    the buyer's position `*_pos`), each given the smaller of the two residuals left."""
    left_s, left_b = list(supply), list(demand)
    x = np.zeros(len(surplus))
    order = sorted(range(len(surplus)), key=lambda k: (-surplus[k], seller_pos[seller[k]], buyer_pos[buyer[k]]))
    for k in order:
        i, j = int(seller[k]), int(buyer[k])
        q = min(left_s[i], left_b[j])
        if q > 0:
            x[k] = q
            left_s[i] -= q
            left_b[j] -= q
    return x


def merit_positions(book: Sequence[Bid], rank) -> list[int]:
    """Each bidder's place in its side's merit order (the tie-break among equal surpluses)."""
    pos = [0] * len(book)
    for place, k in enumerate(merit_order_indices(book, rank)):
        pos[k] = place
    return pos


@register("net_surplus_greedy")
def match(offers: Sequence[Bid], bids: Sequence[Bid], rules: Rules) -> list[Fill]:
    """Fills of the greedy allocation over all compatible pairs, best surplus first."""
    pairs = [(i, j) for i in range(len(offers)) for j in range(len(bids))
             if offers[i].price_per_mwh <= bids[j].price_per_mwh]
    if not pairs:
        return []
    seller = np.array([i for i, _ in pairs], dtype=np.int64)
    buyer = np.array([j for _, j in pairs], dtype=np.int64)
    surplus = np.array([bids[j].price_per_mwh - offers[i].price_per_mwh for i, j in pairs])
    x = greedy_fill(surplus, seller, buyer, [o.quantity_mwh for o in offers], [b.quantity_mwh for b in bids],
                    merit_positions(offers, seller_rank), merit_positions(bids, buyer_rank))
    return [Fill(int(i), int(j), float(q)) for i, j, q in zip(seller, buyer, x) if q > 0]
