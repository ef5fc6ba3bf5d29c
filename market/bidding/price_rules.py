"""First-round bid prices (§A.4): a registry of rules mapping a quantity ratio to a price.

The paper's formula is lost; it names the inputs (bid quantity, the seller's storage capacity, the
buyer's load, k = 0.5) and the tariff anchors. `band_interpolation` (R1) keeps every price inside
the band between feed-in and TOU tariff; `anchor_scaling` (R2) follows the literal §5.4 sentence.
"""

from __future__ import annotations

import math

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from market.book import Bid
from market.participation import reservation_prices

if TYPE_CHECKING:
    from market.auction import Rules


@dataclass(frozen=True, slots=True)
class Position:
    """A DNO's side of the hour before pricing: quantity and the scale its ratio divides by.

    `scale_mwh` is the seller's total storage capacity E or the buyer's intraday load L (§A.4.1).
    """

    bidder: str
    quantity_mwh: float
    scale_mwh: float
    submitted_at: float = 0.0


@dataclass(frozen=True)
class BidPriceRule:
    """Seller and buyer price as functions of (ratio, TOU buy price, feed-in price, k). A `net`
    rule gets the sides' reservation prices (market.participation) in place of the tariff's: the
    buyer's for the TOU price, the seller's for the feed-in price."""

    seller: Callable[[float, float, float, float], float]
    buyer: Callable[[float, float, float, float], float]
    net: bool = False


def _band_interpolation(net: bool = False) -> BidPriceRule:
    return BidPriceRule(seller=lambda rho, buy, fit, k: buy - k * (buy - fit) * rho,
                        buyer=lambda rho, buy, fit, k: fit + k * (buy - fit) * rho, net=net)


BID_PRICE_RULES: dict[str, BidPriceRule] = {
    # R1 (§A.4.2): move from the own-side anchor towards the other by k * band * ratio.
    "band_interpolation": _band_interpolation(),
    # R2 (§A.4.3): scale the own-side anchor by (1 -/+ k * ratio).
    "anchor_scaling": BidPriceRule(
        seller=lambda rho, buy, fit, k: buy * (1 - k * rho),
        buyer=lambda rho, buy, fit, k: fit * (1 + k * rho),
    ),
    # R1 between the reservation prices: every price a matched pair can reach is worth trading at
    # for both sides whenever the band is not inverted
    "band_interpolation_net": _band_interpolation(net=True),
}


# The scale a ratio divides by: the bidder's own, or the sum over the side's active bidders.
RATIO_SCOPES: dict[str, Callable[[Position, float], float]] = {
    "own": lambda position, side_total_mwh: position.scale_mwh,
    "market": lambda position, side_total_mwh: side_total_mwh,
}


def quantity_ratio(quantity_mwh: float, scale_mwh: float) -> float:
    """rho = min(1, Q / scale), with a zero scale counting as fully stretched (rho = 1)."""
    if quantity_mwh <= 0:
        return 0.0
    return 1.0 if scale_mwh <= 0 else min(1.0, quantity_mwh / scale_mwh)


def price_bids(
    sellers: Sequence[Position], buyers: Sequence[Position], rules: Rules
) -> tuple[list[Bid], list[Bid]]:
    """Priced offers and bids of the first round under `rules.bid_price_rule` and ratio scope.

    Scope `market` divides by the sum of the scales of all active bidders of that side, the
    alternative reading of "total ... in the first round" (§A.4.2).
    """
    rule = BID_PRICE_RULES[rules.bid_price_rule]
    if rule.net:
        seller_floor, buyer_cap = reservation_prices(rules)
        anchors = (buyer_cap, seller_floor, rules.price_adjustment_k)
    else:
        anchors = (rules.tou_buy_per_mwh, rules.feed_in_per_mwh, rules.price_adjustment_k)
    return (
        _priced(sellers, rule.seller, rules, anchors),
        _priced(buyers, rule.buyer, rules, anchors),
    )


def _priced(
    positions: Sequence[Position], price: Callable[[float, float, float, float], float], rules: Rules,
    anchors: tuple[float, float, float],
) -> list[Bid]:
    tolerance = rules.quantity_tolerance_mwh
    active_scale_mwh = math.fsum(p.scale_mwh for p in positions if p.quantity_mwh > tolerance)
    scale_of = RATIO_SCOPES[rules.ratio_scope]
    return [
        Bid(
            p.bidder,
            p.quantity_mwh,
            price(quantity_ratio(p.quantity_mwh, scale_of(p, active_scale_mwh)), *anchors),
            p.submitted_at,
        )
        for p in positions
    ]
