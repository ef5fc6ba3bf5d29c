"""One design point and seed → one simulated day → its flat outcome measures.

The parameter dictionary follows Mesa's `batch_run`: names map to values. A name is either a
scenario override path (`mechanism.seller_concession`, `dnos.DN1.pv_mw`, as `--set` takes) or one
of the knobs below, which choose the day itself:

- `scenario`: a bundled scenario name or a YAML path (default `paper-4dn`); its profiles are fixed.
- `recipe`: a recipe name in experiments/recipes/ or a YAML path; the day is drawn from it. Implied
  (as `paper-4dn`) by any of the next three knobs.
- `recipe_seed`: the profile generator's seed. Unset, the run seed draws the day, so replicates
  are fresh days (weather and forecast errors) from the same recipe.
- `forecast_error_scale`: multiplies every forecast-error level of the recipe.
- `n_dnos`: N DNOs named DN1..DNN, cycling the recipe's DNOs (model.synthetic.with_n_dnos:
  copies get unique storage owner and unit names; validator hosts of absent DNOs are dropped).

`scenario` with a recipe knob is a mistake: a scenario file has no generator to change.

Labels are recorded with the run but change nothing: `design_name`, the name a comparison gives
a set of overrides (batch_runs.comparison), so rows say which design they ran.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

from model.scenario import Scenario, ScenarioError, apply_override, read_yaml, resolve, validate
from model.synthetic import RECIPES_DIR, Recipe, build, load_recipe, with_n_dnos

DEFAULT_SCENARIO = "paper-4dn"
DEFAULT_RECIPE = "paper-4dn"
RECIPE_KNOBS = ("recipe", "recipe_seed", "forecast_error_scale", "n_dnos")
LABELS = ("design_name",)
KNOBS = ("scenario", *RECIPE_KNOBS, *LABELS)


def run_one(parameters: dict[str, Any], seed: int) -> dict[str, Any]:
    """Simulate one design point with one seed; the measures plus wall-clock `timing.*` entries."""
    from model.job import simulate  # the model, the chain and the solvers: a sweep's parent never needs them

    result = simulate(scenario_for(parameters, seed), seed)
    return {**result.measures, **{f"timing.{k}": v for k, v in result.timings.items()}}


def scenario_for(parameters: dict[str, Any], seed: int) -> Scenario:
    """The validated scenario of a design point; bad names or values raise ScenarioError."""
    knobs = {k: _native(v) for k, v in parameters.items() if k in KNOBS}
    overrides = [override_text(k, v) for k, v in parameters.items() if k not in KNOBS]
    if any(k in knobs for k in RECIPE_KNOBS):
        if "scenario" in knobs:
            raise ScenarioError(
                f"'scenario' and {', '.join(k for k in RECIPE_KNOBS if k in knobs)} exclude each "
                "other: a scenario file's profiles are fixed, recipe knobs draw a new day"
            )
        data, source = _recipe_day(knobs, seed)
    else:
        path = resolve(str(knobs.get("scenario", DEFAULT_SCENARIO)))
        data, source = read_yaml(path), str(path)
    for item in overrides:
        data = apply_override(data, item)
    return validate(data, source=f"{source} with {', '.join(overrides)}" if overrides else source)


def _recipe_day(knobs: dict[str, Any], seed: int) -> tuple[dict[str, Any], str]:
    path = resolve_recipe(str(knobs.get("recipe", DEFAULT_RECIPE)))
    recipe = _cached_recipe(path)
    if "n_dnos" in knobs:
        recipe = with_n_dnos(recipe, knobs["n_dnos"], source=str(path))
    if "recipe_seed" in knobs:  # validated as the recipe's own `seed`: `recipe_seed: true` is no seed
        recipe = validate({**recipe.model_dump(mode="json"), "seed": knobs["recipe_seed"]},
                          source=f"{path} with recipe_seed={knobs['recipe_seed']!r}", schema=Recipe)
    day_seed = recipe.seed if "recipe_seed" in knobs else seed
    data = build(recipe, seed=day_seed, error_scale=knobs.get("forecast_error_scale"))
    return data, f"{path} (day seed {day_seed})"


def resolve_recipe(name_or_path: str) -> Path:
    """A bundled recipe's file by name, or the given path."""
    bundled = RECIPES_DIR / f"{name_or_path}.yaml"
    path = bundled if bundled.exists() else Path(name_or_path)
    if not path.exists():
        raise ScenarioError(f"{name_or_path}: no such bundled recipe and no such file")
    return path


@functools.lru_cache(maxsize=16)
def _cached_recipe(path: Path) -> Recipe:
    return load_recipe(path)


def override_text(key: str, value: Any) -> str:
    """`key=value` in the YAML form `apply_override` parses back to the same value."""
    text = yaml.safe_dump(_native(value), default_flow_style=True, width=10**6)
    return f"{key}=" + text.removesuffix("...\n").strip()


def _native(value: Any) -> Any:
    """numpy scalars (from samplers and Parquet) as plain Python values."""
    return value.item() if hasattr(value, "item") and not isinstance(value, (list, dict)) else value
