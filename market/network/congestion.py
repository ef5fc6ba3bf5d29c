"""Security check and congestion management of an hour's trades (docs/network.md).

A trade of x MW from a seller at bus m to a buyer at bus n moves (PTDF[:, m] - PTDF[:, n]) x MW
onto the lines, on top of the base flows. The security check compares the sum with the limits;
congestion management then cuts trades until every line is within its limit:

* `greedy`: the on-chain heuristic. While a line is overloaded (the largest overload first), the
  trade that worsens it with the least net surplus per MW of relief is cut by just enough, or to 0.
* `exact`: the clearing LP with line limits, max sum w_k x_k, solved by HiGHS through MathOpt.

A line the base case already overloads is held to its base flow: trades may relieve it but never
worsen it, so both modes always find a feasible answer (no trades at all is one).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ortools.math_opt.python import mathopt

from market.solver import solve_optimal

TOLERANCE_MW = 1e-6  # flows this close to a limit count as within it (the LP's feasibility tolerance)
_SENSITIVITY_EPS = 1e-12
TIE_SHARE = 1e-5  # the clearing LP's charge per traded MWh, relative to the largest surplus (`exact`)


@dataclass(frozen=True)
class Lines:
    """The hour's linear flow model: PTDF (lines x buses), base-case flows and limits (MW)."""

    ptdf: np.ndarray
    base_flow_mw: np.ndarray
    limit_mw: np.ndarray

    @property
    def effective_limit_mw(self) -> np.ndarray:
        """The limit, or the base flow where the base case alone exceeds it."""
        return np.maximum(np.asarray(self.limit_mw, dtype=float), np.abs(self.base_flow_mw))


@dataclass(frozen=True)
class Trades:
    """Candidate or cleared trades, one per seller-buyer pair: ids (for quantity caps), bus
    positions, offered MW and net surplus b - a - u per MWh."""

    seller: np.ndarray
    buyer: np.ndarray
    seller_bus: np.ndarray
    buyer_bus: np.ndarray
    quantity_mw: np.ndarray
    net_surplus_per_mwh: np.ndarray

    def __post_init__(self) -> None:
        k = len(self.seller)
        for name in ("buyer", "seller_bus", "buyer_bus", "quantity_mw", "net_surplus_per_mwh"):
            if len(getattr(self, name)) != k:
                raise ValueError(f"trades: {name} has {len(getattr(self, name))} entries for {k} trades")
        if np.any(np.asarray(self.quantity_mw) < 0):
            raise ValueError("trades: a quantity is negative")


@dataclass(frozen=True)
class Security:
    """Flows of a set of trades and each line's overload beyond its limit (MW, 0 if within)."""

    flow_mw: np.ndarray
    overload_mw: np.ndarray

    @property
    def congested(self) -> np.ndarray:
        return self.overload_mw > TOLERANCE_MW

    @property
    def secure(self) -> bool:
        return not bool(self.congested.any())


@dataclass(frozen=True)
class Managed:
    """Trades after congestion management: what stays, what is cut (offered = traded + curtailed)."""

    quantity_mw: np.ndarray
    curtailed_mw: np.ndarray
    flow_mw: np.ndarray
    welfare: float  # sum of net surplus x quantity, RMB


def sensitivity(lines: Lines, trades: Trades) -> np.ndarray:
    """Lines x trades: MW on each line per MW traded (PTDF at the seller minus at the buyer)."""
    ptdf = np.asarray(lines.ptdf, dtype=float)
    s = ptdf[:, np.asarray(trades.seller_bus, dtype=np.int64)] - ptdf[:, np.asarray(trades.buyer_bus, dtype=np.int64)]
    s[np.abs(s) < _SENSITIVITY_EPS] = 0.0
    return s


def security_check(lines: Lines, trades: Trades, quantity_mw: np.ndarray | None = None) -> Security:
    """Linear flows of the trades (their offered quantities unless given) and overloads."""
    x = np.asarray(trades.quantity_mw if quantity_mw is None else quantity_mw, dtype=float)
    flow = np.asarray(lines.base_flow_mw, dtype=float) + sensitivity(lines, trades) @ x
    return Security(flow, np.maximum(np.abs(flow) - np.asarray(lines.limit_mw, dtype=float), 0.0))


def _managed(base_flow_mw: np.ndarray, trades: Trades, s: np.ndarray, x: np.ndarray) -> Managed:
    offered = np.asarray(trades.quantity_mw, dtype=float)
    welfare = float(np.dot(np.asarray(trades.net_surplus_per_mwh, dtype=float), x))
    return Managed(x, offered - x, base_flow_mw + s @ x, welfare)


def greedy(lines: Lines, trades: Trades) -> Managed:
    """The on-chain heuristic of §B.3.4. Ties go to the lower line, then the lower trade index. After
    4 x (trades + lines) partial cuts, cuts are whole (x to 0), which bounds the loop."""
    s = sensitivity(lines, trades)
    w = np.asarray(trades.net_surplus_per_mwh, dtype=float)
    x = np.asarray(trades.quantity_mw, dtype=float).copy()
    base = np.asarray(lines.base_flow_mw, dtype=float)
    limit = lines.effective_limit_mw
    partial_cuts_left = 4 * (len(x) + len(limit))
    while True:
        flow = base + s @ x
        over = np.abs(flow) - limit
        chosen = None
        for line in np.lexsort((np.arange(len(over)), -over)):  # largest overload first
            if over[line] <= TOLERANCE_MW:
                break
            worsening = (np.sign(flow[line]) * s[line] > 0) & (x > 0)
            if worsening.any():
                chosen = line
                break
        if chosen is None:
            return _managed(base, trades, s, x)
        candidates = np.flatnonzero(worsening)
        gain = np.abs(s[chosen, candidates])
        k = candidates[np.argmin(w[candidates] / gain)]  # argmin: the first of equal ratios
        cut = min(x[k], over[chosen] / abs(s[chosen, k]))
        if partial_cuts_left <= 0 or x[k] - cut <= TOLERANCE_MW * 1e-3:
            x[k] = 0.0
        else:
            x[k] -= cut
            partial_cuts_left -= 1


def exact(
    lines: Lines | None,
    trades: Trades,
    seller_cap_mw: np.ndarray | None = None,
    buyer_cap_mw: np.ndarray | None = None,
) -> Managed:
    """The clearing LP: max sum (w_k - tie_k) x_k over 0 <= x_k <= offered_k (0 where w_k < 0),
    sum of a seller's x <= its cap, sum of a buyer's x <= its cap, and |base + S x| within the
    limits (none if `lines` is None). tie_k = eps (1 + k/n), eps = 1e-5 (1 + the largest |w|),
    charges every traded MWh a little, more for later trades: among equal optima the LP takes no
    volume that adds no welfare (a zero-surplus pair as counterflow) and prefers earlier trades,
    so the optimum is the rule's and not the solver's choice. It must stay well above HiGHS's
    optimality tolerance (1e-7 on reduced costs) to do that, and is at most 2e-5 of the largest
    surplus, far below any price difference that matters (0.006 RMB/MWh at 300 RMB/MWh)."""
    w = np.asarray(trades.net_surplus_per_mwh, dtype=float)
    offered = np.asarray(trades.quantity_mw, dtype=float)
    n = len(w)
    model = mathopt.Model(name="congestion")
    x = [model.add_variable(lb=0.0, ub=float(offered[k]) if w[k] >= 0 else 0.0) for k in range(n)]
    for ids, cap in ((trades.seller, seller_cap_mw), (trades.buyer, buyer_cap_mw)):
        if cap is None:
            continue
        ids = np.asarray(ids, dtype=np.int64)
        for owner in np.unique(ids):
            model.add_linear_constraint(mathopt.fast_sum(x[k] for k in np.flatnonzero(ids == owner)) <= float(cap[owner]))
    s, base = np.zeros((0, n)), np.zeros(0)
    if lines is not None:
        s = sensitivity(lines, trades)
        base, limit = np.asarray(lines.base_flow_mw, dtype=float), lines.effective_limit_mw
        for line in range(len(limit)):
            terms = np.flatnonzero(s[line])
            if len(terms):
                expr = mathopt.fast_sum(float(s[line, k]) * x[k] for k in terms)
                model.add_linear_constraint(
                    lb=float(-limit[line] - base[line]), expr=expr, ub=float(limit[line] - base[line])
                )
    tie = TIE_SHARE * (1.0 + float(np.abs(w).max(initial=0.0))) * (1.0 + np.arange(n) / max(n, 1))
    model.maximize(mathopt.fast_sum(float(w[k] - tie[k]) * x[k] for k in range(n)))
    result = solve_optimal(model, mathopt.SolverType.HIGHS)  # HiGHS's LP is deterministic
    values = np.clip(np.array(result.variable_values(x), dtype=float), 0.0, offered)
    values[values < TOLERANCE_MW * 1e-3] = 0.0
    return _managed(base, trades, s, values)
