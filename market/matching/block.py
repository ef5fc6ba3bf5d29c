"""`block`: combinatorial winner determination as an integer program (§A.13.2).

Bids may be all-or-nothing and bundles may tie bids of several hours to one acceptance share, so
the round is a mixed-integer program over seller-to-buyer flows of the same hour, solved with
OR-Tools MathOpt (HiGHS or SCIP; CP-SAT would mis-solve the continuous flows). A second solve
keeps the optimal welfare and prefers bidders earlier in merit order, so price ties go to the
earlier upload as in the other modes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
from ortools.math_opt.python import mathopt

from market.book import Bid, buyer_rank, merit_order_indices, seller_rank
from market.matching.registry import Fill, register
from market.solver import solve_optimal

if TYPE_CHECKING:
    from market.auction import Rules

_MIP_PARAMS = mathopt.SolveParameters(relative_gap_tolerance=1e-9)


@register("block", supports_blocks=True)
def match(
    offers: Sequence[Bid],
    bids: Sequence[Bid],
    rules: Rules,
    charge: np.ndarray | None = None,
    limits: Sequence[tuple[np.ndarray, float, float]] = (),
) -> list[Fill]:
    """Welfare-maximising fills that respect all-or-nothing bids and bundles.

    On a network (market.network.clearing) `charge[i, j]` is the use-of-system charge per MWh
    between offer i and bid j, so the welfare is net of it, and each of `limits` is a linear
    constraint lb <= sum coef[i, j] x_ij <= ub (a line's flow within its limit).
    """
    charge = np.zeros((len(offers), len(bids))) if charge is None else np.asarray(charge, dtype=float)
    surplus = {
        (i, j): bid.price_per_mwh - offer.price_per_mwh - charge[i, j]
        for i, offer in enumerate(offers)
        for j, bid in enumerate(bids)
        if offer.hour == bid.hour and offer.price_per_mwh <= bid.price_per_mwh
    }
    pairs = [pair for pair, value in surplus.items() if value >= 0]
    if not pairs:
        return []
    model = mathopt.Model(name="block_winner_determination")
    flows = [model.add_variable(lb=0.0, name=f"x_{i}_{j}") for i, j in pairs]
    _add_acceptance(model, offers, bids, pairs, flows)
    for coef, lower, upper in limits:
        terms = [(float(coef[i, j]), x) for (i, j), x in zip(pairs, flows) if coef[i, j] != 0]
        if terms:
            model.add_linear_constraint(lb=lower, expr=mathopt.fast_sum(c * x for c, x in terms), ub=upper)
    solver = mathopt.SolverType[rules.block_solver]

    welfare = mathopt.fast_sum(surplus[pair] * x for pair, x in zip(pairs, flows))
    model.maximize(welfare)
    best = solve_optimal(model, solver, _MIP_PARAMS).objective_value()
    # No slack: any allowance would be spent on the tie-break at the cost of welfare.
    model.add_linear_constraint(welfare >= best)
    seller_weight = _merit_weights(offers, seller_rank)
    buyer_weight = _merit_weights(bids, buyer_rank)
    model.maximize(
        mathopt.fast_sum(
            (seller_weight[i] + buyer_weight[j]) * x for (i, j), x in zip(pairs, flows)
        )
    )
    values = solve_optimal(model, solver, _MIP_PARAMS).variable_values(flows)
    dust_mwh = rules.quantity_tolerance_mwh
    return [Fill(i, j, value) for (i, j), value in zip(pairs, values) if value > dust_mwh]


def _add_acceptance(
    model: mathopt.Model,
    offers: Sequence[Bid],
    bids: Sequence[Bid],
    pairs: Sequence[tuple[int, int]],
    flows: Sequence[mathopt.Variable],
) -> None:
    """Each bid trades at most its quantity, or exactly its acceptance group's share of it.

    A group is a bundle (one bidder, one name, possibly both sides and several hours) or a lone
    all-or-nothing bid; its share is binary when the group is all-or-nothing.
    """
    traded: dict[tuple[int, int], list[mathopt.Variable]] = defaultdict(list)
    for (i, j), x in zip(pairs, flows):
        traded[(0, i)].append(x)
        traded[(1, j)].append(x)
    groups: dict[object, list[tuple[Bid, mathopt.LinearSum]]] = defaultdict(list)
    for side, book in enumerate((offers, bids)):
        for index, bid in enumerate(book):
            volume = mathopt.fast_sum(traded.get((side, index), ()))
            if bid.group is not None:
                groups[bid.group].append((bid, volume))
            elif bid.all_or_nothing:
                groups[(side, index)].append((bid, volume))
            elif (side, index) in traded:
                model.add_linear_constraint(volume <= bid.quantity_mwh)
    for key, members in groups.items():
        kinds = {bid.all_or_nothing for bid, _ in members}
        if len(kinds) > 1:
            raise ValueError(f"bundle {key} mixes all-or-nothing and divisible bids")
        share = model.add_variable(lb=0.0, ub=1.0, is_integer=kinds.pop(), name=f"share_{key}")
        for bid, volume in members:
            model.add_linear_constraint(volume == bid.quantity_mwh * share)


def _merit_weights(book: Sequence[Bid], rank: Callable[[Bid], tuple]) -> list[float]:
    """Weights in (0, 1] falling along merit order: the tie-break objective's preference."""
    order = merit_order_indices(book, rank)
    weights = [0.0] * len(book)
    for position, k in enumerate(order):
        weights[k] = 1.0 - position / len(book)
    return weights
