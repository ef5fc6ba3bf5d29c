"""Clearing one hour: winner determination, concession rounds and residuals (§A.5-A.7).

`clear_hour` is a pure function of the book and the rules, so every validator of the chain that
runs it on the same block reaches the same trades. The matching mode is looked up in a registry;
this module owns what all modes share: rounds, concession, midpoint prices and bookkeeping.
"""

from __future__ import annotations

import math

from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from pydantic import Field

from market.book import Bid, RoundBook, Trade
from market.columnar_clearing import clear_merit_order
from market.concession import concessions
from market.matching import MATCHERS
from market.network.clearing import RoundFlows, network_round
from market.network.market_network import MarketNetwork
from market.network.uos import split_prices
from market.params import MechanismParams
from market.tariff import Tariff

__all__ = ["Bid", "ClearingResult", "RoundBook", "Rules", "Trade", "clear_hour"]


class Rules(MechanismParams):
    """The mechanism parameters plus the tariff facts of the hour being cleared.

    Defaults describe the paper's hour 2: a valley hour with TOU 270 and feed-in 400 RMB/MWh.
    """

    tou_buy_per_mwh: float = Field(
        270.0, ge=0, description="main grid's TOU selling price this hour, RMB/MWh; [P] §A.11.1"
    )
    feed_in_per_mwh: float = Field(
        400.0, ge=0, description="main grid's purchase (feed-in) price this hour, RMB/MWh; [R] §A.11.1"
    )
    is_valley: bool = Field(True, description="valley hour: compensation applies; [P] §A.8")

    @classmethod
    def for_hour(cls, params: MechanismParams, tariff: Tariff, hour: int) -> Rules:
        """The rules of hour (1..24) of a day under `tariff`."""
        return cls(
            **params.model_dump(include=set(MechanismParams.model_fields)),
            tou_buy_per_mwh=float(tariff.buy_per_mwh()[hour - 1]),
            feed_in_per_mwh=float(tariff.sell_per_mwh()[hour - 1]),
            is_valley=tariff.is_valley(hour),
        )

    @property
    def band_low_per_mwh(self) -> float:
        """Lower edge of the tariff band, min(TOU, feed-in) (§A.4.2)."""
        return min(self.tou_buy_per_mwh, self.feed_in_per_mwh)

    @property
    def band_high_per_mwh(self) -> float:
        """Upper edge of the tariff band, max(TOU, feed-in) (§A.4.2)."""
        return max(self.tou_buy_per_mwh, self.feed_in_per_mwh)

    @property
    def band_width_per_mwh(self) -> float:
        """p_hi - p_lo, the unit of the additive concession step (§A.6.2)."""
        return self.band_high_per_mwh - self.band_low_per_mwh


@dataclass(frozen=True)
class ClearingResult:
    """Trades, residuals and the book of every round of one clearing.

    `residual` maps each bidder to its unmatched MWh (summed over hours for a multi-hour block
    book; `residual_by_hour` keeps them apart, keyed by (bidder, hour)).
    """

    offers: tuple[Bid, ...]
    bids: tuple[Bid, ...]
    # tuples and a dict, or the columnar clearing's Deferred ones that read like them
    trades: Sequence[Trade]
    rounds: Sequence[RoundBook]
    residual_by_hour: Mapping[tuple[str, int | None], float] = field(default_factory=dict)
    flows: tuple[RoundFlows, ...] = ()  # on a network: what each round did to the lines
    # with a stateful bid strategy: what each bidder's quote rested on per (round, bidder), and
    # each bidder's strategy state after the hour (market.bidding.strategies)
    quotes: dict[tuple[int, str], dict[str, float]] = field(default_factory=dict)
    states_after: dict[str, dict] = field(default_factory=dict)
    # what the market operator pays a seller beyond its trades' value (VCG's deficit, market.realtime.vcg)
    top_ups: dict[str, float] = field(default_factory=dict)

    @classmethod
    def unmatched(cls, offers: Sequence[Bid], bids: Sequence[Bid]) -> ClearingResult:
        """No P2P trading this hour (S0, or a valley hour of S3): all of every bid is residual."""
        offers, bids = tuple(offers), tuple(bids)
        _check_book(offers, bids, block_bids_allowed=True)
        residual = {(b.bidder, b.hour): b.quantity_mwh for b in offers + bids}
        return cls(offers, bids, (), (), residual)

    @property
    def residual(self) -> dict[str, float]:
        """Bidder -> MWh left for the compulsory grid trade (§A.7)."""
        total: dict[str, float] = defaultdict(float)
        for (bidder, _hour), mwh in self.residual_by_hour.items():
            total[bidder] += mwh
        return dict(total)

    @property
    def welfare_rmb(self) -> float:
        """Social welfare of all trades at their round's limits, sum (p_b - p_s) q (§A.5.1), RMB."""
        return math.fsum(trade.welfare_rmb for trade in self.trades)


# Re-prices the bidders left after a round, in place, before the next one: (next round number,
# remaining sellers, remaining buyers, the trades of the round just cleared) -> whether a price moved.
Requote = Callable[[int, list[Bid], list[Bid], Sequence[Trade]], bool]


def clear_hour(
    offers: Sequence[Bid], bids: Sequence[Bid], rules: Rules | None = None,
    network: MarketNetwork | None = None, requote: Requote | None = None,
) -> ClearingResult:
    """Run the rounds of one hour (§A.5-A.6) and return trades and residuals for the grid (§A.7).

    Each round the matcher fills the active book; fully filled bidders leave, the rest concede
    and try again until one side is empty, `max_rounds` is reached, or `max_idle_rounds` rounds
    in a row neither traded nor moved a price (nothing could change after that). The default
    hour (merit order, no network, no requote) runs the same rounds on arrays
    (market.columnar_clearing), with the same results. On a `network`
    a round matches by net surplus after use-of-system charges and manages congestion
    (market.network.clearing); what management cuts stays in the residuals. `requote` replaces
    the concession between rounds (a bid strategy re-quoting, market.bidding.strategies).
    """
    rules = rules if rules is not None else Rules()
    if not isinstance(rules, Rules):
        raise ValueError(
            "rules must be market.auction.Rules, e.g. Rules.for_hour(params, tariff, hour)"
        )
    offers, bids = tuple(offers), tuple(bids)
    if network is None and requote is None and rules.matching == "merit_order":
        columnar = clear_merit_order(offers, bids, rules)
        if columnar is not None:
            return ClearingResult(offers, bids, *columnar)
    return _round_loop(offers, bids, rules, network, requote)


def _round_loop(
    offers: tuple[Bid, ...], bids: tuple[Bid, ...], rules: Rules, network: MarketNetwork | None,
    requote: Requote | None,
) -> ClearingResult:
    """The rounds of `clear_hour` one record at a time, for every mode (and the reference the
    columnar clearing is tested against)."""
    matcher = MATCHERS[rules.matching]
    _check_book(offers, bids, block_bids_allowed=matcher.supports_blocks)
    tolerance = rules.quantity_tolerance_mwh
    sellers = [b for b in offers if b.quantity_mwh > tolerance]
    buyers = [b for b in bids if b.quantity_mwh > tolerance]
    traded: dict[tuple[str, int | None], float] = defaultdict(float)
    trades: list[Trade] = []
    rounds: list[RoundBook] = []
    flows: list[RoundFlows] = []
    injection = None if network is None else np.zeros(network.feeder.n_buses)  # the trades' so far
    idle_rounds, made = 0, True
    round_trades: list[Trade] = []
    for round_no in range(1, rules.max_rounds + 1):
        if not sellers or not buyers:
            break
        if round_no > 1:
            moved = _concede(sellers, buyers, rules) if requote is None else requote(round_no, sellers, buyers,
                                                                                     round_trades)
            idle_rounds = idle_rounds + 1 if not (moved or made) else 0
            if idle_rounds >= rules.max_idle_rounds:
                break
        rounds.append(RoundBook(round_no, tuple(sellers), tuple(buyers)))
        if network is None:
            fills = matcher.match(sellers, buyers, rules)
        else:
            fills, record = network_round(sellers, buyers, rules, network, injection, round_no)
            flows.append(record)
            injection = np.asarray(record.injection_after_mw)
        made = bool(fills)
        round_trades = []
        sold = [0.0] * len(sellers)
        bought = [0.0] * len(buyers)
        for fill in fills:
            seller, buyer = sellers[fill.seller], buyers[fill.buyer]
            round_trades.append(_trade(seller, buyer, round_no, fill.quantity_mwh, network))
            sold[fill.seller] += fill.quantity_mwh
            bought[fill.buyer] += fill.quantity_mwh
            traded[(seller.bidder, seller.hour)] += fill.quantity_mwh
            traded[(buyer.bidder, buyer.hour)] += fill.quantity_mwh
        trades += round_trades
        sellers = _remaining(sellers, sold, tolerance)
        buyers = _remaining(buyers, bought, tolerance)
    residual = {
        (b.bidder, b.hour): max(0.0, b.quantity_mwh - traded[(b.bidder, b.hour)])
        for b in offers + bids
    }
    return ClearingResult(offers, bids, tuple(trades), tuple(rounds), residual, tuple(flows))


def _trade(seller: Bid, buyer: Bid, round_no: int, quantity_mwh: float, network: MarketNetwork | None) -> Trade:
    """A trade at the midpoint of the two limits (§A.5.4), which lies inside both; on a network each
    side bears half the use-of-system charge, and the price is the one its billing implies
    (market.network.uos.split_prices, §B.3.3)."""
    price, uos = (seller.price_per_mwh + buyer.price_per_mwh) / 2, {}
    if network is not None:
        charge = network.uos_per_mwh(seller.bidder, buyer.bidder)
        price = float(split_prices(seller.price_per_mwh, buyer.price_per_mwh, charge, network.split)[0])
        uos = {"uos_per_mwh": charge, "uos_seller_share": network.seller_share}
    return Trade(
        seller=seller.bidder,
        buyer=buyer.bidder,
        round=round_no,
        quantity_mwh=quantity_mwh,
        price_per_mwh=price,
        seller_price_per_mwh=seller.price_per_mwh,
        buyer_price_per_mwh=buyer.price_per_mwh,
        hour=seller.hour,
        **uos,
    )


def _remaining(book: list[Bid], filled: list[float], tolerance: float) -> list[Bid]:
    """Bidders left after a round, with their residuals; the filled ones leave (§A.6.1)."""
    return [
        bid.revised(bid.quantity_mwh - done, bid.price_per_mwh) if done else bid
        for bid, done in zip(book, filled)
        if bid.quantity_mwh - done > tolerance
    ]


def _concede(sellers: list[Bid], buyers: list[Bid], rules: Rules) -> bool:
    """Concede every remaining bidder in place (§A.6.2); True if any price moved."""
    moved = False
    for book, concede in zip((sellers, buyers), concessions(rules)):
        for k, bid in enumerate(book):
            price = concede(bid.price_per_mwh)
            if price != bid.price_per_mwh:
                book[k] = bid.revised(bid.quantity_mwh, price)
                moved = True
    return moved


def _check_book(
    offers: tuple[Bid, ...], bids: tuple[Bid, ...], *, block_bids_allowed: bool
) -> None:
    """Reject books the rules cannot read: wrong types, duplicates, self-trades, block-only bids."""
    for bid in offers + bids:
        if not isinstance(bid, Bid):
            raise ValueError(f"expected market.auction.Bid, got {type(bid).__name__}")
    sides = [Counter((b.bidder, b.hour) for b in side) for side in (offers, bids)]
    for side, name in zip(sides, ("offers", "bids")):
        repeated = [key for key, count in side.items() if count > 1]
        if repeated:
            raise ValueError(f"{name}: more than one bid of (bidder, hour) {repeated[0]}")
    both = set(sides[0]) & set(sides[1])
    if both:
        raise ValueError(f"{min(both, key=str)} both sells and buys in the same hour")
    if block_bids_allowed:
        return
    hours = {b.hour for b in offers + bids}
    if len(hours) > 1 or any(b.all_or_nothing or b.bundle is not None for b in offers + bids):
        raise ValueError("all-or-nothing, bundle and multi-hour bids need matching='block'")
