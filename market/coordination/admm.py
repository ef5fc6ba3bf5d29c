"""The coalition's day solved by consensus ADMM (§B.1.3): participants and the operator of a
shared storage station, none seeing another's model.

Every coupled quantity has copies: each side of a pair holds its own trade with the other (+ =
import), and each participant its charge and discharge of the station, of which the operator
holds agreed copies that fit the station. Per iteration:

1. each participant minimises its convex day cost (market.coordination.convex) plus, for each of
   its copies v, y_v v + rho/2 (v - z_v)^2;
2. agreed values: a pair's trade is z_ij = ((P_ij + y_ij/rho) - (P_ji + y_ji/rho)) / 2 = -z_ji
   (with equal multipliers, the textbook (P_ij - P_ji)/2); the operator's copies minimise
   sum -y v + rho/2 (x - v)^2 over what the station can do;
3. multipliers: y_v += rho (x_v - z_v).

It stops when the primal residual |x - z| and the dual residual rho |z - z_prev| are within
Boyd et al.'s (2011, section 3.3.1) absolute-plus-relative tolerances, or at the cap; with
`adaptive`, rho doubles when the primal residual is ten times the dual one and halves in the
opposite case (their section 3.4.1), which spares tuning rho to the units.

The local steps are quadratic programs with a diagonal Hessian. Through MathOpt, HiGHS and GLOP
take no quadratic objective and SCIP solves it loosely (about 2e-4 in the variables); PDLP solves
it to its tolerance, and started from its previous solution (primal and dual) it needs about 4 ms
a step where a cold start takes 60-130 ms.
"""

from __future__ import annotations

import datetime
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from ortools.math_opt.python import mathopt

from market.coordination.base import OPERATOR, Channel, wire
from market.coordination.convex import DayData, _add_participant
from market.scheduling import HOURS
from market.shared_storage import SharedStorage, add_station
from market.solver import solve_optimal

TO, FROM = "to station", "from station"  # a participant's copies of its use of the station


def _clean(coefficient: float) -> float:
    """A coefficient as the solver gets it: residues below 1e-12 (multipliers of copies that have
    agreed) are zero, which spares PDLP's scaling of vectors spanning a hundred orders of magnitude."""
    return 0.0 if abs(coefficient) < 1e-12 else coefficient


def _pdlp(tolerance: float) -> mathopt.SolveParameters:
    params = mathopt.SolveParameters(threads=1, time_limit=datetime.timedelta(seconds=60))
    params.pdlp.termination_criteria.eps_optimal_absolute = tolerance
    params.pdlp.termination_criteria.eps_optimal_relative = tolerance
    return params


class _Warm:
    """A MathOpt model solved by PDLP again and again, each time from its last solution."""

    def __init__(self, model: mathopt.Model, tolerance: float) -> None:
        self.model, self._params, self._hint = model, _pdlp(tolerance), None

    def solve(self) -> mathopt.SolveResult:
        hints = mathopt.ModelSolveParameters(solution_hints=[self._hint]) if self._hint else None
        result = solve_optimal(self.model, mathopt.SolverType.PDLP, self._params, model_params=hints)
        self._hint = mathopt.SolutionHint(variable_values=result.variable_values(), dual_values=result.dual_values())
        return result


class _Participant:
    """A participant's local step: its convex day plus the penalties on its copies."""

    def __init__(self, data: DayData, partners: Sequence[str], tolerance: float) -> None:
        m = mathopt.Model(name=f"admm-{data.name}")
        self._h = h = _add_participant(m, data, partners, consensus=True)
        m.minimize(h.objective)
        self.copies = {**{p: h.net[p] for p in partners}, **({TO: h.ses[0], FROM: h.ses[1]} if h.ses else {})}
        self._base = {key: [m.objective.get_linear_coefficient(v) for v in vs] for key, vs in self.copies.items()}
        self._solver = _Warm(m, tolerance)

    def step(self, linear: dict[str, np.ndarray], rho: float) -> tuple[dict[str, np.ndarray], float]:
        """Its copies' values and its true cost, with `linear` (y - rho z) and rho/2 on each copy."""
        objective = self._solver.model.objective
        for key, vs in self.copies.items():
            for t, v in enumerate(vs):
                objective.set_linear_coefficient(v, _clean(self._base[key][t] + float(linear[key][t])))
                objective.set_quadratic_coefficient(v, v, 0.5 * rho)
        values = self._solver.solve().variable_values()
        return ({key: np.array([values[v] for v in vs]) for key, vs in self.copies.items()},
                float(mathopt.evaluate_expression(self._h.cost, values)))


class _Operator:
    """The station operator's step: agreed charge and discharge of every user that fit the station."""

    def __init__(self, ses: SharedStorage, users: Sequence[str], powers: dict[str, float], tolerance: float) -> None:
        m = mathopt.Model(name="admm-station")
        self.copies = {(n, key): [m.add_variable(lb=0.0, ub=powers[n], name=f"{n}.{key}[{t}]") for t in range(HOURS)]
                       for n in users for key in (TO, FROM)}
        add_station(m, ses, [mathopt.fast_sum(self.copies[(n, TO)][t] for n in users) for t in range(HOURS)],
                    [mathopt.fast_sum(self.copies[(n, FROM)][t] for n in users) for t in range(HOURS)])
        m.minimize(mathopt.LinearExpression())
        self._solver = _Warm(m, tolerance)

    def step(self, x: dict, y: dict, rho: float) -> dict[tuple[str, str], np.ndarray]:
        """argmin over the station of sum -y v + rho/2 (x - v)^2, i.e. rho/2 v^2 - (y + rho x) v."""
        objective = self._solver.model.objective
        for key, vs in self.copies.items():
            for t, v in enumerate(vs):
                objective.set_linear_coefficient(v, _clean(-float(y[key][t] + rho * x[key][t])))
                objective.set_quadratic_coefficient(v, v, 0.5 * rho)
        values = self._solver.solve().variable_values()
        return {key: np.array([values[v] for v in vs]) for key, vs in self.copies.items()}

    def exact(self, ses: SharedStorage, agreed: dict) -> dict[tuple[str, str], np.ndarray]:
        """The schedule nearest (in total MWh) to the agreed copies that fits the station exactly:
        PDLP's answers meet its limits only to its tolerance, the contract to 1e-6 MWh."""
        m = mathopt.Model(name="station-exact")
        fitted = {key: [m.add_variable(lb=0.0, ub=float(v.upper_bound)) for v in vs] for key, vs in self.copies.items()}
        users = sorted({n for n, _ in fitted})
        add_station(m, ses, [mathopt.fast_sum(fitted[(n, TO)][t] for n in users) for t in range(HOURS)],
                    [mathopt.fast_sum(fitted[(n, FROM)][t] for n in users) for t in range(HOURS)])
        distance = mathopt.LinearExpression()
        for key, vs in fitted.items():
            for t, v in enumerate(vs):
                gap = m.add_variable(lb=0.0)
                m.add_linear_constraint(gap >= v - float(agreed[key][t]))
                m.add_linear_constraint(gap >= float(agreed[key][t]) - v)
                distance += gap
        m.minimize(distance)
        values = solve_optimal(m, mathopt.SolverType.HIGHS, mathopt.SolveParameters()).variable_values()
        return {key: np.array([max(0.0, values[v]) for v in vs]) for key, vs in fitted.items()}


@dataclass(frozen=True)
class AdmmResult:
    """The agreed trades (participant -> partner -> per-hour import, reciprocal), the agreed use
    of the station (participant -> (to, from)), the record of every iteration and how it ended."""

    trades: dict[str, dict[str, np.ndarray]]
    station: dict[str, tuple[np.ndarray, np.ndarray]]
    costs_rmb: dict[str, float]  # each participant's true cost at its last local step
    iterations: int
    converged: bool
    rows: list[dict]  # iteration, primal and dual residual and their tolerances, rho, coalition cost
    violation_mwh: float  # largest |x - z| left: how far the copies still disagree


def admm(datas: Sequence[DayData], ses: SharedStorage | None, rho: float = 1.0, adaptive: bool = True,
         eps_abs: float = 1e-3, eps_rel: float = 1e-3, max_iterations: int | None = 500,
         solver_tolerance: float = 1e-6, channel: Channel | None = None) -> AdmmResult:
    """Consensus ADMM on the coalition's day (module doc); `channel` carries its messages. With
    `max_iterations=None` it runs until the stopping rule holds (then a tolerance must be > 0)."""
    names = [d.name for d in datas]
    locals_ = {d.name: _Participant(d, [n for n in names if n != d.name], solver_tolerance) for d in datas}
    users = [d.name for d in datas if d.ses_power_mw > 0] if ses is not None else []
    operator = _Operator(ses, users, {d.name: d.ses_power_mw for d in datas}, solver_tolerance) if users else None
    keys = [(n, key) for n in names for key in locals_[n].copies]  # every copy
    z = {k: np.zeros(HOURS) for k in keys}
    y = {k: np.zeros(HOURS) for k in keys}
    x: dict = {}
    rows: list[dict] = []
    costs: dict[str, float] = {}
    converged, k = False, 0
    for k in itertools.count(1) if max_iterations is None else range(1, max_iterations + 1):
        for n in names:  # 1. local steps (in parallel in a real deployment)
            mine = {key: y[(n, key)] - rho * z[(n, key)] for key in locals_[n].copies}
            values, costs[n] = locals_[n].step(mine, rho)
            x.update({(n, key): v for key, v in values.items()})
        if channel is not None:
            channel.exchange([(n, key, {"import_mwh": wire(x[(n, key)])}) for n, key in keys if key in locals_]
                             + [(n, OPERATOR, {"to_mwh": wire(x[(n, TO)]), "from_mwh": wire(x[(n, FROM)])})
                                for n in users])
        previous = dict(z)
        for i, a in enumerate(names):  # 2. agreed values: pairs in closed form, the station by its operator
            for b in names[i + 1:]:
                agreed = 0.5 * ((x[(a, b)] + y[(a, b)] / rho) - (x[(b, a)] + y[(b, a)] / rho))
                z[(a, b)], z[(b, a)] = agreed, -agreed
        if operator is not None:
            z.update(operator.step(x, y, rho))
            if channel is not None:
                channel.exchange([(OPERATOR, n, {"to_mwh": wire(z[(n, TO)]), "from_mwh": wire(z[(n, FROM)])})
                                  for n in users])
        for key in keys:  # 3. multipliers
            y[key] = y[key] + rho * (x[key] - z[key])
        primal = math.sqrt(math.fsum(float((x[key] - z[key]) @ (x[key] - z[key])) for key in keys))
        dual = rho * math.sqrt(math.fsum(float((z[key] - previous[key]) @ (z[key] - previous[key])) for key in keys))
        size = math.sqrt(len(keys) * HOURS)
        norm = lambda d: math.sqrt(math.fsum(float(v @ v) for v in d.values()))  # noqa: E731
        eps_pri = size * eps_abs + eps_rel * max(norm(x), norm(z))
        eps_dual = size * eps_abs + eps_rel * norm(y)
        rows.append({"iteration": k, "primal_residual_mwh": primal, "dual_residual": dual, "eps_primal": eps_pri,
                     "eps_dual": eps_dual, "rho": rho, "coalition_cost_rmb": math.fsum(costs.values())})
        if primal <= eps_pri and dual <= eps_dual:
            converged = True
            break
        if adaptive and primal > 10 * dual:
            rho *= 2.0
        elif adaptive and dual > 10 * primal:
            rho /= 2.0
    trades = {n: {b: z[(n, b)] for b in names if b != n} for n in names}
    if operator is not None:
        z.update(operator.exact(ses, {key: z[key] for key in operator.copies}))
    station = {n: (z[(n, TO)], z[(n, FROM)]) for n in users}
    violation = max((float(np.max(np.abs(x[key] - z[key]))) for key in keys), default=0.0)
    return AdmmResult(trades, station, dict(costs), k, converged, rows, violation)
