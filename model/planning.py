"""A DNO's day of data as arrays, its scheduler built from the scenario, and fresh actuals.

The planning itself (stage 2 of §A.1: day-ahead on forecasts, intraday on actuals) is done
by the DNO agent hour by hour; this module turns scenario data into what the MILP reads.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from market.dro import cluster_scenarios
from market.scheduling import HOURS, DnoScheduler
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
    heat_forecast_mw: np.ndarray | None = None  # a DNO with heat devices: its heat load (§B.2.1)
    heat_actual_mw: np.ndarray | None = None

    @classmethod
    def of(cls, dno: Dno) -> DnoDay:
        heat = dno.heat_load_mw
        return cls(
            pv_forecast_mw=dno.pv_mw * np.array(dno.pv_ratio.forecast),
            pv_actual_mw=dno.pv_mw * np.array(dno.pv_ratio.actual),
            wind_forecast_mw=dno.wind_mw * np.array(dno.wind_ratio.forecast),
            wind_actual_mw=dno.wind_mw * np.array(dno.wind_ratio.actual),
            load_forecast_mw=np.array(dno.load_mw.forecast, dtype=float),
            load_actual_mw=np.array(dno.load_mw.actual, dtype=float),
            heat_forecast_mw=None if heat is None else np.array(heat.forecast, dtype=float),
            heat_actual_mw=None if heat is None else np.array(heat.actual, dtype=float),
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
    heat = None  # drawn last and only with a heat load, so power-only DNOs draw as they always did
    if day.heat_forecast_mw is not None:
        heat = np.clip(day.heat_forecast_mw * (1.0 + ar1(rng, errors.load_sd * s, rho)), 0.0, None)
    return replace(
        day,
        pv_actual_mw=np.clip(pv, 0.0, None),
        wind_actual_mw=np.clip(wind, 0.0, None),
        load_actual_mw=np.clip(load, 0.0, None),
        heat_actual_mw=heat,
    )


def forecast_scenarios(day: DnoDay, rng: np.random.Generator, samples: int, scenarios: int,
                       errors: ErrorLevels = ErrorLevels()) -> Scenarios:
    """K days the forecast may turn out to be: M draws of the error model around the forecasts
    (as the days after the first draw their actuals), clustered (market.dro)."""
    draws = [redraw_actuals(day, rng, errors) for _ in range(samples)]
    heat = day.heat_forecast_mw is not None

    def series(d: DnoDay) -> list[np.ndarray]:
        return [d.pv_actual_mw, d.wind_actual_mw, d.load_actual_mw] + ([d.heat_actual_mw] if heat else [])

    stacked = np.array([np.concatenate(series(d)) for d in draws])
    centres, probabilities = cluster_scenarios(stacked, scenarios, rng)
    parts = np.split(np.clip(centres, 0.0, None), stacked.shape[1] // HOURS, axis=1)
    return Scenarios(*parts[:3], probabilities, parts[3] if heat else None)


@dataclass(frozen=True)
class Scenarios:
    """K possible days of a DNO: available PV and wind, load and any heat load (K x 24, MW), and
    their empirical probabilities (K)."""

    pv_mw: np.ndarray
    wind_mw: np.ndarray
    load_mw: np.ndarray
    probabilities: np.ndarray
    heat_mw: np.ndarray | None = None


def make_scheduler(dno: Dno, scenario: Scenario) -> DnoScheduler:
    """The DNO's MILP with the scenario's tariff, grid limits and solver."""
    return SchedulerSpec.of(dno, scenario).build()


@dataclass(frozen=True)
class SchedulerSpec:
    """What a DNO's MILP is built from: its own data and the scenario's tariff, scheduling and
    carbon blocks (small enough to send to another process, unlike the whole scenario)."""

    dno: Dno
    tariff: Any
    scheduling: Any
    carbon: Any

    @classmethod
    def of(cls, dno: Dno, scenario: Scenario) -> SchedulerSpec:
        return cls(dno, scenario.tariff, scenario.scheduling, scenario.carbon)

    def build(self) -> DnoScheduler:
        dno = self.dno
        return DnoScheduler(
            dno=dno.name,
            units=dno.storage_units,
            buy_per_mwh=self.tariff.buy_per_mwh(),
            sell_per_mwh=self.tariff.sell_per_mwh(),
            buy_max_mw=dno.buy_max_mw,
            sell_max_mw=dno.sell_max_mw,
            solver=self.scheduling.solver,
            tie_break_per_mwh=self.scheduling.tie_break_per_mwh,
            voll_per_mwh=self.scheduling.value_of_lost_load_per_mwh,
            carbon=self.carbon.ladder(),
            heat=dno.heat,
        )
