"""The order book's records: a bid, a trade, the book of one round (§A.4-A.6).

Plain frozen dataclasses rather than pydantic models because a benchmark book holds 20,000 bids
that are rebuilt every round; each bid still checks itself, so bad input fails where it enters.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

_NUMBERS = ("quantity_mwh", "price_per_mwh", "submitted_at")


@dataclass(frozen=True, slots=True)
class Bid:
    """One side's offer to sell (an "offer") or to buy (a "bid") in the auction.

    `submitted_at` is the upload time that breaks price ties (earlier first, §A.5.2). The last
    three fields are read only by the `block` matching mode: `all_or_nothing` forbids partial fills,
    bids of one bidder sharing a `bundle` name are filled in the same proportion (all or nothing if
    they are all-or-nothing), and `hour` lets one bundle span several hours (None: the hour cleared).
    """

    bidder: str
    quantity_mwh: float
    price_per_mwh: float
    submitted_at: float = 0.0
    all_or_nothing: bool = False
    bundle: str | None = None
    hour: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.bidder, str) or not self.bidder:
            raise ValueError(f"bid bidder must be a non-empty string, got {self.bidder!r}")
        if not (
            math.isfinite(self.quantity_mwh)
            and math.isfinite(self.price_per_mwh)
            and math.isfinite(self.submitted_at)
        ):
            name = next(n for n in _NUMBERS if not math.isfinite(getattr(self, n)))
            value = getattr(self, name)
            raise ValueError(f"bid of {self.bidder}: {name} must be finite, got {value}")
        if self.quantity_mwh < 0:
            raise ValueError(
                f"bid of {self.bidder}: quantity_mwh must be >= 0, got {self.quantity_mwh}"
            )

    @property
    def group(self) -> tuple[str, str] | None:
        """The acceptance group shared with the bidder's other bids of the same bundle."""
        return None if self.bundle is None else (self.bidder, self.bundle)

    def revised(self, quantity_mwh: float, price_per_mwh: float) -> Bid:
        """The same bid entering the next round with its residual and conceded price."""
        return Bid(
            self.bidder,
            quantity_mwh,
            price_per_mwh,
            self.submitted_at,
            self.all_or_nothing,
            self.bundle,
            self.hour,
        )


@dataclass(frozen=True, slots=True)
class Trade:
    """A concluded P2P trade; both limits are kept so welfare and audit need no other record."""

    seller: str
    buyer: str
    round: int
    quantity_mwh: float
    price_per_mwh: float
    seller_price_per_mwh: float
    buyer_price_per_mwh: float
    hour: int | None = None
    uos_per_mwh: float = 0.0  # use-of-system charge to the network operator (on a network)
    uos_seller_share: float = 0.5  # the seller's part of it; the buyer pays the rest

    @property
    def value_rmb(self) -> float:
        """Money at the trade price, RMB; with a charge the seller receives less and the buyer
        pays more (`uos_rmb`), and the network operator collects the difference."""
        return self.quantity_mwh * self.price_per_mwh

    @property
    def uos_rmb(self) -> tuple[float, float]:
        """(seller's, buyer's) use-of-system charge for the trade, RMB."""
        total = self.uos_per_mwh * self.quantity_mwh
        return self.uos_seller_share * total, total - self.uos_seller_share * total

    @property
    def welfare_rmb(self) -> float:
        """Surplus of the trade at the round's limits, (p_b - p_s) q (§A.5.1), RMB."""
        return (self.buyer_price_per_mwh - self.seller_price_per_mwh) * self.quantity_mwh


@dataclass(frozen=True, slots=True)
class RoundBook:
    """Who bid what in one round, after concession, with residual quantities (1-based round)."""

    round: int
    offers: tuple[Bid, ...]
    bids: tuple[Bid, ...]


def seller_rank(bid: Bid) -> tuple[float, float, str]:
    """Merit order of sellers: cheapest first, then earliest upload, then name for determinism."""
    return (bid.price_per_mwh, bid.submitted_at, bid.bidder)


def buyer_rank(bid: Bid) -> tuple[float, float, str]:
    """Merit order of buyers: highest price first, then earliest upload, then name."""
    return (-bid.price_per_mwh, bid.submitted_at, bid.bidder)


def merit_order_indices(
    book: Sequence[Bid], rank: Callable[[Bid], tuple[float, float, str]]
) -> list[int]:
    """Positions of `book` in merit order (rank, then input position for equal ranks)."""
    keys = list(map(rank, book))
    return sorted(range(len(book)), key=keys.__getitem__)
