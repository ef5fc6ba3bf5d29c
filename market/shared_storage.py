"""A shared energy storage station (SES) that every participant charges and discharges through
(§B.1.2). Its state of energy couples them:

    E_t = E_(t-1) + eta_ch * sum_i charge_i,t - sum_i discharge_i,t / eta_dis,
    soc_min * E_max <= E_t <= soc_max * E_max,  sum_i charge_i,t <= P,  sum_i discharge_i,t <= P,

and, like every storage unit here, it ends the day where it started. `station_problem` checks a
schedule (the agreement contract calls it); `add_station` writes the constraints into a model.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from ortools.math_opt.python import mathopt

HOURS = 24


@dataclass(frozen=True)
class SharedStorage:
    """The station's ratings, efficiencies, limits, usage fee and its operator's name."""

    operator: str
    energy_mwh: float
    power_mw: float
    charge_efficiency: float = 0.95
    discharge_efficiency: float = 0.95
    soc_min: float = 0.1
    soc_max: float = 0.9
    soc_start: float = 0.5
    fee_per_mwh: float = 0.0  # paid by a participant on what it charges and discharges

    def energy_path(self, charge_mw: np.ndarray, discharge_mw: np.ndarray) -> np.ndarray:
        """End-of-hour energy (MWh) under total hourly charge and discharge (MW)."""
        flow = self.charge_efficiency * np.asarray(charge_mw) - np.asarray(discharge_mw) / self.discharge_efficiency
        return self.soc_start * self.energy_mwh + np.cumsum(flow)


def station_problem(ses: SharedStorage, charge_mw: Mapping[str, Sequence[float]],
                    discharge_mw: Mapping[str, Sequence[float]], tolerance: float = 1e-6) -> str | None:
    """Why the participants' schedules do not fit the station, or None."""
    for name, schedule in (*charge_mw.items(), *discharge_mw.items()):
        values = np.asarray(schedule, dtype=float)
        if values.shape != (HOURS,) or not np.all(np.isfinite(values)) or np.any(values < -tolerance):
            return f"{name}: the station schedule needs {HOURS} finite non-negative values"
    total_in = np.sum([np.asarray(v, float) for v in charge_mw.values()], axis=0) if charge_mw else np.zeros(HOURS)
    total_out = np.sum([np.asarray(v, float) for v in discharge_mw.values()], axis=0) if discharge_mw else np.zeros(HOURS)
    for label, total in (("charging", total_in), ("discharging", total_out)):
        over = np.flatnonzero(total > ses.power_mw + tolerance)
        if over.size:
            return f"hour {over[0] + 1}: {label} {total[over[0]]:.6f} MW exceeds the station's {ses.power_mw:g} MW"
    energy = ses.energy_path(total_in, total_out)
    low, high = ses.soc_min * ses.energy_mwh, ses.soc_max * ses.energy_mwh
    bad = np.flatnonzero((energy < low - tolerance) | (energy > high + tolerance))
    if bad.size:
        t = bad[0]
        return f"hour {t + 1}: the station would hold {energy[t]:.6f} MWh, outside [{low:g}, {high:g}]"
    if not math.isclose(energy[-1], ses.soc_start * ses.energy_mwh, abs_tol=tolerance * max(1.0, ses.energy_mwh)):
        return f"the station ends the day at {energy[-1]:.6f} MWh, not where it started"
    return None


def add_station(m: mathopt.Model, ses: SharedStorage, charge: Sequence[mathopt.LinearTypes],
                discharge: Sequence[mathopt.LinearTypes]) -> list[mathopt.Variable]:
    """The station's constraints on hourly total charge and discharge expressions; its energy."""
    energy = [m.add_variable(lb=ses.soc_min * ses.energy_mwh, ub=ses.soc_max * ses.energy_mwh, name=f"ses.e[{t}]")
              for t in range(HOURS)]
    prev: mathopt.LinearTypes = ses.soc_start * ses.energy_mwh
    for t in range(HOURS):
        m.add_linear_constraint(charge[t] <= ses.power_mw)
        m.add_linear_constraint(discharge[t] <= ses.power_mw)
        m.add_linear_constraint(
            energy[t] == prev + ses.charge_efficiency * charge[t] - discharge[t] * (1.0 / ses.discharge_efficiency))
        prev = energy[t]
    m.add_linear_constraint(energy[-1] == ses.soc_start * ses.energy_mwh)
    return energy
