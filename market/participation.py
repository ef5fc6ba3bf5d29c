"""Whether a DNO offers its hour's deviation to the P2P market or settles it with the grid.

A P2P trade at gross price p is worth, per MWh, to the seller p − (its fee share) × fee + c and to
the buyer −p − (its fee share) × fee + c, where c is the valley compensation paid to both sides
of a valley trade (0 in other hours). Against the grid (feed-in price f for the seller, TOU price
b for the buyer), each side has a reservation price: the gross price at which P2P is as good as
the grid,

    seller: f + s_seller × fee − c,        buyer: b − s_buyer × fee + c.

Rules (`mechanism.participation`):

- `always` (the paper's): every DNO with a deviation offers it, even when it loses by trading.
- `rational`: a DNO offers only if the price it expects, the middle of the hour's band (b + f) / 2
  (where a symmetric double auction clears; the paper's hour-2 price, 334.80, is 0.2 from it),
  beats its reservation price: a side with fee share s joins when c > (f − b) / 2 + s × fee.
  With the fee split equally both sides decide alike; in the paper's valley (b = 270, f = 400,
  fee 100) that takes a compensation above 115 RMB/MWh, and outside the valley (c = 0) a band
  b − f wider than the fee.

The bid-price rule `band_interpolation_net` (market.bidding.price_rules) prices within the band of
the two reservation prices instead of the tariff's, so that a trade at any price between a
matched pair's bids is worth joining for both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from market.fees import FEE_SHARES

if TYPE_CHECKING:
    from market.auction import Rules


def compensation_per_mwh(rules: Rules) -> float:
    """The compensation a side of a P2P trade in this hour receives per MWh."""
    return rules.valley_compensation_per_mwh if rules.is_valley else 0.0


def reservation_prices(rules: Rules) -> tuple[float, float]:
    """(seller's, buyer's) gross P2P price at which trading is as good as the grid, RMB/MWh."""
    seller_share, buyer_share = FEE_SHARES[rules.fee_payer]
    fee, comp = rules.service_fee_per_mwh, compensation_per_mwh(rules)
    return rules.feed_in_per_mwh + seller_share * fee - comp, rules.tou_buy_per_mwh - buyer_share * fee + comp


def expected_price(rules: Rules) -> float:
    """The P2P price a DNO expects: the middle of the hour's tariff band."""
    return (rules.tou_buy_per_mwh + rules.feed_in_per_mwh) / 2.0


def _rational(side: str, rules: Rules) -> bool:
    seller, buyer = reservation_prices(rules)
    return expected_price(rules) > seller if side == "sell" else expected_price(rules) < buyer


# side ("sell" | "buy"), the hour's rules -> whether the DNO offers its deviation to the market
PARTICIPATION: dict[str, Callable[[str, Rules], bool]] = {
    "always": lambda side, rules: True,
    "rational": _rational,
}
