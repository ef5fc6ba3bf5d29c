"""Sharing a coalition's saving by Nash bargaining (§B.1.4): closed forms, no optimiser.

Each participant i has a stand-alone cost C0_i (its disagreement point: no trades, no shared
storage) and a cost C*_i at the coalition's optimum. The coalition saves dC = sum(C0 - C*). The
Nash bargaining solution with bargaining powers w maximises sum w_i ln(C0_i - C*_i - pi_i) over
net payments pi (positive: i pays) that sum to zero; its solution is closed:

    C0_i - C*_i - pi_i = w_i / sum(w) * dC,

so each ends at C0_i - w_i / sum(w) * dC: the symmetric solution (equal w) splits the saving
equally. Handing the logarithm to a numerical optimiser instead evaluates it at non-positive
arguments from any start where someone gains nothing, and fails.
"""

from __future__ import annotations

import math
from collections.abc import Mapping


def _check(name: str, values: Mapping[str, float]) -> None:
    for key, value in values.items():
        if not math.isfinite(value):
            raise ValueError(f"{name}[{key!r}] must be a finite number, got {value!r}")


def nash_payments(standalone_cost: Mapping[str, float], coalition_cost: Mapping[str, float],
                  weights: Mapping[str, float] | None = None) -> dict[str, float]:
    """Each participant's net payment (RMB; positive: it pays), summing to zero (exactly, as
    math.fsum adds). `weights=None` is the symmetric solution; weights must be non-negative, and
    all zero means equal. When the coalition saves (dC >= 0) nobody ends worse off than alone."""
    if set(standalone_cost) != set(coalition_cost):
        raise ValueError("standalone_cost and coalition_cost must name the same participants")
    names = sorted(standalone_cost)
    if not names:
        return {}
    _check("standalone_cost", standalone_cost)
    _check("coalition_cost", coalition_cost)
    w = {n: 1.0 for n in names} if weights is None else {n: float(weights[n]) for n in names}
    _check("weights", w)
    if any(v < 0 for v in w.values()):
        raise ValueError("weights must be non-negative")
    total_w = math.fsum(w.values())
    if total_w <= 0:
        w, total_w = {n: 1.0 for n in names}, float(len(names))
    gains = {n: standalone_cost[n] - coalition_cost[n] for n in names}
    saving = math.fsum(gains.values())
    payments = {n: gains[n] - w[n] / total_w * saving for n in names[:-1]}
    payments[names[-1]] = -math.fsum(payments.values())  # the last closes the sum: it is zero
    return payments


def equal_satisfaction_weights(standalone_cost: Mapping[str, float],
                               coalition_cost: Mapping[str, float]) -> dict[str, float]:
    """Bargaining powers under which every participant ends with the same satisfaction degree
    (`satisfaction`): its own gain at the coalition's optimum, C0_i - C*_i, or 1 RMB when that is
    not positive. With these weights each gains w_i / sum(w) * dC, so every degree is dC / sum(w)."""
    if set(standalone_cost) != set(coalition_cost):
        raise ValueError("standalone_cost and coalition_cost must name the same participants")
    _check("standalone_cost", standalone_cost)
    _check("coalition_cost", coalition_cost)
    return {n: _most(standalone_cost[n] - coalition_cost[n]) for n in sorted(standalone_cost)}


def _most(gain: float) -> float:
    """The satisfaction degree's denominator: the gain at the coalition's optimum, 1 RMB when not positive."""
    return gain if gain > 0 else 1.0


def contribution_weights(exported_mwh: Mapping[str, float], imported_mwh: Mapping[str, float]) -> dict[str, float]:
    """§B.1.4's bargaining power from what each supplied to (E_out) and received from (E_in)
    the coalition, P2P and shared storage together:

        w_i = exp(E_out_i / max E_out) - exp(-E_in_i / max E_in),  in [0, e - 1/e],

    a ratio with a zero maximum counting as 0. When every weight is zero (nobody supplied or
    received anything), equal weights of 1."""
    if set(exported_mwh) != set(imported_mwh):
        raise ValueError("exported_mwh and imported_mwh must name the same participants")
    _check("exported_mwh", exported_mwh)
    _check("imported_mwh", imported_mwh)
    if any(v < 0 for v in (*exported_mwh.values(), *imported_mwh.values())):
        raise ValueError("energy supplied and received must be non-negative")
    top_out = max(exported_mwh.values(), default=0.0)
    top_in = max(imported_mwh.values(), default=0.0)
    weights = {n: math.exp(exported_mwh[n] / top_out if top_out > 0 else 0.0)
               - math.exp(-(imported_mwh[n] / top_in if top_in > 0 else 0.0)) for n in sorted(exported_mwh)}
    if not any(weights.values()):
        return {n: 1.0 for n in weights}
    return weights


def satisfaction(standalone_cost: Mapping[str, float], coalition_cost: Mapping[str, float],
                 final_cost: Mapping[str, float]) -> dict[str, float]:
    """Each participant's satisfaction degree: what it saved against alone, as a share of what its
    own gain at the coalition's optimum was (C0 - C*, or 1 RMB when that is not positive)."""
    return {n: (standalone_cost[n] - final_cost[n]) / _most(standalone_cost[n] - coalition_cost[n])
            for n in sorted(standalone_cost)}
