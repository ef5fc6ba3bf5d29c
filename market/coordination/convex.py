"""A participant's day as a convex program, for coordination by prices (decomposition methods).

Price-based coordination needs each participant's problem to be convex: the Lagrangian dual then
has no gap and the prices it finds are the central problem's dual prices. The scheduling MILP
(market.scheduling) is not, so this is its LP relaxation, with one repair: in an hour where the
grid pays more for energy than it charges (the paper's valley: feed-in 400 above purchase 270),
relaxing the buy-or-sell binary would let a participant buy and sell at once and pocket the
spread. There its grid exchange keeps the direction of its own plan. Everywhere else the relaxed
binaries are harmless: buying and selling at once loses the spread, and charging and discharging at
once loses energy that curtailment sheds for free.

A participant trades through `trade` variables (MWh in the hour, + = import): one with the pool,
or one per counterparty. Their bounds keep any agreed trades feasible for the MILP afterwards: with
its own plan's storage actions and some curtailment, a participant can absorb an import of up to
load + export limit - storage power, and supply an export of up to available renewables + import
limit - load - storage power, in every hour at once.

`LocalProblem` is the participant's own model (built once, re-solved with new prices);
`central` solves all participants and the coupling together, the reference a decomposition is
measured against.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from ortools.math_opt.python import mathopt

from market.scheduling import HOURS, DnoScheduler, StorageUnitLike
from market.shared_storage import SharedStorage, add_station
from market.solver import SolverError, solve_optimal

POOL = "pool"  # the counterparty name of a participant's trade with the pool


@dataclass(frozen=True)
class DayData:
    """What a participant's convex day model reads: private to it in a decomposition."""

    name: str
    units: tuple[StorageUnitLike, ...]
    buy_per_mwh: np.ndarray
    sell_per_mwh: np.ndarray
    buy_max_mw: float
    sell_max_mw: float
    renewable_mw: np.ndarray  # forecast PV plus wind available, per hour
    load_mw: np.ndarray
    own_sells: np.ndarray  # bool per hour: its own plan sells to the grid (fixes the direction where needed)
    tie_break_per_mwh: float
    voll_per_mwh: float | None = None
    fee_import_per_mwh: float = 0.0  # what trading costs it per MWh besides the price (its share of
    fee_export_per_mwh: float = 0.0  # the chain's service fee), which also rules out pass-through trades
    ses_power_mw: float = 0.0  # how fast it may charge or discharge a shared storage station (0: none)
    ses_fee_per_mwh: float = 0.0  # the station's usage fee, on energy charged and discharged

    @classmethod
    def of(cls, name: str, scheduler: DnoScheduler, pv_mw, wind_mw, load_mw, own_sell_mw,
           fees_per_mwh: tuple[float, float] = (0.0, 0.0), ses_power_mw: float = 0.0,
           ses_fee_per_mwh: float = 0.0) -> DayData:
        """From its scheduler and forecasts; `fees_per_mwh` = (on imports, on exports)."""
        return cls(name, tuple(scheduler.units), scheduler.buy_price, scheduler.sell_price, scheduler.buy_max_mw,
                   scheduler.sell_max_mw, np.asarray(pv_mw, float) + np.asarray(wind_mw, float),
                   np.asarray(load_mw, float), np.asarray(own_sell_mw) > 0, scheduler.tie_break_per_mwh,
                   scheduler.voll_per_mwh, *fees_per_mwh, ses_power_mw, ses_fee_per_mwh)

    def trade_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Most it can import and export per hour, MWh, so the MILP stays feasible (module doc)."""
        power = sum(u.power_mw for u in self.units)
        imports = np.maximum(0.0, self.load_mw + self.sell_max_mw - power)
        exports = np.maximum(0.0, self.renewable_mw + self.buy_max_mw - self.load_mw - power)
        return imports, exports


@dataclass
class _Handles:
    cost: mathopt.LinearExpression  # grid money, trading and storage fees, RMB (the participant's true cost)
    objective: mathopt.LinearExpression  # cost plus tie-break and shed terms
    parts: dict[str, tuple[list[mathopt.Variable], list[mathopt.Variable]]]  # counterparty -> (imports, exports), MWh
    net: dict[str, list[mathopt.Variable]] | None = None  # with `consensus`: one variable per trade, import - export
    ses: tuple[list[mathopt.Variable], list[mathopt.Variable]] | None = None  # (to the station, from it), MWh

    @property
    def trades(self) -> dict[str, list[mathopt.LinearExpression]]:
        """Per counterparty and hour, import - export (MWh)."""
        return {c: [b - s for b, s in zip(*pair)] for c, pair in self.parts.items()}

    def trade_values(self, values: Mapping) -> dict[str, np.ndarray]:
        return {c: np.array([values[b] - values[s] for b, s in zip(*pair)]) for c, pair in self.parts.items()}


def _add_participant(m: mathopt.Model, d: DayData, counterparties: Sequence[str], consensus: bool = False) -> _Handles:
    """The participant's constraints in `m`; its trade variables by counterparty, and its use of a
    shared storage station when it has one. With `consensus`, each trade is also one variable
    (a quadratic penalty on it then has a diagonal Hessian, as PDLP needs)."""
    T = range(HOURS)
    inverted = d.sell_per_mwh > d.buy_per_mwh
    tag = d.name
    pv = [m.add_variable(lb=0.0, ub=float(d.renewable_mw[t]), name=f"{tag}.res[{t}]") for t in T]
    buy_ub = [0.0 if inverted[t] and d.own_sells[t] else d.buy_max_mw for t in T]
    sell_ub = [0.0 if inverted[t] and not d.own_sells[t] else d.sell_max_mw for t in T]
    buy = [m.add_variable(lb=0.0, ub=buy_ub[t], name=f"{tag}.buy[{t}]") for t in T]
    sell = [m.add_variable(lb=0.0, ub=sell_ub[t], name=f"{tag}.sell[{t}]") for t in T]
    for t in T:  # the buy-or-sell binary relaxed: its convex hull
        if d.buy_max_mw > 0 and d.sell_max_mw > 0:
            m.add_linear_constraint(buy[t] * (1.0 / d.buy_max_mw) + sell[t] * (1.0 / d.sell_max_mw) <= 1.0)
    penalty = mathopt.LinearExpression()
    storage = [mathopt.LinearExpression() for _ in T]
    for k, u in enumerate(u for u in d.units if u.energy_mwh > 0):
        ch = [m.add_variable(lb=0.0, ub=u.power_mw, name=f"{tag}.ch[{k},{t}]") for t in T]
        dis = [m.add_variable(lb=0.0, ub=u.power_mw, name=f"{tag}.dis[{k},{t}]") for t in T]
        soc = [m.add_variable(lb=u.soc_min, ub=u.soc_max, name=f"{tag}.soc[{k},{t}]") for t in T]
        prev: mathopt.LinearTypes = u.soc_start
        for t in T:
            m.add_linear_constraint(ch[t] + dis[t] <= u.power_mw)  # the charge-or-discharge binary relaxed
            m.add_linear_constraint(
                soc[t] == prev + (u.charge_efficiency * ch[t] - dis[t] * (1.0 / u.discharge_efficiency)) * (1.0 / u.energy_mwh))
            prev = soc[t]
            penalty += d.tie_break_per_mwh * (1.0 + t + k / (len(d.units) + 1)) * (ch[t] + dis[t])
            storage[t] += dis[t] - ch[t]
        m.add_linear_constraint(soc[HOURS - 1] == u.soc_start)
    shed_ub = [float(d.load_mw[t]) if d.voll_per_mwh is not None else 0.0 for t in T]
    shed = [m.add_variable(lb=0.0, ub=max(0.0, shed_ub[t]), name=f"{tag}.shed[{t}]") for t in T]
    imports, exports = d.trade_bounds()
    parts: dict[str, tuple[list, list]] = {}
    fees = mathopt.LinearExpression()
    for c in counterparties:
        bought = [m.add_variable(lb=0.0, ub=float(imports[t]), name=f"{tag}.import[{c},{t}]") for t in T]
        sold = [m.add_variable(lb=0.0, ub=float(exports[t]), name=f"{tag}.export[{c},{t}]") for t in T]
        parts[c] = (bought, sold)
        fees += mathopt.fast_sum(d.fee_import_per_mwh * bought[t] + d.fee_export_per_mwh * sold[t] for t in T)
    net_vars = None
    if consensus:
        net_vars = {c: [m.add_variable(lb=-float(exports[t]), ub=float(imports[t]), name=f"{tag}.trade[{c},{t}]")
                        for t in T] for c in counterparties}
        for c in counterparties:
            for t in T:
                m.add_linear_constraint(net_vars[c][t] == parts[c][0][t] - parts[c][1][t])
    ses = None
    if d.ses_power_mw > 0:  # energy it sends to the station and takes from it: like a trade, with a fee
        ses = ([m.add_variable(lb=0.0, ub=d.ses_power_mw, name=f"{tag}.to_ses[{t}]") for t in T],
               [m.add_variable(lb=0.0, ub=d.ses_power_mw, name=f"{tag}.from_ses[{t}]") for t in T])
        fees += mathopt.fast_sum(d.ses_fee_per_mwh * (ses[0][t] + ses[1][t]) for t in T)
    for t in T:
        net = mathopt.fast_sum(parts[c][0][t] - parts[c][1][t] for c in counterparties)
        if ses is not None:
            net += ses[1][t] - ses[0][t]
        if len(counterparties) + (ses is not None) > 1:  # all it trades within the same bounds as each trade
            m.add_linear_constraint(lb=-float(exports[t]), ub=float(imports[t]), expr=net)
        m.add_linear_constraint(pv[t] + buy[t] - sell[t] + storage[t] + shed[t] + net == float(d.load_mw[t]))
    cost = mathopt.fast_sum(float(d.buy_per_mwh[t]) * buy[t] - float(d.sell_per_mwh[t]) * sell[t] for t in T) + fees
    objective = cost + penalty + mathopt.fast_sum((d.voll_per_mwh or 0.0) * shed[t] for t in T)
    return _Handles(cost, objective, parts, net_vars, ses)


def _params() -> mathopt.SolveParameters:
    """Both LP solvers used here are deterministic; HiGHS takes no thread count through MathOpt."""
    return mathopt.SolveParameters(time_limit=datetime.timedelta(seconds=60))


class LocalProblem:
    """A participant's own convex day model, built once and re-solved as prices change.

    `respond(prices)` minimises its cost plus, over counterparties and hours, price x import:
    what it would trade at those prices. Only the trade variables' objective coefficients change
    between solves, so GLOP restarts from its last basis (about 5 ms a solve here, against 10 ms
    for a fresh HiGHS solve).
    """

    def __init__(self, data: DayData, counterparties: Sequence[str]) -> None:
        self.data = data
        self.counterparties = tuple(counterparties)
        self._model = mathopt.Model(name=f"convex-{data.name}")
        self._h = _add_participant(self._model, data, self.counterparties)
        self._model.minimize(self._h.objective)
        self._solver = mathopt.IncrementalSolver(self._model, mathopt.SolverType.GLOP)

    def _price(self, prices: Mapping[str, np.ndarray]) -> None:
        fee_in, fee_out = self.data.fee_import_per_mwh, self.data.fee_export_per_mwh
        for c, (bought, sold) in self._h.parts.items():
            for t in range(HOURS):
                p = float(prices[c][t]) if c in prices else 0.0
                self._model.objective.set_linear_coefficient(bought[t], fee_in + p)
                self._model.objective.set_linear_coefficient(sold[t], fee_out - p)

    def _solve(self) -> tuple[dict[str, np.ndarray], float, float]:
        try:
            result = solve_optimal(self._model, mathopt.SolverType.GLOP, _params(), incremental=self._solver)
        except SolverError:  # GLOP's warm start ended imprecise (seen on degenerate days): start afresh
            result = solve_optimal(self._model, mathopt.SolverType.HIGHS, _params())
            self._solver = mathopt.IncrementalSolver(self._model, mathopt.SolverType.GLOP)
        values = result.variable_values()
        return (self._h.trade_values(values), float(mathopt.evaluate_expression(self._h.cost, values)),
                float(result.objective_value()))

    def respond(self, prices: Mapping[str, np.ndarray]) -> tuple[dict[str, np.ndarray], float, float]:
        """Trades by counterparty (MWh per hour, + import), the true cost (RMB: grid money and
        fees) and the priced objective's value (its share of the Lagrangian dual function)."""
        self._price(prices)
        return self._solve()

    def cost_with(self, trades: Mapping[str, np.ndarray]) -> tuple[dict[str, np.ndarray], float, float]:
        """The same with its trades fixed and no prices: its true cost and its objective (with the
        tie-break and shed terms, comparable to `central`'s) for an agreed set of trades."""
        self._price({})
        fixed = []
        for c, (bought, sold) in self._h.parts.items():
            for t in range(HOURS):
                x = float(trades[c][t])
                for var, value in ((bought[t], max(x, 0.0)), (sold[t], max(-x, 0.0))):
                    fixed.append((var, var.lower_bound, var.upper_bound))
                    var.lower_bound = var.upper_bound = value
        try:
            return self._solve()
        finally:
            for var, lb, ub in fixed:
                var.lower_bound, var.upper_bound = lb, ub


@dataclass(frozen=True)
class CentralSolution:
    """The coupled problem solved at once: trades (participant -> counterparty -> per hour), the
    prices (duals of the coupling: hour array per pool or per ordered pair) and the total cost."""

    trades: dict[str, dict[str, np.ndarray]]
    prices: dict[tuple[str, str], np.ndarray]  # (participant, counterparty) -> RMB/MWh per hour
    cost_rmb: float  # sum of the participants' true costs
    objective_rmb: float  # with the tie-break and shed terms: what the decomposition's dual approaches
    costs_rmb: dict[str, float] = field(default_factory=dict)  # each participant's true cost
    ses_mw: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # (to, from) the station


def central(datas: Sequence[DayData], form: str, pool_offset_mwh: np.ndarray | None = None,
            ses: SharedStorage | None = None) -> CentralSolution:
    """The reference: every participant's model and the coupling (pool balance or reciprocity,
    and a shared storage station's energy when there is one). `pool_offset_mwh` lets the pool's
    net imports sum to it instead of zero, hour by hour: how the optimum moves with it brackets
    the hour's optimal prices (tests use it)."""
    m = mathopt.Model(name=f"central-{form}")
    names = [d.name for d in datas]
    handles = {d.name: _add_participant(m, d, counterparties(d.name, names, form)) for d in datas}
    trades = {n: h.trades for n, h in handles.items()}
    m.minimize(mathopt.fast_sum(h.objective for h in handles.values()))
    offset = np.zeros(HOURS) if pool_offset_mwh is None else np.asarray(pool_offset_mwh, float)
    coupling: dict[tuple[str, str], list] = {}
    for t in range(HOURS):
        if form == "pool":
            c = m.add_linear_constraint(mathopt.fast_sum(trades[n][POOL][t] for n in names) == float(offset[t]))
            for n in names:
                coupling.setdefault((n, POOL), []).append(c)
        else:
            for i, a in enumerate(names):
                for b in names[i + 1:]:
                    c = m.add_linear_constraint(trades[a][b][t] + trades[b][a][t] == 0.0)
                    coupling.setdefault((a, b), []).append(c)
                    coupling.setdefault((b, a), []).append(c)
    users = [h.ses for h in handles.values() if h.ses is not None]
    if ses is not None and users:
        add_station(m, ses, [mathopt.fast_sum(u[0][t] for u in users) for t in range(HOURS)],
                    [mathopt.fast_sum(u[1][t] for u in users) for t in range(HOURS)])
    result = solve_optimal(m, mathopt.SolverType.HIGHS, _params())
    values, duals = result.variable_values(), result.dual_values()
    agreed = {n: h.trade_values(values) for n, h in handles.items()}
    # MathOpt's dual y of a minimisation satisfies grad f = sum y grad g, so the price that each
    # participant sees in its Lagrangian term (+ price x import) is -y.
    prices = {key: -np.array([duals[c] for c in cs]) for key, cs in coupling.items()}
    costs = {n: float(mathopt.evaluate_expression(h.cost, values)) for n, h in handles.items()}
    station = {n: tuple(np.array([values[v] for v in vs]) for vs in h.ses) for n, h in handles.items() if h.ses}
    return CentralSolution(agreed, prices, math.fsum(costs.values()), float(result.objective_value()), costs, station)


def counterparties(name: str, names: Sequence[str], form: str) -> list[str]:
    """Whom a participant trades with: the pool, or every other participant (bilateral)."""
    return [POOL] if form == "pool" else [n for n in names if n != name]
