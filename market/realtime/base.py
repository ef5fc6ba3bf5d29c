"""The real-time slot: how each hour's DAF-IDO deviations are priced and traded.

A real-time stage is run by every validator as the hour's clearing contract, so it must be a pure
function of the hour's book, the rules and its parameters. Whatever it leaves unmatched is settled
with the main grid by the shared settlement (§A.7), which also books compensation and fees.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping, Sequence

from market.auction import Bid, ClearingResult, Rules
from market.bidding import Position, price_bids
from market.bidding.strategies import StrategyChoice
from market.network.market_network import MarketNetwork
from market.stages import Registry, Stage, StageParams


class RealTimeStage(Stage):
    """Prices the positions of an hour (DNOs, off chain) and clears the book (the contract)."""

    def price_bids(
        self, sellers: Sequence[Position], buyers: Sequence[Position], rules: Rules, params: StageParams,
        states: Mapping[str, dict] | None = None,
    ) -> tuple[list[Bid], list[Bid]]:
        """First-round offers and bids; by default the paper's bid-price rule (§A.4). `states`
        are the bidders' strategy states, for a stage whose `strategy` keeps one."""
        return price_bids(sellers, buyers, rules)

    # a stage whose participants agree their bids off chain first has `negotiate(sellers, buyers,
    # rules, params, network, channel, rng)` returning the bids and a record (best_response)
    negotiates = False
    rows_file: str | None = None  # a stage with its own per-hour table writes `<rows_file>.csv`

    def hour_rows(self, result: ClearingResult) -> list[dict]:
        """That table's rows for one cleared hour (day and hour are added by the model)."""
        return []

    def strategy(self, params: StageParams) -> StrategyChoice | None:
        """The bid strategy the stage quotes with, if it takes one (its state goes into bids)."""
        return None

    @abstractmethod
    def clear(self, offers: Sequence[Bid], bids: Sequence[Bid], rules: Rules, params: StageParams,
              network: MarketNetwork | None = None, states: Mapping[str, dict] | None = None) -> ClearingResult:
        """Trades and residuals of one hour; residuals go to the grid. `network` is passed only
        when the market has one (then only to a stage with `supports_network`), `states` only to
        a stage with a stateful strategy (the states its bidders signed into their bids)."""


REAL_TIME: Registry[RealTimeStage] = Registry("real_time")
