"""Solving a MathOpt model so that failure is loud (an infeasible or unsolved model raises).

MathOpt re-raises a solver's refusal as an unrelated AttributeError whose `__context__` holds the
real message (e.g. "Glop does not support integer variables"); and a model that stops short of
optimal must never be read as if it were. Both become one `SolverError` naming the cause.
"""

from __future__ import annotations

from ortools.math_opt.python import mathopt


class SolverError(RuntimeError):
    """A MathOpt solve that failed or ended with a status other than OPTIMAL."""


def solve_optimal(
    model: mathopt.Model,
    solver: mathopt.SolverType,
    params: mathopt.SolveParameters | None = None,
    incremental: mathopt.IncrementalSolver | None = None,
    model_params: mathopt.ModelSolveParameters | None = None,
) -> mathopt.SolveResult:
    """Solve `model` and return the result only if the termination reason is OPTIMAL; with
    `incremental` (a solver kept for `model`), only the model's changes since its last solve are sent."""
    try:
        result = (incremental.solve(params=params, model_params=model_params) if incremental
                  else mathopt.solve(model, solver, params=params, model_params=model_params))
    except Exception as exc:  # MathOpt's own error hides the solver's status in __context__
        cause = exc.__context__ or exc.__cause__ or exc
        raise SolverError(f"{solver.name} failed on model {model.name!r}: {cause}") from cause
    reason = result.termination.reason
    if reason != mathopt.TerminationReason.OPTIMAL:
        raise SolverError(
            f"{solver.name} ended model {model.name!r} with {reason.name}: {result.termination.detail}"
        )
    return result
