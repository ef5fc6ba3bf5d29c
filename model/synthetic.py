"""Scenario recipes: DNO assets plus profile knobs, turned into full scenarios by a seeded generator.

A recipe is a scenario without hourly profiles: each DNO says its load class and peak, its
site's expected clearness and mean wind speed, and the recipe gives the site (latitude, day of
year) and the forecast-error levels. `build` draws the profiles (model/profiles.py) with one
numpy SeedSequence child per DNO, so adding a DNO never changes the others' profiles.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from market.limits import MAX_MW
from model.profiles import ErrorLevels, generate_day
from model.scenario import DnoAssets, Scenario, ScenarioBase, ScenarioError, _Typed, read_yaml, validate

RECIPES_DIR = Path(__file__).resolve().parent.parent / "experiments" / "recipes"
_DECIMALS = 4  # profile values written to YAML: 0.1 kW resolution at MW scale
MAX_DNOS = 1000  # far beyond the DNOs of one market; each adds a MILP per hour


class Site(_Typed):
    latitude_deg: float = Field(39.9, ge=-66, le=66, description="degrees north; [A] Beijing")
    day_of_year: int = Field(105, ge=1, le=366, description="1..366; [A] mid-April")


class Errors(_Typed):
    """Forecast-error levels (standard deviations of AR(1) errors); `scale` multiplies them all."""

    pv_ratio_sd: float = Field(0.08, ge=0, le=1, description="p.u. of clear-sky output, at most 1; [A]")
    wind_speed_sd_mps: float = Field(1.5, ge=0, le=25, description="m/s, at most 25; [A] typical day-ahead error")
    load_sd: float = Field(0.04, ge=0, le=1, description="fraction of load, at most 1; [A] typical day-ahead error")
    autocorrelation: float = Field(0.8, ge=0, lt=1, description="lag-1 correlation, in [0, 1); [A]")
    scale: float = Field(1.0, ge=0, le=10, description="forecast-error level multiplier, at most 10; [A]")


class DnoRecipe(DnoAssets):
    load_peak_mw: float = Field(ge=0, le=MAX_MW, description="forecast peak load, MW, at most 100 000")
    load_shape: Literal["residential", "commercial", "industrial", "rural"]
    clearness: float = Field(0.8, ge=0, le=1, description="expected clear-sky index of the day")
    mean_wind_mps: float = Field(7.0, ge=0, le=50, description="mean hub-height wind speed, m/s, at most 50")
    heat_peak_mw: float = Field(0.0, ge=0, le=MAX_MW, description="forecast peak heat load, MW (with heat devices), "
                                "heating shape; [A] §B.2.1")


class Recipe(ScenarioBase):
    seed: int = Field(0, ge=0, lt=2**63, description="seed of the profile generator")
    site: Site = Field(default_factory=Site)
    errors: Errors = Field(default_factory=Errors)
    dnos: list[DnoRecipe] = Field(min_length=1)


def load_recipe(path: Path) -> Recipe:
    return validate(read_yaml(path), source=str(path), schema=Recipe, base_dir=path.parent)


def _network_block(recipe: Recipe) -> dict[str, Any] | None:
    """The recipe's network block with its net file resolved, so the scenarios drawn from it find
    the net wherever they are read (a path relative to the recipe would not survive the move)."""
    if recipe.network is None:
        return None
    block = recipe.network.model_dump(mode="json", exclude_none=True)
    if recipe.network.path is not None:
        block["file"] = str(recipe.network.path.resolve())
    return block


def build(recipe: Recipe, seed: int | None = None, error_scale: float | None = None,
          scale_name: str = "forecast_error_scale") -> dict[str, Any]:
    """The scenario mapping of a recipe; `seed` and `error_scale` override the recipe's. A bad
    `error_scale` is refused naming `scale_name`, the option or knob that gave it."""
    seed = recipe.seed if seed is None else seed
    errors = recipe.errors if error_scale is None else _scaled(recipe.errors, error_scale, scale_name)
    levels = ErrorLevels(**errors.model_dump())
    children = np.random.SeedSequence(seed).spawn(len(recipe.dnos))
    dnos = []
    for spec, child in zip(recipe.dnos, children):
        day = generate_day(
            np.random.default_rng(child),
            recipe.site.latitude_deg,
            recipe.site.day_of_year,
            spec.clearness,
            spec.mean_wind_mps,
            spec.load_peak_mw,
            spec.load_shape,
            levels,
            heat_peak_mw=None if spec.heat is None else spec.heat_peak_mw,
        )
        assets = spec.model_dump(mode="json", include=set(DnoAssets.model_fields))
        dnos.append(
            {
                **assets,
                "pv_ratio": _pair(day.pv_ratio_forecast, day.pv_ratio_actual),
                "wind_ratio": _pair(day.wind_ratio_forecast, day.wind_ratio_actual),
                "load_mw": _pair(day.load_forecast_mw, day.load_actual_mw),
                **({} if day.heat_forecast_mw is None else
                   {"heat_load_mw": _pair(day.heat_forecast_mw, day.heat_actual_mw)}),
            }
        )
    base = recipe.model_dump(mode="json", include=set(ScenarioBase.model_fields) - {"dnos", "network"})
    if recipe.network is not None:
        base["network"] = _network_block(recipe)
    note = f"Profiles: seed {seed}, forecast-error scale {errors.scale:g}."
    base["description"] = f"{recipe.description.strip()} {note}".strip()
    return {**base, "dnos": dnos}


def _scaled(errors: Errors, scale: float, name: str) -> Errors:
    """`errors` with another scale, validated like a recipe's own `errors.scale`; the one field that
    can be wrong is the scale, so a mistake reads `NAME: why`, not `NAME: scale: why`."""
    try:
        return validate({**errors.model_dump(), "scale": scale}, name, Errors)
    except ScenarioError as exc:
        raise ScenarioError(str(exc).replace(f"{name}: scale: ", f"{name}: ", 1)) from None


def _pair(forecast: np.ndarray, actual: np.ndarray) -> dict[str, list[float]]:
    return {
        "forecast": [round(float(v), _DECIMALS) for v in forecast],
        "actual": [round(float(v), _DECIMALS) for v in actual],
    }


def with_n_dnos(recipe: Recipe, n: Any, source: str = "recipe") -> Recipe:
    """The recipe with N DNOs DN1..DNN, cycling its own DNOs.

    The k-th copy of a DNO gets storage owner names suffixed " (DNi)" and unit names with the
    DNO name replaced (or prefixed), so every owner and unit stays unique. Validator hosts naming
    a DNO that is gone are dropped (those validators become independent). On a network each DNO
    sits at the bus of the DNO it copies.
    """
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_DNOS:
        raise ScenarioError(f"{source}: n_dnos: must be a whole number >= 1 (at most {MAX_DNOS}), got {n!r}")
    data = recipe.model_dump(mode="json")
    originals = data["dnos"]
    dnos, buses = [], {}
    network = _network_block(recipe)
    for i in range(n):
        spec, copy_index = originals[i % len(originals)], i // len(originals)
        name = f"DN{i + 1}"
        dno = {**spec, "name": name}
        if network is not None:
            buses[name] = network["buses"][spec["name"]]
        if copy_index:
            dno["storage_owners"] = [
                {
                    "name": f"{owner['name']} ({name})",
                    "units": [{**u, "name": _unit_name(u["name"], spec["name"], name)} for u in owner["units"]],
                }
                for owner in spec["storage_owners"]
            ]
        dnos.append(dno)
    names = {d["name"] for d in dnos} | {"main_grid"}
    ledger = data.get("ledger")
    if ledger and ledger.get("validator_hosts"):
        data["ledger"] = {**ledger, "validator_hosts": [h for h in ledger["validator_hosts"] if h in names]}
    if network is not None:
        data["network"] = {**network, "buses": buses}
    return validate({**data, "dnos": dnos}, source=f"{source} with n_dnos={n}", schema=Recipe)


def _unit_name(unit: str, old_dno: str, new_dno: str) -> str:
    return new_dno + unit[len(old_dno):] if unit.startswith(old_dno) else f"{new_dno}-{unit}"


def with_fresh_actuals(scenario: Scenario, day_seed: int, source: str = "scenario") -> Scenario:
    """The scenario with its first day's actuals redrawn around its forecasts from `day_seed`.

    A scenario file fixes its day, and the recipe it came from is not recorded in it, so this
    varies what a file can vary soundly: the forecast errors. It draws them by the error model the
    days after the first use (model.planning.redraw_actuals, scale-free for PV and wind, so it
    works on per-unit ratios, capped at 1), one SeedSequence child per DNO, so adding a DNO never
    changes the others' actuals. Forecasts, assets and rules stay the file's.
    """
    from model.planning import DnoDay, redraw_actuals  # the scheduler's module: only when asked

    children = np.random.SeedSequence(day_seed).spawn(len(scenario.dnos))
    data = scenario.model_dump(mode="json")
    for dno, spec, child in zip(data["dnos"], scenario.dnos, children):
        forecast = DnoDay(
            pv_forecast_mw=np.array(spec.pv_ratio.forecast), pv_actual_mw=np.array(spec.pv_ratio.actual),
            wind_forecast_mw=np.array(spec.wind_ratio.forecast), wind_actual_mw=np.array(spec.wind_ratio.actual),
            load_forecast_mw=np.array(spec.load_mw.forecast), load_actual_mw=np.array(spec.load_mw.actual),
        )
        fresh = redraw_actuals(forecast, np.random.default_rng(child))
        dno["pv_ratio"] = _pair(forecast.pv_forecast_mw, np.minimum(fresh.pv_actual_mw, 1.0))
        dno["wind_ratio"] = _pair(forecast.wind_forecast_mw, np.minimum(fresh.wind_actual_mw, 1.0))
        dno["load_mw"] = _pair(forecast.load_forecast_mw, np.minimum(fresh.load_actual_mw, MAX_MW))
    note = f"Actuals redrawn with day seed {day_seed}."
    data["description"] = f"{scenario.description.strip()} {note}".strip()
    return validate(data, source=f"{source} --day-seed {day_seed}")
