"""Synthetic hourly profiles with realistic daily shapes and autocorrelated forecast errors.

§A.11 asks for a seeded generator of PV and wind power ratios and loads, forecast and
actual, so the MILPs produce day-ahead/intraday deviations of the paper's kind. The shapes:

* PV: clear-sky irradiance from solar geometry (Cooper's declination, hour angle at mid-hour)
  and the Haurwitz clear-sky model GHI = 1098 cos(z) exp(-0.057 / cos(z)) W/m2, scaled by a
  performance ratio; clouds as an AR(1) clear-sky index path. The season and latitude therefore
  set the length and height of the bell.
* Wind: an hourly wind-speed path (diurnal cycle plus AR(1) weather) through a generic turbine
  power curve (cut-in 3 m/s, rated 12 m/s, cut-out 25 m/s).
* Load: typical normalised daily shapes by customer class, scaled by the peak.
* Heat load (§B.2.1, only for DNOs with heat devices): a heating shape, highest in the cold small
  hours and lowest in the warm afternoon, with morning and evening hot-water peaks.

Forecast errors are AR(1) (errors of neighbouring hours are correlated, as they are for real
day-ahead forecasts) and scale with one knob, so sweeps can vary the forecast-error level.
Actuals are derived from forecasts: actual = forecast + error, clipped to the physical range.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HOURS = 24
_MID_HOUR = np.arange(HOURS) + 0.5  # hour t covers [t-1, t): its midpoint in local solar time

def ar1(rng: np.random.Generator, sd: float, rho: float, n: int = HOURS) -> np.ndarray:
    """A stationary AR(1) path with marginal standard deviation `sd` and lag-1 correlation `rho`."""
    shocks = rng.standard_normal(n)
    path = np.empty(n)
    path[0] = sd * shocks[0]
    innovation_sd = sd * np.sqrt(1.0 - rho**2)
    for t in range(1, n):
        path[t] = rho * path[t - 1] + innovation_sd * shocks[t]
    return path


def cos_zenith(latitude_deg: float, day_of_year: int) -> np.ndarray:
    """Cosine of the solar zenith angle at each mid-hour (local solar time), floored at 0."""
    declination = np.radians(23.45) * np.sin(2.0 * np.pi * (284 + day_of_year) / 365.0)
    hour_angle = np.radians(15.0 * (_MID_HOUR - 12.0))
    lat = np.radians(latitude_deg)
    cz = np.sin(lat) * np.sin(declination) + np.cos(lat) * np.cos(declination) * np.cos(hour_angle)
    return np.clip(cz, 0.0, None)


def clear_sky_pv_ratio(latitude_deg: float, day_of_year: int, performance_ratio: float = 0.85) -> np.ndarray:
    """PV output per installed MW under clear sky (Haurwitz GHI over 1000 W/m2 times PR)."""
    cz = cos_zenith(latitude_deg, day_of_year)
    ghi = np.zeros(HOURS)
    up = cz > 0.01
    ghi[up] = 1098.0 * cz[up] * np.exp(-0.057 / cz[up])
    return np.clip(ghi / 1000.0 * performance_ratio, 0.0, 1.0)


def wind_power_ratio(speed_mps: np.ndarray, cut_in: float = 3.0, rated: float = 12.0, cut_out: float = 25.0) -> np.ndarray:
    """Generic turbine power curve: cubic between cut-in and rated, flat to cut-out."""
    v = np.asarray(speed_mps, dtype=float)
    ratio = np.clip((v**3 - cut_in**3) / (rated**3 - cut_in**3), 0.0, 1.0)
    return np.where((v < cut_in) | (v >= cut_out), 0.0, ratio)


# Normalised daily load by customer class: a base plus Gaussian bumps (height, centre h, width h).
_LOAD_SHAPES: dict[str, tuple[float, tuple[tuple[float, float, float], ...]]] = {
    "residential": (0.45, ((0.25, 8.0, 1.5), (0.55, 19.5, 2.2))),  # morning and evening peaks
    "commercial": (0.35, ((0.70, 13.5, 3.5),)),  # office hours
    "industrial": (0.70, ((0.30, 14.0, 5.0),)),  # high base, day shift
    "rural": (0.40, ((0.30, 7.5, 1.8), (0.35, 13.0, 2.5), (0.45, 20.0, 2.0))),
}
LOAD_SHAPES = tuple(_LOAD_SHAPES)


def load_shape(kind: str) -> np.ndarray:
    """Normalised daily load (peak 1) of a customer class."""
    if kind not in _LOAD_SHAPES:
        raise ValueError(f"unknown load shape {kind!r}; choose from {', '.join(LOAD_SHAPES)}")
    base, bumps = _LOAD_SHAPES[kind]
    shape = base + sum(height * np.exp(-0.5 * ((_MID_HOUR - centre) / width) ** 2) for height, centre, width in bumps)
    return shape / shape.max()


def heat_shape() -> np.ndarray:
    """Normalised daily heat load (peak 1): space heating following the outdoor temperature's
    daily cycle (coldest about 4 h, warmest about 16 h) plus morning and evening hot water."""
    heating = 0.7 + 0.3 * np.cos(2.0 * np.pi * (_MID_HOUR - 4.0) / HOURS)
    water = 0.15 * np.exp(-0.5 * ((_MID_HOUR - 7.5) / 1.5) ** 2) + 0.10 * np.exp(-0.5 * ((_MID_HOUR - 20.0) / 2.0) ** 2)
    shape = heating + water
    return shape / shape.max()


@dataclass(frozen=True)
class ErrorLevels:
    """Forecast-error sizes (standard deviations) and their hour-to-hour correlation."""

    pv_ratio_sd: float = 0.08
    wind_speed_sd_mps: float = 1.5
    load_sd: float = 0.04
    autocorrelation: float = 0.8
    scale: float = 1.0


@dataclass(frozen=True)
class DayProfiles:
    """Forecast and actual series of one DNO for one day (index 0 is hour 1)."""

    pv_ratio_forecast: np.ndarray
    pv_ratio_actual: np.ndarray
    wind_ratio_forecast: np.ndarray
    wind_ratio_actual: np.ndarray
    load_forecast_mw: np.ndarray
    load_actual_mw: np.ndarray
    heat_forecast_mw: np.ndarray | None = None  # with a heat load
    heat_actual_mw: np.ndarray | None = None


def generate_day(
    rng: np.random.Generator,
    latitude_deg: float,
    day_of_year: int,
    clearness: float,
    mean_wind_mps: float,
    load_peak_mw: float,
    load_kind: str,
    errors: ErrorLevels,
    heat_peak_mw: float | None = None,
) -> DayProfiles:
    """One DNO's day. The draw order is fixed, so a seed gives the same profiles every time; a
    heat load (`heat_peak_mw` given) is drawn last, so adding one never changes the rest."""
    rho = errors.autocorrelation
    s = errors.scale
    clear = clear_sky_pv_ratio(latitude_deg, day_of_year)
    # Forecast clouds: a smooth clear-sky index path around the day's expected clearness.
    index_forecast = np.clip(clearness + ar1(rng, 0.10, 0.9), 0.05, 1.0)
    pv_forecast = clear * index_forecast
    pv_actual = np.clip(pv_forecast + clear * ar1(rng, errors.pv_ratio_sd * s, rho), 0.0, 1.0)

    diurnal = 1.0 + 0.15 * np.cos(2.0 * np.pi * (_MID_HOUR - 15.0) / HOURS)  # afternoon-strong
    speed_forecast = np.clip(mean_wind_mps * diurnal + ar1(rng, 1.0, 0.9), 0.0, None)
    speed_actual = np.clip(speed_forecast + ar1(rng, errors.wind_speed_sd_mps * s, rho), 0.0, None)

    base = load_peak_mw * load_shape(load_kind)
    load_forecast = base * (1.0 + ar1(rng, 0.02, 0.9))
    load_actual = np.clip(load_forecast * (1.0 + ar1(rng, errors.load_sd * s, rho)), 0.0, None)
    heat_forecast = heat_actual = None
    if heat_peak_mw is not None:  # the heat load's errors are relative, as the electric load's
        heat_forecast = heat_peak_mw * heat_shape() * (1.0 + ar1(rng, 0.02, 0.9))
        heat_actual = np.clip(heat_forecast * (1.0 + ar1(rng, errors.load_sd * s, rho)), 0.0, None)
    return DayProfiles(
        pv_ratio_forecast=pv_forecast,
        pv_ratio_actual=pv_actual,
        wind_ratio_forecast=wind_power_ratio(speed_forecast),
        wind_ratio_actual=wind_power_ratio(speed_actual),
        load_forecast_mw=load_forecast,
        load_actual_mw=load_actual,
        heat_forecast_mw=heat_forecast,
        heat_actual_mw=heat_actual,
    )
