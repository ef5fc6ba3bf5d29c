"""Compulsory trading with the main grid (§A.7): the counterparty of last resort.

Whatever a bidder could not trade peer to peer is settled with the grid: unsold supply at the
feed-in price, unmet demand at the TOU price. Hours with a single active DNO end here entirely.
"""

from __future__ import annotations

from dataclasses import dataclass

from market.auction import ClearingResult, Rules


@dataclass(frozen=True, slots=True)
class GridTrade:
    """One DNO's exchange with the main grid in an hour; `dno_sells` gives the direction."""

    dno: str
    quantity_mwh: float
    price_per_mwh: float
    dno_sells: bool

    @property
    def value_rmb(self) -> float:
        """Money that changes hands, RMB (to the DNO if it sells, to the grid if it buys)."""
        return self.quantity_mwh * self.price_per_mwh


def compulsory_trades(result: ClearingResult, rules: Rules) -> list[GridTrade]:
    """Grid trades for every positive residual of a single-hour clearing."""
    residual = result.residual_by_hour
    sides = ((result.offers, rules.feed_in_per_mwh, True), (result.bids, rules.tou_buy_per_mwh, False))
    return [
        GridTrade(bid.bidder, residual[(bid.bidder, bid.hour)], price_per_mwh, dno_sells)
        for book, price_per_mwh, dno_sells in sides
        for bid in book
        if residual[(bid.bidder, bid.hour)] > 0
    ]
