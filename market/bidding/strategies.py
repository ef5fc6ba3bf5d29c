"""Bid strategies: how a participant prices its side of an hour, round after round.

A strategy is a registry entry (like a market stage) with its own parameters. It quotes the first
round, and between rounds re-quotes the bidders still in the book from what the round showed
(`RoundSession.requote`, the hook `market.auction.clear_hour` calls instead of the concession).

* `concession`: the paper's rule. First prices from the bid-price rule, then the concession of
  the `mechanism:` block between rounds. It keeps no state.
* `risk_attitude`: adaptive aggressiveness (AA, market.bidding.aa) with a risk attitude setting
  the initial aggressiveness. Its state (aggressiveness r, shape theta, recent clearing prices,
  learning rates) belongs to the participant and carries across rounds, hours and days.

Where the state lives. A participant signs its state into its bid; the hour's contract acts as
its proxy for the later rounds, re-quoting with the same public rule; the state after the hour
comes out of the hour's clearing (every validator computes the same), and the participant adopts
it. Nothing is stored in the chain's state, so re-running an hour's clearing from its bids always
gives the same result.

Prices are remembered as positions in the hour's tariff band (0 at its low edge, 1 at its high
edge), so an estimate learnt in valley hours carries to peak hours instead of being read as an
absolute price under a different tariff. Before any trade the estimate is the band's midpoint.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_serializer, model_validator

from market.bidding import aa
from market.bidding.price_rules import Position, price_bids
from market.book import Bid, Trade
from market.fees import FEE_SHARES
from market.stages import Registry, Stage, StageFieldError, StageParams, validated

Side = Literal["sell", "buy"]
Attitude = Literal["averse", "neutral", "seeking"]


def grid_limits(rules) -> tuple[float, float]:
    """(seller's, buyer's) limit price: the price at which a P2P trade is worth as much as the
    grid, net of the compensation each side receives and the service fee it pays per MWh."""
    comp = rules.valley_compensation_per_mwh if rules.is_valley else 0.0
    fee_seller, fee_buyer = (share * rules.service_fee_per_mwh for share in FEE_SHARES[rules.fee_payer])
    return rules.feed_in_per_mwh - comp + fee_seller, rules.tou_buy_per_mwh + comp - fee_buyer


class BidStrategy(Stage):
    """A way to quote. `uses_state` strategies sign a state into every bid."""

    uses_state: ClassVar[bool] = False

    def initial_state(self, bidder: str, params: StageParams, rng: np.random.Generator) -> dict | None:
        return None

    def state_problem(self, doc: Any, params: StageParams) -> str | None:
        """Why a bid's signed state cannot drive this strategy, or None."""
        return None

    @abstractmethod
    def first_quotes(self, sellers: Sequence[Position], buyers: Sequence[Position], rules,
                     params: StageParams, states: Mapping[str, dict]) -> tuple[list[Bid], list[Bid]]:
        """The first round's offers and bids."""

    @abstractmethod
    def session(self, offers: Sequence[Bid], bids: Sequence[Bid], rules, params: StageParams,
                states: Mapping[str, dict], network=None) -> RoundSession:
        """The hour's re-quoting; `network` (a MarketNetwork) prices the pairs' use-of-system charge."""

    def observe(self, state: dict, prices: Sequence[float], rules, params: StageParams) -> dict:
        """A participant that did not bid this hour learns from its public clearing prices."""
        return state

    def describe(self, state: dict | None, side: Side, rules, params: StageParams) -> dict[str, float]:
        """What bids.csv shows of a state at quote time (empty for a stateless strategy)."""
        return {}


STRATEGIES: Registry[BidStrategy] = Registry("bid_strategy")


class RoundSession:
    """One hour's re-quoting. `requote` is clear_hour's hook (None: its own concession); `finish`
    learns from the last round, which no requote followed, and returns the states after the hour;
    `trace` is what bids.csv shows per (round, bidder)."""

    def __init__(self) -> None:
        self.trace: dict[tuple[int, str], dict[str, float]] = {}

    requote = None

    def finish(self, result) -> dict[str, dict]:
        return {}


# --- the paper's concession ---------------------------------------------------------------------

class ConcessionParams(StageParams):
    """No parameters of its own: the bid-price rule and the concession are the `mechanism:` block's."""


@STRATEGIES.register
class Concession(BidStrategy):
    name = "concession"
    summary = "the paper's bid-price rule, then the mechanism's concession between rounds (§A.4, §A.6.2)"
    Params = ConcessionParams

    def first_quotes(self, sellers, buyers, rules, params, states):
        return price_bids(sellers, buyers, rules)

    def session(self, offers, bids, rules, params, states, network=None):
        return RoundSession()


# --- risk attitude (adaptive aggressiveness) -----------------------------------------------------

def _checked_attitude(value: Any, who: str = "") -> Any:
    """One message for every wrong attitude, naming both kinds of right one."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not (value in aa.INITIAL_AGGRESSIVENESS if isinstance(value, str) else number and -1 <= value <= 1):
        raise ValueError(f"{who + ': ' if who else ''}an attitude is averse, neutral, seeking or an initial "
                         f"aggressiveness in [-1, 1], not {value!r}")
    return float(value) if isinstance(value, int) else value


class RiskAttitudeParams(StageParams):
    """Risk attitudes and the AA learning constants (defaults of Vytelingum et al. 2008)."""

    default_attitude: Attitude | float = Field(
        "neutral", description="attitude of a participant not named in `attitudes`: averse (r0 = 0.5), "
        "neutral (0), seeking (-0.5), or r0 itself in [-1, 1]; [A] §B.3.2")
    attitudes: dict[str, Attitude | float] = Field(
        default_factory=dict, description="participant name -> attitude (as default_attitude); [A]")
    lambda_r: float = Field(aa.LAMBDA_R, ge=0, le=1, description="relative step of short-term learning; [L] AA")
    lambda_a: float = Field(aa.LAMBDA_A, ge=0, le=1, description="absolute step of short-term learning; [L] AA")
    theta_0: float = Field(aa.THETA_0, ge=-8, le=2, description="initial shape theta; [L] AA")
    theta_min: float = Field(aa.THETA_MIN, ge=-50, le=50, description="lower bound of theta; [L] AA")
    theta_max: float = Field(aa.THETA_MAX, ge=-50, le=50, description="upper bound of theta; [L] AA")
    gamma: float = Field(aa.GAMMA, ge=0, le=100, description="long-term learning's gamma; [L] AA")
    n_prices: int = Field(aa.N_PRICES, ge=1, le=1000, description="clearing prices in the estimate's window; [L] AA")
    omega: float = Field(aa.OMEGA, gt=0, le=1, description="weight decay of older prices in the estimate; [L] AA")
    beta_min: float = Field(aa.BETA_RANGE[0], gt=0, le=1, description="learning rates beta_1, beta_2 are drawn "
                            "uniformly in [beta_min, beta_max] per participant; [L] AA")
    beta_max: float = Field(aa.BETA_RANGE[1], gt=0, le=1, description="see beta_min; [L] AA")

    @field_validator("default_attitude", mode="before")
    @classmethod
    def _attitude(cls, value: Any) -> Any:
        return _checked_attitude(value)

    @field_validator("attitudes", mode="before")
    @classmethod
    def _attitudes(cls, value: Any) -> Any:
        return {k: _checked_attitude(v, k) for k, v in value.items()} if isinstance(value, dict) else value

    @model_validator(mode="after")
    def _consistent(self) -> RiskAttitudeParams:
        if not self.theta_min <= self.theta_0 <= self.theta_max:
            raise ValueError("theta_0 must lie in [theta_min, theta_max]")
        if self.beta_min > self.beta_max:
            raise ValueError("beta_min must not exceed beta_max")
        return self

    def r0(self, bidder: str) -> float:
        attitude = self.attitudes.get(bidder, self.default_attitude)
        return float(aa.INITIAL_AGGRESSIVENESS[attitude]) if isinstance(attitude, str) else float(attitude)


@dataclass(frozen=True)
class AAState:
    """A participant's AA state: aggressiveness, shape, recent clearing prices as band positions
    (oldest first), the range of Smith's alpha seen so far, and its two learning rates."""

    r: float
    theta: float
    beta_1: float
    beta_2: float
    positions: tuple[float, ...] = ()
    alpha_range: tuple[float, float] | None = None

    def doc(self) -> dict:
        d = asdict(self)
        d["positions"] = list(self.positions)
        d["alpha_range"] = None if self.alpha_range is None else list(self.alpha_range)
        return d

    @classmethod
    def of(cls, doc: Mapping) -> AAState:
        rng = doc.get("alpha_range")
        return cls(float(doc["r"]), float(doc["theta"]), float(doc["beta_1"]), float(doc["beta_2"]),
                   tuple(float(x) for x in doc.get("positions", ())), None if rng is None else (float(rng[0]), float(rng[1])))


@dataclass(frozen=True)
class Band:
    """The hour's tariff band and the two limit prices."""

    low: float
    high: float
    seller_limit: float
    buyer_limit: float

    @classmethod
    def of(cls, rules) -> Band:
        return cls(rules.band_low_per_mwh, rules.band_high_per_mwh, *grid_limits(rules))

    def position(self, price: float) -> float:
        width = self.high - self.low
        return 0.5 if width <= 0 else min(1.0, max(0.0, (price - self.low) / width))

    def price(self, position: float) -> float:
        return self.low + position * (self.high - self.low)

    def limit(self, side: Side) -> float:
        return self.seller_limit if side == "sell" else self.buyer_limit


_MIN_ESTIMATE = 1e-6  # AA divides by the estimate; a band starting at 0 must not make it 0


def _estimate(state: AAState, band: Band, params: RiskAttitudeParams) -> float:
    if not state.positions:
        return max(band.price(0.5), _MIN_ESTIMATE)
    return max(band.price(aa.equilibrium_estimate(state.positions, params.omega)), _MIN_ESTIMATE)


def _quote(state: AAState, side: Side, band: Band, params: RiskAttitudeParams) -> float:
    """The target price, never on the wrong side of the participant's own limit: a limit outside
    the band (no trade is worth it) is quoted as is, so such a participant cannot trade at a loss."""
    limit = band.limit(side)
    tau = aa.target_price(side, limit, _estimate(state, band, params), state.r, state.theta, band.high, band.low)
    return max(tau, limit) if side == "sell" else min(tau, limit)


def _observe(state: AAState, price: float, band: Band, params: RiskAttitudeParams) -> AAState:
    """A new clearing price: into the window, then long-term learning of theta."""
    positions = (*state.positions, band.position(price))[-params.n_prices:]
    moved = replace(state, positions=positions)
    estimate = _estimate(moved, band, params)
    alpha = aa.smith_alpha([band.price(x) for x in positions], estimate)
    lo, hi = (alpha, alpha) if state.alpha_range is None else (min(state.alpha_range[0], alpha),
                                                              max(state.alpha_range[1], alpha))
    theta = aa.long_term_update(state.theta, alpha, lo, hi, state.beta_2, params.theta_min, params.theta_max,
                                params.gamma)
    return replace(moved, theta=theta, alpha_range=(lo, hi))


def _round_price(trades: Sequence[Trade]) -> float | None:
    volume = math.fsum(t.quantity_mwh for t in trades)
    return math.fsum(t.quantity_mwh * t.price_per_mwh for t in trades) / volume if volume > 0 else None


def round_prices(trades: Sequence[Trade]) -> list[float]:
    """The volume-weighted price of each round that traded, in round order: what a participant
    that did not bid sees of an hour on chain."""
    rounds = sorted({t.round for t in trades})
    return [_round_price([t for t in trades if t.round == r]) for r in rounds]


class AASession(RoundSession):
    """Re-quotes an hour's bidders by AA: after each round every bidder of the hour learns, and
    those still in the book quote their new target.

    What a bidder learns from is the price of the round as its side felt it: after trades, what
    buyers paid (a buyer) or sellers received (a seller), volume-weighted; with no trade, as in
    AA, the best ask left (a buyer) or the best bid left (a seller). On a distribution network
    the use-of-system charge is part of both: a pair trades only if b - a >= u, so the ask a buyer
    faces is a + u and the bid a seller faces is b - u, and a quote that would cross without the
    charge still learns to move."""

    def __init__(self, sides: dict[str, Side], states: dict[str, AAState], band: Band, params: RiskAttitudeParams,
                 charge: Callable[[str, str], float]):
        super().__init__()
        self.sides, self.states, self.band, self.params, self.charge = sides, states, band, params, charge
        self.learned = 1  # the last round learnt from, or 1 before round 1 is cleared
        self.trace = {(1, b): self._describe(b) for b in sides}

    def _describe(self, bidder: str) -> dict[str, float]:
        s = self.states[bidder]
        return {"aggressiveness": s.r, "equilibrium_estimate_per_mwh": _estimate(s, self.band, self.params)}

    def _references(self, sellers: Sequence[Bid], buyers: Sequence[Bid], last: Sequence[Trade]) -> dict[str, float]:
        if last:
            volume = math.fsum(t.quantity_mwh for t in last)
            paid = math.fsum(t.quantity_mwh * (t.price_per_mwh + (1 - t.uos_seller_share) * t.uos_per_mwh)
                             for t in last) / volume
            received = math.fsum(t.quantity_mwh * (t.price_per_mwh - t.uos_seller_share * t.uos_per_mwh)
                                 for t in last) / volume
            return {b: paid if side == "buy" else received for b, side in self.sides.items()}
        out = {}
        for bidder, side in self.sides.items():
            faced = ([o.price_per_mwh + self.charge(o.bidder, bidder) for o in sellers] if side == "buy"
                     else [b.price_per_mwh - self.charge(bidder, b.bidder) for b in buyers])
            if faced:
                out[bidder] = min(faced) if side == "buy" else max(faced)
        return out

    def _learn(self, sellers: Sequence[Bid], buyers: Sequence[Bid], last: Sequence[Trade]) -> None:
        q = _round_price(last)
        if q is not None:
            self.states = {b: _observe(s, q, self.band, self.params) for b, s in self.states.items()}
        p = self.params
        for bidder, reference in self._references(sellers, buyers, last).items():
            side, s = self.sides[bidder], self.states[bidder]
            limit, estimate = self.band.limit(side), _estimate(s, self.band, p)
            if s.r >= 0 and (limit <= estimate if side == "buy" else limit >= estimate):
                continue  # extra-marginal and already quoting its limit: nothing to learn (see docstring)
            r = aa.learn(side, s.r, limit, estimate, s.theta, self.band.high, self.band.low, reference, s.beta_1,
                         p.lambda_r, p.lambda_a)
            self.states[bidder] = replace(s, r=r)

    def requote(self, round_no, sellers, buyers, last):
        self._learn(sellers, buyers, last)
        self.learned = round_no
        moved = False
        for book, side in ((sellers, "sell"), (buyers, "buy")):
            for k, bid in enumerate(book):
                price = _quote(self.states[bid.bidder], side, self.band, self.params)
                if price != bid.price_per_mwh:
                    book[k] = bid.revised(bid.quantity_mwh, price)
                    moved = True
        self.trace.update({(round_no, b): self._describe(b) for b in self.sides})
        return moved

    def finish(self, result) -> dict[str, dict]:
        if result.rounds and result.rounds[-1].round >= self.learned:
            last = result.rounds[-1]
            traded = [t for t in result.trades if t.round == last.round]
            left = {name: mwh for name, mwh in result.residual.items() if mwh > 0}
            self._learn([o for o in last.offers if o.bidder in left], [b for b in last.bids if b.bidder in left], traded)
        return {b: s.doc() for b, s in self.states.items()}


@STRATEGIES.register
class RiskAttitude(BidStrategy):
    name = "risk_attitude"
    summary = "adaptive aggressiveness with a risk attitude; learns round by round and across hours (§B.3.2)"
    Params = RiskAttitudeParams
    uses_state = True

    def initial_state(self, bidder, params, rng):
        beta_1, beta_2 = rng.uniform(params.beta_min, params.beta_max, size=2)
        return AAState(params.r0(bidder), params.theta_0, float(beta_1), float(beta_2)).doc()

    def state_problem(self, doc, params):
        try:
            s = AAState.of(doc)
        except (KeyError, TypeError, ValueError, IndexError):
            return "not an AA state (r, theta, beta_1, beta_2, positions, alpha_range)"
        values = [s.r, s.theta, s.beta_1, s.beta_2, *s.positions, *(s.alpha_range or ())]
        if not all(math.isfinite(v) for v in values):
            return "an AA state holds only finite numbers"
        if not (-1 <= s.r <= 1 and params.theta_min <= s.theta <= params.theta_max and 0 < s.beta_1 <= 1
                and 0 < s.beta_2 <= 1 and all(0 <= x <= 1 for x in s.positions) and len(s.positions) <= params.n_prices):
            return "AA state out of range (r in [-1, 1], theta within its bounds, betas in (0, 1], positions in [0, 1])"
        return None

    def first_quotes(self, sellers, buyers, rules, params, states):
        band = Band.of(rules)
        return tuple([Bid(p.bidder, p.quantity_mwh, _quote(AAState.of(states[p.bidder]), side, band, params), p.submitted_at)
                      for p in book] for book, side in ((sellers, "sell"), (buyers, "buy")))

    def session(self, offers, bids, rules, params, states, network=None):
        sides = {**{o.bidder: "sell" for o in offers}, **{b.bidder: "buy" for b in bids}}
        charge = (lambda seller, buyer: 0.0) if network is None else network.uos_per_mwh
        return AASession(sides, {b: AAState.of(states[b]) for b in sides}, Band.of(rules), params, charge)

    def observe(self, state, prices, rules, params):
        band, s = Band.of(rules), AAState.of(state)
        for price in prices:
            s = _observe(s, price, band, params)
        return s.doc()

    def describe(self, state, side, rules, params):
        band, s = Band.of(rules), AAState.of(state)
        return {"aggressiveness": s.r, "equilibrium_estimate_per_mwh": _estimate(s, band, params)}


# --- a strategy in a stage's parameters -----------------------------------------------------------

class StrategyChoice(BaseModel):
    """A strategy name and its validated parameters; written back flat as `{name: ..., **params}`."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    name: str
    params: Any = None

    @model_serializer(mode="plain")
    def _flat(self) -> dict[str, Any]:
        return {"name": self.name, **self.params.model_dump(mode="json")}

    def __repr__(self) -> str:  # how `storagemarket designs` shows a default: by name
        return repr(self.name)

    @property
    def strategy(self) -> BidStrategy:
        return STRATEGIES[self.name]

    @classmethod
    def of(cls, block: Any) -> StrategyChoice:
        """`block` is a strategy name or `{name: ..., **params}`; errors name the field."""
        if isinstance(block, StrategyChoice):
            return block
        if isinstance(block, str):
            block = {"name": block}
        if not isinstance(block, dict):
            raise StageFieldError("", "expected a strategy name or a mapping with 'name' and its parameters")
        name = block.get("name")
        if not isinstance(name, str) or name not in STRATEGIES:
            raise StageFieldError("name", f"unknown bid strategy {name!r}; known: {', '.join(STRATEGIES)}")
        raw = {k: v for k, v in block.items() if k != "name"}
        return cls(name=name, params=validated(STRATEGIES[name].Params, raw))


__all__ = ["STRATEGIES", "AAState", "BidStrategy", "RoundSession", "StrategyChoice", "grid_limits", "round_prices"]
