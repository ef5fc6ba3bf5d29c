"""Day-ahead and intraday planning of every DNO and the DAF-IDO deviations they imply.

This is stage 2 of the paper's six (SPEC A.1): each DNO solves its MILP on forecasts, then on
actuals (`oracle`: the whole day in hindsight; `rolling`: hour by hour), and the gap between
the two storage plans is its supply or demand for each hour (SPEC A.3).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from market.deviation import DeviationDay, classify_day
from market.scheduling import DnoScheduler, Schedule, rolling_intraday
from model.profiles import ErrorLevels, ar1
from model.scenario import Dno, Scenario


@dataclass(frozen=True)
class DnoDay:
    """A DNO's available renewable output and load for the day, forecast and actual, in MW."""

    pv_forecast_mw: np.ndarray
    pv_actual_mw: np.ndarray
    wind_forecast_mw: np.ndarray
    wind_actual_mw: np.ndarray
    load_forecast_mw: np.ndarray
    load_actual_mw: np.ndarray

    @classmethod
    def of(cls, dno: Dno) -> DnoDay:
        return cls(
            pv_forecast_mw=dno.pv_mw * np.array(dno.pv_ratio.forecast),
            pv_actual_mw=dno.pv_mw * np.array(dno.pv_ratio.actual),
            wind_forecast_mw=dno.wind_mw * np.array(dno.wind_ratio.forecast),
            wind_actual_mw=dno.wind_mw * np.array(dno.wind_ratio.actual),
            load_forecast_mw=np.array(dno.load_mw.forecast, dtype=float),
            load_actual_mw=np.array(dno.load_mw.actual, dtype=float),
        )


def redraw_actuals(day: DnoDay, rng: np.random.Generator, errors: ErrorLevels = ErrorLevels()) -> DnoDay:
    """The same forecasts with fresh actuals, for the days after the first of a multi-day run.

    Errors are AR(1) as in the generator: PV and load relative to the forecast (so PV stays 0 at
    night), wind additive in per unit of the day's largest forecast ([A] 0.1 p.u. at scale 1).
    """
    rho, s = errors.autocorrelation, errors.scale
    pv = day.pv_forecast_mw * (1.0 + ar1(rng, 2 * errors.pv_ratio_sd * s, rho))
    wind_scale = float(np.max(day.wind_forecast_mw)) if np.any(day.wind_forecast_mw) else 0.0
    wind = day.wind_forecast_mw + wind_scale * ar1(rng, 0.1 * s, rho)
    load = day.load_forecast_mw * (1.0 + ar1(rng, errors.load_sd * s, rho))
    return replace(
        day,
        pv_actual_mw=np.clip(pv, 0.0, None),
        wind_actual_mw=np.clip(wind, 0.0, None),
        load_actual_mw=np.clip(load, 0.0, None),
    )


@dataclass(frozen=True)
class DnoPlan:
    """One DNO's day-ahead plan, intraday storage action and resulting deviations."""

    dno: str
    inputs: DnoDay
    day_ahead: Schedule
    intraday_action_mw: np.ndarray
    intraday: list[Schedule]  # one whole-day solve (oracle) or one per hour (rolling)
    deviation: DeviationDay

    @property
    def solve_seconds(self) -> list[float]:
        return [self.day_ahead.solve_seconds] + [s.solve_seconds for s in self.intraday]


def make_scheduler(dno: Dno, scenario: Scenario) -> DnoScheduler:
    """The DNO's MILP with the scenario's tariff, grid limits and solver."""
    return DnoScheduler(
        dno=dno.name,
        units=dno.storage_units,
        buy_per_mwh=scenario.tariff.buy_per_mwh(),
        sell_per_mwh=scenario.tariff.sell_per_mwh(),
        buy_max_mw=dno.buy_max_mw,
        sell_max_mw=dno.sell_max_mw,
        solver=scenario.scheduling.solver,
        tie_break_per_mwh=scenario.scheduling.tie_break_per_mwh,
        voll_per_mwh=scenario.scheduling.value_of_lost_load_per_mwh,
    )


def plan_dno(dno: Dno, scenario: Scenario) -> DnoPlan:
    day = DnoDay.of(dno)
    scheduler = make_scheduler(dno, scenario)
    day_ahead = scheduler.solve(day.pv_forecast_mw, day.wind_forecast_mw, day.load_forecast_mw)
    if scenario.scheduling.intraday_mode == "oracle":
        plan = scheduler.solve(day.pv_actual_mw, day.wind_actual_mw, day.load_actual_mw)
        action, intraday = plan.storage_action_mw, [plan]
    else:
        action, intraday = rolling_intraday(
            scheduler,
            day.pv_forecast_mw,
            day.wind_forecast_mw,
            day.load_forecast_mw,
            day.pv_actual_mw,
            day.wind_actual_mw,
            day.load_actual_mw,
        )
    deviation = classify_day(
        day_ahead.storage_action_mw, action, scenario.mechanism.quantity_tolerance_mwh
    )
    return DnoPlan(dno.name, day, day_ahead, action, intraday, deviation)


def plan_day(scenario: Scenario) -> list[DnoPlan]:
    return [plan_dno(dno, scenario) for dno in scenario.dnos]


def hourly_table(plans: list[DnoPlan]) -> pd.DataFrame:
    """One row per hour and DNO: inputs, both storage actions, the deviation case and quantities."""
    rows = []
    for p in plans:
        for t in range(len(p.intraday_action_mw)):
            rows.append(
                {
                    "hour": t + 1,
                    "dno": p.dno,
                    "pv_forecast_mw": p.inputs.pv_forecast_mw[t],
                    "pv_actual_mw": p.inputs.pv_actual_mw[t],
                    "wind_forecast_mw": p.inputs.wind_forecast_mw[t],
                    "wind_actual_mw": p.inputs.wind_actual_mw[t],
                    "load_forecast_mw": p.inputs.load_forecast_mw[t],
                    "load_actual_mw": p.inputs.load_actual_mw[t],
                    "day_ahead_action_mw": p.day_ahead.storage_action_mw[t],
                    "intraday_action_mw": p.intraday_action_mw[t],
                    "deviation_case": int(p.deviation.case[t]),
                    "supply_mwh": p.deviation.supply_mwh[t],
                    "demand_mwh": p.deviation.demand_mwh[t],
                }
            )
    return pd.DataFrame(rows).sort_values(["hour", "dno"], kind="stable").reset_index(drop=True)


def activity_counts(plans: list[DnoPlan]) -> dict[str, int]:
    """SPEC A.10 counts: hours with any deviation, with a single active DNO, with both sides."""
    supply = np.array([p.deviation.supply_mwh for p in plans]) > 0
    demand = np.array([p.deviation.demand_mwh for p in plans]) > 0
    active = (supply | demand).sum(axis=0)
    return {
        "active_hours": int((active > 0).sum()),
        "single_dno_hours": int((active == 1).sum()),
        "two_sided_hours": int((supply.any(axis=0) & demand.any(axis=0)).sum()),
    }
