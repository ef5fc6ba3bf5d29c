"""The distribution system operator (DSO): owns the feeder, collects use-of-system charges and
records each hour's physical truth (docs/network.md). Present only when a scenario has a network."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import mesa
import numpy as np


class NetworkOperator(mesa.Agent):
    """Collects the UoS charges the clearing books and runs the AC power flow after every hour.

    `power_flow` maps per-bus injections (MW, + into the network, participants only) to an AC
    result with `converged`, `flow_mw`, `loading_pct`, `v_pu` and `losses_mw` (model.feeder.AcFlow);
    `injections` maps {participant: MW} to that vector. Both come from the model, which owns
    pandapower, so this agent stays a state holder.
    """

    name = "dso"

    def __init__(self, model: mesa.Model, power_flow: Callable[[np.ndarray], Any],
                 injections: Callable[[Mapping[str, float]], np.ndarray]) -> None:
        super().__init__(model)
        self._power_flow = power_flow
        self._injections = injections
        self.uos_rmb = 0.0  # use-of-system charges collected so far
        self.hours: dict[tuple[int, int], tuple[np.ndarray, Any]] = {}  # (day, hour) -> (injection, AC flow)
        self.worst_loading_pct = float("nan")  # of the hour just stepped
        self.min_v_pu = float("nan")
        self.losses_mw = float("nan")

    def collect(self, amount_rmb: float) -> None:
        """Book the UoS charges of one cleared hour."""
        self.uos_rmb += amount_rmb

    def observe(self, day: int, hour: int, by_participant: Mapping[str, float]) -> None:
        """Run the AC power flow of the hour's net injections and keep it for the outputs."""
        injection = self._injections(by_participant)
        flow = self._power_flow(injection)
        self.hours[(day, hour)] = (injection, flow)
        self.worst_loading_pct = float(np.max(flow.loading_pct)) if flow.converged else float("nan")
        self.min_v_pu = float(np.min(flow.v_pu)) if flow.converged else float("nan")
        self.losses_mw = float(flow.losses_mw)
