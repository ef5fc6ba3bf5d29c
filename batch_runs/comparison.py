"""Comparisons: named market designs run on the same days, so their differences pair by seed.

A comparison file (YAML, experiments/comparisons/) names the days every design sees and what
each design changes::

    name: designs
    days: {recipe: paper-4dn, seeds: 8}     # or {scenario: paper-4dn, seeds: [0, 3]}
    reference: S0                            # default: the first design
    designs:                                 # name -> scenario overrides (any --set path)
      S0: {mechanism.p2p_enabled: false}
      concession: {}
    fixed: {days: 1}                         # overrides every design shares (a design's own win);
                                             # here the scenario's days: operating days per run

It is a design kind (`comparison`) of the sweep machinery: one point per design, labelled
`design_name` (a run_one label, not an override), each run on every seed. A seed draws the day
from the recipe (with a scenario, the day is fixed) and seeds the chain, so the same seed is the
same day and the same chain randomness for every design. What would choose the day (the recipe
knobs) may sit in `days:` or `fixed:`, never in one design: that would break the pairing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ConfigDict, Field, field_validator, model_validator

from batch_runs.design import (
    Analysis,
    DesignBase,
    DesignError,
    Scalar,
    Seeds,
    parse,
    register,
    seed_list,
    try_scenario,
)
from batch_runs.run_one import KNOBS, LABELS, RECIPE_KNOBS
from model.scenario import _Typed, read_yaml

COMPARISONS_DIR = Path(__file__).resolve().parent.parent / "experiments" / "comparisons"
LABEL = "design_name"
DAY_SOURCES = ("recipe", "scenario")
# Base design fields a comparison derives from its own; a file that gives them is mistaken.
DERIVED = {
    "parameters": "a comparison's points are its designs (designs:) and what they share (fixed:)",
    "seeds": "the seeds belong to the days (days.seeds)",
    "iterations": "the seeds belong to the days (days.seeds)",
    "analysis": "compare.html shows every outcome measure",
}


class Days(_Typed):
    """The days every design sees: a recipe (each seed draws a fresh day) or a scenario (one
    fixed day, the seeds vary only the chain's randomness)."""

    recipe: str | None = Field(None, min_length=1, description="bundled recipe name or YAML path")
    scenario: str | None = Field(None, min_length=1, description="bundled scenario name or YAML path")
    seeds: Seeds = Field(description="a count (seeds 0..n-1) or a list of seeds")

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, value: Seeds) -> list[int]:
        return seed_list(value, where="")

    @model_validator(mode="after")
    def _one_source(self) -> Days:
        if (self.recipe is None) == (self.scenario is None):
            raise ValueError("give a recipe (each seed a fresh day) or a scenario (one fixed day), exactly one")
        return self

    def knob(self) -> dict[str, str]:
        """The run_one knob that picks the days."""
        return {"recipe": self.recipe} if self.recipe is not None else {"scenario": self.scenario}

    def describe(self) -> str:
        if self.recipe is not None:
            return f"recipe {self.recipe}: each seed draws a fresh day (weather, load, forecast errors)"
        return f"scenario {self.scenario}: one fixed day; the seeds vary only the chain's randomness"


@register("comparison")
class ComparisonDesign(DesignBase):
    """Named designs (scenario overrides) on shared days; the first design is the default reference."""

    model_config = ConfigDict(serialize_by_alias=True)

    name: str = Field("comparison", min_length=1)
    days: Days
    reference: str | None = Field(None, description="the design every other is paired against (default: the first)")
    designs: dict[str, dict[str, Any]] = Field(description="name -> scenario overrides; two or more")
    # `fixed` in the file; `fixed()` is the base's method (what every point shares)
    shared: dict[str, Any] = Field(default_factory=dict, alias="fixed", description="overrides for every design")
    # Derived from the fields above (validators below), never read from or written to a file.
    parameters: dict[str, Any] = Field(default_factory=dict, exclude=True)
    seeds: int | list[int] = Field(1, exclude=True)
    iterations: int | None = Field(None, exclude=True)
    analysis: Analysis = Field(default_factory=Analysis, exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _no_derived_fields(cls, data: Any) -> Any:
        for key in DERIVED:
            if isinstance(data, dict) and key in data:
                raise ValueError(f"{key}: not part of a comparison file; {DERIVED[key]}")
        return data

    @field_validator("designs", mode="before")
    @classmethod
    def _bare_names(cls, value: Any) -> Any:
        """`name:` alone is a design without overrides."""
        return {k: {} if v is None else v for k, v in value.items()} if isinstance(value, dict) else value

    @model_validator(mode="after")
    def _designs(self) -> ComparisonDesign:
        if len(self.designs) < 2:
            raise ValueError(f"designs: a comparison needs two or more designs, got {len(self.designs)}")
        for name, overrides in self.designs.items():
            if not name.strip():
                raise ValueError("designs: a design needs a name")
            for key, value in overrides.items():
                if key in KNOBS:
                    raise ValueError(f"designs.{name}.{key}: {_why_not(key)}")
                _scalar(value, f"designs.{name}.{key}")
        for key, value in self.shared.items():
            if key in LABELS or key in DAY_SOURCES:
                raise ValueError(f"fixed.{key}: {_why_not(key)}")
            _scalar(value, f"fixed.{key}")
        if self.reference is None:
            object.__setattr__(self, "reference", next(iter(self.designs)))
        elif self.reference not in self.designs:
            raise ValueError(f"reference: {self.reference!r} is not one of the designs ({', '.join(self.designs)})")
        object.__setattr__(self, "seeds", self.days.seeds)
        object.__setattr__(self, "parameters", _columns(self.points()))
        return self

    def point(self, name: str) -> dict[str, Any]:
        """What a run of design `name` gets: its label, the days, the shared and its own overrides."""
        return {LABEL: name, **self.days.knob(), **self.shared, **self.designs[name]}

    def points(self) -> list[dict[str, Any]]:
        return [self.point(name) for name in self.designs]

    def varied(self) -> list[str]:
        return [LABEL]

    def fixed(self) -> dict[str, Any]:
        return {**self.days.knob(), **self.shared}

    def probe_values(self) -> dict[str, list[Any]]:
        return {k: v if isinstance(v, list) else [v] for k, v in self.parameters.items() if k != LABEL}

    def runs_key(self) -> dict[str, Any]:
        """The runs do not depend on which design is the reference."""
        return {k: v for k, v in super().runs_key().items() if k != "reference"}


def _why_not(key: str) -> str:
    if key in LABELS:
        return "the label of each design (its name under designs:), not an override"
    if key in DAY_SOURCES:
        return "the days come from days: (recipe or scenario)"
    assert key in RECIPE_KNOBS
    return "chooses the day, which every design must share; set it in fixed:"


def _scalar(value: Any, where: str) -> None:
    if not isinstance(value, Scalar):
        raise ValueError(f"{where}: expected one value (a number, text, true or false), got {value!r}")


def _columns(points: list[dict[str, Any]]) -> dict[str, Any]:
    """Every point's parameter names (first seen first): a value all points share, else the
    distinct values; they are the run rows' parameter columns (the rest are measures)."""
    out: dict[str, Any] = {}
    for name in dict.fromkeys(k for p in points for k in p):
        values = [p[name] for p in points if name in p]
        distinct = list({json.dumps(v): v for v in values}.values())
        out[name] = distinct[0] if len(distinct) == 1 and len(values) == len(points) else distinct
    return out


def load(path: str | Path, seeds: int | None = None) -> ComparisonDesign:
    """Read and validate a comparison file (or a bundled one by name); `seeds` replaces its count
    of days (e.g. for a quick try)."""
    bundled = COMPARISONS_DIR / f"{path}.yaml"
    path = bundled if not Path(path).exists() and bundled.exists() else path
    data = read_yaml(Path(path))
    kind = data.pop("kind", "comparison")
    if kind != "comparison":
        raise DesignError(f"{path}: kind: {kind!r} is a sweep design (storagemarket sweep); a comparison has no kind")
    if seeds is not None and isinstance(data.get("days"), dict):
        data["days"] = {**data["days"], "seeds": seeds}
    design = parse({"kind": "comparison", **data}, source=str(path))
    assert isinstance(design, ComparisonDesign)
    return design


def check(design: ComparisonDesign, source: str) -> None:
    """Build the days, the shared overrides and then each design's scenario on the first seed, so
    a bad source, path or value stops the comparison before it starts, as one line naming it."""
    seed = design.seeds[0]
    try_scenario(design.days.knob(), seed, f"{source}: days")
    if design.shared:
        try_scenario(design.fixed(), seed, f"{source}: fixed")
    for name in design.designs:
        try_scenario(design.point(name), seed, f"{source}: designs.{name}")
