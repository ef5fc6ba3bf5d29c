"""Making agreed trades reciprocal and turning them into bilateral trades, for coordination stages
whose participants each hold their own claim of a trade (decomposition, ADMM).

A trade is seen from each side, + = import. Claims from iterative methods agree only to a
tolerance; these functions give trades that are exactly reciprocal, never larger than either
side's claim, and within each participant's bounds on what it may trade in total.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from market.coordination.base import BilateralTrade
from market.scheduling import HOURS

TRADE_TOL_MWH = 1e-6  # claims below this are none


def reciprocal_pool(trades: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Pool positions that balance: in each hour the longer side is scaled down to the shorter,
    so every position keeps its sign and stays within its bounds."""
    names = sorted(trades)
    x = np.array([trades[n] for n in names], dtype=float)
    x[np.abs(x) < TRADE_TOL_MWH] = 0.0  # before scaling, so that what remains balances exactly
    imports, exports = np.clip(x, 0, None), np.clip(-x, 0, None)
    bought, sold = imports.sum(axis=0), exports.sum(axis=0)
    matched = np.minimum(bought, sold)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale_in = np.where(bought > 0, matched / bought, 0.0)
        scale_out = np.where(sold > 0, matched / sold, 0.0)
    out = imports * scale_in - exports * scale_out
    return {n: out[i] for i, n in enumerate(names)}


def reciprocal_pairs(trades: Mapping[str, Mapping[str, np.ndarray]], bounds: Mapping[str, tuple[np.ndarray, np.ndarray]]
                     ) -> dict[str, dict[str, np.ndarray]]:
    """Pair trades that are reciprocal (i's import from j is j's export to i): the smaller of
    the two claims when they agree in direction, none when they disagree; then any participant
    whose net trade left its bounds (it relayed energy) has its offending trades scaled down, with
    its counterparties', until every net trade is within bounds."""
    names = sorted(trades)
    agreed = {n: {c: np.zeros(HOURS) for c in trades[n]} for n in names}
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            mine, theirs = np.asarray(trades[a][b], float), -np.asarray(trades[b][a], float)
            same = np.sign(mine) == np.sign(theirs)
            q = np.where(same, np.sign(mine) * np.minimum(np.abs(mine), np.abs(theirs)), 0.0)
            q[np.abs(q) < TRADE_TOL_MWH] = 0.0
            agreed[a][b], agreed[b][a] = q, -q
    for _ in range(len(names) + 1):  # each pass only shrinks trades, so this settles
        moved = False
        for n in names:
            imports, exports = bounds[n]
            net = sum(agreed[n].values())
            for side, limit in ((1.0, imports), (-1.0, exports)):
                over = side * net > limit + TRADE_TOL_MWH
                if not over.any():
                    continue
                moved = True
                total = sum(np.clip(side * q, 0, None) for q in agreed[n].values())
                keep = np.where(over, 1.0 - (side * net - limit) / np.where(total > 0, total, 1.0), 1.0)
                for c, q in agreed[n].items():
                    scaled = np.where(side * q > 0, q * keep, q)
                    agreed[n][c], agreed[c][n] = scaled, -scaled
                net = sum(agreed[n].values())
        if not moved:
            break
    return agreed


def pool_pairs(positions: Mapping[str, np.ndarray], prices: np.ndarray) -> list[BilateralTrade]:
    """Balanced pool positions as trades: in each hour every exporter sells to every importer in
    proportion to both their positions, at the hour's pool price. No trade is dropped, however
    small: the trades carry the positions exactly."""
    trades = []
    for t in range(HOURS):
        sellers = {n: -float(x[t]) for n, x in sorted(positions.items()) if x[t] < 0}
        buyers = {n: float(x[t]) for n, x in sorted(positions.items()) if x[t] > 0}
        total = math.fsum(sellers.values())
        if total <= 0 or not buyers:
            continue
        for s, qs in sellers.items():
            for b, qb in buyers.items():
                trades.append(BilateralTrade(s, b, t + 1, qs * qb / total, float(prices[t])))
    return trades


def pair_trades(agreed: Mapping[str, Mapping[str, np.ndarray]], prices: Mapping[tuple[str, str], np.ndarray]
                ) -> list[BilateralTrade]:
    """Reciprocal pair trades as trades, each at its pair's price."""
    trades = []
    for buyer in sorted(agreed):
        for seller, q in sorted(agreed[buyer].items()):
            for t in np.flatnonzero(q >= TRADE_TOL_MWH):
                trades.append(BilateralTrade(seller, buyer, int(t) + 1, float(q[t]), float(prices[(buyer, seller)][t])))
    return trades
