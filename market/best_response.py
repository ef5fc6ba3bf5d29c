"""Best-response dynamics (BRD) of one market hour's bidding game (§B.3.5).

Each participant picks a price from its own discretised grid; its utility is what the clearing
rule gives it at the whole profile of prices. BRD sweeps the participants in a fresh seeded
random order, and each in turn moves to the grid price that maximises its utility against the
others' current prices (relaxed by omega). It ends in one of three outcomes:

- `converged`: a whole sweep moved no price by more than epsilon. With omega = 1 and epsilon = 0
  every price is then a best response to the others: a pure Nash equilibrium of the discretised
  game.
- `cycling`: a sweep that changed something ended at a profile already seen at the end of an
  earlier sweep (the start counts as sweep 0). The dynamics came back to where they were: a
  later sweep order might still escape, but nothing makes it, so there is no progress to wait for.
- `not_converged`: `max_sweeps` sweeps passed without either.

BRD runs off chain: only the final profile is uploaded, and the contract clears it with the same
rule the utilities were computed with, so each participant gets what its utility promised.

With omega < 1 a player moves only part of the way to its best grid price, so prices leave the
grid (b + omega (best - b) is rarely a grid point); best responses are still chosen on the grid,
and both the convergence test and the cycle test compare the exact profile of floats.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from market.book import Bid

if TYPE_CHECKING:
    from market.auction import ClearingResult
    from market.book import Trade

SIDES = ("sell", "buy")

Clear = Callable[[Sequence[Bid], Sequence[Bid]], "ClearingResult"]
Utilities = Callable[[Mapping[str, float]], Mapping[str, float]]


@dataclass(frozen=True)
class Player:
    """A participant of the hour; `limit_per_mwh` is a seller's marginal cost or a buyer's
    valuation (in this project the grid alternative: feed-in for sellers, TOU for buyers)."""

    name: str
    side: str
    quantity_mwh: float
    limit_per_mwh: float

    def __post_init__(self) -> None:
        if self.side not in SIDES:
            raise ValueError(f"player {self.name!r}: side must be 'sell' or 'buy', got {self.side!r}")
        if not (math.isfinite(self.quantity_mwh) and self.quantity_mwh >= 0):
            raise ValueError(f"player {self.name!r}: quantity_mwh must be finite and >= 0")
        if not math.isfinite(self.limit_per_mwh):
            raise ValueError(f"player {self.name!r}: limit_per_mwh must be finite")


@dataclass(frozen=True)
class Dynamics:
    """Where BRD ended, how, and every update on the way: rows of (sweep, player, price after the
    update, the player's utility at the profile after it)."""

    profile: dict[str, float]
    outcome: str
    sweeps: int
    rows: tuple[tuple[int, str, float, float], ...]
    evaluations: int  # distinct profiles cleared
    utilities: dict[str, float]


def price_grid(low: float, high: float, step: float) -> np.ndarray:
    """low, low + step, ..., with `high` always the last point (the last step may be shorter).

    Points are low + k * step for integer k rather than a running sum, so they do not drift;
    a later point within a billionth of a step of `high` is taken to be `high`, never a near-twin.
    """
    if not all(map(math.isfinite, (low, high, step))):
        raise ValueError(f"price grid needs finite low, high and step, got {low}, {high}, {step}")
    if step <= 0:
        raise ValueError(f"price grid step must be > 0, got {step}")
    if low > high:
        raise ValueError(f"price grid low {low} is above high {high}")
    points = low + np.arange(math.floor((high - low) / step) + 1) * step
    keep = points < high - 1e-9 * step
    keep[0] = low < high  # low stays, however close to high, unless it is high
    return np.append(points[keep], float(high))


def market_utilities(
    players: Sequence[Player],
    profile: Mapping[str, float],
    clear: Clear,
    feed_in_per_mwh: float,
    tou_buy_per_mwh: float,
) -> dict[str, float]:
    """Each player's utility when `clear` clears the profile: the surplus over its limit of what it
    traded, net of its share of use-of-system charges, plus that of trading the rest with the grid.

    Upload times are positions in `players`, so equal prices break ties the same way every call.
    Untraded volume is valued at the grid price, so what a player's limit adds is the constant
    (grid price - limit) * Q: best responses depend on the grid prices, not on the limits. A caller
    whose limits already net out what trading adds per MWh (fees, compensation) passes the limits
    as the grid prices, so that term vanishes.
    """
    offers = [_bid(p, profile, k) for k, p in enumerate(players) if p.side == "sell"]
    bids = [_bid(p, profile, k) for k, p in enumerate(players) if p.side == "buy"]
    fills: dict[str, list[tuple[float, float]]] = {p.name: [] for p in players}
    for trade in clear(offers, bids).trades:
        receives, pays = _settled_prices(trade)
        fills[trade.seller].append((receives, trade.quantity_mwh))
        fills[trade.buyer].append((pays, trade.quantity_mwh))
    grid = {"sell": feed_in_per_mwh, "buy": tou_buy_per_mwh}
    return {p.name: _utility(p, fills[p.name], grid[p.side]) for p in players}


def _bid(player: Player, profile: Mapping[str, float], position: int) -> Bid:
    return Bid(player.name, player.quantity_mwh, float(profile[player.name]), float(position))


def _settled_prices(trade: Trade) -> tuple[float, float]:
    """(seller receives, buyer pays) per MWh: the price less or plus each side's part of the charge."""
    share = trade.uos_seller_share
    return (
        trade.price_per_mwh - share * trade.uos_per_mwh,
        trade.price_per_mwh + (1 - share) * trade.uos_per_mwh,
    )


def _utility(player: Player, fills: list[tuple[float, float]], grid_per_mwh: float) -> float:
    """Seller: sum (receives - l) x + (feed-in - l)(Q - sum x); buyer: the same with the signs
    turned, (l - pays) x + (l - TOU)(Q - sum x), since money flows the other way."""
    sign = 1.0 if player.side == "sell" else -1.0
    limit = player.limit_per_mwh
    rest = player.quantity_mwh - math.fsum(x for _, x in fills)
    terms = [sign * (price - limit) * x for price, x in fills]
    return math.fsum([*terms, sign * (grid_per_mwh - limit) * rest])


def best_response_dynamics(
    players: Sequence[Player],
    grids: Mapping[str, np.ndarray],
    start: Mapping[str, float],
    utilities: Utilities,
    rng: np.random.Generator,
    max_sweeps: int = 100,
    omega: float = 1.0,
    epsilon: float = 0.0,
) -> Dynamics:
    """Sweep best responses from `start` until converged, cycling or `max_sweeps` (module doc).

    `utilities(profile)` gives every player's utility at a profile (name -> price); it is called
    once per distinct profile. `rng` draws only each sweep's order. Ties among best grid prices go
    to the one closest to the player's current price, then to the lowest: staying put wins a tie,
    so a Nash equilibrium is a fixed point and indifferent players do not wander.
    """
    names = [p.name for p in players]
    candidates = _checked(names, grids, start, max_sweeps, omega, epsilon)
    evaluate, cache = _memoised(names, utilities)
    profile = [float(start[name]) for name in names]
    seen = {tuple(profile)}
    rows: list[tuple[int, str, float, float]] = []
    outcome, sweep = "not_converged", max_sweeps
    for sweep in range(1, max_sweeps + 1):
        moved = False
        for i in rng.permutation(len(names)):
            best = _best_reply(profile, int(i), names[i], candidates[i], evaluate)
            # exact in floats: omega = 1 lands on the grid point, and best == b leaves b as it is
            new = best if omega == 1 else profile[i] + omega * (best - profile[i])
            moved |= abs(new - profile[i]) > epsilon
            profile[i] = new
            rows.append((sweep, names[i], new, evaluate(profile)[names[i]]))
        if not moved or tuple(profile) in seen:
            outcome = "cycling" if moved else "converged"
            break
        seen.add(tuple(profile))
    final = evaluate(profile)
    return Dynamics(
        profile=dict(zip(names, profile)),
        outcome=outcome,
        sweeps=sweep,
        rows=tuple(rows),
        evaluations=len(cache),
        utilities={name: final[name] for name in names},
    )


def _best_reply(
    profile: list[float],
    i: int,
    name: str,
    grid: Sequence[float],
    evaluate: Callable[[Sequence[float]], Mapping[str, float]],
) -> float:
    """Player i's utility-maximising grid price against the others' prices; ties by the rule of
    `best_response_dynamics` (closest to its current price, then lowest)."""
    trial = list(profile)
    values = []
    for price in grid:
        trial[i] = price
        values.append(evaluate(trial)[name])
    top = max(values)
    current = profile[i]
    tied = (price for price, value in zip(grid, values) if value == top)
    return min(tied, key=lambda price: (abs(price - current), price))


def _memoised(
    names: Sequence[str], utilities: Utilities
) -> tuple[Callable[[Sequence[float]], Mapping[str, float]], dict]:
    """`utilities` keyed by the tuple of prices in player order, and the cache (its size is the
    number of clearings run): sweeps re-evaluate the same profiles many times."""
    cache: dict[tuple[float, ...], Mapping[str, float]] = {}

    def evaluate(prices: Sequence[float]) -> Mapping[str, float]:
        key = tuple(prices)
        if key not in cache:
            cache[key] = utilities(dict(zip(names, key)))
        return cache[key]

    return evaluate, cache


def _checked(
    names: Sequence[str],
    grids: Mapping[str, np.ndarray],
    start: Mapping[str, float],
    max_sweeps: int,
    omega: float,
    epsilon: float,
) -> list[list[float]]:
    """Each player's grid as a list of floats, after rejecting what BRD cannot run on."""
    if len(set(names)) != len(names):
        raise ValueError("player names must be distinct")
    missing = [n for n in names if n not in grids or n not in start]
    if missing:
        raise ValueError(f"every player needs a grid and a start price; missing for {missing}")
    if not (isinstance(max_sweeps, int) and max_sweeps >= 1):
        raise ValueError(f"max_sweeps must be an integer >= 1, got {max_sweeps!r}")
    if not 0 < omega <= 1:
        raise ValueError(f"omega must be in (0, 1], got {omega}")
    if not epsilon >= 0:
        raise ValueError(f"epsilon must be >= 0, got {epsilon}")
    candidates = [[float(p) for p in np.ravel(grids[n])] for n in names]
    for name, grid in zip(names, candidates):
        if not grid or not all(map(math.isfinite, grid)) or not math.isfinite(start[name]):
            raise ValueError(f"player {name!r}: grid must be non-empty and grid and start finite")
    return candidates
