"""A DNO's day of data as arrays, its scheduler built from the scenario, and fresh actuals.

The planning itself (stage 2 of §A.1: day-ahead on forecasts, intraday on actuals) is done
by the DNO agent hour by hour; this module turns scenario data into what the MILP reads.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from market.dro import cluster_scenarios
from market.scheduling import DnoScheduler
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


def forecast_scenarios(day: DnoDay, rng: np.random.Generator, samples: int, scenarios: int,
                       errors: ErrorLevels = ErrorLevels()) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """K days the forecast may turn out to be: M draws of the error model around the forecasts
    (as the days after the first draw their actuals), clustered (market.dro). Returns available
    PV, wind and load (K x 24, MW each) and their empirical probabilities."""
    draws = [redraw_actuals(day, rng, errors) for _ in range(samples)]
    stacked = np.array([np.concatenate([d.pv_actual_mw, d.wind_actual_mw, d.load_actual_mw]) for d in draws])
    centres, probabilities = cluster_scenarios(stacked, scenarios, rng)
    centres = np.clip(centres, 0.0, None)
    return centres[:, :24], centres[:, 24:48], centres[:, 48:], probabilities


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
        carbon=scenario.carbon.ladder(),
    )
