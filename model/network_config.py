"""The scenario's optional `network:` block: a pandapower feeder, participants' buses and the rules
of use-of-system charges, line limits and congestion management (docs/network.md).

Validating the block loads the net and builds its `Feeder`, so every mistake (an unknown case, a
file that is not a net, a bus that is not on the feeder, a net without a slack) is reported while
the scenario is read, as one line naming the field. The feeder is kept on the block (`.feeder`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationInfo, field_validator, model_validator

from market.design import StageFieldError
from market.limits import MAX_MW, MAX_PRICE_PER_MWH
from market.network.feeder import Feeder, FeederError
from market.network.market_network import MarketNetwork

# as the scenario's own blocks: unknown keys, NaN and `true` for a number refused; immutable
_STRICT = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)
MAX_FLOW_MULTIPLE = 1000.0  # a limit a thousand times the base flow already never binds


class LineLimitRule(BaseModel):
    """One rule for every in-service line's flow limit, MW. Required: nets often carry no usable
    ratings (case33bw's max_i_ka is 99999 kA on every line)."""

    model_config = _STRICT

    limit_mw: float | None = Field(
        None, gt=0, le=MAX_MW, description="the same limit on every line, MW, at most 100 000; [A]"
    )
    base_flow_multiple: float | None = Field(
        None, gt=0, le=MAX_FLOW_MULTIPLE,
        description="limit = this x |base-case AC flow| of the line (the case's own loads), at most 1000; [A]",
    )
    floor_mw: float = Field(
        0.1, ge=0, le=MAX_MW,
        description="smallest limit under base_flow_multiple, MW, at most 100 000 (lightly loaded far ends); [A]",
    )

    @model_validator(mode="after")
    def _one_rule(self) -> LineLimitRule:
        if (self.limit_mw is None) == (self.base_flow_multiple is None):
            raise StageFieldError("", "give exactly one rule: limit_mw or base_flow_multiple")
        return self


class UosParams(BaseModel):
    """Use-of-system charge u = c * d per MWh by electrical distance (§B.3.3)."""

    model_config = _STRICT

    metric: Literal["resistance", "ptdf"] = Field(
        "resistance", description="resistance: Klein resistance distance; ptdf: resistance-weighted PTDF distance; [L]"
    )
    mean_charge_per_mwh: float = Field(
        30.0, ge=0, le=MAX_PRICE_PER_MWH,
        description="mean charge over all pairs of DNOs, RMB/MWh, at most 100 000; c is calibrated to it; [A]",
    )
    split: Literal["equal", "seller"] = Field("equal", description="who is billed u: half each at the midpoint price, or the seller at the midpoint + u/2 (each side bears half either way); [A]")


class DistributionNetwork(BaseModel):
    """A feeder (built-in case or pandapower JSON file), DNOs at its buses, and the network rules."""

    model_config = _STRICT

    case: str | None = Field(None, description="built-in net: case33bw (IEEE 33-bus, Baran & Wu 1989)")
    file: str | None = Field(None, description="pandapower JSON net, relative to the scenario file")
    buses: dict[str, int] = Field(description="DNO name -> pandapower bus index")
    line_limits: LineLimitRule | None = Field(None, description="line-limit rule (required); [A]")
    voltage_band: list[float] = Field(
        [0.95, 1.05], min_length=2, max_length=2, description="[lower, upper] allowed bus voltage, pu; [L]"
    )
    uos: UosParams = Field(default_factory=UosParams)
    congestion: Literal["exact", "greedy", "off"] = Field(
        "greedy", description="exact: clearing LP with line limits; greedy: on-chain heuristic; off: no check; [R]"
    )
    _feeder: Feeder | None = PrivateAttr(None)
    _market_network: MarketNetwork | None = PrivateAttr(None)
    _path: Path | None = PrivateAttr(None)

    @field_validator("voltage_band")
    @classmethod
    def _band(cls, band: list[float]) -> list[float]:
        low, high = band
        if not 0 < low < high <= 2:
            raise ValueError(f"needs 0 < lower < upper <= 2 pu, got [{low}, {high}]")
        return band

    @model_validator(mode="after")
    def _build_feeder(self, info: ValidationInfo) -> DistributionNetwork:
        if (self.case is None) == (self.file is None):
            raise StageFieldError("case", "give either case (a built-in net) or file (a pandapower JSON net)")
        if self.line_limits is None:
            raise StageFieldError(
                "line_limits", "required: give limit_mw or base_flow_multiple (nets often carry no line ratings)"
            )
        from model import feeder as pandapower_feeder  # pandapower: only for scenarios with a network

        where = "case" if self.case is not None else "file"
        if self.file is not None:
            base_dir = (info.context or {}).get("base_dir")
            path = Path(self.file)
            self._path = path if path.is_absolute() or base_dir is None else Path(base_dir) / path
        try:
            net = pandapower_feeder.load_net(self.case, self._path)
            rule = self.line_limits
            self._feeder = pandapower_feeder.feeder_of(
                net, rule.limit_mw, rule.base_flow_multiple, rule.floor_mw, (self.voltage_band[0], self.voltage_band[1])
            )
            base_p, base_q = pandapower_feeder.base_injection(net, self._feeder)
        except FeederError as exc:
            raise StageFieldError(where, str(exc)) from None
        for dno, bus in self.buses.items():
            if bus not in self._feeder.buses:
                buses = self._feeder.buses
                raise StageFieldError(
                    f"buses.{dno}", f"bus {bus} is not an energised bus of {self.source} (buses {buses[0]}..{buses[-1]})"
                )
        if self.uos.mean_charge_per_mwh > 0 and len(self.buses) > 1 and len(set(self.buses.values())) == 1:
            raise StageFieldError("buses", "all DNOs sit at one bus, so no use-of-system charge can be calibrated")
        self._market_network = MarketNetwork(self._feeder, tuple(self.buses.items()), tuple(base_p.tolist()),
                                             self.uos.metric, self.uos.mean_charge_per_mwh, self.uos.split,
                                             self.congestion, tuple(base_q.tolist()))
        return self

    @property
    def source(self) -> str:
        return f"case {self.case}" if self.case is not None else f"net {self.file}"

    @property
    def feeder(self) -> Feeder:
        """The feeder built when the block was validated."""
        assert self._feeder is not None
        return self._feeder

    @property
    def market_network(self) -> MarketNetwork:
        """What the clearing contract reads: the feeder, buses, charge and congestion rules."""
        assert self._market_network is not None
        return self._market_network

    @property
    def path(self) -> Path | None:
        """The JSON file resolved against the scenario's folder (None for a built-in case)."""
        return self._path

    def check_participants(self, names: list[str]) -> None:
        """Every DNO has a bus and every bus entry names a DNO."""
        for name in names:
            if name not in self.buses:
                raise StageFieldError("buses", f"DNO {name!r} has no bus")
        for name in self.buses:
            if name not in names:
                raise StageFieldError(f"buses.{name}", "not a DNO of the scenario")
