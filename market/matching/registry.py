"""The registry of winner-determination modes (§A.5.3, §A.13.2): a new mode is one file plus
one `@register` line, and `Rules.matching` is validated against it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from market.book import Bid

if TYPE_CHECKING:
    from market.auction import Rules


class Fill(NamedTuple):
    """Volume a matcher assigns from offers[seller] to bids[buyer] in one round."""

    seller: int
    buyer: int
    quantity_mwh: float


MatchFn = Callable[[Sequence[Bid], Sequence[Bid], "Rules"], list[Fill]]


@dataclass(frozen=True)
class Matcher:
    """A mode and whether it understands all-or-nothing, bundle and multi-hour bids."""

    name: str
    match: MatchFn
    supports_blocks: bool = False


MATCHERS: dict[str, Matcher] = {}


def register(name: str, *, supports_blocks: bool = False) -> Callable[[MatchFn], MatchFn]:
    """Add a matching function to the registry under `name`."""

    def add(match: MatchFn) -> MatchFn:
        MATCHERS[name] = Matcher(name, match, supports_blocks)
        return match

    return add
