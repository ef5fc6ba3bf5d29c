"""Coordination stages (one file each) and their registry, `COORDINATION`."""

from market.coordination.base import (COORDINATION, Agreement, BilateralTrade, Channel, CoordinationStage,
                                      Participant, agreement_problem, settle_agreement)
from market.coordination import independent  # noqa: F401  (registration)

__all__ = ["COORDINATION", "Agreement", "BilateralTrade", "Channel", "CoordinationStage", "Participant",
           "agreement_problem", "settle_agreement"]
