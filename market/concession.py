"""Concession between rounds (SPEC A.6.2): unmatched sellers ask less, unmatched buyers bid more.

The step is a registry (multiplicative default, additive option). Multiplicative steps scale the
magnitude |p|, so a negative price still moves the conceding way. Clamping to the tariff band
never reverses a move: a price already outside the band stays where it is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from market.auction import Rules

# step size of one concession: (price, rate, band width) -> amount to move
CONCESSION_FORMS: dict[str, Callable[[float, float, float], float]] = {
    "multiplicative": lambda price, rate, band_width: rate * abs(price),
    "additive": lambda price, rate, band_width: rate * band_width,
}


def concede_seller(price_per_mwh: float, rules: Rules) -> float:
    """A seller's price in the next round: lower, never below the band floor when clamping."""
    step = CONCESSION_FORMS[rules.concession_form]
    conceded = price_per_mwh - step(price_per_mwh, rules.seller_concession, rules.band_width_per_mwh)
    if rules.clamp_to_band:
        conceded = min(price_per_mwh, max(rules.band_low_per_mwh, conceded))
    return conceded


def concede_buyer(price_per_mwh: float, rules: Rules) -> float:
    """A buyer's price in the next round: higher, never above the band ceiling when clamping."""
    step = CONCESSION_FORMS[rules.concession_form]
    conceded = price_per_mwh + step(price_per_mwh, rules.buyer_concession, rules.band_width_per_mwh)
    if rules.clamp_to_band:
        conceded = max(price_per_mwh, min(rules.band_high_per_mwh, conceded))
    return conceded
