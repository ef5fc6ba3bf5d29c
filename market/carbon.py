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
    """A participant's carbon price: the ladder over its day's net emission (§B.2.3), actual
    emission less free quota by the benchmark method. Grid purchases B emit a_e B and earn
    chi_e B; gas-fired output (CHP power P, CHP heat H_c = phi P, gas-boiler heat H_g) emits
    a_g (P + H_c + H_g) and earns chi_h (phi P + H_c + H_g). All quantities are the day's, MWh."""

    emission_t_per_mwh: float  # a_e: what a MWh from the grid emits, t/MWh
    quota_t_per_mwh: float  # chi_e: the free quota a MWh bought earns, t/MWh
    price_per_t: float  # RMB/t on the first interval
    step_t: float  # the interval length, t per participant and day
    growth: float  # each interval's slope grows by this share of the price
    gas_emission_t_per_mwh: float = 0.234  # a_g: per MWh of gas-fired output (power or heat), t/MWh
    heat_quota_t_per_mwh: float = 0.367  # chi_h: the free quota per MWh of gas-fired heat, t/MWh

    def emission_t(self, bought_mwh: float, chp_mwh: float = 0.0, chp_heat_mwh: float = 0.0,
                   boiler_heat_mwh: float = 0.0) -> float:
        """Actual emission E^a, t."""
        return self.emission_t_per_mwh * bought_mwh + self.gas_emission_t_per_mwh * (
            chp_mwh + chp_heat_mwh + boiler_heat_mwh)

    def coefficients(self, heat_to_power: float = 0.0) -> tuple[float, float, float]:
        """Net emission per MWh of grid purchase, of CHP power (its heat counted apart) and of
        gas-fired heat (CHP's or a boiler's), t/MWh: what the MILP's epigraph multiplies."""
        return (self.emission_t_per_mwh - self.quota_t_per_mwh,
                self.gas_emission_t_per_mwh - self.heat_quota_t_per_mwh * heat_to_power,
                self.gas_emission_t_per_mwh - self.heat_quota_t_per_mwh)

    def net_emission_t(self, bought_mwh: float, chp_mwh: float = 0.0, chp_heat_mwh: float = 0.0,
                       boiler_heat_mwh: float = 0.0, heat_to_power: float = 0.0) -> float:
        """E^n = E^a - E^q, t (negative: the quota exceeds the emission)."""
        buy, chp, heat = self.coefficients(heat_to_power)
        return buy * bought_mwh + chp * chp_mwh + heat * (chp_heat_mwh + boiler_heat_mwh)

    def cost(self, bought_mwh: float, chp_mwh: float = 0.0, chp_heat_mwh: float = 0.0, boiler_heat_mwh: float = 0.0,
             heat_to_power: float = 0.0) -> float:
        """The day's carbon cost (RMB) of these purchases and gas-fired output."""
        net = self.net_emission_t(bought_mwh, chp_mwh, chp_heat_mwh, boiler_heat_mwh, heat_to_power)
        return ladder_cost(net, self.price_per_t, self.step_t, self.growth)

    def pieces(self, most_net_t: float) -> list[tuple[float, float]]:
        """The ladder's pieces over every net emission up to `most_net_t` t (the largest a day
        can reach)."""
        top = max(most_net_t, 0.0)
        return ladder_pieces(self.price_per_t, self.step_t, self.growth, int(top // self.step_t) + 2)
