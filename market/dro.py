"""The distributionally robust side of a day-ahead plan (docs/rules.md §B.2.2): the ambiguity set
around the empirical distribution of K scenarios clustered from M samples, and the worst-case
distribution in it.

    Omega = { p >= 0 : sum p = 1, ||p - p0||_1 <= theta_1, ||p - p0||_inf <= theta_inf },
    theta_1 = K / (2M) ln(2K / (1 - alpha_1)),   theta_inf = 1 / (2M) ln(2K / (1 - alpha_inf)).

The worst case maximises the expected cost sum p_s h_s over Omega. It is a closed form: moving a
unit of probability from scenario a to scenario b gains h_b - h_a and spends 2 of the L1 budget,
and each scenario may move at most theta_inf (and stay in [0, 1]); so the most expensive scenarios
take probability from the cheapest, pair by pair, while the gain is positive and the budget lasts
(an exchange argument shows no LP solution does better; a test checks against scipy's LP).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from ortools.math_opt.python import mathopt

from market.solver import solve_optimal


def ambiguity_radii(n_scenarios: int, n_samples: int, alpha_1: float, alpha_inf: float) -> tuple[float, float]:
    """(theta_1, theta_inf): the L1 and L-infinity radii at confidence levels alpha_1, alpha_inf."""
    if not (isinstance(n_scenarios, int) and isinstance(n_samples, int) and 1 <= n_scenarios <= n_samples):
        raise ValueError(f"needs 1 <= n_scenarios <= n_samples, got {n_scenarios!r} and {n_samples!r}")
    for name, alpha in (("alpha_1", alpha_1), ("alpha_inf", alpha_inf)):
        if not (isinstance(alpha, (int, float)) and 0.0 < alpha < 1.0):
            raise ValueError(f"{name} must be in (0, 1), got {alpha!r}")
    k, m = n_scenarios, n_samples
    return k / (2 * m) * math.log(2 * k / (1 - alpha_1)), 1 / (2 * m) * math.log(2 * k / (1 - alpha_inf))


def worst_case_distribution(scenario_costs: Sequence[float], p0: Sequence[float], theta_1: float,
                            theta_inf: float) -> np.ndarray:
    """The distribution in Omega(p0, theta_1, theta_inf) with the largest expected cost; ties go
    to the lower scenario index, so the answer is the rule's, not a solver's."""
    h = np.asarray(scenario_costs, dtype=float)
    p = np.asarray(p0, dtype=float).copy()
    if h.shape != p.shape or h.ndim != 1 or not len(h):
        raise ValueError("scenario_costs and p0 must be non-empty vectors of one length")
    if not (np.all(np.isfinite(h)) and np.all(np.isfinite(p))):
        raise ValueError("scenario_costs and p0 must be finite")
    if np.any(p < 0) or abs(p.sum() - 1.0) > 1e-9:
        raise ValueError("p0 must be a probability vector (non-negative, summing to 1)")
    if not (theta_1 >= 0 and theta_inf >= 0 and math.isfinite(theta_1) and math.isfinite(theta_inf)):
        raise ValueError("theta_1 and theta_inf must be finite and non-negative")
    up = np.minimum(theta_inf, 1.0 - p)  # what each scenario may still gain
    down = np.minimum(theta_inf, p)  # and lose
    budget = theta_1 / 2.0  # probability that may move: each unit moved spends 2 of the L1 radius
    receivers = sorted(range(len(h)), key=lambda s: (-h[s], s))
    givers = sorted(range(len(h)), key=lambda s: (h[s], s))
    i = j = 0
    while budget > 0 and i < len(h) and j < len(h):
        to, frm = receivers[i], givers[j]
        if h[to] <= h[frm]:
            break  # no gain left
        amount = min(budget, up[to], down[frm])
        p[to] += amount
        p[frm] -= amount
        up[to] -= amount
        down[frm] -= amount
        budget -= amount
        if up[to] <= 0:
            i += 1
        if down[frm] <= 0:
            j += 1
    return p


@dataclass
class CcgResult:
    """A two-stage DRO solve: the first-stage values of the best plan found, the worst-case
    distribution and scenario costs at it, and the bounds by iteration."""

    first_stage: dict[mathopt.Variable, float]
    probabilities: np.ndarray
    scenario_costs: np.ndarray
    first_stage_cost: float
    lower: list[float] = field(default_factory=list)
    upper: list[float] = field(default_factory=list)
    converged: bool = False

    @property
    def iterations(self) -> int:
        return len(self.lower)

    @property
    def objective(self) -> float:
        """The plan's worst-case expected cost: first stage plus the worst expectation."""
        return self.first_stage_cost + float(self.probabilities @ self.scenario_costs)


def ccg(model: mathopt.Model, first_stage: Sequence[mathopt.Variable], first_stage_cost: mathopt.LinearExpression,
        recourse_costs: Sequence[mathopt.LinearExpression], p0: Sequence[float], theta_1: float, theta_inf: float,
        gap: float = 1e-6, max_iterations: int = 50, solver: mathopt.SolverType = mathopt.SolverType.HIGHS,
        params: mathopt.SolveParameters | None = None) -> CcgResult:
    """min_x c(x) + max_{p in Omega} sum_s p_s min_{y_s} Q_s(x, y_s), by column-and-constraint
    generation. `model` holds the first-stage variables and one recourse copy per scenario, whose
    cost is `recourse_costs[s]`; the copies are shared by every cut, since the scenarios are fixed
    and only their probabilities are uncertain.

    Master: min c(x) + eta, eta >= sum_s p^(l)_s Q_s for each distribution l found so far (the
    empirical one first): a lower bound. Subproblem: with x fixed, every scenario's recourse at its
    cheapest (one solve of sum_s Q_s, which separates), then the worst distribution of those costs
    (`worst_case_distribution`): an upper bound. Stops when UB - LB <= gap |UB| or at the cap; the
    plan returned is the one with the best upper bound. The first-stage bounds are restored; the
    model keeps eta, the cuts and the master's objective (build a fresh model to solve again)."""
    p0 = np.asarray(p0, dtype=float)
    if len(recourse_costs) != len(p0):
        raise ValueError("one recourse cost per scenario probability")
    eta = model.add_variable(lb=-math.inf, name="eta")
    bounds = [(v.lower_bound, v.upper_bound) for v in first_stage]
    result = CcgResult({}, p0, np.zeros(len(p0)), math.inf)
    best = math.inf
    cut = p0
    for _ in range(max_iterations):
        model.add_linear_constraint(eta >= mathopt.fast_sum(float(cut[s]) * q for s, q in enumerate(recourse_costs)))
        model.minimize(first_stage_cost + eta)
        master = solve_optimal(model, solver, params)
        lower = master.objective_value()
        x = {v: float(round(master.variable_values(v))) if v.integer else master.variable_values(v)
             for v in first_stage}  # an integer's value without the solver's rounding noise
        try:
            for v in first_stage:
                v.lower_bound = v.upper_bound = x[v]
            model.minimize(mathopt.fast_sum(recourse_costs))
            sub = solve_optimal(model, solver, params)
        finally:
            for v, (lb, ub) in zip(first_stage, bounds):
                v.lower_bound, v.upper_bound = lb, ub
        h = np.array([mathopt.evaluate_expression(q, sub.variable_values()) for q in recourse_costs])
        cut = worst_case_distribution(h, p0, theta_1, theta_inf)
        cost = mathopt.evaluate_expression(first_stage_cost, master.variable_values())
        upper = cost + float(cut @ h)
        if upper < best:
            best = upper
            result = CcgResult(x, cut, h, cost, result.lower, result.upper)
        result.lower.append(lower)
        result.upper.append(best)
        if best - lower <= gap * max(abs(best), 1.0):
            result.converged = True
            break
    model.minimize(first_stage_cost + eta)
    return result


def cluster_scenarios(samples: np.ndarray, n_scenarios: int, rng: np.random.Generator,
                      iterations: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """K scenarios from M samples (rows) by k-means: the centres and their empirical probabilities
    (the share of samples nearest each). Seeded k-means++ start, then Lloyd steps until no sample
    changes cluster; an emptied cluster restarts at the sample farthest from its centre. Ties go
    to the lower index, so the same samples and seed give the same scenarios."""
    x = np.asarray(samples, dtype=float)
    m = len(x)
    if x.ndim != 2 or not m:
        raise ValueError("samples must be a non-empty 2-D array (one sample per row)")
    if not 1 <= n_scenarios <= m:
        raise ValueError(f"n_scenarios must be in [1, {m}] (the samples), got {n_scenarios}")
    centres = [x[int(rng.integers(m))]]
    while len(centres) < n_scenarios:  # k-means++: far samples are likelier next centres
        d2 = ((x[:, None, :] - np.array(centres)[None]) ** 2).sum(-1).min(1)
        total = d2.sum()
        centres.append(x[int(rng.choice(m, p=d2 / total))] if total > 0 else x[len(centres) % m])
    c = np.array(centres)
    labels = np.full(m, -1)
    for _ in range(iterations):
        distance = ((x[:, None, :] - c[None]) ** 2).sum(-1)
        new = distance.argmin(1)
        if np.array_equal(new, labels):
            break
        labels = new
        for k in range(n_scenarios):
            members = labels == k
            if members.any():
                c[k] = x[members].mean(0)
            else:  # the sample worst served takes the empty centre
                far = int(distance[np.arange(m), labels].argmax())
                c[k], labels[far] = x[far], k
    probabilities = np.bincount(labels, minlength=n_scenarios) / m
    return c, probabilities
