"""Scenario schema: DNOs with their profiles and storage, the tariff, mechanism and scheduling options.

A scenario file is YAML validated by these pydantic models; every mistake a user can make
(a negative capacity, 23 hours, an unknown key, NaN or infinity at any depth, `true` or 2.5 where
a whole number belongs, a magnitude no distribution network has, a key given twice, an anchor or
alias, nesting deeper than any scenario needs, a file that is not UTF-8 text, a typo in an
option) becomes a `ScenarioError` whose message is one line naming the file and the field.
"""

from __future__ import annotations

import copy
import difflib
import math
import re
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args

import yaml
from pydantic import (
    BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_serializer, model_validator,
)

from market.design import SLOTS, Design, StageFieldError, stage_params, validated
from market.realtime import REAL_TIME
from market.limits import MAX_MW, MAX_MWH, MAX_PRICE_PER_MWH
from market.params import MechanismParams
from market.carbon import CarbonLadder
from market.heat import heat_sources_mw, holding_mw
from market.scheduling import replay_problem
from market.shared_storage import SharedStorage
from ledger.credit import ChainCredit
from ledger.network import NetworkParams, NodeIndex
from market.tariff import HOURS, Tariff
from market.whole_numbers import not_whole, whole_numbers
from model.network_config import DistributionNetwork
from model.errors import ScenarioError  # noqa: F401  (raised here; importers take it from here too)

MAX_DAYS = 366

BUNDLED_DIR = Path(__file__).resolve().parent.parent / "experiments" / "scenarios"


_M = TypeVar("_M", bound=BaseModel)


class _Strict(BaseModel):
    """Unknown keys, NaN and infinity refused; immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class _Typed(_Strict):
    """A scenario block: strict types too, so `true` is not the number 1 nor "3" the number 3."""

    model_config = ConfigDict(strict=True)


class Profile(_Typed):
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
    """Load in MW, in [0, 100 000] (market/limits.py: a distribution network's scale)."""

    @field_validator("forecast", "actual")
    @classmethod
    def _non_negative(cls, values: list[float]) -> list[float]:
        for hour, v in enumerate(values, start=1):
            if not 0 <= v <= MAX_MW:
                raise ValueError(f"hour {hour}: load {v} MW is outside [0, {MAX_MW:,.0f}]")
        return values


class StorageUnit(_Typed):
    """One storage unit; field names match market.scheduling.StorageUnitLike."""

    name: str = Field(min_length=1)
    energy_mwh: float = Field(ge=0, le=MAX_MWH, description="energy capacity, MWh, at most 100 000; input")
    power_mw: float = Field(
        None, ge=0, le=MAX_MW, validate_default=False,
        description="power rating, MW, at most 100 000; [A] 0.25 x energy",
    )
    charge_efficiency: float = Field(0.95, gt=0, le=1, description="[A] §A.2.1")
    discharge_efficiency: float = Field(0.95, gt=0, le=1, description="[A] §A.2.1")
    soc_min: float = Field(0.1, ge=0, le=1, description="fraction of energy; [A] §A.2.1")
    soc_max: float = Field(0.9, ge=0, le=1, description="fraction of energy; [A] §A.2.1")
    soc_start: float = Field(0.5, ge=0, le=1, description="fraction of energy; [A] §A.2.1")

    @model_validator(mode="before")
    @classmethod
    def _default_power(cls, data: Any) -> Any:
        return _quarter_power(data, "power_mw", "energy_mwh")

    @model_validator(mode="after")
    def _soc_order(self) -> StorageUnit:
        if not self.soc_min <= self.soc_start <= self.soc_max:
            raise ValueError(
                f"needs soc_min <= soc_start <= soc_max, got {self.soc_min}, "
                f"{self.soc_start}, {self.soc_max}"
            )
        return self


class SharedStorageSpec(_Typed):
    """A shared energy storage station every DNO can charge and discharge through (§B.1.2),
    owned by a storage owner of its own; used by the `nash_bargaining` coordination stage."""

    operator: str = Field(min_length=1, description="the storage owner that operates it")
    energy_mwh: float = Field(ge=0, le=MAX_MWH, description="energy capacity, MWh; input")
    power_mw: float = Field(ge=0, le=MAX_MW, description="charge and discharge rating, MW; input")
    charge_efficiency: float = Field(0.95, gt=0, le=1, description="[A] as §A.2.1's units")
    discharge_efficiency: float = Field(0.95, gt=0, le=1, description="[A] as §A.2.1's units")
    soc_min: float = Field(0.1, ge=0, le=1, description="fraction of energy; [A]")
    soc_max: float = Field(0.9, ge=0, le=1, description="fraction of energy; [A]")
    soc_start: float = Field(0.5, ge=0, le=1, description="fraction of energy, also where each day ends; [A]")
    fee_per_mwh: float = Field(0.0, ge=0, le=MAX_PRICE_PER_MWH,
                               description="usage fee on energy charged and discharged, RMB/MWh, paid to its operator; [A]")

    @model_validator(mode="after")
    def _a_station_that_can_hold_energy(self) -> SharedStorageSpec:
        if self.power_mw > 0 and self.energy_mwh <= 0:
            raise ValueError("power_mw: a station with power needs energy_mwh above 0")
        if not self.soc_min <= self.soc_start <= self.soc_max:
            raise ValueError(f"needs soc_min <= soc_start <= soc_max, got {self.soc_min}, {self.soc_start}, "
                             f"{self.soc_max}")
        return self

    def station(self) -> SharedStorage:
        return SharedStorage(**self.model_dump())


class StorageOwner(_Typed):
    """A named owner of storage units inside a DNO (dispatched by that DNO)."""

    name: str = Field(min_length=1)
    units: list[StorageUnit] = Field(min_length=1)


class HeatDevices(_Typed):
    """A DNO's electric-heat devices (§B.2.1), planned with its storage in its MILP to meet its own
    heat load (heat is not traded between DNOs). Field names match market.heat.HeatDevicesLike."""

    chp_mw: float = Field(0.0, ge=0, le=MAX_MW, description="CHP (gas turbine with heat recovery) power rating, MW; "
                          "input")
    chp_efficiency: float = Field(0.35, gt=0, le=1, description="CHP power out per MWh of gas in; [A] §B.2.1")
    chp_heat_to_power: float = Field(1.2, ge=0, le=10, description="heat recovered per MWh of CHP power; [A] §B.2.1")
    gas_boiler_mw: float = Field(0.0, ge=0, le=MAX_MW, description="gas boiler heat rating, MW; input")
    gas_boiler_efficiency: float = Field(0.9, gt=0, le=1, description="heat out per MWh of gas in; [A] §B.2.1")
    electric_boiler_mw: float = Field(0.0, ge=0, le=MAX_MW, description="electric boiler heat rating, MW; input")
    electric_boiler_efficiency: float = Field(0.95, gt=0, le=1, description="heat out per MWh of power in; "
                                              "[A] §B.2.1")
    heat_storage_mwh: float = Field(0.0, ge=0, le=MAX_MWH, description="heat storage capacity, MWh; input")
    heat_storage_mw: float = Field(
        None, ge=0, le=MAX_MW, validate_default=False,
        description="heat storage charge and discharge rating, MW; [A] 0.25 x capacity")
    heat_storage_efficiency: float = Field(0.95, gt=0, le=1, description="each way; [A] §B.2.1")
    heat_storage_loss: float = Field(0.01, ge=0, lt=1, description="share of the stored heat lost per hour; "
                                     "[A] §B.2.1")
    heat_buy_max_mw: float = Field(0.0, ge=0, le=MAX_MW, description="heat bought from a heat network at most, MW; "
                                   "input")
    gas_price_per_mwh: float | None = Field(
        None, ge=0, le=MAX_PRICE_PER_MWH, description="gas price, RMB per MWh of gas; needed with a CHP or a gas "
        "boiler; input")
    heat_price_per_mwh: float | None = Field(
        None, ge=0, le=MAX_PRICE_PER_MWH, description="heat network price, RMB/MWh; needed with heat_buy_max_mw; "
        "input")

    @model_validator(mode="before")
    @classmethod
    def _default_storage_power(cls, data: Any) -> Any:
        return _quarter_power(data, "heat_storage_mw", "heat_storage_mwh", 0.0)

    @model_validator(mode="after")
    def _prices_for_what_is_bought(self) -> HeatDevices:
        if (self.chp_mw > 0 or self.gas_boiler_mw > 0) and self.gas_price_per_mwh is None:
            device = "a CHP" if self.chp_mw > 0 else "a gas boiler"
            raise StageFieldError("gas_price_per_mwh", f"{device} burns gas: give the gas price (RMB/MWh)")
        if self.heat_buy_max_mw > 0 and self.heat_price_per_mwh is None:
            raise StageFieldError("heat_price_per_mwh", "heat bought from a heat network needs its price (RMB/MWh)")
        holding = holding_mw(self)  # what keeps the storage where each day starts and ends
        if holding > self.heat_storage_mw * (1 - 1e-9):
            raise StageFieldError("heat_storage_mw", f"{self.heat_storage_mw:g} MW cannot make up the storage's loss "
                                  f"({holding:g} MW an hour at its start level)")
        if holding > heat_sources_mw(self) * (1 - 1e-9):
            raise StageFieldError("heat_storage_mwh", f"the heat storage loses {holding:g} MW an hour at its start "
                                  "level; give heat sources (CHP, boilers, heat_buy_max_mw) that can make it up")
        return self

    @model_serializer(mode="wrap")
    def _without_unset_prices(self, handler: Any) -> dict[str, Any]:
        data = handler(self)
        return {k: v for k, v in data.items() if v is not None} if isinstance(data, dict) else data


class DnoAssets(_Typed):
    """What a DNO owns and may exchange, without its hourly profiles (MW at most 100 000 each)."""

    name: str = Field(min_length=1)
    pv_mw: float = Field(ge=0, le=MAX_MW, description="installed PV, MW; input")
    wind_mw: float = Field(ge=0, le=MAX_MW, description="installed wind, MW; input")
    buy_max_mw: float = Field(1000.0, ge=0, le=MAX_MW, description="grid import limit, MW; [A] large")
    sell_max_mw: float = Field(1000.0, ge=0, le=MAX_MW, description="grid export limit, MW; [A] large")
    owner_revenue_share: float = Field(
        0.8,
        ge=0,
        le=1,
        description="share of storage trading revenue paid to storage owners, pro rata to "
        "their energy capacity; [A]",
    )
    storage_owners: list[StorageOwner] = Field(default_factory=list)
    heat: HeatDevices | None = Field(None, description="electric-heat devices (CHP, boilers, heat storage, heat "
                                     "purchase); none: power only, as in the paper; [L] §B.2.1")

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

    @model_serializer(mode="wrap")
    def _without_unset_options(self, handler: Any) -> dict[str, Any]:
        data = handler(self)  # DNOs without heat or replayed actions are written as they always were
        if isinstance(data, dict):
            for key in ("heat", "storage_actions", "heat_load_mw"):
                if key in data and data[key] is None:
                    del data[key]
        return data


class StorageActions(_Typed):
    """A DNO's storage actions given rather than optimised (`scheduling.storage: replayed`): its
    day-ahead plan and its intraday actions, MW per hour (+ charge, − discharge), summed over its
    units and shared among them in proportion to their power."""

    day_ahead: list[float] = Field(min_length=HOURS, max_length=HOURS, description="MW, hours 1..24; input")
    intraday: list[float] = Field(min_length=HOURS, max_length=HOURS, description="MW, hours 1..24; input")


class Dno(DnoAssets):
    """A distribution network operator: renewables, load, grid connection, storage and profiles."""

    pv_ratio: RatioProfile
    wind_ratio: RatioProfile
    load_mw: LoadProfile
    storage_actions: StorageActions | None = Field(
        None, description="replayed storage actions (scheduling.storage: replayed); none: optimised; input")
    heat_load_mw: LoadProfile | None = Field(None, description="heat load, MW (with heat devices); input")

    @model_validator(mode="after")
    def _heat_load_with_heat_devices(self) -> Dno:
        if self.heat is not None and self.heat_load_mw is None:
            raise StageFieldError("heat_load_mw", "a DNO with heat devices needs its heat load (forecast and actual)")
        if self.heat is None and self.heat_load_mw is not None:
            raise StageFieldError("heat", "a heat load needs heat devices to meet it")
        return self

    @model_validator(mode="after")
    def _actions_fit(self) -> Dno:
        if self.storage_actions is not None:
            for plan in ("day_ahead", "intraday"):
                problem = replay_problem(self.storage_units, getattr(self.storage_actions, plan))
                if problem is not None:
                    raise StageFieldError(f"storage_actions.{plan}", problem)
        return self


class DroParams(_Typed):
    """The distributionally robust day-ahead plan (§B.2.2): M samples of the day's forecast errors
    from the scenario's error model, clustered into K scenarios, the ambiguity set's confidence
    levels, and column-and-constraint generation's stopping rule."""

    samples: int = Field(100, ge=1, le=10_000, description="forecast-error samples M per DNO and day; [A] §B.2.2")
    scenarios: int = Field(5, ge=1, le=50, description="scenarios K clustered from them, at most M; [A] §B.2.2")
    alpha_1: float = Field(0.99, gt=0, lt=1, description="confidence level of the L1 radius, in (0, 1); [A] §B.2.2")
    alpha_inf: float = Field(0.5, gt=0, lt=1, description="confidence level of the L-infinity radius, in (0, 1); "
                             "[A] §B.2.2")
    gap: float = Field(1e-4, gt=0, le=0.1, description="stop when the bounds are this close, relative; [A] §B.2.2")
    max_iterations: int = Field(30, ge=1, le=1000, description="C&CG iterations at most; [A]")

    @model_validator(mode="after")
    def _k_within_m(self) -> DroParams:
        if self.scenarios > self.samples:
            raise StageFieldError("scenarios", f"{self.scenarios} scenarios cannot be clustered from "
                                  f"{self.samples} samples (K must be at most M)")
        return self


class SchedulingParams(_Typed):
    """How DNOs schedule (§A.2)."""

    intraday_mode: Literal["oracle", "rolling"] = Field(
        "rolling",
        description="oracle: whole day on actuals (the paper, [P]); rolling: from hour t with "
        "the current SOC, actual for t and forecasts after; [A] §A.2.3",
    )
    solver: Literal["highs", "scip"] = Field("highs", description="MILP solver via OR-Tools MathOpt")
    storage: Literal["optimised", "replayed"] = Field(
        "optimised", description="optimised: each plan is the DNO's MILP (the paper); replayed: the storage actions "
        "are the DNOs' storage_actions (measured or constructed data) and the MILP only settles the grid exchange "
        "and any load shed around them; [A]")
    uncertainty: Literal["deterministic", "dro"] = Field(
        "deterministic", description="deterministic: the day-ahead plan on the forecast (the paper); dro: the "
        "storage plan robust to forecast scenarios (scheduling.dro); [L] §B.2.2")
    dro: DroParams = Field(default_factory=DroParams, description="the robust plan's parameters (uncertainty: dro)")
    tie_break_per_mwh: float | None = Field(
        None, ge=0, le=MAX_PRICE_PER_MWH,
        description="throughput penalty, RMB/MWh, at most 100 000; [A] 1e-6 x max price when unset",
    )
    value_of_lost_load_per_mwh: float | None = Field(
        20_000.0,
        gt=0,
        le=MAX_PRICE_PER_MWH,
        description="price of unserved load, RMB/MWh, at most 100 000; unset (null) means a DNO that "
        "cannot serve its load is an error; [A]",
    )


class CrashSpec(_Typed):
    """A validator that stops (and maybe restarts) at a given simulated hour of the run."""

    node: NodeIndex = Field(description="validator index (0-based, below ledger.network.n_validators)")
    at_hour: float = Field(ge=0, le=MAX_DAYS * HOURS, description="hours since the start of the run")
    restart_hour: float | None = Field(
        None, ge=0, le=MAX_DAYS * HOURS, description="hours since the start, after at_hour; never if unset"
    )

    @model_validator(mode="after")
    def _restart_after_crash(self) -> CrashSpec:
        if self.restart_hour is not None and self.restart_hour <= self.at_hour:
            raise ValueError(f"restart_hour {self.restart_hour} must be after at_hour {self.at_hour}")
        return self


class LedgerParams(_Typed):
    """The permissioned chain carrying the market (§A.1, docs/faults.md)."""

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
    byzantine: dict[NodeIndex, str] = Field(
        default_factory=dict, description="validator index -> Byzantine behaviour, e.g. equivocating; [A]"
    )
    hour_ms: float = Field(
        10_000.0, gt=0, le=3_600_000.0,
        description="simulated chain time per market hour, ms, at most an hour; market results do not depend on it; [A]",
    )
    gate_offset_ms: float = Field(
        2_000.0, gt=0, description="gate closure after the hour's start, simulated ms; [A]"
    )
    credit: ChainCredit = Field(
        default_factory=ChainCredit,
        description="double credit on chain (docs/credit.md): off unless enabled; with engine raft it is the "
        "paper's Raft with double credit; [A]",
    )

    @model_validator(mode="before")
    @classmethod
    def _whole_engine_params(cls, data: Any) -> Any:
        """Whole numbers in the free-form `engine_params` read as the engine's own model types them,
        so the block kept (and later validated again by the ledger) holds ints where it wants them."""
        from ledger.consensus import ENGINES

        engine = data.get("engine", cls.model_fields["engine"].default) if isinstance(data, dict) else None
        if isinstance(engine, str) and engine in ENGINES and isinstance(data.get("engine_params"), dict):
            data = {**data, "engine_params": whole_numbers(ENGINES[engine].params_model, data["engine_params"])}
        return data

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
        for i, window in enumerate(self.network.partitions):  # an honest one in two groups: a typo, or no cut
            honest = sorted(window.bridges() - set(self.byzantine))
            if honest:
                raise StageFieldError(f"network.partitions[{i}]", f"validator {honest[0]} is in two groups: "
                                      "only a Byzantine validator (ledger.byzantine) may bridge a partition")
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


class CarbonParams(_Typed):
    """What the grid's electricity emits, for the emissions measure of every design."""

    grid_emission_t_per_mwh: float = Field(
        0.58, ge=0, le=10, description="CO2 per MWh imported from the main grid, t/MWh; [A]"
    )
    price_per_t: float = Field(0.0, ge=0, le=MAX_PRICE_PER_MWH, description="carbon price on the ladder's first "
                               "interval, RMB/t; 0: carbon is not priced (the paper); [A] §B.2.3 (250 in the literature)")
    quota_t_per_mwh: float = Field(0.39, ge=0, le=10, description="free quota per MWh bought from the grid "
                                   "(benchmark method), t/MWh; [A] §B.2.3: the literature's 0.728 against its emission "
                                   "factor 1.08, kept in proportion to this factor (0.58)")
    step_t: float = Field(2.0, gt=0, le=1e6, description="the ladder's interval length, t per DNO and day; [A] §B.2.3")
    growth: float = Field(0.25, ge=0, le=10, description="each interval's price rise, a share of the first; [A] §B.2.3")
    gas_emission_t_per_mwh: float = Field(0.234, ge=0, le=10, description="CO2 per MWh of gas-fired output (CHP "
                                          "power and heat, gas-boiler heat), t/MWh; [A] §B.2.3")
    heat_quota_t_per_mwh: float = Field(0.367, ge=0, le=10, description="free quota per MWh of gas-fired heat "
                                        "(benchmark method; CHP power counts as heat-to-power times its MWh), t/MWh; "
                                        "[A] §B.2.3")

    def ladder(self) -> CarbonLadder:
        return CarbonLadder(self.grid_emission_t_per_mwh, self.quota_t_per_mwh, self.price_per_t, self.step_t,
                            self.growth, self.gas_emission_t_per_mwh, self.heat_quota_t_per_mwh)


class ScenarioBase(_Typed):
    """What every scenario and scenario recipe has: the tariff and the rules."""

    name: str = Field(
        min_length=1, max_length=100, description="names the default output folder, out/NAME: no / or \\"
    )
    description: str = ""
    tariff: Tariff = Field(default_factory=Tariff)
    dnos: list[DnoAssets] = Field(min_length=1)
    mechanism: MechanismParams = Field(default_factory=MechanismParams)
    scheduling: SchedulingParams = Field(default_factory=SchedulingParams)
    ledger: LedgerParams = Field(default_factory=LedgerParams)
    design: Design = Field(default_factory=Design, description="the market design: one stage per slot; [P] the paper's")
    carbon: CarbonParams = Field(default_factory=CarbonParams)
    days: int = Field(
        1, ge=1, le=MAX_DAYS, description="operating days, at most 366; days after the first draw fresh actuals; [A]"
    )
    network: DistributionNetwork | None = Field(
        None, description="the distribution network (docs/network.md); none: no network, as in the paper; [A]"
    )
    shared_storage: SharedStorageSpec | None = Field(
        None, description="a shared storage station (docs/bargaining.md); none: no station, as in the paper; [A]")

    @field_validator("network")
    @classmethod
    def _every_dno_at_a_bus(cls, network: DistributionNetwork | None, info: ValidationInfo) -> DistributionNetwork | None:
        if network is not None and "dnos" in info.data:
            network.check_participants([d.name for d in info.data["dnos"]])
        return network

    @model_serializer(mode="wrap")
    def _without_unset_network(self, handler: Any) -> dict[str, Any]:
        data = handler(self)  # no network block is written as none at all, so older files stay as they are
        for block in ("network", "shared_storage"):
            if isinstance(data, dict) and block in data and data[block] is None:
                del data[block]
        return data

    @field_validator("name")
    @classmethod
    def _folder_name(cls, name: str) -> str:
        if name in {".", ".."} or re.search(r"[/\\]", name) or not name.isprintable():
            raise ValueError(f"{name!r} cannot name an output folder (no / or \\, not . or ..)")
        return name

    @model_validator(mode="after")
    def _unique_names(self) -> ScenarioBase:
        _require_unique([d.name for d in self.dnos], "DNO")
        owners = [o.name for d in self.dnos for o in d.storage_owners]
        if self.shared_storage is not None:
            owners.append(self.shared_storage.operator)
        _require_unique(owners, "storage owner")
        hosts = {d.name for d in self.dnos} | {"main_grid"}
        for host in self.ledger.validator_hosts:
            if host not in hosts:
                raise ValueError(f"validator host {host!r} is neither a DNO nor main_grid")
        for name in self.ledger.credit.participants:
            if name not in hosts - {"main_grid"}:
                raise ValueError(f"ledger.credit.participants: {name!r} is not a DNO")
        for slot, registry in SLOTS.items():
            chosen = registry[getattr(self.design, slot).stage]
            if self.network is not None and not chosen.supports_network:
                raise ValueError(f"design.{slot}.stage: {chosen.name} does not trade on a distribution network "
                                 "(this scenario has a network: block)")
        stage = REAL_TIME[self.design.real_time.stage]
        strategy = stage.strategy(stage_params(self.design.real_time, self.mechanism))
        for name in getattr(strategy.params, "attitudes", {}) if strategy is not None else ():
            if name not in hosts - {"main_grid"}:
                raise ValueError(f"design.real_time.strategy.attitudes: {name!r} is not a DNO")
        return self


class Scenario(ScenarioBase):
    """One simulated operating day: DNOs with profiles, the main grid's tariff and the rules."""

    dnos: list[Dno] = Field(min_length=1)

    @model_validator(mode="after")
    def _replay_is_whole(self) -> Scenario:
        """Replayed storage actions are the whole plan: every DNO gives them, the intraday plan is
        the day's (oracle), and no coordination re-plans around them."""
        if self.scheduling.storage == "replayed":
            missing = [i for i, d in enumerate(self.dnos) if d.storage_actions is None]
            if missing:
                raise ValueError(f"dnos.{self.dnos[missing[0]].name}.storage_actions: scheduling.storage: replayed "
                                 "needs every DNO's day_ahead and intraday actions")
            if self.scheduling.intraday_mode != "oracle":
                raise ValueError("scheduling.intraday_mode: replayed storage actions need oracle (the intraday "
                                 "actions are given for the whole day)")
            if self.design.coordination.stage != "independent":
                raise ValueError("design.coordination.stage: replayed storage actions need independent (a "
                                 "coordination stage re-plans the storage)")
        elif any(d.storage_actions is not None for d in self.dnos):
            raise ValueError("scheduling.storage: DNOs give storage_actions; set it to replayed to use them")
        return self

    @model_validator(mode="after")
    def _heat_plans_alone(self) -> Scenario:
        """Heat devices are planned in each DNO's own MILP; the convex coordination stages plan a
        power-only day for every DNO, so they would ignore them."""
        if any(d.heat is not None for d in self.dnos) and self.design.coordination.stage != "independent":
            raise ValueError(f"design.coordination.stage: {self.design.coordination.stage} plans power only; DNOs "
                             "with heat devices need independent")
        return self


def _quarter_power(data: Any, power: str, energy: str, energy_default: float | None = None) -> Any:
    """A storage's raw fields with its power rating set to 0.25 x its energy where none is given
    ([A]: four hours to fill); an energy that is not a number is left for validation to name."""
    if not isinstance(data, dict) or data.get(power) is not None:
        return data
    value = data.get(energy, energy_default)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {**data, power: 0.25 * value}
    return data


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


MAX_NESTING = 64  # blocks inside blocks: a scenario needs fewer than 10


class _Refused(yaml.MarkedYAMLError):
    """Valid YAML a scenario may not use (e.g. a key given twice, which plain YAML lets the last
    one win without a word), refused on purpose at its line: not a syntax error."""


class _Checks(yaml.composer.Composer, yaml.constructor.SafeConstructor, yaml.resolver.Resolver):
    """Safe YAML that refuses duplicate keys, anchors and aliases and nesting deeper than
    MAX_NESTING, and reads 1e3 as a number (YAML 1.2), not a string, from the events of a parser
    (the loaders below). The composer (events to nodes) is always Python's, so every node passes
    `compose_node`'s checks.

    Aliases are refused outright rather than capping what they expand to: no scenario, sweep
    design or comparison file needs them, while a cap needs a size to pick and still lets a
    1 KB "billion laughs" file (or an alias inside its own anchor, a cycle) reach every walk of
    the data. Depth is bounded so nesting ends in one line, not in a RecursionError."""

    _depth = 0

    def __init__(self) -> None:
        yaml.composer.Composer.__init__(self)
        yaml.constructor.SafeConstructor.__init__(self)
        yaml.resolver.Resolver.__init__(self)

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or event.anchor is not None:
            raise _Refused(problem=f"YAML anchors and aliases (&{event.anchor}, *{event.anchor}) are not allowed: "
                           "write the value out", problem_mark=event.start_mark)
        if not isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            return super().compose_node(parent, index)
        if self._depth >= MAX_NESTING:
            raise _Refused(problem=f"nested deeper than {MAX_NESTING} levels", problem_mark=event.start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        first_line: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: {...}` may be overridden key by key
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                seen = key in first_line
            except TypeError:  # an unhashable key: the base class names it
                continue
            if seen:
                raise _Refused(problem=f"duplicate key {key!r} (first given on line {first_line[key] + 1})",
                               problem_mark=key_node.start_mark)
            first_line[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep)


_Checks.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


class _Loader(_Checks, yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser):
    """The checks on PyYAML's own parser, whose syntax errors name the character at fault."""

    def __init__(self, stream: str) -> None:
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        _Checks.__init__(self)


try:
    from yaml.cyaml import CParser
except ImportError:  # a PyYAML built without libyaml
    _FastLoader = _Loader
else:
    class _FastLoader(_Checks, CParser):  # type: ignore[no-redef]
        """The checks on libyaml's parser: five times faster on a scenario, terser on errors."""

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            _Checks.__init__(self)


def parse_yaml(text: str) -> Any:
    """YAML text as Python data; duplicate keys, aliases and deep nesting refused (raises yaml.YAMLError).
    Text libyaml refuses is read again by PyYAML's parser, whose error says more (or which reads it)."""
    try:
        return yaml.load(text, Loader=_FastLoader)  # noqa: S506 - safe constructors only
    except yaml.YAMLError:
        pass  # not chained to libyaml's terser error
    return yaml.load(text, Loader=_Loader)  # noqa: S506


def read_text(path: Path) -> str:
    """A file's text; unreadable, binary or non-UTF-8 files become one line naming the file."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read file ({exc.strerror})") from None
    if b"\0" in raw:
        raise ScenarioError(f"{path}: not a text file (it holds binary data)")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{path}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})") from None


def read_yaml(path: Path) -> dict[str, Any]:
    """A YAML mapping from a file; syntax errors and what the loader refuses become one line with the position."""
    text = read_text(path)
    try:
        data = parse_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        kind = "" if isinstance(exc, _Refused) else "YAML syntax error: "
        raise ScenarioError(f"{path}: {where}{kind}{problem}") from None
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: top level must be a mapping of scenario fields")
    return data


def load(name_or_path: str, overrides: list[str] | None = None) -> Scenario:
    """Read, override (`key.path=value` strings) and validate a scenario."""
    path = resolve(name_or_path)
    data = read_yaml(path)
    scenario = validate(data, source=str(path), base_dir=path.parent)
    if not overrides:
        return scenario
    for item in overrides:
        data = apply_override(data, item)
    return validate(data, source=f"{path} with --set {' --set '.join(overrides)}", base_dir=path.parent)


_NOT_FINITE = "must be a finite number (NaN and infinity are not allowed)"
_NUMBER_TYPES = {"int_type", "float_type", "int_parsing", "float_parsing", "int_from_float"}


def validate(data: dict[str, Any], source: str, schema: type[_M] | None = None, base_dir: Path | None = None) -> _M:
    """Validate a mapping (a Scenario unless `schema` says), naming `source` and the first bad field.

    NaN and infinity are refused wherever they sit, even inside free-form blocks such as
    `engine_params`, before any model sees them; whole numbers written as floats (2.0, 1e1)
    are read as ints where the schema wants one."""
    schema = schema or Scenario
    where = non_finite(data)
    if where is not None:
        raise ScenarioError(f"{source}: {_dotted(where, data)}: {_NOT_FINITE}")
    data = whole_numbers(schema, data)
    try:
        return schema.model_validate(data, context={"base_dir": base_dir})  # base_dir: network.file's folder
    except ValidationError as exc:
        raise ScenarioError(f"{source}: {describe_error(exc, data, schema)}") from None


def non_finite(value: Any, loc: tuple = ()) -> tuple | None:
    """Where the first NaN or infinity sits in parsed YAML (keys and list indices), or None."""
    if isinstance(value, float):
        return None if math.isfinite(value) else loc
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found = non_finite(item, (*loc, key))
        if found is not None:
            return found
    return None


def describe_error(exc: ValidationError, data: Any, schema: type[BaseModel] | None = None) -> str:
    """The first pydantic error as 'field.path: message' (DNO list items named by index and name);
    an unknown field gets the closest known name of its block when `schema` is given."""
    errors = exc.errors(include_url=False)
    first, instead = _misspelt_required(errors)
    field = _dotted(first["loc"], data)
    message = first["msg"].removeprefix("Value error, ")
    nested = (first.get("ctx") or {}).get("error")
    if isinstance(nested, StageFieldError):  # a stage's own parameter: name it in the path
        field = ".".join(p for p in (field, nested.path) if p)
        message = nested.message
    elif first["type"] == "extra_forbidden":
        known = _fields_at(schema, first["loc"]) if schema else []
        hint = f" (did you mean {instead!r}?)" if instead else did_you_mean(str(first["loc"][-1]), known)
        message = "unknown field" + hint
    elif first["type"] in {"finite_number"}:
        message = _NOT_FINITE
    elif (whole := not_whole(first)) is not None:
        message = whole
    elif first["type"] in _NUMBER_TYPES and isinstance(first.get("input"), bool):
        message = f"must be a number, not {str(first['input']).lower()}"
    elif first["type"] in _NUMBER_TYPES and isinstance(first.get("input"), str):
        message = f"must be a number, not the text {first['input']!r}"
    if not first["loc"] and re.match(r"^[\w.\[\]:]+: ", message):  # a whole-scenario check names its own field
        field, message = message.split(": ", 1)
    others = len(errors) - 1 - bool(instead)  # a misspelt field's own `Field required` is no other problem
    more = f" (and {others} more problem{'s' if others > 1 else ''})" if others else ""
    return f"{field}: {message}{more}"


def _misspelt_required(errors: list[Any]) -> tuple[Any, str | None]:
    """The error to report, and the required field a misspelt one stands for (or None).

    A required field under a wrong name is two errors in one block, the field missing and an
    unknown one: the unknown one is reported, naming what the user wrote, with the missing field
    (the closest, if several are) as the suggestion even when the names look nothing alike."""
    first = errors[0]
    if first["type"] != "missing":
        return first, None
    block = first["loc"][:-1]
    unknown = next((e for e in errors if e["type"] == "extra_forbidden" and e["loc"][:-1] == block), None)
    if unknown is None:
        return first, None
    missing = [str(e["loc"][-1]) for e in errors if e["type"] == "missing" and e["loc"][:-1] == block]
    return unknown, difflib.get_close_matches(str(unknown["loc"][-1]), missing, n=1, cutoff=0.0)[0]


def did_you_mean(name: str, known: Any) -> str:
    """' (did you mean 'x'?)' for the closest of `known` names, or ''."""
    close = difflib.get_close_matches(name, [str(k) for k in known], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _fields_at(schema: type[BaseModel], loc: tuple) -> list[str]:
    """The field names of the block that holds `loc`'s last key (list items keep their model)."""
    model: type[BaseModel] | None = schema
    for key in loc[:-1]:
        if isinstance(key, int) or model is None:
            continue
        field = model.model_fields.get(key)
        model = _model_in(field.annotation) if field else None
    return list(model.model_fields) if model else []


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside a field's type (itself, or in Optional, list, tuple or dict)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _dotted(loc: tuple, data: Any) -> str:
    parts: list[str] = []
    node = data
    for key in loc:
        if isinstance(key, str) and node is not None and not isinstance(node, dict):
            continue  # a union member's tag (e.g. `float` of `float | list[float]`), not a key
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
        value = parse_yaml(raw)
    except _Refused as exc:
        raise ScenarioError(f"--set {key}: {exc.problem}") from None
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or "not YAML"
        raise ScenarioError(f"--set {key}: cannot parse value {raw!r} ({problem})") from None
    parts = key.split(".")
    if len(parts) > MAX_NESTING:
        raise ScenarioError(f"--set {key[:40]}...: a key path of {len(parts)} parts is deeper than any field "
                            f"(at most {MAX_NESTING})")
    where = non_finite(value)
    if where is not None:  # named as a --set path would name it
        raise ScenarioError(f"--set {key}{''.join(f'.{k}' for k in where)}: {_NOT_FINITE}")
    data = copy.deepcopy(data)
    node: Any = data
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        where = ".".join(parts[: depth + 1])
        if isinstance(node, list):
            index = _list_index(node, part)
            if index is None:
                names = [i["name"] for i in node if isinstance(i, dict) and "name" in i]
                raise ScenarioError(f"--set {key}: no item {part!r} at {where}{did_you_mean(part, names)}")
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
