"""The scenario variants of §A.10 as parameter overrides, so one day settles under each.

S1 keeps the configured compensation rate (100 RMB/MWh by default) so that a sweep over the rate
moves S1 and leaves S2 as the no-compensation reference.
"""

from __future__ import annotations

from typing import TypeVar

from market.params import MechanismParams

Params = TypeVar("Params", bound=MechanismParams)

VARIANTS: dict[str, dict[str, object]] = {
    "S0": {"p2p_enabled": False},  # before the mechanism: every Q with the grid
    "S1": {"p2p_enabled": True, "valley_p2p": True},  # mechanism with valley compensation
    "S2": {"p2p_enabled": True, "valley_p2p": True, "valley_compensation_per_mwh": 0.0},
    "S3": {"p2p_enabled": True, "valley_p2p": False},  # valley Q with the grid, others traded
}


def variant(params: Params, name: str) -> Params:
    """`params` with the overrides of scenario `name`, validated again."""
    if name not in VARIANTS:
        raise ValueError(f"unknown scenario variant {name!r}; known: {', '.join(VARIANTS)}")
    return type(params).model_validate({**params.model_dump(), **VARIANTS[name]})
