"""No coordination: each DNO keeps the plan of its own MILP on forecasts (the paper, §A.2)."""

from __future__ import annotations

from collections.abc import Sequence

from market.coordination.base import COORDINATION, Agreement, Channel, CoordinationStage, Participant
from market.stages import StageParams
from market.tariff import Tariff


@COORDINATION.register
class Independent(CoordinationStage):
    name = "independent"
    summary = "each DNO plans alone with its own MILP on forecasts; no messages, no day-ahead trades (§A.2)"
    supports_network = True  # no trades: nothing for the network to carry day-ahead

    def coordinate(self, participants: Sequence[Participant], channel: Channel, tariff: Tariff,
                   params: StageParams) -> Agreement:
        return Agreement(plans={p.name: p.own_plan for p in participants})
