"""A distribution network operator: plans its day, re-plans intraday, bids its deviation, settles.

The decisions are the market's rules (market/): the scheduling MILP, the DAF-IDO deviation and
the bid-price rule. The agent holds the state between hours: the day-ahead plan, the storage
actions realised so far, the deviation of each hour and the money booked on chain.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import mesa
import numpy as np

from agents.storage_owner import StorageOwner
from market.bidding import Position
from market.deviation import Deviation, classify
from market.heat import DISPATCH
from market.scheduling import HOURS, DnoScheduler, Schedule, replay_split, rolling_inputs


def own_plans(scheduler: DnoScheduler, inputs, storage: tuple[np.ndarray, np.ndarray] | None,
              replay: tuple | None, intraday_mode: str) -> tuple[Schedule, Schedule | None]:
    """A DNO's own day-ahead plan on forecasts and, in oracle mode, its whole-day intraday plan on
    actuals (§A.2): a pure function of its scheduler and its data, so the model may run it for many
    DNOs in other processes (model.plan_fanout) with the same results."""
    if storage is None and replay is not None:
        storage = replay[0]
    own = solve_day(scheduler, inputs.pv_forecast_mw, inputs.wind_forecast_mw, inputs.load_forecast_mw,
                    inputs.heat_forecast_mw, storage, cyclic=replay is None)
    intraday = None
    if intraday_mode == "oracle":  # the paper: the whole day re-planned on actuals
        intraday = solve_day(scheduler, inputs.pv_actual_mw, inputs.wind_actual_mw, inputs.load_actual_mw,
                             inputs.heat_actual_mw, None if replay is None else replay[1], cyclic=replay is None)
    return own, intraday


def solve_day(scheduler: DnoScheduler, pv, wind, load, heat_load=None, storage=None, cyclic=True,
              **rolling) -> Schedule:
    """The MILP on these data; with `storage` (charge, discharge: units x hours) every hour's
    storage action is given and the MILP settles only the grid exchange and any load shed around
    it (`cyclic` False: the given actions need not end the day where it started)."""
    if storage is not None:
        rolling = {"from_hour": HOURS + 1, "fixed_charge_mw": storage[0], "fixed_discharge_mw": storage[1]}
    return scheduler.solve(pv, wind, load, cyclic=cyclic, heat_load_mw=heat_load, **rolling)


def rolling_plan(scheduler: DnoScheduler, inputs, hour: int, charge_mw: np.ndarray, discharge_mw: np.ndarray,
                 traded_mw: np.ndarray | None, heat_mw: np.ndarray | None) -> Schedule:
    """The rolling re-plan at `hour` (actuals up to it, forecasts after) from the actions realised
    so far (storage and any heat dispatch), keeping any agreed trades: like `own_plans`, a pure
    function of the scheduler and these data, so it may run in another process."""
    load = rolling_inputs(hour, inputs.load_forecast_mw, inputs.load_actual_mw)
    return solve_day(
        scheduler,
        rolling_inputs(hour, inputs.pv_forecast_mw, inputs.pv_actual_mw),
        rolling_inputs(hour, inputs.wind_forecast_mw, inputs.wind_actual_mw),
        load if traded_mw is None else load - traded_mw,
        None if heat_mw is None else rolling_inputs(hour, inputs.heat_forecast_mw, inputs.heat_actual_mw),
        from_hour=hour,
        fixed_charge_mw=charge_mw,
        fixed_discharge_mw=discharge_mw,
        fixed_heat_mw=heat_mw,
    )


class DNO(mesa.Agent):
    def __init__(
        self,
        model: mesa.Model,
        spec,
        scheduler: DnoScheduler,
        owners: list[StorageOwner],
        intraday_mode: str,
        tolerance_mwh: float,
        bids_before_delivery: bool = False,
        deviation_rule: str = "magnitude",
        replay: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        super().__init__(model)
        self.name = spec.name
        self.spec = spec
        self.scheduler = scheduler
        self.owners = owners
        self.intraday_mode = intraday_mode
        self.tolerance_mwh = tolerance_mwh
        self.deviation_rule = deviation_rule  # market.deviation: how the gap between plans becomes Q
        # storage actions given rather than optimised (MW per hour, + charge), shared among the units
        # once: (day-ahead, intraday), each (charge, discharge) units x hours
        self.replay = None if replay is None else tuple(replay_split(scheduler.units, a) for a in replay)
        # True: it bids at gate closure on the deviation it expects (its plan from before the hour's
        # actuals), and what it then delivers is settled after the hour (market.delivery)
        self.bids_before_delivery = bids_before_delivery
        n = len(scheduler.units)
        self.charge_mw = np.zeros((n, HOURS))  # realised intraday actions, per unit
        self.discharge_mw = np.zeros((n, HOURS))
        # realised heat dispatch (rows of market.heat.DISPATCH), for a DNO with heat devices
        self.heat_mw = None if scheduler.heat is None else np.zeros((len(DISPATCH), HOURS))
        self.own_plan: Schedule | None = None  # its own MILP on forecasts: the no-coordination plan
        self.day_ahead: Schedule | None = None  # the plan it committed to (the coordination's)
        self.intraday: Schedule | None = None  # the latest intraday plan
        # net imports agreed day-ahead with other DNOs (MWh per hour): firm, so every intraday
        # re-plan keeps them; the no-trade baseline re-plans without them (`_alone`)
        self.traded_mw = np.zeros(HOURS)
        self._alone: _Alone | None = None
        self.inputs = None
        self.deviations: list[Deviation] = []
        self.own_deviations: list[Deviation] = []  # from its own plan: the no-trading baseline
        self.expected: list[Deviation] = []  # what it expected each hour's deviation to be at gate closure
        self.solve_seconds = 0.0
        self.revenue_rmb = 0.0  # cumulative R^DN of §A.9, from the chain's settlement
        self._row = {u.name: k for k, u in enumerate(scheduler.units)}

    # --- planning ------------------------------------------------------------------------------

    def plan_own(self, inputs, storage: tuple[np.ndarray, np.ndarray] | None = None,
                 solved: tuple[Schedule, Schedule | None] | None = None) -> Schedule:
        """Solve its own MILP on forecasts (§A.2): what it would do without coordination. With
        `storage` (charge, discharge: units x hours, a robust plan's, §B.2.2) the storage is fixed
        and the MILP settles the rest on the forecast. `solved`: what `own_plans` gave for these
        inputs elsewhere (the model's planning fan-out), so nothing is solved here."""
        self.inputs = inputs
        self.charge_mw[:] = 0.0
        self.discharge_mw[:] = 0.0
        if self.heat_mw is not None:
            self.heat_mw[:] = 0.0
        self.deviations = []
        self.own_deviations = []
        self.expected = []
        if solved is None:
            solved = own_plans(self.scheduler, inputs, storage, self.replay, self.intraday_mode)
        self.own_plan, self.intraday = solved
        self.solve_seconds += sum(plan.solve_seconds for plan in solved if plan is not None)
        self.traded_mw = np.zeros(HOURS)
        self._alone = None
        return self.own_plan

    def adopt(self, plan: Schedule, traded_mw: np.ndarray | None = None) -> str:
        """Commit to the day-ahead plan the coordination agreed, with the net imports it agreed
        with other DNOs (MWh per hour); the plan's hash goes on chain."""
        self.day_ahead = plan
        if traded_mw is not None and np.any(traded_mw):
            self.traded_mw = np.asarray(traded_mw, dtype=float)
            self._alone = _Alone(self.intraday, np.zeros_like(self.charge_mw), np.zeros_like(self.discharge_mw),
                                 None if self.heat_mw is None else np.zeros_like(self.heat_mw))
            if self.intraday_mode == "oracle":
                i = self.inputs
                self.intraday = self._solve(i.pv_actual_mw, i.wind_actual_mw, i.load_actual_mw - self.traded_mw,
                                            i.heat_actual_mw)
        # + 0.0 turns -0.0 into 0.0: solver noise of either sign below 1 W must not change the hash
        return hashlib.sha256((np.round(plan.storage_action_mw, 6) + 0.0).tobytes()).hexdigest()

    def rolling_solves(self, hour: int) -> list[tuple]:
        """The arguments of `rolling_plan` (after the scheduler) for the re-plans `replan(hour)`
        makes: its own and, when it traded day-ahead, the no-trade baseline's; none in oracle mode."""
        if self.intraday_mode != "rolling":
            return []
        solves = [(self.inputs, hour, self.charge_mw, self.discharge_mw, self.traded_mw, self.heat_mw)]
        if self._alone is not None:
            a = self._alone
            solves.append((self.inputs, hour, a.charge_mw, a.discharge_mw, None, a.heat_mw))
        return solves

    def replan(self, hour: int, solved: list[Schedule] | None = None) -> None:
        """Intraday at `hour` (1..24): actual for it and before, forecasts after, past actions fixed.
        What the latest plan said of the hour before its actuals came in is the expected deviation.
        `solved`: the plans of `rolling_solves(hour)`, made elsewhere (the model's planning fan-out)."""
        t = hour - 1
        planned = self.day_ahead if self.intraday is None else self.intraday
        self.expected.append(self._classify(self.day_ahead.storage_action_mw[t], float(planned.storage_action_mw[t])))
        if solved is None:
            solved = [rolling_plan(self.scheduler, *args) for args in self.rolling_solves(hour)]
        self.solve_seconds += sum(plan.solve_seconds for plan in solved)
        if self.intraday_mode == "rolling":
            self.intraday = solved[0]
        self.charge_mw[:, t] = self.intraday.charge_mw[:, t]
        self.discharge_mw[:, t] = self.intraday.discharge_mw[:, t]
        if self.heat_mw is not None:
            self.heat_mw[:, t] = self.intraday.heat.dispatch()[:, t]
        action = self.action_mw(hour)
        self.deviations.append(self._classify(self.day_ahead.storage_action_mw[t], action))
        if self._alone is not None:  # it traded day-ahead: alone it would have re-planned otherwise
            alone = self._alone
            if self.intraday_mode == "rolling":
                alone.plan = solved[1]
            alone.charge_mw[:, t], alone.discharge_mw[:, t] = alone.plan.charge_mw[:, t], alone.plan.discharge_mw[:, t]
            if alone.heat_mw is not None:
                alone.heat_mw[:, t] = alone.plan.heat.dispatch()[:, t]
            action = float(alone.charge_mw[:, t].sum() - alone.discharge_mw[:, t].sum())
        own = self.deviations[-1] if self.own_plan is self.day_ahead else self._classify(
            self.own_plan.storage_action_mw[t], action)
        self.own_deviations.append(own)

    def _classify(self, planned_mw: float, action_mw: float) -> Deviation:
        return classify(planned_mw, action_mw, self.tolerance_mwh, self.deviation_rule)

    def _solve(self, pv, wind, load, heat_load=None, storage=None, cyclic=True, **rolling) -> Schedule:
        """`solve_day` on its scheduler, its solver time counted."""
        plan = solve_day(self.scheduler, pv, wind, load, heat_load, storage, cyclic, **rolling)
        self.solve_seconds += plan.solve_seconds
        return plan

    def action_mw(self, hour: int) -> float:
        """Realised intraday storage action of `hour` (+ charge, - discharge)."""
        return float(self.charge_mw[:, hour - 1].sum() - self.discharge_mw[:, hour - 1].sum())

    # --- the market ----------------------------------------------------------------------------

    @property
    def deviation(self) -> Deviation:
        return self.deviations[-1]

    def position(self, hour: int) -> tuple[str, Position] | None:
        """The side and pricing position of this hour's deviation (§A.3.4, §A.4.1), if any: the
        actual one, or the expected one when it bids before delivery."""
        dev = self.expected[-1] if self.bids_before_delivery else self.deviation
        if dev.role is None:
            return None
        # Ratio scale: a seller's total storage energy, a buyer's intraday (actual) load.
        scale = self.storage_energy_mwh if dev.role == "sell" else float(self.inputs.load_actual_mw[hour - 1])
        return ("sell" if dev.role == "sell" else "buy"), Position(self.name, dev.quantity_mwh, scale, 0.0)

    @property
    def storage_energy_mwh(self) -> float:
        return float(math.fsum(u.energy_mwh for u in self.scheduler.units))

    def dispatch(self, hour: int) -> None:
        """Instruct the storage owners with the hour's realised per-unit actions (stage 5)."""
        t = hour - 1
        for owner in self.owners:
            rows = [self._row.get(u.name) for u in owner.units]
            owner.dispatch(
                np.array([0.0 if r is None else self.charge_mw[r, t] for r in rows]),
                np.array([0.0 if r is None else self.discharge_mw[r, t] for r in rows]),
            )

    def settle(self, revenue_rmb: float, owner_share: float) -> None:
        """Book the hour's net money from the chain; pass the owners their share, pro rata energy.

        Owners share losses as well as gains: the deviation traded is their storage's.
        """
        self.revenue_rmb += revenue_rmb
        total_energy = math.fsum(o.energy_mwh for o in self.owners)
        if total_energy <= 0:
            return
        for owner in self.owners:
            owner.pay(owner_share * revenue_rmb * owner.energy_mwh / total_energy)

    @property
    def retained_rmb(self) -> float:
        """Cumulative revenue after the owners' shares."""
        return self.revenue_rmb - math.fsum(o.revenue_rmb for o in self.owners)


@dataclass
class _Alone:
    """The DNO's intraday re-planning as if it had not traded day-ahead: the no-trade baseline."""

    plan: Schedule | None
    charge_mw: np.ndarray
    discharge_mw: np.ndarray
    heat_mw: np.ndarray | None = None
