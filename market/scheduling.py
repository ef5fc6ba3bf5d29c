"""A DNO's scheduling MILP (§A.2): wind, PV, load, storage and grid exchange for one day.

Solved day-ahead on forecasts and again intraday on actuals, either for the whole day at once
(`oracle`, the paper) or rolling from the current hour with realised past actions fixed
(`rolling`). The model is built once per DNO with OR-Tools MathOpt and re-solved by updating
bounds, never rebuilt. MILP solvers used through MathOpt: HiGHS (default) or SCIP; never CP-SAT,
which rounds continuous variables.

Determinism: the objective gets a tiny throughput penalty, as §A.2.3 asks, ramped by hour and
by unit so that equally valued hours or identical units are never a solver's whim; the MIP gap
tolerance is zero so the penalty decides, and the solver runs single-threaded.
"""

from __future__ import annotations

import datetime
import math
import time
from dataclasses import dataclass
from typing import Literal, Protocol, Sequence

import numpy as np
from ortools import __version__ as ORTOOLS_VERSION
from ortools.math_opt.python import mathopt

from market.carbon import CarbonLadder
from market.heat import HeatDevicesLike, HeatModel, HeatPlan, add_heat
from market.solver import SolverError, solve_optimal

HOURS = 24
SolverName = Literal["highs", "scip"]
SOLVERS = {"highs": mathopt.SolverType.HIGHS, "scip": mathopt.SolverType.GSCIP}
_SNAP_MW = 1e-9  # realised actions below this are exact zeros when fixed for a rolling re-solve


class SchedulingError(RuntimeError):
    """The MILP had no optimal solution; the message names the DNO, the hour and the solver's words.

    `dno` and `hour` say where; when the data explain it (a load no supply can meet, with no value
    of lost load to shed it at), the message says so, as the input is then what needs fixing."""

    def __init__(self, message: str, dno: str = "", hour: int = 0) -> None:
        super().__init__(message)
        self.dno, self.hour = dno, hour


class StorageUnitLike(Protocol):
    """What the MILP needs of a storage unit (the scenario schema's StorageUnit satisfies it)."""

    name: str
    energy_mwh: float
    power_mw: float
    charge_efficiency: float
    discharge_efficiency: float
    soc_min: float
    soc_max: float
    soc_start: float


@dataclass(frozen=True)
class Schedule:
    """An optimal day plan. Arrays are indexed by hour (0 is hour 1); unit arrays are units x hours."""

    storage_action_mw: np.ndarray  # + charging, - discharging, summed over units (§A.2.2)
    charge_mw: np.ndarray
    discharge_mw: np.ndarray
    soc: np.ndarray  # end-of-hour state of charge, fraction of energy capacity
    buy_mw: np.ndarray
    sell_mw: np.ndarray
    pv_mw: np.ndarray
    wind_mw: np.ndarray
    unserved_mw: np.ndarray  # load shed at the value of lost load (always 0 without one)
    cost: float  # sum(buy price x buy - sell price x sell), RMB, without VoLL and tie-break terms
    solver: str
    solve_seconds: float
    carbon_rmb: float = 0.0  # the day's carbon cost on the ladder, when carbon is priced (§B.2.3)
    heat: HeatPlan | None = None  # the heat side, for a DNO with heat devices (§B.2.1)

    def total_cost_rmb(self, voll_per_mwh: float | None) -> float:
        """What the plan costs in all: grid energy, carbon, gas and heat bought, and any electric
        or heat load shed at the value of lost load."""
        shed = float(self.unserved_mw.sum())
        total = self.cost + self.carbon_rmb
        if self.heat is not None:
            total += self.heat.cost_rmb
            shed += float(self.heat.heat_unserved_mw.sum())
        return total + (voll_per_mwh or 0.0) * shed


def default_tie_break_per_mwh(buy_per_mwh: np.ndarray, sell_per_mwh: np.ndarray) -> float:
    """§A.2.3: epsilon about 1e-6 of the largest price."""
    return 1e-6 * float(max(np.max(buy_per_mwh), np.max(sell_per_mwh), 1.0))


class DnoScheduler:
    """The MILP of one DNO, built once; `solve` updates data and bounds and re-solves."""

    def __init__(
        self,
        dno: str,
        units: Sequence[StorageUnitLike],
        buy_per_mwh: np.ndarray,
        sell_per_mwh: np.ndarray,
        buy_max_mw: float,
        sell_max_mw: float,
        solver: SolverName = "highs",
        tie_break_per_mwh: float | None = None,
        voll_per_mwh: float | None = None,
        carbon: CarbonLadder | None = None,
        heat: HeatDevicesLike | None = None,
    ) -> None:
        if solver not in SOLVERS:
            raise ValueError(f"unknown solver {solver!r}; choose from {sorted(SOLVERS)}")
        self.dno = dno
        self.units = [u for u in units if u.energy_mwh > 0]
        self.solver = solver
        self.buy_price = np.asarray(buy_per_mwh, dtype=float)
        self.sell_price = np.asarray(sell_per_mwh, dtype=float)
        if tie_break_per_mwh is None:
            tie_break_per_mwh = default_tie_break_per_mwh(self.buy_price, self.sell_price)
        self.voll_per_mwh = voll_per_mwh
        self.carbon = carbon if carbon is not None and carbon.price_per_t > 0 else None
        self.heat = heat
        self.tie_break_per_mwh = tie_break_per_mwh
        self.buy_max_mw, self.sell_max_mw = buy_max_mw, sell_max_mw
        self._inputs: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # pv, wind, load of the solve
        self.exclusive = exclusive_hours(self.buy_price, self.sell_price, self.carbon)
        # HiGHS takes its thread count only as a global, and its MIP search is deterministic.
        self._params = mathopt.SolveParameters(
            threads=1 if self.solver == "scip" else None,
            random_seed=1,
            relative_gap_tolerance=0.0,
            absolute_gap_tolerance=0.0,
            time_limit=datetime.timedelta(seconds=60),
        )
        # The MathOpt model is built at the first solve: a model whose DNOs are planned in other
        # processes (model.plan_fanout) never builds the thousands of rows it would not solve.
        self._model: mathopt.Model | None = None

    def _build(self) -> None:
        buy_max_mw, sell_max_mw, eps = self.buy_max_mw, self.sell_max_mw, self.tie_break_per_mwh
        m = mathopt.Model(name=f"dno-{self.dno}")
        self._pv, self._wind, self._buy, self._sell = add_grid(m, buy_max_mw, sell_max_mw, exclusive=self.exclusive)
        self._ch, self._dis, self._soc, self._day_end, penalty = add_storage(m, self.units, eps)
        self._heat: HeatModel | None = None if self.heat is None else add_heat(m, self.heat, eps, self.voll_per_mwh)
        self._shed, self._balance, self._cost, shed_cost = add_balance(
            m, (self._pv, self._wind, self._buy, self._sell), self._ch, self._dis, self.buy_price, self.sell_price,
            self.voll_per_mwh, heat=self._heat)
        objective = self._cost + shed_cost + penalty
        if self._heat is not None:
            objective = objective + self._heat.cost + self._heat.shed_cost + self._heat.penalty
        self._carbon = None
        if self.carbon is not None:
            self._carbon = add_carbon(m, self.carbon, self._buy, buy_max_mw, self._heat)
            objective = objective + self._carbon
        m.minimize(objective)
        self._model = m

    @property
    def params(self) -> mathopt.SolveParameters:
        """What every model of this DNO is solved with: exact gaps, a fixed seed, a time limit."""
        return self._params

    def solve(
        self,
        pv_available_mw: np.ndarray,
        wind_available_mw: np.ndarray,
        load_mw: np.ndarray,
        from_hour: int = 1,
        fixed_charge_mw: np.ndarray | None = None,
        fixed_discharge_mw: np.ndarray | None = None,
        cyclic: bool = True,
        heat_load_mw: np.ndarray | None = None,
        fixed_heat_mw: np.ndarray | None = None,
    ) -> Schedule:
        """Optimal plan for the day on the given data.

        With from_hour > 1 (rolling), the storage actions of hours before it are fixed to
        `fixed_charge_mw`/`fixed_discharge_mw` (units x hours, only the first from_hour-1
        columns are read), so the plan continues from the state of charge they leave; from_hour
        25 fixes them all (replayed actions). `cyclic` False lets the day end at another state of
        charge (replayed data need not return).

        A DNO with heat devices needs its `heat_load_mw`; `fixed_heat_mw` (rows of
        market.heat.DISPATCH x hours) holds its heat dispatch before from_hour, as the storage's.
        """
        if self._model is None:
            self._build()
        if (heat_load_mw is None) != (self.heat is None):
            raise ValueError(f"DNO {self.dno!r}: a heat load is needed exactly when there are heat devices")
        self._inputs = (np.asarray(pv_available_mw), np.asarray(wind_available_mw), np.asarray(load_mw))
        self._heat_load = None if heat_load_mw is None else np.asarray(heat_load_mw, dtype=float)
        set_day((self._pv, self._wind, self._buy, self._sell), self._shed, self._balance, pv_available_mw,
                wind_available_mw, load_mw, self.voll_per_mwh)
        fixed = from_hour - 1
        for k, u in enumerate(self.units):
            self._day_end[k].lower_bound = u.soc_start if cyclic else u.soc_min
            self._day_end[k].upper_bound = u.soc_start if cyclic else u.soc_max
            for t in range(HOURS):
                if t < fixed:
                    ch = _snap(fixed_charge_mw[k, t], u.power_mw)
                    dis = _snap(fixed_discharge_mw[k, t], u.power_mw)
                    self._ch[k][t].lower_bound = self._ch[k][t].upper_bound = ch
                    self._dis[k][t].lower_bound = self._dis[k][t].upper_bound = dis
                else:
                    self._ch[k][t].lower_bound = self._dis[k][t].lower_bound = 0.0
                    self._ch[k][t].upper_bound = self._dis[k][t].upper_bound = u.power_mw
        if self._heat is not None:
            self._heat.set_day(self._heat_load, self.voll_per_mwh, cyclic)
            self._heat.fix(fixed_heat_mw, fixed if fixed_heat_mw is not None else 0)
        return self._run(from_hour)

    def _run(self, from_hour: int) -> Schedule:
        start = time.perf_counter()
        try:
            result = solve_optimal(self._model, SOLVERS[self.solver], self._params)
        except SolverError as exc:
            hour, why = self._shortfall(from_hour)
            raise SchedulingError(f"DNO {self.dno!r}, hour {hour}: {why}{exc}", self.dno, hour) from exc
        seconds = time.perf_counter() - start
        values = result.variable_values()

        def arr(variables: list) -> np.ndarray:
            return np.array([values[v] for v in variables], dtype=float)

        def units(rows: list[list]) -> np.ndarray:
            return np.array([arr(r) for r in rows], dtype=float).reshape(len(rows), HOURS)

        charge, discharge = units(self._ch), units(self._dis)
        return Schedule(
            storage_action_mw=charge.sum(axis=0) - discharge.sum(axis=0),
            charge_mw=charge,
            discharge_mw=discharge,
            soc=units(self._soc),
            buy_mw=arr(self._buy),
            sell_mw=arr(self._sell),
            pv_mw=arr(self._pv),
            wind_mw=arr(self._wind),
            unserved_mw=arr(self._shed),
            cost=float(mathopt.evaluate_expression(self._cost, values)),
            solver=f"{self.solver} (OR-Tools MathOpt {ORTOOLS_VERSION})",
            solve_seconds=seconds,
            carbon_rmb=0.0 if self._carbon is None else float(values[self._carbon]),
            heat=None if self._heat is None else self._heat.plan(values, self._heat_load),
        )


    def _shortfall(self, from_hour: int) -> tuple[int, str]:
        """The first hour whose load exceeds every source at full output, and why; else from_hour.

        PV, wind, the import limit, every unit discharging at its rating and a CHP at its rating
        bound what a DNO can supply in an hour, so a larger load has no schedule unless it may be shed."""
        if self._inputs is None or self.voll_per_mwh is not None:
            return from_hour, ""
        pv, wind, load = self._inputs
        storage = sum(u.power_mw for u in self.units) + (0.0 if self.heat is None else self.heat.chp_mw)
        for t in range(from_hour - 1, HOURS):
            most = float(pv[t] + wind[t]) + self.buy_max_mw + storage
            if load[t] > most:
                return t + 1, (f"load {float(load[t]):,.3f} MW exceeds all it can supply ({most:,.3f} MW) and no "
                               "value of lost load is set to shed it at; ")
        return from_hour, ""



# --- the model's parts, shared by the plan of one forecast (DnoScheduler) and the robust plan of
# several scenarios (market.robust_plan): the grid side and balance once per scenario, the storage once.

Vars = list  # of mathopt.Variable, one per hour


def add_grid(m: mathopt.Model, buy_max_mw: float, sell_max_mw: float, tag: str = "",
             exclusive: Sequence[bool] | None = None) -> tuple[Vars, Vars, Vars, Vars]:
    """Available PV and wind (bounds set per solve), and grid purchase and sale, never both in an
    hour (the binary B of §A.2.1) where `exclusive` says (every hour when not given; see
    `exclusive_hours`): (pv, wind, buy, sell)."""
    T = range(HOURS)
    pv = [m.add_variable(lb=0.0, ub=0.0, name=f"pv{tag}[{t}]") for t in T]
    wind = [m.add_variable(lb=0.0, ub=0.0, name=f"wind{tag}[{t}]") for t in T]
    buy = [m.add_variable(lb=0.0, ub=buy_max_mw, name=f"buy{tag}[{t}]") for t in T]
    sell = [m.add_variable(lb=0.0, ub=sell_max_mw, name=f"sell{tag}[{t}]") for t in T]
    for t in T:
        if exclusive is None or exclusive[t]:
            selling = m.add_binary_variable(name=f"B{tag}[{t}]")  # 1 = selling (§A.2.1)
            add_row(m, -math.inf, 0.0, ((sell[t], 1.0), (selling, -sell_max_mw)))  # sell <= max B
            add_row(m, -math.inf, buy_max_mw, ((buy[t], 1.0), (selling, buy_max_mw)))  # buy <= max (1 - B)
    return pv, wind, buy, sell


def add_row(m: mathopt.Model, lb: float, ub: float, terms: Sequence[tuple[mathopt.Variable, float]]):
    """The linear constraint lb <= sum(coefficient * variable) <= ub, written coefficient by
    coefficient: the same row MathOpt makes of an expression, without building and normalising
    the expression (which was most of a model's build time)."""
    row = m.add_linear_constraint(lb=lb, ub=ub)
    for variable, coefficient in terms:
        row.set_coefficient(variable, coefficient)
    return row


def exclusive_hours(buy_per_mwh: np.ndarray, sell_per_mwh: np.ndarray, carbon: CarbonLadder | None) -> list[bool]:
    """The hours whose purchase and sale need §A.2.1's binary to stay apart. Where the purchase
    costs more than the sale earns and adds no carbon revenue, buying and selling at once only
    loses money, so no optimum does it and the binary is left out: an exact reformulation that
    spares the solver two thirds of the paper tariff's binaries (valley hours keep theirs: the
    feed-in price beats the valley price)."""
    buy_earns_quota = carbon is not None and carbon.coefficients()[0] < 0
    return [bool(sell >= buy or buy_earns_quota) for buy, sell in zip(buy_per_mwh, sell_per_mwh)]


def add_storage(m: mathopt.Model, units: Sequence[StorageUnitLike], eps: float):
    """Each unit's charge, discharge and state of charge (never charging and discharging at once,
    ending the day where it started) and the tie-break penalty: (ch, dis, soc, day_end, penalty)."""
    T = range(HOURS)
    chs, diss, socs, day_end = [], [], [], []
    penalty = mathopt.LinearExpression()
    for k, u in enumerate(units):
        ch = [m.add_variable(lb=0.0, ub=u.power_mw, name=f"ch[{k},{t}]") for t in T]
        dis = [m.add_variable(lb=0.0, ub=u.power_mw, name=f"dis[{k},{t}]") for t in T]
        soc = [m.add_variable(lb=u.soc_min, ub=u.soc_max, name=f"soc[{k},{t}]") for t in T]
        discharging = [m.add_binary_variable(name=f"U[{k},{t}]") for t in T]  # 1 = discharging
        per_mwh = 1.0 / u.energy_mwh
        into, out_of = u.charge_efficiency * per_mwh, (1.0 / u.discharge_efficiency) * per_mwh
        for t in T:
            add_row(m, -math.inf, 0.0, ((dis[t], 1.0), (discharging[t], -u.power_mw)))  # dis <= P U
            add_row(m, -math.inf, u.power_mw, ((ch[t], 1.0), (discharging[t], u.power_mw)))  # ch <= P (1 - U)
            # soc[t] = soc[t-1] (soc_start before the first hour) + (eta_c ch - dis / eta_d) / E
            level = ((soc[t], 1.0), (ch[t], -into), (dis[t], out_of))
            if t == 0:
                add_row(m, u.soc_start, u.soc_start, level)
            else:
                add_row(m, 0.0, 0.0, level + ((soc[t - 1], -1.0),))
        # Daily net charge (§A.2.2 Eq. 6): the day ends where it started.
        day_end.append(add_row(m, u.soc_start, u.soc_start, ((soc[HOURS - 1], 1.0),)))
        for t in T:
            # One epsilon more per hour (earlier is preferred) and a fraction per unit: steps the
            # solver can resolve, while the largest weight (~25 eps, about 0.03 RMB/MWh at the
            # paper's prices) stays far below any real price or efficiency difference.
            weight = eps * (1.0 + t + k / (len(units) + 1))
            penalty += weight * (ch[t] + dis[t])
        chs.append(ch)
        diss.append(dis)
        socs.append(soc)
    return chs, diss, socs, day_end, penalty


def add_balance(m: mathopt.Model, grid: tuple[Vars, Vars, Vars, Vars], ch: list[Vars], dis: list[Vars],
                buy_price: np.ndarray, sell_price: np.ndarray, voll_per_mwh: float | None, tag: str = "",
                heat: HeatModel | None = None):
    """Each hour's balance (bounds set to the load per solve) with load shedding at the value of
    lost load, and the grid cost: (shed, balance, cost, shed_cost). With `heat`, its CHP's power is
    a source and its electric boiler's input a load."""
    pv, wind, buy, sell = grid
    T = range(HOURS)
    # Unserved energy (an [A] extension of §A.2): with a value of lost load, a DNO whose
    # import limit cannot cover its load sheds load at that price instead of having no schedule.
    shed = [m.add_variable(lb=0.0, ub=0.0, name=f"shed{tag}[{t}]") for t in T]
    balance = []
    for t in T:
        units = [term for k in range(len(ch)) for term in ((dis[k][t], 1.0), (ch[k][t], -1.0))]
        terms = [(pv[t], 1.0), (wind[t], 1.0), (buy[t], 1.0), (sell[t], -1.0), *units, (shed[t], 1.0)]
        if heat is not None:  # the heat devices' net electric supply has no constant
            terms += mathopt.as_flat_linear_expression(heat.electric(t)).terms.items()
        balance.append(add_row(m, 0.0, 0.0, terms))
    cost = mathopt.fast_sum(float(buy_price[t]) * buy[t] - float(sell_price[t]) * sell[t] for t in T)
    shed_cost = mathopt.fast_sum((voll_per_mwh or 0.0) * shed[t] for t in T)
    return shed, balance, cost, shed_cost


def add_carbon(m: mathopt.Model, ladder: CarbonLadder, buy: Vars, buy_max_mw: float,
               heat: HeatModel | None = None, tag: str = "") -> mathopt.Variable:
    """The day's carbon cost on the ladder (§B.2.3) as an epigraph variable: one constraint per
    piece over the day's net emission (grid purchases and, with `heat`, gas-fired output)."""
    cost = m.add_variable(lb=-math.inf, name=f"carbon{tag}")
    k_buy, k_chp, k_heat = ladder.coefficients(0.0 if heat is None else heat.devices.chp_heat_to_power)
    net = k_buy * mathopt.fast_sum(buy)
    most = max(k_buy, 0.0) * buy_max_mw * HOURS
    if heat is not None:
        power, chp_heat, boiler = heat.gas_fired()
        net = net + k_chp * power + k_heat * (chp_heat + boiler)
        d = heat.devices
        most += HOURS * (max(k_chp, 0.0) * d.chp_mw + max(k_heat, 0.0) * (d.chp_heat_to_power * d.chp_mw + d.gas_boiler_mw))
    # the day's net emission as a variable of its own: each piece's row then has two terms, not the
    # dozens of the whole day's purchases and output (a ladder has a piece per 2 t)
    emission = m.add_variable(lb=-math.inf, name=f"net_emission{tag}")
    m.add_linear_constraint(emission == net)
    for slope, intercept in ladder.pieces(most):
        m.add_linear_constraint(cost >= slope * emission + intercept)
    return cost


def set_day(grid: tuple[Vars, Vars, Vars, Vars], shed: Vars, balance: list, pv_available_mw: np.ndarray,
            wind_available_mw: np.ndarray, load_mw: np.ndarray, voll_per_mwh: float | None) -> None:
    """The day's data as bounds: available PV and wind, the load each hour must meet, what may be shed."""
    pv, wind, _, _ = grid
    for t in range(HOURS):
        pv[t].upper_bound = float(pv_available_mw[t])
        wind[t].upper_bound = float(wind_available_mw[t])
        balance[t].lower_bound = balance[t].upper_bound = float(load_mw[t])
        # load less agreed imports may be negative (it imports more than its load to pass on)
        shed[t].upper_bound = max(0.0, float(load_mw[t])) if voll_per_mwh is not None else 0.0

def replay_split(units: Sequence[StorageUnitLike], actions_mw: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """A DNO's total storage action per hour (+ charge) shared among its units in proportion to
    their power: (charge, discharge), units x hours, MW."""
    actions = np.asarray(actions_mw, dtype=float)
    power = np.array([u.power_mw for u in units], dtype=float)
    share = power / power.sum() if power.sum() > 0 else np.zeros_like(power)
    return np.outer(share, np.maximum(actions, 0.0)), np.outer(share, np.maximum(-actions, 0.0))


def replay_problem(units: Sequence[StorageUnitLike], actions_mw: Sequence[float]) -> str | None:
    """Why given storage actions are beyond the units (power, state of charge), or None."""
    units = [u for u in units if u.energy_mwh > 0]
    actions = np.asarray(actions_mw, dtype=float)
    power = math.fsum(u.power_mw for u in units)
    for t, a in enumerate(actions, start=1):
        if abs(a) > power * (1 + 1e-9):
            return f"hour {t}: {a:g} MW is beyond the storage's {power:g} MW"
    charge, discharge = replay_split(units, actions)
    for u, ch, dis in zip(units, charge, discharge):
        soc = u.soc_start + np.cumsum(u.charge_efficiency * ch - dis / u.discharge_efficiency) / u.energy_mwh
        bad = np.flatnonzero((soc < u.soc_min - 1e-9) | (soc > u.soc_max + 1e-9))
        if bad.size:
            t = int(bad[0])
            return f"hour {t + 1}: unit {u.name}'s state of charge {soc[t]:.4f} leaves [{u.soc_min}, {u.soc_max}]"
    return None


def _snap(value: float, power_mw: float) -> float:
    """A realised action as an exactly feasible bound: tiny values to 0, clipped to the rating."""
    return 0.0 if value < _SNAP_MW else min(float(value), power_mw)


def rolling_inputs(hour: int, forecast: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """What is known at `hour` (1..24) of a rolling re-plan: actuals up to it, forecasts after."""
    return np.where(np.arange(HOURS) < hour, actual, forecast)


def rolling_intraday(
    scheduler: DnoScheduler,
    pv_forecast_mw: np.ndarray,
    wind_forecast_mw: np.ndarray,
    load_forecast_mw: np.ndarray,
    pv_actual_mw: np.ndarray,
    wind_actual_mw: np.ndarray,
    load_actual_mw: np.ndarray,
) -> tuple[np.ndarray, list[Schedule]]:
    """Intraday plan built hour by hour: at hour t, actuals up to t, forecasts after, past fixed.

    Returns the realised storage action of each hour and the 24 schedules solved on the way.
    """
    n = len(scheduler.units)
    charge = np.zeros((n, HOURS))
    discharge = np.zeros((n, HOURS))
    plans = []
    for hour in range(1, HOURS + 1):
        plan = scheduler.solve(
            rolling_inputs(hour, pv_forecast_mw, pv_actual_mw),
            rolling_inputs(hour, wind_forecast_mw, wind_actual_mw),
            rolling_inputs(hour, load_forecast_mw, load_actual_mw),
            from_hour=hour,
            fixed_charge_mw=charge,
            fixed_discharge_mw=discharge,
        )
        charge[:, hour - 1] = plan.charge_mw[:, hour - 1]
        discharge[:, hour - 1] = plan.discharge_mw[:, hour - 1]
        plans.append(plan)
    return charge.sum(axis=0) - discharge.sum(axis=0), plans
