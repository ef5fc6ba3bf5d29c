"""Concession between rounds (§A.6.2): unmatched sellers ask less, unmatched buyers bid more.

The step is a registry (multiplicative default, additive option). Multiplicative steps scale the
magnitude |p|, so a negative price still moves the conceding way. Clamping to the tariff band
never reverses a move: a price already outside the band stays where it is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from market.auction import Rules

# size of one concession step: (price, rate, band width) -> amount to move
CONCESSION_FORMS: dict[str, Callable[[float, float, float], float]] = {
    "multiplicative": lambda price, rate, band_width: rate * abs(price),
    "additive": lambda price, rate, band_width: rate * band_width,
}

PriceUpdate = Callable[[float], float]
ArrayUpdate = Callable[[np.ndarray], np.ndarray]


def concessions(rules: Rules) -> tuple[PriceUpdate, PriceUpdate]:
    """The seller's and the buyer's price update of one round, with the rules' constants bound
    once (the auction calls them for every remaining bidder of every round)."""
    step = CONCESSION_FORMS[rules.concession_form]
    width = rules.band_width_per_mwh
    low, high = rules.band_low_per_mwh, rules.band_high_per_mwh
    seller_rate, buyer_rate = rules.seller_concession, rules.buyer_concession
    clamp = rules.clamp_to_band

    def seller(price_per_mwh: float) -> float:
        conceded = price_per_mwh - step(price_per_mwh, seller_rate, width)
        return min(price_per_mwh, max(low, conceded)) if clamp else conceded

    def buyer(price_per_mwh: float) -> float:
        conceded = price_per_mwh + step(price_per_mwh, buyer_rate, width)
        return max(price_per_mwh, min(high, conceded)) if clamp else conceded

    return seller, buyer


def concessions_array(rules: Rules) -> tuple[ArrayUpdate, ArrayUpdate]:
    """`concessions` on whole arrays of prices, with the same IEEE results element by element
    (each Python min/max is a where that keeps its first argument on ties, so even signed zeros
    agree); the columnar clearing concedes a whole side at once with these."""
    step = CONCESSION_FORMS[rules.concession_form]
    width = rules.band_width_per_mwh
    low, high = rules.band_low_per_mwh, rules.band_high_per_mwh
    seller_rate, buyer_rate = rules.seller_concession, rules.buyer_concession
    clamp = rules.clamp_to_band

    def seller(prices: np.ndarray) -> np.ndarray:
        conceded = prices - step(prices, seller_rate, width)
        if not clamp:
            return conceded
        floor = np.where(conceded > low, conceded, low)  # max(low, conceded)
        return np.where(floor < prices, floor, prices)  # min(price, floor)

    def buyer(prices: np.ndarray) -> np.ndarray:
        conceded = prices + step(prices, buyer_rate, width)
        if not clamp:
            return conceded
        ceiling = np.where(conceded < high, conceded, high)  # min(high, conceded)
        return np.where(ceiling > prices, ceiling, prices)  # max(price, ceiling)

    return seller, buyer
