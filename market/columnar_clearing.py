"""The default hour (merit order, no network, plain concession) cleared on arrays.

The same trades, in the same order and with the same rounding, as the round loop of
market.auction: each round sorts each side once with numpy, concedes a whole side in one
expression (market.concession.concessions_array) and walks the crossing part of the book with
the merit-order mode's own walk. Trades, round books and residuals stay arrays (`Deferred`) until
someone reads them. Books the fast path cannot read exactly (ints for floats, Bid subclasses,
block bids, anything `_check_book` would reject) return None and take the round loop.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import TYPE_CHECKING

import numpy as np

from market.book import Bid, RoundBook, Trade
from market.concession import concessions_array
from market.matching.merit_order import walk

if TYPE_CHECKING:
    from market.auction import Rules

_DOUBLES = {float, np.float64}  # IEEE doubles in Python arithmetic; ints keep the loop
_NAME, _HOUR = attrgetter("bidder"), attrgetter("hour")
_QUANTITY, _PRICE, _SUBMITTED = attrgetter("quantity_mwh"), attrgetter("price_per_mwh"), attrgetter("submitted_at")


@dataclass(frozen=True)
class _Side:
    """One side of the book as columns, in input order."""

    names: tuple[str, ...]
    hours: tuple[int | None, ...]
    quantity: np.ndarray
    price: np.ndarray
    submitted_at: np.ndarray

    @classmethod
    def read(cls, bids: tuple[Bid, ...]) -> _Side | None:
        """The columns, or None unless every bid is a plain divisible Bid of doubles."""
        if set(map(type, bids)) - {Bid} or any(map(attrgetter("all_or_nothing"), bids)):
            return None
        if set(map(attrgetter("bundle"), bids)) - {None}:
            return None
        numbers = [list(map(get, bids)) for get in (_QUANTITY, _PRICE, _SUBMITTED)]
        if any(set(map(type, column)) - _DOUBLES for column in numbers):
            return None
        quantity, price, submitted = (np.array(column, dtype=float) for column in numbers)
        return cls(tuple(map(_NAME, bids)), tuple(map(_HOUR, bids)), quantity, price, submitted)

    def rank(self, key: np.ndarray, active: np.ndarray) -> np.ndarray:
        """Places of the `active` bids in merit order: `key`, then upload time, then name. One
        argsort, then the tie-breaks only among the bids whose keys tie (often a few hundred
        sellers at the band's edge, rarely more)."""
        order = np.argsort(key)
        key_sorted = key[order]
        tied = key_sorted[1:] == key_sorted[:-1]
        if not tied.any():
            return order
        in_tie = np.zeros(len(order), dtype=bool)
        in_tie[1:] |= tied
        in_tie[:-1] |= tied
        places = np.flatnonzero(in_tie)  # runs of equal keys, each contiguous in `order`
        members = order[places]
        submitted = self.submitted_at[active[members]]
        by_name = np.zeros(len(members), dtype=np.int64)
        if (np.diff(submitted[np.lexsort((submitted, key[members]))]) == 0).any():
            names = [self.names[k] for k in active[members].tolist()]
            by_name[sorted(range(len(members)), key=names.__getitem__)] = np.arange(len(members))
        order[places] = members[np.lexsort((by_name, submitted, key[members]))]
        return order


class Deferred(Sequence):
    """A tuple built on first read: the clearing's trades and round books stay arrays until a
    caller looks, because building a record per fill and per remaining bidder of every round was
    most of the time of a large hour. Reads, compares and prints as the tuple it stands for."""

    def __init__(self, build: Callable[[], tuple]) -> None:
        self._build: Callable[[], tuple] | None = build
        self._items: tuple = ()

    def materialized(self) -> tuple:
        if self._build is not None:
            self._items, self._build = self._build(), None
        return self._items

    def __getitem__(self, index):  # int -> item, slice -> tuple, as on a tuple
        return self.materialized()[index]

    def __len__(self) -> int:
        return len(self.materialized())

    def __iter__(self) -> Iterator:
        return iter(self.materialized())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and not isinstance(other, str) and self.materialized() == tuple(other)

    __hash__ = None  # type: ignore[assignment]  # equal by content, so not hashable (like a list)

    def __repr__(self) -> str:
        return repr(self.materialized())

    def __reduce__(self):  # copies and pickles (a result sent to another process) are plain tuples
        return tuple, (self.materialized(),)


class DeferredDict(Mapping):
    """A dict built on first read (the residuals of a large hour), like `Deferred`."""

    def __init__(self, build: Callable[[], dict]) -> None:
        self._deferred = Deferred(lambda: (build(),))

    def _dict(self) -> dict:
        return self._deferred[0]

    def __getitem__(self, key):
        return self._dict()[key]

    def __iter__(self) -> Iterator:
        return iter(self._dict())

    def __len__(self) -> int:
        return len(self._dict())

    def __repr__(self) -> str:
        return repr(self._dict())

    def __reduce__(self):
        return dict, (self._dict(),)


def clear_merit_order(
    offers: tuple[Bid, ...], bids: tuple[Bid, ...], rules: Rules
) -> tuple[Deferred, Deferred, DeferredDict] | None:
    """(trades, round books, residual by (bidder, hour)) of the round loop, or None when the book
    is not one this path reads exactly (the caller then runs the loop, which also names any fault)."""
    sellers, buyers = _Side.read(offers), _Side.read(bids)
    if sellers is None or buyers is None or not _clean(sellers, buyers):
        return None
    tolerance = rules.quantity_tolerance_mwh
    concede_seller, concede_buyer = concessions_array(rules)
    s_idx = np.flatnonzero(sellers.quantity > tolerance)
    b_idx = np.flatnonzero(buyers.quantity > tolerance)
    s_q, s_p = sellers.quantity[s_idx], sellers.price[s_idx]
    b_q, b_p = buyers.quantity[b_idx], buyers.price[b_idx]
    traded_s, traded_b = np.zeros(len(offers)), np.zeros(len(bids))
    fills: list[tuple] = []  # per round: (round, seller, buyer, MWh, ask, bid) columns
    columns: list[tuple] = []  # per round: (round, (seller index, MWh, price), (buyer ...))
    idle_rounds, made = 0, True
    for round_no in range(1, rules.max_rounds + 1):
        if not len(s_idx) or not len(b_idx):
            break
        if round_no > 1:
            s_new, b_new = concede_seller(s_p), concede_buyer(b_p)
            s_moved, b_moved = s_new != s_p, b_new != b_p
            moved = bool(s_moved.any() or b_moved.any())
            # a price that did not move keeps its bits (a -0.0 conceded by a zero rate stays -0.0)
            s_p, b_p = np.where(s_moved, s_new, s_p), np.where(b_moved, b_new, b_p)
            idle_rounds = idle_rounds + 1 if not (moved or made) else 0
            if idle_rounds >= rules.max_idle_rounds:
                break
        columns.append((round_no, (s_idx, s_q, s_p), (b_idx, b_q, b_p)))
        s_order, b_order = sellers.rank(s_p, s_idx), buyers.rank(-b_p, b_idx)
        asks, offered = s_p[s_order], b_p[b_order]
        # the walk stops at the first ask above the current bid, so only asks up to the best bid
        # and bids down to the best ask can trade
        n_s = int(np.searchsorted(asks, offered[0], side="right"))
        n_b = int(np.searchsorted(-offered, -asks[0], side="right"))
        s_order, b_order, asks, offered = s_order[:n_s], b_order[:n_b], asks[:n_s], offered[:n_b]
        walked = np.array(walk(s_q[s_order].tolist(), asks.tolist(), b_q[b_order].tolist(), offered.tolist()),
                          dtype=float).reshape(-1, 3)
        made = len(walked) > 0
        a, b, quantity = walked[:, 0].astype(np.intp), walked[:, 1].astype(np.intp), walked[:, 2]
        i, j = s_order[a], b_order[b]
        fills.append((round_no, s_idx[i], b_idx[j], quantity, asks[a], offered[b]))
        # unbuffered adds run in fill order, so each sum rounds as the loop's running total does
        sold, bought = np.zeros(len(s_idx)), np.zeros(len(b_idx))
        np.add.at(sold, i, quantity)
        np.add.at(bought, j, quantity)
        np.add.at(traded_s, s_idx[i], quantity)
        np.add.at(traded_b, b_idx[j], quantity)
        s_idx, s_q, s_p = _remaining(s_idx, s_q, s_p, sold, tolerance)
        b_idx, b_q, b_p = _remaining(b_idx, b_q, b_p, bought, tolerance)

    def trades() -> tuple[Trade, ...]:
        return tuple(
            Trade(sellers.names[s], buyers.names[b], round_no, q, (ask + bid) / 2, ask, bid, sellers.hours[s])
            for round_no, *cols in fills
            for s, b, q, ask, bid in zip(*(c.tolist() for c in cols))
        )

    def rounds() -> tuple[RoundBook, ...]:
        return tuple(
            RoundBook(round_no, _records(offers, *on_offer), _records(bids, *on_bid))
            for round_no, on_offer, on_bid in columns
        )

    def residual() -> dict[tuple[str, int | None], float]:
        out: dict[tuple[str, int | None], float] = {}
        for side, traded in ((sellers, traded_s), (buyers, traded_b)):
            left = side.quantity - traded
            out.update(zip(zip(side.names, side.hours), np.where(left > 0.0, left, 0.0).tolist()))
        return out

    return Deferred(trades), Deferred(rounds), DeferredDict(residual)


def _records(book: tuple[Bid, ...], index: np.ndarray, quantity: np.ndarray, price: np.ndarray) -> tuple[Bid, ...]:
    """The round's bids as records: the bid itself while untouched, else its revision."""
    out = []
    for k, q, p in zip(index.tolist(), quantity.tolist(), price.tolist()):
        bid = book[k]
        untouched = _same(q, bid.quantity_mwh) and _same(p, bid.price_per_mwh)
        out.append(bid if untouched else bid.revised(q, p))
    return tuple(out)


def _same(a: float, b: float) -> bool:
    """Equal to the bit: 0.0 and -0.0 differ."""
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


def _remaining(
    index: np.ndarray, quantity: np.ndarray, price: np.ndarray, filled: np.ndarray, tolerance: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The bidders left after a round, with their residuals (§A.6.1)."""
    left = quantity - filled
    keep = left > tolerance
    return index[keep], left[keep], price[keep]


def _clean(sellers: _Side, buyers: _Side) -> bool:
    """What `_check_book` asks of a one-hour book: one hour, no bidder twice on a side or on both."""
    seller_names, buyer_names = set(sellers.names), set(buyers.names)
    return (
        len(set(sellers.hours + buyers.hours)) <= 1
        and len(seller_names) == len(sellers.names)
        and len(buyer_names) == len(buyers.names)
        and seller_names.isdisjoint(buyer_names)
    )
