"""The paper's real-time market: a double auction with concession rounds (§A.4-A.9).

Its parameters are the scenario's `mechanism:` block (bid prices, matching mode, concession,
compensation, fees), with the S0-S3 switches of §A.10: `p2p_enabled: false` sends every
deviation to the grid, `valley_p2p: false` does so in valley hours only.
"""

from __future__ import annotations

from collections.abc import Sequence

from market.auction import Bid, ClearingResult, Rules, clear_hour
from market.network.market_network import MarketNetwork
from market.params import MechanismParams
from market.realtime.base import REAL_TIME, RealTimeStage
from market.stages import StageParams


@REAL_TIME.register
class ConcessionAuction(RealTimeStage):
    name = "concession_auction"
    summary = "double auction maximising welfare, concession rounds, grid for leftovers (the paper, §A.4-A.9)"
    Params = MechanismParams
    params_at = "mechanism"
    supports_network = True

    def clear(self, offers: Sequence[Bid], bids: Sequence[Bid], rules: Rules, params: StageParams,
              network: MarketNetwork | None = None, states=None) -> ClearingResult:
        if rules.p2p_enabled and (rules.valley_p2p or not rules.is_valley):
            return clear_hour(offers, bids, rules, network)
        return ClearingResult.unmatched(offers, bids)
