"""Coordination stages (one file each) and their registry, `COORDINATION`."""

from market.coordination.base import (COORDINATION, OPERATOR, Agreement, BilateralTrade, Channel, CoordinationStage,
                                      Participant, agreement_problem, reciprocity_problem, settle_agreement,
                                      view_problem)
from market.coordination import independent  # noqa: F401  (registration; the default first)
from market.coordination import dual_decomposition, nash_bargaining  # noqa: F401,I001

__all__ = ["COORDINATION", "OPERATOR", "Agreement", "BilateralTrade", "Channel", "CoordinationStage", "Participant",
           "agreement_problem", "reciprocity_problem", "settle_agreement", "view_problem"]
