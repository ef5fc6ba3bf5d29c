"""Best-response bidding (§B.3.5): off chain, the hour's participants play best responses on a
price grid until nobody wants to move; on chain, the contract clears the final bids once, by net
surplus (with the use-of-system charge on a distribution network), and leftovers go to the grid.

Each participant's utility is its surplus over its limit price (its grid alternative net of the
valley compensation and the service fee, as for `risk_attitude`) of what the contract's own
clearing gives it at the whole profile, net of its share of the charge: the dynamics optimise
exactly what the chain will do. Prices stay on the participant's side of its limit (a seller never
asks below it, a buyer never bids above it), within the tariff band. Equal prices break ties by
participant name in both places, so the contract honours what the utilities promised.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from market.auction import Bid, ClearingResult, Rules, clear_hour
from market.best_response import Player, best_response_dynamics, market_utilities, price_grid
from market.bidding import Position
from market.bidding.strategies import grid_limits
from market.network.market_network import MarketNetwork
from market.realtime.base import REAL_TIME, RealTimeStage
from market.realtime.bilateral_rounds import CLEARING_MODES
from market.stages import StageParams


class BestResponseParams(StageParams):
    """The price grid, the dynamics' stopping rule, and the contract's clearing."""

    step_per_mwh: float = Field(1.0, gt=0, le=1000, description="price grid step, RMB/MWh; [L] §B.3.5")
    max_sweeps: int = Field(100, ge=1, le=10_000, description="sweeps before reporting no convergence; [L] §B.3.5")
    omega: float = Field(1.0, gt=0, le=1, description="relaxation: move this share of the way to the best "
                         "response (1: all the way, a Nash equilibrium when it converges); [L] §B.3.5")
    epsilon_per_mwh: float = Field(0.01, ge=0, le=1000, description="a sweep that moves no price by more than "
                                   "this has converged, RMB/MWh (with omega < 1 prices only approach a best "
                                   "response, so it must be > 0 there); below the step; [A]")
    clearing: Literal["exact", "greedy"] = Field(
        "exact", description="the contract's clearing: exact (the clearing LP) or greedy (the on-chain rule); [L] §B.3.3")

    @model_validator(mode="after")
    def _stops(self) -> BestResponseParams:
        if self.epsilon_per_mwh >= self.step_per_mwh:
            raise ValueError("epsilon_per_mwh must be below step_per_mwh, or every move counts as none")
        if self.omega < 1 and self.epsilon_per_mwh == 0:
            raise ValueError("with omega < 1 prices only approach a best response: epsilon_per_mwh must be > 0")
        return self


@dataclass(frozen=True)
class Negotiation:
    """The bids the participants settled on off chain, and how they got there (best_response.csv)."""

    offers: list[Bid]
    bids: list[Bid]
    outcome: str  # converged, cycling or not_converged
    sweeps: int
    rows: tuple[tuple[int, str, float, float], ...]  # (sweep, participant, bid, utility) per update
    utilities: dict[str, float]  # each participant's at the final bids: what the contract will give it


def _by_name(offers: Sequence[Bid], bids: Sequence[Bid]) -> tuple[list[Bid], list[Bid]]:
    """The same bids with upload times replaced by name order: ties break alike off and on chain."""
    rank = {name: float(k) for k, name in enumerate(sorted(b.bidder for b in (*offers, *bids)))}
    return ([replace(o, submitted_at=rank[o.bidder]) for o in offers],
            [replace(b, submitted_at=rank[b.bidder]) for b in bids])


def _once(rules: Rules, params: BestResponseParams) -> Rules:
    """The contract's rules for the final bids: one round, by the stage's clearing."""
    return rules.model_copy(update={"max_rounds": 1, "matching": CLEARING_MODES[params.clearing]})


@REAL_TIME.register
class BestResponse(RealTimeStage):
    name = "best_response"
    summary = "best-response dynamics off chain on a price grid, the final bids cleared once on chain (§B.3.5)"
    Params = BestResponseParams
    supports_network = True
    negotiates = True

    def price_bids(self, sellers: Sequence[Position], buyers: Sequence[Position], rules: Rules,
                   params: BestResponseParams, states=None) -> tuple[list[Bid], list[Bid]]:
        """An hour with one side only has nothing to negotiate: everyone quotes its limit."""
        seller_limit, buyer_limit = grid_limits(rules)
        return ([Bid(p.bidder, p.quantity_mwh, seller_limit, p.submitted_at) for p in sellers],
                [Bid(p.bidder, p.quantity_mwh, buyer_limit, p.submitted_at) for p in buyers])

    def clear(self, offers: Sequence[Bid], bids: Sequence[Bid], rules: Rules, params: BestResponseParams,
              network: MarketNetwork | None = None, states=None) -> ClearingResult:
        return clear_hour(*_by_name(offers, bids), _once(rules, params), network)

    def negotiate(self, sellers: Sequence[Position], buyers: Sequence[Position], rules: Rules,
                  params: BestResponseParams, network: MarketNetwork | None, channel, rng: np.random.Generator) -> Negotiation:
        """Run the dynamics from the limit prices; each update is announced to every other
        participant over `channel` (ledger.offchain), one exchange per update."""
        seller_limit, buyer_limit = grid_limits(rules)
        low, high = rules.band_low_per_mwh, rules.band_high_per_mwh
        players = sorted([Player(p.bidder, "sell", p.quantity_mwh, seller_limit) for p in sellers]
                         + [Player(p.bidder, "buy", p.quantity_mwh, buyer_limit) for p in buyers], key=lambda p: p.name)
        grids = {p.name: (price_grid(max(seller_limit, low), max(seller_limit, high), params.step_per_mwh)
                          if p.side == "sell" else
                          price_grid(min(buyer_limit, low), min(buyer_limit, high), params.step_per_mwh))
                 for p in players}
        start = {p.name: p.limit_per_mwh for p in players}

        once = _once(rules, params)  # built once: the dynamics clear thousands of profiles an hour

        def utilities(profile: Mapping[str, float]) -> Mapping[str, float]:
            return market_utilities(players, profile, lambda o, b: clear_hour(*_by_name(o, b), once, network),
                                    seller_limit, buyer_limit)

        dynamics = best_response_dynamics(players, grids, start, utilities, rng, params.max_sweeps, params.omega,
                                          params.epsilon_per_mwh)
        for _, who, price, _ in dynamics.rows:
            channel.exchange([(who, p.name, {"bid_per_mwh": price}) for p in players if p.name != who])
        quote = {p.bidder: (p, dynamics.profile[p.bidder]) for p in (*sellers, *buyers)}
        offers = [Bid(p.bidder, p.quantity_mwh, quote[p.bidder][1], p.submitted_at) for p in sellers]
        bids = [Bid(p.bidder, p.quantity_mwh, quote[p.bidder][1], p.submitted_at) for p in buyers]
        return Negotiation(offers, bids, dynamics.outcome, dynamics.sweeps, dynamics.rows, dynamics.utilities)
