"""Who pays what around a P2P trade (§A.8-A.9, payer options of §A.13.5).

Each option is a table entry rather than a branch, so adding a payer rule is one line.
"""

from __future__ import annotations

import math

from collections.abc import Callable, Mapping

# Service fee: the share of f_s per traded MWh paid by (seller, buyer).
FEE_SHARES: dict[str, tuple[float, float]] = {
    "split": (0.5, 0.5),
    "buyer": (0.0, 1.0),
    "seller": (1.0, 0.0),
    "both": (1.0, 1.0),
}

# Scheduling-fee base from (gross fees, compensation the platform paid), RMB.
SCHED_FEE_BASES: dict[str, Callable[[float, float], float]] = {
    "gross_fees": lambda fees_rmb, platform_compensation_rmb: fees_rmb,
    "net_of_compensation": lambda fees_rmb, platform_compensation_rmb: fees_rmb
    - platform_compensation_rmb,
}

# Weight of a DNO in the scheduling-fee split, from its daily P2P volume (MWh).
SCHED_FEE_WEIGHTS: dict[str, Callable[[float], float]] = {
    "pro_rata": lambda volume_mwh: volume_mwh,
    "equal": lambda volume_mwh: 1.0,
}

# Share of the day's valley compensation funded by the DNOs (the platform funds the rest).
COMP_DNO_SHARES: dict[str, float] = {"platform": 0.0, "pro_rata_dnos": 1.0}


def pro_rata(total_rmb: float, weights: Mapping[str, float]) -> dict[str, float]:
    """Split `total_rmb` in proportion to `weights`; nothing to split if all weights are 0."""
    weight_sum = math.fsum(weights.values())
    if weight_sum <= 0:
        return {name: 0.0 for name in weights}
    return {name: total_rmb * w / weight_sum for name, w in weights.items()}


def scheduling_fee(
    fees_rmb: float, platform_compensation_rmb: float, share: float, base: str
) -> float:
    """F_sch = sigma * base (§A.9), floored at 0: a loss-making platform pays no share of revenue."""
    return share * max(0.0, SCHED_FEE_BASES[base](fees_rmb, platform_compensation_rmb))
