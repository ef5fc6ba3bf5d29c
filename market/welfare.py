"""The social-welfare optimum of one round as a linear program (§A.5.1), solved with GLOP.

An independent yardstick for the matchers, not used by them. For one divisible hour the pairwise
flows x_ij of §A.5.1 aggregate without loss to an accepted volume per bidder and one balance
row: the optimum has a clearing price (the balance row's dual) with every accepted seller at or
below it and every accepted buyer at or above it, so any pairing of the accepted volume is
compatible. That keeps the LP at n_s + n_b columns, small enough to check 10,000 bids a side.
"""

from __future__ import annotations

from collections.abc import Sequence

from ortools.math_opt.python import mathopt

from market.book import Bid
from market.solver import solve_optimal


def optimal_welfare_lp(offers: Sequence[Bid], bids: Sequence[Bid]) -> float:
    """max sum_j p_j y_j - sum_i p_i z_i  s.t.  sum y = sum z, 0 <= y, z <= Q  (RMB)."""
    if not offers or not bids:
        return 0.0
    model = mathopt.Model(name="welfare_lp")
    sold = [model.add_variable(lb=0.0, ub=b.quantity_mwh) for b in offers]
    bought = [model.add_variable(lb=0.0, ub=b.quantity_mwh) for b in bids]
    model.add_linear_constraint(mathopt.fast_sum(sold) == mathopt.fast_sum(bought))
    model.maximize(
        mathopt.fast_sum(b.price_per_mwh * y for b, y in zip(bids, bought))
        - mathopt.fast_sum(b.price_per_mwh * z for b, z in zip(offers, sold))
    )
    return solve_optimal(model, mathopt.SolverType.GLOP).objective_value()
