"""A storage owner: owns units inside one DNO, is dispatched by it, and is paid its revenue share."""

from __future__ import annotations

import math

import mesa
import numpy as np


class StorageOwner(mesa.Agent):
    """Holds the state of charge of its units; the DNO decides what they do."""

    def __init__(self, model: mesa.Model, name: str, dno: str, units: list) -> None:
        super().__init__(model)
        self.name = name
        self.dno = dno
        self.units = list(units)
        self.soc = np.array([u.soc_start for u in self.units], dtype=float)
        self.revenue_rmb = 0.0  # cumulative share of the DNO's storage trading revenue
        self.throughput_mwh = 0.0

    @property
    def energy_mwh(self) -> float:
        return float(math.fsum(u.energy_mwh for u in self.units))

    def dispatch(self, charge_mw: np.ndarray, discharge_mw: np.ndarray) -> None:
        """Carry out one hour's instruction (one value per unit; one-hour periods, MW = MWh)."""
        for k, u in enumerate(self.units):
            if u.energy_mwh <= 0:
                continue
            stored = u.charge_efficiency * charge_mw[k] - discharge_mw[k] / u.discharge_efficiency
            self.soc[k] += stored / u.energy_mwh
        self.throughput_mwh += float(np.sum(charge_mw) + np.sum(discharge_mw))

    def pay(self, amount_rmb: float) -> None:
        self.revenue_rmb += amount_rmb
