"""What the clearing contract knows of the network: the feeder, every participant's bus, the
use-of-system rules, the congestion mode and the base case (docs/network.md).

It travels in the genesis document as `to_doc()` (ints, floats, strings) and every validator
rebuilds it with `from_doc`, so distances, charges and flows come from the same numbers everywhere.
The base case is the feeder's own loads as per-bus injections: the day-ahead plans are taken as
already served by it, and the market's trades flow on top (docs/network.md, "Base case").
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Mapping

import numpy as np

from market.network.congestion import Lines
from market.network.feeder import Feeder, FeederError
from market.network.uos import SELLER_SHARE, uos_rate

METRICS = ("resistance", "ptdf")
CONGESTION_MODES = ("exact", "greedy", "off")


@dataclass(frozen=True)
class MarketNetwork:
    """The feeder and the network rules of a market, as the contract reads them."""

    feeder: Feeder
    buses: tuple[tuple[str, int], ...]  # (participant, pandapower bus), sorted by participant
    base_injection_mw: tuple[float, ...]  # per feeder bus position, + into the network
    metric: str = "resistance"
    mean_charge_per_mwh: float = 30.0
    split: str = "equal"
    congestion: str = "greedy"
    base_injection_mvar: tuple[float, ...] = ()  # reactive, for LinDistFlow; none given: 0 at every bus

    def __post_init__(self) -> None:
        object.__setattr__(self, "buses", tuple(sorted((str(n), int(b)) for n, b in dict(self.buses).items())))
        object.__setattr__(self, "base_injection_mw", tuple(float(v) for v in self.base_injection_mw))
        q = self.base_injection_mvar or (0.0,) * self.feeder.n_buses
        object.__setattr__(self, "base_injection_mvar", tuple(float(v) for v in q))
        for name in ("base_injection_mw", "base_injection_mvar"):
            if len(getattr(self, name)) != self.feeder.n_buses:
                raise FeederError(f"{len(getattr(self, name))} values of {name} for {self.feeder.n_buses} buses")
        for name, allowed in (("metric", METRICS), ("split", tuple(SELLER_SHARE)), ("congestion", CONGESTION_MODES)):
            if getattr(self, name) not in allowed:
                raise FeederError(f"network {name} {getattr(self, name)!r} is not one of {', '.join(allowed)}")
        for _, bus in self.buses:
            self.feeder.position(bus)  # every participant on the feeder

    def to_doc(self) -> dict[str, Any]:
        return {"feeder": self.feeder.to_doc(), "buses": {n: b for n, b in self.buses},
                "base_injection_mw": list(self.base_injection_mw), "metric": self.metric,
                "mean_charge_per_mwh": float(self.mean_charge_per_mwh), "split": self.split,
                "congestion": self.congestion, "base_injection_mvar": list(self.base_injection_mvar)}

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> MarketNetwork:
        return cls(Feeder.from_doc(doc["feeder"]), tuple(dict(doc["buses"]).items()),
                   tuple(doc["base_injection_mw"]), doc["metric"], doc["mean_charge_per_mwh"],
                   doc["split"], doc["congestion"], tuple(doc.get("base_injection_mvar", ())))

    # --- where participants are and what a trade between them pays ------------------------------

    @cached_property
    def _bus_of(self) -> dict[str, int]:
        return dict(self.buses)

    def bus(self, participant: str) -> int:
        """The participant's pandapower bus."""
        try:
            return self._bus_of[participant]
        except KeyError:
            raise FeederError(f"participant {participant!r} has no bus on the network") from None

    def position(self, participant: str) -> int:
        """Position of the participant's bus in the feeder's vectors."""
        return self.feeder.position(self.bus(participant))

    @cached_property
    def _distance(self) -> np.ndarray:
        if self.metric == "resistance":
            return self.feeder.resistance_distance()
        return self.feeder.ptdf_distance()

    @cached_property
    def rate(self) -> float:
        """c of u = c d, calibrated over ordered pairs of distinct participants (market.network.uos)."""
        positions = [self.feeder.position(bus) for _, bus in self.buses]
        return uos_rate(self._distance, positions, self.mean_charge_per_mwh)

    def distance(self, seller: str, buyer: str) -> float:
        """Electrical distance between two participants' buses (ohm)."""
        return float(self._distance[self.position(seller), self.position(buyer)])

    def uos_per_mwh(self, seller: str, buyer: str) -> float:
        """The use-of-system charge of a trade from `seller` to `buyer`, RMB/MWh."""
        return 0.0 if seller == buyer else self.rate * self.distance(seller, buyer)

    @property
    def seller_share(self) -> float:
        """Share of the charge the seller bears; the buyer bears the rest."""
        return SELLER_SHARE[self.split]

    # --- flows ------------------------------------------------------------------------------------

    @cached_property
    def base_flow_mw(self) -> np.ndarray:
        """Linear line flows of the base case (MW, from_bus -> to_bus)."""
        return self.feeder.flows(np.asarray(self.base_injection_mw))

    def lines(self, flow_mw: np.ndarray | None = None) -> Lines:
        """The linear flow model with `flow_mw` (default: the base case's) as the flows before trading."""
        base = self.base_flow_mw if flow_mw is None else np.asarray(flow_mw, dtype=float)
        return Lines(self.feeder.ptdf(), base, np.asarray(self.feeder.limit_mw, dtype=float))

    def out_of_band(self, trade_injection_mw: np.ndarray) -> tuple[int, ...]:
        """Bus positions whose LinDistFlow voltage, with the trades' injections on the base case, is
        outside the band; () on a meshed feeder, where LinDistFlow does not apply."""
        if not self.feeder.is_radial:
            return ()
        v = self.feeder.lindistflow_voltages(np.asarray(self.base_injection_mw) + trade_injection_mw,
                                             np.asarray(self.base_injection_mvar))
        return tuple(np.flatnonzero((v < self.feeder.v_min_pu - 1e-9) | (v > self.feeder.v_max_pu + 1e-9)).tolist())

    def injections(self, by_participant: Mapping[str, float]) -> np.ndarray:
        """Per-bus injections (MW, + into the network) of the participants, without the base case."""
        return self.feeder.bus_vector({self.bus(name): mw for name, mw in sorted(by_participant.items())})
