"""Bilateral bidding in rounds (§B.3.1-B.3.3): each round every participant still in the book
quotes its strategy's price, the round clears by net surplus, and what is left goes to the next
round; after the last round, to the grid.

A round clears by the net surplus b - a - u of each pair (u, the use-of-system charge, only on a
distribution network) at the midpoint of the net surplus: `exact` is the clearing LP (the
welfare optimum; off a network the merit-order walk, which is the same optimum), `greedy` the
on-chain rule that fills the best pairs first. The strategy (`concession` or `risk_attitude`,
market.bidding.strategies) prices the first round and re-quotes between rounds. Unlike the
concession auction it trades in every hour, valley hours included: the S0/S3 switches are the
paper's design's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, Literal

from pydantic import Field, field_validator

from market.auction import Bid, ClearingResult, Rules, clear_hour
from market.bidding import Position
from market.bidding.strategies import StrategyChoice
from market.network.market_network import MarketNetwork
from market.realtime.base import REAL_TIME, RealTimeStage
from market.stages import StageParams

CLEARING_MODES = {"exact": "merit_order", "greedy": "net_surplus_greedy"}


class BilateralRoundsParams(StageParams):
    rounds: int = Field(5, ge=1, le=1000, description="bidding rounds per hour, the first included; [A] §B.3.1")
    clearing: Literal["exact", "greedy"] = Field(
        "exact", description="per round: exact (the clearing LP) or greedy (the on-chain rule); [L] §B.3.3")
    strategy: Any = Field(
        default_factory=lambda: StrategyChoice.of("risk_attitude"),
        description="bid strategy, a name or {name: ..., its parameters}: risk_attitude or concession "
        "(`storagemarket designs` lists their parameters); [R] §B.3.2")

    @field_validator("strategy", mode="before")
    @classmethod
    def _strategy(cls, block: Any) -> StrategyChoice:
        return StrategyChoice.of(block)


@REAL_TIME.register
class BilateralRounds(RealTimeStage):
    name = "bilateral_rounds"
    summary = "bilateral rounds cleared by net surplus (with UoS on a network), quotes from a bid strategy (§B.3)"
    Params = BilateralRoundsParams
    supports_network = True

    def strategy(self, params: BilateralRoundsParams) -> StrategyChoice:
        return params.strategy

    def price_bids(self, sellers: Sequence[Position], buyers: Sequence[Position], rules: Rules,
                   params: BilateralRoundsParams, states: Mapping[str, dict] | None = None) -> tuple[list[Bid], list[Bid]]:
        choice = params.strategy
        return choice.strategy.first_quotes(sellers, buyers, rules, choice.params, states or {})

    def clear(self, offers: Sequence[Bid], bids: Sequence[Bid], rules: Rules, params: BilateralRoundsParams,
              network: MarketNetwork | None = None, states: Mapping[str, dict] | None = None) -> ClearingResult:
        choice = params.strategy
        session = choice.strategy.session(offers, bids, rules, choice.params, states or {}, network)
        round_rules = rules.model_copy(update={"max_rounds": params.rounds, "matching": CLEARING_MODES[params.clearing]})
        result = clear_hour(offers, bids, round_rules, network, requote=session.requote)
        states_after = session.finish(result)
        return replace(result, quotes=dict(session.trace), states_after=states_after) if states_after else result
