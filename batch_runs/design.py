"""Sweep designs: which parameter points to run, each replicated over seeds.

A design is YAML. `kind` picks a sampler from `DESIGNS` (a new one is one class plus one
`@register`); `parameters` follows Mesa's `batch_run` dictionary: a scalar is fixed, a list
(grid) gives levels, and `{low, high}` (optionally `integer: true`) is a range to sample (lhs,
sobol). Names are run_one's knobs or scenario override paths. `seeds` is a count (0..n-1) or a
list; Mesa's `iterations` is accepted for a count.

Every run has a stable id from (point, seed): the point id hashes the point's parameter values,
so the same point and seed are the same run in every sweep and resume, whatever else changes.
"""

from __future__ import annotations

from abc import abstractmethod

import hashlib
import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, ClassVar

import numpy as np
from pydantic import Discriminator, Field, Strict, Tag, ValidationError, field_validator, model_validator

from batch_runs.run_one import KNOBS, scenario_for
from model.scenario import ScenarioError, _Typed, describe_error, dump_yaml, read_yaml, validate

Scalar = bool | int | float | str
# A count or a list of seeds, told apart by form, so a mistake is named in the one meant (`seeds[1]: ...`).
Seeds = Annotated[Annotated[int, Tag("count")] | Annotated[list[int], Tag("list")],
                  Discriminator(lambda value: "list" if isinstance(value, list) else "count")]


class DesignError(ScenarioError):
    """A mistake in a sweep design or output directory: one line, exit code 2."""


@dataclass(frozen=True)
class RunSpec:
    """One run to do: a design point with one seed."""

    run_id: str
    point: int
    point_id: str
    parameters: dict[str, Any]
    seed: int
    iteration: int


class Range(_Typed):
    """A sampled parameter's range; `integer` rounds samples (e.g. n_dnos)."""

    low: float
    high: float
    integer: bool = False

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if not self.low < self.high:
            raise ValueError(f"needs low < high, got {self.low} and {self.high}")
        return self

    def value(self, u: float) -> float | int:
        return int(round(u)) if self.integer else float(u)


class Analysis(_Typed):
    """Defaults for `storagemarket analyze`: measures to show and parameter pairs for heatmaps."""

    measures: list[str] = Field(default_factory=list, description="default: picked from what exists")
    heatmaps: list[Annotated[tuple[str, str], Strict(False)]] = Field(  # YAML gives each pair as a list
        default_factory=list, description="default: the first two varied parameters")


DESIGNS: dict[str, type[DesignBase]] = {}


def register(kind: str):
    def add(cls: type[DesignBase]) -> type[DesignBase]:
        cls.KIND = kind
        DESIGNS[kind] = cls
        return cls

    return add


class DesignBase(_Typed):
    """What every design has; subclasses say how parameters become points. Strictly typed as a
    scenario is: `seeds: true` or `samples: 4.0` is a mistake, not 1 or 4."""

    KIND: ClassVar[str] = ""

    kind: str
    name: str = Field("sweep", min_length=1)
    description: str = ""
    parameters: dict[str, Any] = Field(min_length=1)
    seeds: Seeds = Field(1, description="a count (seeds 0..n-1) or a list of seeds")
    iterations: int | None = Field(None, ge=1, description="Mesa's name for a count of seeds")
    analysis: Analysis = Field(default_factory=Analysis)

    @model_validator(mode="after")
    def _seeds(self) -> DesignBase:
        if self.iterations is not None:
            if "seeds" in self.model_fields_set:
                raise ValueError("give seeds or iterations (Mesa's name for a count), not both")
            object.__setattr__(self, "seeds", list(range(self.iterations)))
            object.__setattr__(self, "iterations", None)
        object.__setattr__(self, "seeds", seed_list(self.seeds))
        return self

    @model_validator(mode="after")
    def _heatmaps_name_parameters(self) -> DesignBase:
        for name in (n for pair in self.analysis.heatmaps for n in pair):
            if name not in self.parameters:
                raise ValueError(f"analysis.heatmaps: {name!r} is not a parameter of the design")
        return self

    @abstractmethod
    def points(self) -> list[dict[str, Any]]:
        """The design's parameter points, in design order (each design kind draws its own)."""

    def varied(self) -> list[str]:
        """Parameters that take more than one value, in design order."""
        return [k for k, v in self.parameters.items() if isinstance(v, Range) or (isinstance(v, list) and len(v) > 1)]

    def fixed(self) -> dict[str, Any]:
        return {k: v for k, v in self.parameters.items() if isinstance(v, Scalar)}

    def runs(self) -> list[RunSpec]:
        """Every (point, seed) once, in design order; repeated points (rounding) run once."""
        out: dict[str, RunSpec] = {}
        for index, params in enumerate(self.points()):
            pid = point_id(params)
            for iteration, seed in enumerate(self.seeds):
                rid = f"{pid}-s{seed}"
                out.setdefault(rid, RunSpec(rid, index, pid, params, seed, iteration))
        return list(out.values())

    @abstractmethod
    def probe_values(self) -> dict[str, list[Any]]:
        """Values worth validating before a sweep: each level, or each range's ends."""

    def runs_key(self) -> dict[str, Any]:
        """What decides the runs (not the name, description or analysis defaults)."""
        return self.model_dump(mode="json", exclude={"name", "description", "analysis", "iterations"})

    def to_yaml(self) -> str:
        return dump_yaml(self.model_dump(mode="json", exclude={"iterations"}))


@register("grid")
class GridDesign(DesignBase):
    """The full factorial of every listed level (Mesa's batch_run parameter dictionary)."""

    @field_validator("parameters", mode="before")
    @classmethod
    def _iterables_as_lists(cls, value: Any) -> Any:
        """From Python, Mesa users pass range(...), tuples or arrays as levels."""
        if not isinstance(value, dict):
            return value
        return {k: np.asarray(v).tolist() if isinstance(v, (range, tuple, np.ndarray)) else v for k, v in value.items()}

    @model_validator(mode="after")
    def _levels(self) -> GridDesign:
        for name, value in self.parameters.items():
            if isinstance(value, Scalar):
                continue
            if not isinstance(value, list) or not value or not all(isinstance(v, Scalar) for v in value):
                raise ValueError(f"parameters.{name}: expected a fixed value or a list of levels")
            if len(set(map(json.dumps, value))) != len(value):
                raise ValueError(f"parameters.{name}: needs distinct levels")
        return self

    def points(self) -> list[dict[str, Any]]:
        names = list(self.parameters)
        levels = [v if isinstance(v, list) else [v] for v in self.parameters.values()]
        return [dict(zip(names, combo)) for combo in itertools.product(*levels)]

    def probe_values(self) -> dict[str, list[Any]]:
        return {k: v for k, v in self.parameters.items() if isinstance(v, list)}


class SampledDesign(DesignBase):
    """Ranges sampled into a matrix (one row per point) by SALib; scalars stay fixed."""

    samples: int = Field(ge=1, description="lhs: points; sobol: base samples N (N(D+2) points)")
    sample_seed: int = Field(0, ge=0, description="seed of the sampler")

    @model_validator(mode="after")
    def _ranges(self) -> SampledDesign:
        for name, value in self.parameters.items():
            if isinstance(value, dict):
                self.parameters[name] = parse_range(value, f"parameters.{name}")
            elif not isinstance(value, (Scalar, Range)):
                raise ValueError(f"parameters.{name}: expected a fixed value or {{low, high}}")
        if not self.ranges():
            raise ValueError("parameters: needs at least one {low, high} range to sample")
        return self

    def ranges(self) -> dict[str, Range]:
        return {k: v for k, v in self.parameters.items() if isinstance(v, Range)}

    def problem(self) -> dict[str, Any]:
        """SALib's problem dictionary over the ranges."""
        ranges = self.ranges()
        return {"num_vars": len(ranges), "names": list(ranges), "bounds": [[r.low, r.high] for r in ranges.values()]}

    @abstractmethod
    def matrix(self) -> np.ndarray:
        """The sampler's points in the unit-scaled ranges, one row per point."""

    def points(self) -> list[dict[str, Any]]:
        ranges, fixed = self.ranges(), self.fixed()
        out = []
        for row in self.matrix():
            sampled = {name: r.value(u) for (name, r), u in zip(ranges.items(), row)}
            out.append({k: sampled.get(k, fixed.get(k)) for k in self.parameters})
        return out

    def probe_values(self) -> dict[str, list[Any]]:
        return {k: [r.value(r.low), r.value(r.high)] for k, r in self.ranges().items()}


@register("lhs")
class LatinHypercubeDesign(SampledDesign):
    """A Latin hypercube of `samples` points over the ranges."""

    def matrix(self) -> np.ndarray:
        from SALib.sample import latin

        return latin.sample(self.problem(), self.samples, seed=self.sample_seed)


@register("sobol")
class SobolDesign(SampledDesign):
    """Saltelli's scheme for Sobol indices: N(D+2) points (N(2D+2) with second order)."""

    second_order: bool = False

    @model_validator(mode="after")
    def _power_of_two(self) -> SobolDesign:
        if self.samples & (self.samples - 1):
            raise ValueError(f"samples: Sobol sequences need a power of two, got {self.samples}")
        return self

    def matrix(self) -> np.ndarray:
        from SALib.sample import sobol

        return sobol.sample(self.problem(), self.samples, calc_second_order=self.second_order, seed=self.sample_seed)


def seed_list(seeds: int | list[int], where: str = "seeds: ") -> list[int]:
    """A count (seeds 0..n-1) or a list, as a list of distinct seeds >= 0."""
    if isinstance(seeds, int):
        if seeds < 1:
            raise ValueError(f"{where}a count must be at least 1")
        return list(range(seeds))
    if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
        raise ValueError(f"{where}needs distinct seeds >= 0")
    return list(seeds)


def parse_range(data: dict[str, Any], where: str) -> Range:
    try:
        return Range.model_validate(data)
    except ValidationError as exc:
        raise ValueError(f"{where}.{_clean(describe_error(exc, data))}") from None


def _clean(message: str) -> str:
    """Validator messages without pydantic's '(top level): Value error, ' preamble."""
    return message.replace("(top level): ", "").replace("Value error, ", "")


def point_id(parameters: dict[str, Any]) -> str:
    """A stable short hash of a point's parameter values."""
    text = json.dumps(parameters, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def parse(data: dict[str, Any], source: str) -> DesignBase:
    """A validated design from a mapping; the kind picks the schema."""
    kind = data.get("kind", "grid")
    if kind not in DESIGNS:
        raise DesignError(f"{source}: kind: unknown design {kind!r}; choose from {', '.join(DESIGNS)}")
    try:
        return validate({**data, "kind": kind}, source=source, schema=DESIGNS[kind])
    except ScenarioError as exc:
        raise DesignError(_clean(str(exc))) from None


def load(path: str | Path) -> DesignBase:
    """Read and validate a design file (schema only; `check` tries its values on the model)."""
    return parse(read_yaml(Path(path)), source=str(path))


def check(design: DesignBase, source: str) -> None:
    """Build the scenario of each parameter value (each level, or each range's ends) alone on the
    first point's knobs, then the first point whole, so a bad name or value stops the sweep
    before it starts, as one line naming the parameter."""
    first, seed = design.points()[0], design.seeds[0]
    knobs = {k: v for k, v in first.items() if k in KNOBS}
    probes = design.probe_values()
    for name in design.parameters:
        for value in probes[name] if name in probes else [first[name]]:
            try_scenario({**knobs, name: value}, seed, f"{source}: parameters.{name}={value}")
    try_scenario(first, seed, f"{source}: parameters")


def try_scenario(parameters: dict[str, Any], seed: int, where: str) -> None:
    """Build the point's scenario; a mistake becomes a DesignError naming `where`."""
    try:
        scenario_for(parameters, seed)
    except ScenarioError as exc:
        raise DesignError(f"{where}: {exc}") from None
