"""Bad input fails early with a clear ValueError; solver failures are named, never swallowed."""

from __future__ import annotations

import math

import pytest
from ortools.math_opt.python import mathopt

from market.auction import Bid, Rules, clear_hour
from market.solver import SolverError, solve_optimal


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Bid("a", -1.0, 300.0), "quantity_mwh must be >= 0"),
        (lambda: Bid("a", 1.0, math.nan), "price_per_mwh must be finite"),
        (lambda: Bid("a", math.inf, 300.0), "quantity_mwh must be finite"),
        (lambda: Rules(matching="vickrey"), "unknown 'vickrey'; known: block, merit_order, net_surplus_greedy, pairwise_rounds"),
        (lambda: Rules(bid_price_rule="guess"), "unknown 'guess'"),
        (lambda: clear_hour([Bid("a", 1, 1), Bid("a", 2, 2)], [Bid("b", 1, 3)]), "more than one bid"),
        (lambda: clear_hour([Bid("a", 1, 1)], [Bid("a", 1, 3)]), "both sells and buys"),
        (
            lambda: clear_hour([Bid("a", 1, 1, all_or_nothing=True)], [Bid("b", 1, 3)]),
            "need matching='block'",
        ),
    ],
)
def test_bad_input_raises_value_error(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_solver_refusal_and_non_optimal_status_are_errors():
    """MathOpt hides GLOP's refusal of an integer variable in __context__; an infeasible model
    returns a status, not an exception. Both must surface as SolverError with the reason."""
    model = mathopt.Model(name="integer_for_glop")
    x = model.add_variable(lb=0, ub=1, is_integer=True)
    model.maximize(x)
    with pytest.raises(SolverError, match="does not support integer"):
        solve_optimal(model, mathopt.SolverType.GLOP)
    model = mathopt.Model(name="infeasible")
    x = model.add_variable(lb=0, ub=1)
    model.add_linear_constraint(x >= 2)
    with pytest.raises(SolverError, match="INFEASIBLE"):
        solve_optimal(model, mathopt.SolverType.HIGHS)
