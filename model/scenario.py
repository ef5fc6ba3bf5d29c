"""Scenario schema: DNOs with their profiles and storage, the tariff, mechanism and scheduling options.

A scenario file is YAML validated by these pydantic models; every mistake a user can make
(a negative capacity, 23 hours, an unknown key, NaN, a typo in an option) becomes a
`ScenarioError` whose message is one line naming the file and the field.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from market.design import Design, StageFieldError, validated
from market.params import MechanismParams
from ledger.credit import ChainCredit
from ledger.network import NetworkParams
from market.tariff import HOURS, Tariff

BUNDLED_DIR = Path(__file__).resolve().parent.parent / "experiments" / "scenarios"


_M = TypeVar("_M", bound=BaseModel)


class ScenarioError(ValueError):
    """A user's mistake in a scenario or an override: one line naming the file and field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Profile(_Strict):
    """24 forecast and 24 actual hourly values (index 0 is hour 1)."""

    forecast: list[float] = Field(min_length=HOURS, max_length=HOURS)
    actual: list[float] = Field(min_length=HOURS, max_length=HOURS)


class RatioProfile(Profile):
    """Per-unit availability of an installed capacity, in [0, 1]."""

    @field_validator("forecast", "actual")
    @classmethod
    def _unit_interval(cls, values: list[float]) -> list[float]:
        for hour, v in enumerate(values, start=1):
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"hour {hour}: power ratio {v} is outside [0, 1]")
        return values


class LoadProfile(Profile):
    """Load in MW, non-negative."""

    @field_validator("forecast", "actual")
    @classmethod
    def _non_negative(cls, values: list[float]) -> list[float]:
        for hour, v in enumerate(values, start=1):
            if v < 0:
                raise ValueError(f"hour {hour}: load {v} MW is negative")
        return values


class StorageUnit(_Strict):
    """One storage unit; field names match market.scheduling.StorageUnitLike."""

    name: str = Field(min_length=1)
    energy_mwh: float = Field(ge=0, description="energy capacity, MWh; input")
    power_mw: float = Field(
        None, ge=0, validate_default=False, description="power rating, MW; [A] 0.25 x energy"
    )
    charge_efficiency: float = Field(0.95, gt=0, le=1, description="[A] SPEC A.2.1")
    discharge_efficiency: float = Field(0.95, gt=0, le=1, description="[A] SPEC A.2.1")
    soc_min: float = Field(0.1, ge=0, le=1, description="fraction of energy; [A] SPEC A.2.1")
    soc_max: float = Field(0.9, ge=0, le=1, description="fraction of energy; [A] SPEC A.2.1")
    soc_start: float = Field(0.5, ge=0, le=1, description="fraction of energy; [A] SPEC A.2.1")

    @model_validator(mode="before")
    @classmethod
    def _default_power(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("power_mw") is None and "energy_mwh" in data:
            energy = data["energy_mwh"]
            if isinstance(energy, (int, float)) and not isinstance(energy, bool):
                data = {**data, "power_mw": 0.25 * energy}
        return data

    @model_validator(mode="after")
    def _soc_order(self) -> StorageUnit:
        if not self.soc_min <= self.soc_start <= self.soc_max:
            raise ValueError(
                f"needs soc_min <= soc_start <= soc_max, got {self.soc_min}, "
                f"{self.soc_start}, {self.soc_max}"
            )
        return self


class StorageOwner(_Strict):
    """A named owner of storage units inside a DNO (dispatched by that DNO)."""

    name: str = Field(min_length=1)
    units: list[StorageUnit] = Field(min_length=1)


class DnoAssets(_Strict):
    """What a DNO owns and may exchange, without its hourly profiles."""

    name: str = Field(min_length=1)
    pv_mw: float = Field(ge=0, description="installed PV, MW; input")
    wind_mw: float = Field(ge=0, description="installed wind, MW; input")
    buy_max_mw: float = Field(1000.0, ge=0, description="grid import limit, MW; [A] large")
    sell_max_mw: float = Field(1000.0, ge=0, description="grid export limit, MW; [A] large")
    owner_revenue_share: float = Field(
        0.8,
        ge=0,
        le=1,
        description="share of storage trading revenue paid to storage owners, pro rata to "
        "their energy capacity; [A]",
    )
    storage_owners: list[StorageOwner] = Field(default_factory=list)

    @property
    def storage_units(self) -> list[StorageUnit]:
        return [u for owner in self.storage_owners for u in owner.units]

    @property
    def storage_energy_mwh(self) -> float:
        return math.fsum(u.energy_mwh for u in self.storage_units)

    @model_validator(mode="after")
    def _unique_units(self) -> DnoAssets:
        _require_unique([u.name for u in self.storage_units], "storage unit")
        return self


class Dno(DnoAssets):
    """A distribution network operator: renewables, load, grid connection, storage and profiles."""

    pv_ratio: RatioProfile
    wind_ratio: RatioProfile
    load_mw: LoadProfile


class SchedulingParams(_Strict):
    """How DNOs schedule (SPEC A.2)."""

    intraday_mode: Literal["oracle", "rolling"] = Field(
        "rolling",
        description="oracle: whole day on actuals (the paper, [P]); rolling: from hour t with "
        "the current SOC, actual for t and forecasts after; [A] DESIGN",
    )
    solver: Literal["highs", "scip"] = Field("highs", description="MILP solver via OR-Tools MathOpt")
    tie_break_per_mwh: float | None = Field(
        None, ge=0, description="throughput penalty, RMB/MWh; [A] 1e-6 x max price when unset"
    )
    value_of_lost_load_per_mwh: float | None = Field(
        20_000.0,
        gt=0,
        description="price of unserved load, RMB/MWh; unset means a DNO that cannot serve its load "
        "is an error; [A]",
    )


class CrashSpec(_Strict):
    """A validator that stops (and maybe restarts) at a given simulated hour of the run."""

    node: int = Field(ge=0, description="validator index (0-based)")
    at_hour: float = Field(ge=0, description="hours since the start of the run")
    restart_hour: float | None = Field(None, ge=0, description="hours since the start; never if unset")


class LedgerParams(_Strict):
    """The permissioned chain carrying the market (DESIGN "The ledger")."""

    engine: str = Field(
        "bft", description="consensus engine: bft (Byzantine faults), raft (crash faults) or pow (proof of work); [A]"
    )
    engine_params: dict[str, Any] = Field(
        default_factory=dict,
        description="the engine's own parameters (e.g. pow: confirmations, mean_block_interval_ms); "
        "defaults if empty; [A]",
    )
    network: NetworkParams = Field(default_factory=NetworkParams, description="validator network; [A]")
    validator_hosts: list[str] = Field(
        default_factory=list,
        description="organisation running validator i (a DNO or main_grid); unlisted ones are independent; [A]",
    )
    crashes: list[CrashSpec] = Field(default_factory=list, description="crash faults; [A]")
    byzantine: dict[int, str] = Field(
        default_factory=dict, description="validator index -> Byzantine behaviour, e.g. equivocating; [A]"
    )
    hour_ms: float = Field(
        10_000.0, gt=0, description="simulated chain time per market hour, ms; market results do not depend on it; [A]"
    )
    gate_offset_ms: float = Field(
        2_000.0, gt=0, description="gate closure after the hour's start, simulated ms; [A]"
    )
    credit: ChainCredit = Field(
        default_factory=ChainCredit,
        description="double credit on chain (docs/credit.md): off unless enabled; with engine raft it is the "
        "paper's Raft with double credit; [A]",
    )

    @model_validator(mode="after")
    def _known(self) -> LedgerParams:
        from ledger.consensus import ENGINES
        from ledger.consensus.cluster import BEHAVIOURS

        if self.engine not in ENGINES:
            raise ValueError(f"unknown consensus engine {self.engine!r}; choose from {', '.join(sorted(ENGINES))}")
        n = self.network.n_validators
        for node, kind in self.byzantine.items():
            if not 0 <= node < n:
                raise ValueError(f"byzantine validator {node} is not one of 0..{n - 1}")
            if (self.engine, kind) not in BEHAVIOURS:
                known = sorted(k for e, k in BEHAVIOURS if e == self.engine)
                raise ValueError(f"unknown {self.engine} behaviour {kind!r}; choose from {', '.join(known) or 'none'}")
        for crash in self.crashes:
            if crash.node >= n:
                raise ValueError(f"crashed validator {crash.node} is not one of 0..{n - 1}")
        _check_engine_params(ENGINES[self.engine], self.engine_params, n)
        if len(self.validator_hosts) > n:
            raise ValueError(f"{len(self.validator_hosts)} hosts for {n} validators")
        for node in self.credit.validators:
            if not 0 <= node < n:
                raise ValueError(f"credit.validators: validator {node} is not one of 0..{n - 1}")
        if self.gate_offset_ms >= self.hour_ms:
            raise ValueError("gate_offset_ms must be shorter than hour_ms")
        return self


def _check_engine_params(engine: Any, raw: dict[str, Any], n_validators: int) -> None:
    """Validate `ledger.engine_params` against the engine's parameter model, naming the field."""
    problem = validated(engine.params_model, raw, "engine_params").validator_problem(n_validators)
    if problem is not None:
        raise StageFieldError(f"engine_params.{problem[0]}", problem[1])


class CarbonParams(_Strict):
    """What the grid's electricity emits, for the emissions measure of every design."""

    grid_emission_t_per_mwh: float = Field(
        0.58, ge=0, le=10, description="CO2 per MWh imported from the main grid, t/MWh; [A]"
    )


class ScenarioBase(_Strict):
    """What every scenario and scenario recipe has: the tariff and the rules."""

    name: str = Field(min_length=1)
    description: str = ""
    tariff: Tariff = Field(default_factory=Tariff)
    dnos: list[DnoAssets] = Field(min_length=1)
    mechanism: MechanismParams = Field(default_factory=MechanismParams)
    scheduling: SchedulingParams = Field(default_factory=SchedulingParams)
    ledger: LedgerParams = Field(default_factory=LedgerParams)
    design: Design = Field(default_factory=Design, description="the market design: one stage per slot; [P] the paper's")
    carbon: CarbonParams = Field(default_factory=CarbonParams)
    days: int = Field(1, ge=1, description="operating days; days after the first draw fresh actuals; [A]")

    @model_validator(mode="after")
    def _unique_names(self) -> ScenarioBase:
        _require_unique([d.name for d in self.dnos], "DNO")
        owners = [o.name for d in self.dnos for o in d.storage_owners]
        _require_unique(owners, "storage owner")
        hosts = {d.name for d in self.dnos} | {"main_grid"}
        for host in self.ledger.validator_hosts:
            if host not in hosts:
                raise ValueError(f"validator host {host!r} is neither a DNO nor main_grid")
        for name in self.ledger.credit.participants:
            if name not in hosts - {"main_grid"}:
                raise ValueError(f"ledger.credit.participants: {name!r} is not a DNO")
        return self


class Scenario(ScenarioBase):
    """One simulated operating day: DNOs with profiles, the main grid's tariff and the rules."""

    dnos: list[Dno] = Field(min_length=1)


def _require_unique(names: list[str], what: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"{what} name {name!r} is used twice")
        seen.add(name)


def bundled() -> dict[str, Path]:
    """Bundled scenario names and their files."""
    return {p.stem: p for p in sorted(BUNDLED_DIR.glob("*.yaml"))}


def resolve(name_or_path: str) -> Path:
    """A bundled scenario's file by name, or the given path."""
    files = bundled()
    if name_or_path in files:
        return files[name_or_path]
    path = Path(name_or_path)
    if path.suffix in {".yaml", ".yml"} or path.exists():
        return path
    raise ScenarioError(
        f"{name_or_path}: no such bundled scenario (bundled: {', '.join(files)}) and no such file"
    )


def read_yaml(path: Path) -> dict[str, Any]:
    """A YAML mapping from a file; syntax errors become one line with the position."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read file ({exc.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ScenarioError(f"{path}: {where}YAML syntax error: {problem}") from None
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: top level must be a mapping of scenario fields")
    return data


def load(name_or_path: str, overrides: list[str] | None = None) -> Scenario:
    """Read, override (`key.path=value` strings) and validate a scenario."""
    path = resolve(name_or_path)
    data = read_yaml(path)
    scenario = validate(data, source=str(path))
    if not overrides:
        return scenario
    for item in overrides:
        data = apply_override(data, item)
    return validate(data, source=f"{path} with --set {' --set '.join(overrides)}")


def validate(data: dict[str, Any], source: str, schema: type[_M] | None = None) -> _M:
    """Validate a mapping (a Scenario unless `schema` says), naming `source` and the first bad field."""
    try:
        return (schema or Scenario).model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(f"{source}: {describe_error(exc, data)}") from None


def describe_error(exc: ValidationError, data: Any) -> str:
    """The first pydantic error as 'field.path: message' (DNO list items named by index and name)."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    field = _dotted(first["loc"], data)
    message = first["msg"]
    nested = (first.get("ctx") or {}).get("error")
    if isinstance(nested, StageFieldError):  # a stage's own parameter: name it in the path
        field = ".".join(p for p in (field, nested.path) if p)
        message = nested.message
    elif first["type"] == "extra_forbidden":
        message = "unknown field"
    elif first["type"] in {"finite_number"}:
        message = "must be a finite number (NaN and infinity are not allowed)"
    more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    return f"{field}: {message}{more}"


def _dotted(loc: tuple, data: Any) -> str:
    parts: list[str] = []
    node = data
    for key in loc:
        if isinstance(key, int):
            name = node[key].get("name") if isinstance(node, list) and isinstance(node[key], dict) else None
            parts[-1] += f"[{key}]" if name is None else f"[{key}:{name}]"
        else:
            parts.append(str(key))
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            node = None
    return ".".join(parts) or "(top level)"


def apply_override(data: dict[str, Any], item: str) -> dict[str, Any]:
    """Apply one `--set key.path=value` override; list items are picked by index or name."""
    if "=" not in item:
        raise ScenarioError(f"--set {item}: expected key.path=value")
    key, raw = item.split("=", 1)
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError:
        raise ScenarioError(f"--set {key}: cannot parse value {raw!r}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise ScenarioError(f"--set {key}: must be a finite number")
    data = copy.deepcopy(data)
    node: Any = data
    parts = key.split(".")
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        where = ".".join(parts[: depth + 1])
        if isinstance(node, list):
            index = _list_index(node, part)
            if index is None:
                raise ScenarioError(f"--set {key}: no item {part!r} at {where}")
            if last:
                node[index] = value
            node = node[index]
        elif isinstance(node, dict):
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
        else:
            raise ScenarioError(f"--set {key}: {where} is not a section")
    return data


def _list_index(items: list, part: str) -> int | None:
    if part.isdigit() and int(part) < len(items):
        return int(part)
    for i, item in enumerate(items):
        if isinstance(item, dict) and item.get("name") == part:
            return i
    return None


def to_yaml(scenario: Scenario) -> str:
    """The scenario in full, defaults included, as YAML with hourly series on one line each."""
    return dump_yaml(scenario.model_dump(mode="json"))


def dump_yaml(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=120, allow_unicode=True)
