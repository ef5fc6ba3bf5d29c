"""DAF-IDO storage-action deviation: a DNO's supply or demand for an hour (§A.3).

Storage actions are signed with positive = charging, negative = discharging. Two rules give the
quantity Q (Q > 0 makes the DNO a buyer of Q, Q < 0 a seller of -Q):

- `magnitude` (the paper's, [R] §A.3.2): Q = |P_ID| - |P_DA|, more (less) use of storage than
  planned is storage to buy (to sell). It reproduces all eight role labels of the paper, but a
  reversal of equal size (-9 -> +9 MW) gives Q = 0: nothing is traded.
- `signed_gap` ([A]): Q = P_ID - P_DA, the energy the change takes (+) or gives (-), so that
  reversal buys 18 MWh.

The case (1..8) names the two directions and whether the intraday action is the larger, as in the
paper's table; a phase that is idle counts as an action of zero magnitude in the other phase's
direction, so (idle, charge) is case 1 and (charge, idle) case 2. Under `magnitude` the case's
role is Q's; under `signed_gap` the role follows Q's sign, which differs from the paper's label in
cases 3, 4, 5 and 7 (discharging less than planned, for one, takes energy: a buyer).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

Role = Literal["buy", "sell"]

DEFAULT_TOLERANCE_MWH = 1e-6  # [A] §A.3.2 epsilon_Q
DEVIATION_RULES = ("magnitude", "signed_gap")

# (day-ahead direction, intraday direction, intraday magnitude larger?) -> (case, role)
# Directions: +1 charge, -1 discharge. The table is §A.3.3 verbatim.
_CASES: dict[tuple[int, int, bool], tuple[int, Role]] = {
    (+1, +1, True): (1, "buy"),
    (+1, +1, False): (2, "sell"),
    (-1, -1, False): (3, "sell"),
    (-1, -1, True): (4, "buy"),
    (-1, +1, False): (5, "sell"),
    (-1, +1, True): (6, "buy"),
    (+1, -1, True): (7, "buy"),
    (+1, -1, False): (8, "sell"),
}


@dataclass(frozen=True)
class Deviation:
    """One hour's deviation: the case of §A.3.3 (0 when idle or equal), role and quantity."""

    case: int
    role: Role | None
    quantity_mwh: float

    @property
    def supply_mwh(self) -> float:
        return self.quantity_mwh if self.role == "sell" else 0.0

    @property
    def demand_mwh(self) -> float:
        return self.quantity_mwh if self.role == "buy" else 0.0

    @property
    def signed_mwh(self) -> float:
        """Q of §A.3.2: positive demand, negative supply."""
        return self.demand_mwh - self.supply_mwh


def _direction(action_mw: float, tolerance: float) -> int:
    if abs(action_mw) < tolerance:
        return 0
    return 1 if action_mw > 0 else -1


def classify(
    day_ahead_mw: float, intraday_mw: float, tolerance_mwh: float = DEFAULT_TOLERANCE_MWH, rule: str = "magnitude"
) -> Deviation:
    """Classify one hour's day-ahead vs intraday storage action (one-hour periods: MW = MWh)."""
    q = _quantity(day_ahead_mw, intraday_mw, rule)
    if abs(q) < tolerance_mwh:
        return Deviation(0, None, 0.0)
    da_dir = _direction(day_ahead_mw, tolerance_mwh)
    id_dir = _direction(intraday_mw, tolerance_mwh)
    # An idle phase takes the other phase's direction (at least one is active because |Q| > tol).
    da_dir = da_dir or id_dir
    id_dir = id_dir or da_dir
    case, role = _CASES[(da_dir, id_dir, abs(intraday_mw) > abs(day_ahead_mw))]
    return Deviation(case, role if rule == "magnitude" else "buy" if q > 0 else "sell", float(abs(q)))


def _quantity(day_ahead_mw, intraday_mw, rule: str):
    """Q under `rule` (floats or arrays): + demand, - supply."""
    if rule == "magnitude":
        return abs(intraday_mw) - abs(day_ahead_mw)
    if rule == "signed_gap":
        return intraday_mw - day_ahead_mw
    raise ValueError(f"unknown deviation rule {rule!r}; known: {', '.join(DEVIATION_RULES)}")


@dataclass(frozen=True)
class DeviationDay:
    """Deviations of a whole day as arrays (index 0 is hour 1)."""

    case: np.ndarray
    signed_mwh: np.ndarray

    @property
    def supply_mwh(self) -> np.ndarray:
        return np.maximum(-self.signed_mwh, 0.0)

    @property
    def demand_mwh(self) -> np.ndarray:
        return np.maximum(self.signed_mwh, 0.0)

    @property
    def role(self) -> list[Role | None]:
        return ["buy" if q > 0 else "sell" if q < 0 else None for q in self.signed_mwh]


def classify_day(
    day_ahead_mw: np.ndarray,
    intraday_mw: np.ndarray,
    tolerance_mwh: float = DEFAULT_TOLERANCE_MWH,
    rule: str = "magnitude",
) -> DeviationDay:
    """Vectorised `classify` over aligned hourly arrays."""
    da = np.asarray(day_ahead_mw, dtype=float)
    ida = np.asarray(intraday_mw, dtype=float)
    if da.shape != ida.shape:
        raise ValueError(f"day-ahead and intraday shapes differ: {da.shape} vs {ida.shape}")
    q = _quantity(da, ida, rule)
    active = np.abs(q) >= tolerance_mwh
    q = np.where(active, q, 0.0)
    da_dir = np.where(np.abs(da) < tolerance_mwh, 0, np.sign(da)).astype(int)
    id_dir = np.where(np.abs(ida) < tolerance_mwh, 0, np.sign(ida)).astype(int)
    da_dir, id_dir = np.where(da_dir == 0, id_dir, da_dir), np.where(id_dir == 0, da_dir, id_dir)
    # Case lookup table indexed by (da_dir + 1, id_dir + 1, intraday larger).
    table = np.zeros((3, 3, 2), dtype=int)
    for (d, i, larger), (case, _) in _CASES.items():
        table[d + 1, i + 1, int(larger)] = case
    case = np.where(active, table[da_dir + 1, id_dir + 1, (np.abs(ida) > np.abs(da)).astype(int)], 0)
    return DeviationDay(case=case.astype(int), signed_mwh=q)
