"""A participant's heat side in its scheduling MILP (docs/rules.md §B.2.1): CHP, boilers, heat storage.

Heat is planned and settled locally: each participant meets its own heat load every hour from a
CHP (a gas turbine whose recovered heat is `heat_to_power` times its power), a gas boiler, an
electric boiler (whose input is an electric load), heat storage and heat bought from a heat
network. Heat is not traded between participants. Its only link to the electricity market is
through the electric balance: the CHP's power is a source, the electric boiler's input a load.

Surplus heat may be vented (the heat balance is supply >= load), so a CHP run for its power never
makes a plan infeasible; unmet heat is shed at the value of lost load, as electric load is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from ortools.math_opt.python import mathopt

from market.tariff import HOURS

# the heat storage's working range and where each day starts and ends, fraction of its energy [A]
HEAT_SOC_MIN, HEAT_SOC_MAX, HEAT_SOC_START = 0.1, 0.9, 0.5
# what a realised heat dispatch is, row by row (the rows a rolling re-plan fixes for past hours)
DISPATCH = ("chp_mw", "gas_boiler_mw", "electric_boiler_mw", "heat_charge_mw", "heat_discharge_mw", "heat_bought_mw")


class HeatDevicesLike(Protocol):
    """What the MILP needs of a participant's heat devices (the scenario's HeatDevices has it)."""

    chp_mw: float  # electric rating
    chp_efficiency: float  # power out per MWh of gas in
    chp_heat_to_power: float  # phi: recovered heat per MWh of power
    gas_boiler_mw: float  # heat rating
    gas_boiler_efficiency: float
    electric_boiler_mw: float  # heat rating
    electric_boiler_efficiency: float
    heat_storage_mwh: float
    heat_storage_mw: float
    heat_storage_efficiency: float  # each way
    heat_storage_loss: float  # share of the stored heat lost per hour
    heat_buy_max_mw: float
    gas_price_per_mwh: float | None
    heat_price_per_mwh: float | None


@dataclass(frozen=True)
class HeatPlan:
    """A participant's heat plan for the day, MW per hour (index 0 is hour 1)."""

    load_mw: np.ndarray  # the heat load it was planned on
    chp_mw: np.ndarray  # CHP power
    chp_heat_mw: np.ndarray  # CHP heat recovered (phi x power)
    gas_boiler_mw: np.ndarray  # heat
    electric_boiler_mw: np.ndarray  # heat out
    electric_boiler_input_mw: np.ndarray  # power in
    heat_charge_mw: np.ndarray
    heat_discharge_mw: np.ndarray
    heat_soc: np.ndarray  # end-of-hour, fraction of energy (0 without heat storage)
    heat_bought_mw: np.ndarray
    heat_unserved_mw: np.ndarray
    vented_mw: np.ndarray  # surplus heat let go
    gas_mwh: np.ndarray  # gas burnt by the CHP and the gas boiler
    gas_rmb: float  # the day's gas cost
    heat_bought_rmb: float  # the day's heat purchase

    @property
    def cost_rmb(self) -> float:
        """Gas and heat purchase, RMB (shedding is valued apart, as for electricity)."""
        return self.gas_rmb + self.heat_bought_rmb

    def dispatch(self) -> np.ndarray:
        """The decisions that fix the rest (rows of DISPATCH x hours): what a rolling re-plan holds
        for hours already past."""
        return np.array([getattr(self, name) for name in DISPATCH])


@dataclass
class HeatModel:
    """The heat part of one MathOpt model: its variables and the rows set per solve."""

    devices: HeatDevicesLike
    chp: list
    gas_boiler: list
    electric_boiler: list
    charge: list
    discharge: list
    soc: list
    bought: list
    shed: list
    balance: list  # supply - (charge - discharge) >= load, bounds set per solve
    day_end: mathopt.LinearConstraint | None
    cost: mathopt.LinearExpression  # gas and heat purchase
    shed_cost: mathopt.LinearExpression
    penalty: mathopt.LinearExpression  # the tie-break on heat storage and the electric boiler

    def electric(self, t: int) -> mathopt.LinearExpression:
        """Net electric supply of the heat devices in hour t: CHP power less the boiler's input."""
        d = self.devices
        return self.chp[t] - self.electric_boiler[t] * (1.0 / d.electric_boiler_efficiency)

    def gas_fired(self) -> tuple[mathopt.LinearExpression, mathopt.LinearExpression, mathopt.LinearExpression]:
        """The day's CHP power, CHP heat and gas-boiler heat, MWh: what emits (§B.2.3)."""
        power = mathopt.fast_sum(self.chp)
        return power, self.devices.chp_heat_to_power * power, mathopt.fast_sum(self.gas_boiler)

    def set_day(self, heat_load_mw: np.ndarray, voll_per_mwh: float | None, cyclic: bool = True) -> None:
        for t in range(HOURS):
            self.balance[t].lower_bound = float(heat_load_mw[t])
            self.shed[t].upper_bound = max(0.0, float(heat_load_mw[t])) if voll_per_mwh is not None else 0.0
        if self.day_end is not None:
            self.day_end.lower_bound = HEAT_SOC_START if cyclic else HEAT_SOC_MIN
            self.day_end.upper_bound = HEAT_SOC_START if cyclic else HEAT_SOC_MAX

    def fix(self, dispatch_mw: np.ndarray | None, hours: int) -> None:
        """Hold the first `hours` hours at a realised dispatch (rows of DISPATCH), free the rest."""
        d = self.devices
        rows = (self.chp, self.gas_boiler, self.electric_boiler, self.charge, self.discharge, self.bought)
        ratings = (d.chp_mw, d.gas_boiler_mw, d.electric_boiler_mw, storage_mw(d), storage_mw(d),
                   d.heat_buy_max_mw)
        for k, (row, rating) in enumerate(zip(rows, ratings)):
            for t in range(HOURS):
                if dispatch_mw is not None and t < hours:
                    value = float(dispatch_mw[k, t])
                    row[t].lower_bound = row[t].upper_bound = 0.0 if value < 1e-9 else min(value, rating)
                else:
                    row[t].lower_bound, row[t].upper_bound = 0.0, rating

    def plan(self, values: dict, load_mw: np.ndarray) -> HeatPlan:
        d = self.devices

        def arr(variables: list) -> np.ndarray:
            return np.array([values[v] for v in variables], dtype=float)

        chp, boiler, electric = arr(self.chp), arr(self.gas_boiler), arr(self.electric_boiler)
        charge, discharge, bought, shed = arr(self.charge), arr(self.discharge), arr(self.bought), arr(self.shed)
        gas = chp / d.chp_efficiency + boiler / d.gas_boiler_efficiency
        supplied = d.chp_heat_to_power * chp + boiler + electric + bought + discharge - charge + shed
        return HeatPlan(
            load_mw=np.asarray(load_mw, dtype=float), chp_mw=chp, chp_heat_mw=d.chp_heat_to_power * chp,
            gas_boiler_mw=boiler, electric_boiler_mw=electric, electric_boiler_input_mw=electric / d.electric_boiler_efficiency,
            heat_charge_mw=charge, heat_discharge_mw=discharge,
            heat_soc=arr(self.soc) if self.soc else np.zeros(HOURS), heat_bought_mw=bought, heat_unserved_mw=shed,
            vented_mw=np.clip(supplied - load_mw, 0.0, None), gas_mwh=gas,
            gas_rmb=float((d.gas_price_per_mwh or 0.0) * gas.sum()),
            heat_bought_rmb=float((d.heat_price_per_mwh or 0.0) * bought.sum()))


def has_storage(d: HeatDevicesLike) -> bool:
    """Heat storage that can hold heat and move it: energy and power both above 0."""
    return d.heat_storage_mwh > 0 and d.heat_storage_mw > 0


def holding_mw(d: HeatDevicesLike) -> float:
    """The heat a storage must take in each hour to stay where the day starts despite its loss
    (loss x start level x energy / efficiency), MW: its rating and the heat sources must reach it,
    or no day can end where it started."""
    return HEAT_SOC_START * d.heat_storage_loss * d.heat_storage_mwh / d.heat_storage_efficiency if has_storage(d) else 0.0


def heat_sources_mw(d: HeatDevicesLike) -> float:
    """All the heat the devices can make or buy in an hour, MW."""
    return d.chp_heat_to_power * d.chp_mw + d.gas_boiler_mw + d.electric_boiler_mw + d.heat_buy_max_mw


def storage_mw(d: HeatDevicesLike) -> float:
    """The heat storage's charge and discharge rating: 0 without storage (nothing to store)."""
    return d.heat_storage_mw if has_storage(d) else 0.0


def add_heat(m: mathopt.Model, d: HeatDevicesLike, eps: float, voll_per_mwh: float | None, tag: str = "") -> HeatModel:
    """The heat devices, the hourly heat balance and the heat-side cost, added to model `m`."""
    T = range(HOURS)

    def hourly(name: str, ub: float) -> list:
        return [m.add_variable(lb=0.0, ub=ub, name=f"{name}{tag}[{t}]") for t in T]

    chp, boiler, electric = hourly("chp", d.chp_mw), hourly("gb", d.gas_boiler_mw), hourly("eb", d.electric_boiler_mw)
    charge, discharge = hourly("hch", storage_mw(d)), hourly("hdis", storage_mw(d))
    bought, shed = hourly("hbuy", d.heat_buy_max_mw), hourly("hshed", 0.0)
    soc, day_end = [], None
    if has_storage(d):  # it loses heat every hour, so it needs a heat source to end where it started
        prev: mathopt.LinearTypes = HEAT_SOC_START
        for t in T:
            level = m.add_variable(lb=HEAT_SOC_MIN, ub=HEAT_SOC_MAX, name=f"hsoc{tag}[{t}]")
            stored = d.heat_storage_efficiency * charge[t] - discharge[t] * (1.0 / d.heat_storage_efficiency)
            m.add_linear_constraint(level == (1.0 - d.heat_storage_loss) * prev + stored * (1.0 / d.heat_storage_mwh))
            soc.append(level)
            prev = level
        day_end = m.add_linear_constraint(lb=HEAT_SOC_START, ub=HEAT_SOC_START, expr=soc[-1])
    balance = [m.add_linear_constraint(
        lb=0.0, expr=d.chp_heat_to_power * chp[t] + boiler[t] + electric[t] + bought[t] + discharge[t] - charge[t]
        + shed[t]) for t in T]
    gas = mathopt.fast_sum(chp[t] * (1.0 / d.chp_efficiency) + boiler[t] * (1.0 / d.gas_boiler_efficiency) for t in T)
    cost = (d.gas_price_per_mwh or 0.0) * gas + (d.heat_price_per_mwh or 0.0) * mathopt.fast_sum(bought)
    shed_cost = (voll_per_mwh or 0.0) * mathopt.fast_sum(shed)
    # the same hour-ramped tie-break as electric storage: equally valued hours resolve the same way
    penalty = mathopt.fast_sum(eps * (1.0 + t) * (charge[t] + discharge[t] + electric[t]) for t in T)
    return HeatModel(d, chp, boiler, electric, charge, discharge, soc, bought, shed, balance, day_end, cost,
                     shed_cost, penalty)
