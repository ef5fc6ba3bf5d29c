"""A DNO's day-ahead storage plan robust to its forecast errors (docs/rules.md §B.2.2).

First stage: the storage schedule of every unit, the DNO's day-ahead commitment. Recourse, in each
of K scenarios (PV, wind and load of a possible day, with its empirical probability): the grid
exchange, curtailment of renewables and shedding at the value of lost load, as in the DNO's MILP,
and for a DNO with heat devices their whole dispatch against the scenario's heat load (§B.2.1).
The plan minimises the worst expected recourse cost over the ambiguity set around the scenarios'
probabilities (market.dro), by column-and-constraint generation; the first stage costs only the
MILP's tie-break, so equal plans resolve the same way in both.
"""

from __future__ import annotations

import dataclasses
import datetime
from dataclasses import dataclass

import numpy as np
from ortools.math_opt.python import mathopt

from market.dro import CcgResult, ccg
from market.heat import add_heat
from market.scheduling import (HOURS, SOLVERS, DnoScheduler, Schedule, add_balance, add_carbon, add_grid, add_storage,
                               set_day)


@dataclass(frozen=True)
class RobustPlan:
    """The robust storage schedule (units x hours, MW) and the C&CG record that found it."""

    charge_mw: np.ndarray
    discharge_mw: np.ndarray
    ccg: CcgResult

    def schedule(self, scheduler: DnoScheduler, pv_mw: np.ndarray, wind_mw: np.ndarray, load_mw: np.ndarray,
                 heat_load_mw: np.ndarray | None = None) -> Schedule:
        """The plan as a Schedule on the given day (its forecast, say): the storage fixed, the grid
        exchange, any heat dispatch and any shedding the MILP's."""
        return scheduler.solve(pv_mw, wind_mw, load_mw, from_hour=HOURS + 1, fixed_charge_mw=self.charge_mw,
                               fixed_discharge_mw=self.discharge_mw, heat_load_mw=heat_load_mw)


def robust_storage(scheduler: DnoScheduler, pv_mw: np.ndarray, wind_mw: np.ndarray, load_mw: np.ndarray,
                   p0: np.ndarray, theta_1: float, theta_inf: float, gap: float = 1e-6,
                   max_iterations: int = 50, heat_mw: np.ndarray | None = None) -> RobustPlan:
    """The robust plan for scenarios given as K x 24 arrays (available PV and wind, load and, for a
    DNO with heat devices, heat load, MW) with empirical probabilities `p0`, under the radii
    theta_1 and theta_inf (market.dro)."""
    pv, wind, load = (np.atleast_2d(np.asarray(a, dtype=float)) for a in (pv_mw, wind_mw, load_mw))
    if not pv.shape == wind.shape == load.shape == (len(p0), HOURS):
        raise ValueError(f"scenarios must be {len(p0)} x {HOURS} arrays of PV, wind and load")
    if (heat_mw is None) != (scheduler.heat is None):
        raise ValueError("scenarios need a heat load exactly when the DNO has heat devices")
    heat = None if heat_mw is None else np.atleast_2d(np.asarray(heat_mw, dtype=float))
    m = mathopt.Model(name=f"dno-{scheduler.dno}-robust")
    ch, dis, _, _, penalty = add_storage(m, scheduler.units, scheduler.tie_break_per_mwh)
    costs = []
    for s in range(len(p0)):
        grid = add_grid(m, scheduler.buy_max_mw, scheduler.sell_max_mw, tag=f"_{s}", exclusive=scheduler.exclusive)
        devices = None
        if heat is not None:  # recourse too: the heat devices follow each scenario's heat load
            devices = add_heat(m, scheduler.heat, scheduler.tie_break_per_mwh, scheduler.voll_per_mwh, tag=f"_{s}")
            devices.set_day(heat[s], scheduler.voll_per_mwh)
        shed, balance, cost, shed_cost = add_balance(m, grid, ch, dis, scheduler.buy_price, scheduler.sell_price,
                                                     scheduler.voll_per_mwh, tag=f"_{s}", heat=devices)
        set_day(grid, shed, balance, pv[s], wind[s], load[s], scheduler.voll_per_mwh)
        if devices is not None:  # its tie-break stays out: the storage's alone decides equal plans
            cost = cost + devices.cost + devices.shed_cost
        if scheduler.carbon is not None:
            cost = cost + add_carbon(m, scheduler.carbon, grid[2], scheduler.buy_max_mw, devices, tag=f"_{s}")
        costs.append(cost + shed_cost)
    first = [v for rows in (ch, dis) for row in rows for v in row]
    # the DNO's own limit (a minute) is for one day's MILP; K copies of it get ten minutes a solve
    params = dataclasses.replace(scheduler.params, time_limit=datetime.timedelta(minutes=10))
    result = ccg(m, first, penalty, costs, p0, theta_1, theta_inf, gap, max_iterations, SOLVERS[scheduler.solver],
                 params)
    values = lambda rows: np.array([[result.first_stage[v] for v in row] for row in rows]).reshape(len(rows), HOURS)  # noqa: E731
    return RobustPlan(values(ch), values(dis), result)
