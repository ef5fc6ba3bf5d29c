"""The stepwise ("ladder") carbon trading cost (docs/rules.md §B.2.3).

A participant's net emission E (actual less its free quota, t) is priced by a ladder: the first
interval of length l costs lambda per t, and each further interval m costs lambda (1 + m alpha)
per t; a negative net emission earns lambda per t. The cost is continuous, convex and piecewise
linear in E (slopes lambda, lambda (1 + alpha), lambda (1 + 2 alpha), ... never fall), so a MILP
takes it through epigraph constraints, one per interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def _check(price_per_t: float, step_t: float, growth: float) -> None:
    for name, value in (("price_per_t", price_per_t), ("step_t", step_t), ("growth", growth)):
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value!r}")
    if price_per_t < 0 or growth < 0:
        raise ValueError("price_per_t and growth must be non-negative (the ladder must be convex)")
    if step_t <= 0:
        raise ValueError(f"step_t must be positive, got {step_t!r}")


def ladder_cost(net_emission_t: float, price_per_t: float, step_t: float, growth: float) -> float:
    """Carbon cost (RMB; negative: revenue) of a net emission of `net_emission_t` t."""
    _check(price_per_t, step_t, growth)
    if not math.isfinite(net_emission_t):
        raise ValueError(f"net_emission_t must be finite, got {net_emission_t!r}")
    if net_emission_t <= step_t:
        return price_per_t * net_emission_t  # the first interval, and revenue below zero
    m = math.floor(net_emission_t / step_t)  # E lies in (m l, (m + 1) l], m >= 1 (at a boundary: the next)
    full = step_t * (m + growth * m * (m - 1) / 2)  # the m whole intervals below: l sum (1 + k alpha)
    return price_per_t * (full + (1.0 + m * growth) * (net_emission_t - m * step_t))


def ladder_pieces(price_per_t: float, step_t: float, growth: float, intervals: int) -> list[tuple[float, float]]:
    """(slope, intercept) of each linear piece, so that the cost is max over pieces of
    slope * E + intercept on E <= intervals * step_t and beyond (the last piece continues): the
    epigraph a MILP writes as cost >= slope * E + intercept for every piece."""
    _check(price_per_t, step_t, growth)
    if intervals < 1:
        raise ValueError("intervals must be at least 1")
    pieces = []
    for m in range(intervals):
        slope, at = price_per_t * (1.0 + m * growth), m * step_t  # piece m starts at m l
        pieces.append((slope, ladder_cost(at, price_per_t, step_t, growth) - slope * at))
    return pieces


@dataclass(frozen=True)
class CarbonLadder:
    """A participant's carbon price: the ladder over its day's net emission, which is what it
    imports from the grid times (emission factor - free quota per MWh, the benchmark method)."""

    emission_t_per_mwh: float  # what a MWh from the grid emits, t/MWh
    quota_t_per_mwh: float  # the free quota a MWh bought earns, t/MWh
    price_per_t: float  # RMB/t on the first interval
    step_t: float  # the interval length, t per participant and day
    growth: float  # each interval's slope grows by this share of the price

    def net_emission_t(self, bought_mwh: float) -> float:
        return (self.emission_t_per_mwh - self.quota_t_per_mwh) * bought_mwh

    def cost(self, bought_mwh: float) -> float:
        """The day's carbon cost (RMB) of buying `bought_mwh` from the grid."""
        return ladder_cost(self.net_emission_t(bought_mwh), self.price_per_t, self.step_t, self.growth)

    def pieces(self, most_bought_mwh: float) -> list[tuple[float, float]]:
        """The ladder's pieces over every net emission a day with at most `most_bought_mwh` reaches."""
        top = max(self.net_emission_t(most_bought_mwh), 0.0)
        return ladder_pieces(self.price_per_t, self.step_t, self.growth, int(top // self.step_t) + 2)
