"""One auction round on a network: matching by net surplus b - a - u, then congestion management
(§B.3.3-B.3.4, docs/network.md).

Each matching mode keeps its meaning with the charge: `merit_order` is the clearing LP (the exact
welfare optimum net of charges), `pairwise_rounds` pairs each bidder with at most one counterpart a
round, best net surplus first, `block` is the integer program with the charge in its objective,
and `net_surplus_greedy` is the greedy on-chain rule over all pairs. Congestion management then
applies to what was matched: `exact` re-solves with the line limits (for `block` the limits go
into the integer program; for the two greedy pairings, over the pairs they made), `greedy` cuts the
matched trades (§B.3.4's heuristic), `off` leaves them. The flows a round adds stay for the next round.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from market.book import Bid, buyer_rank, merit_order_indices, seller_rank
from market.matching import block
from market.matching.net_surplus_greedy import greedy_fill, merit_positions
from market.matching.registry import Fill
from market.network.congestion import Lines, Trades, exact, greedy, security_check
from market.network.market_network import MarketNetwork

if TYPE_CHECKING:
    from market.auction import Rules


@dataclass(frozen=True)
class RoundFlows:
    """What a round did to the network: line flows before and after management (MW, base and
    earlier rounds included), the lines the matched trades congested, the volume management cut,
    and the LinDistFlow voltages' buses outside the band (checked and reported, not managed:
    §B.3.4 manages line overloads only; empty on a meshed feeder, where LinDistFlow does not
    apply). `injection_after_mw` is the trades' net injection per bus so far."""

    round: int
    matched_mwh: float
    curtailed_mwh: float
    flow_before_mw: tuple[float, ...]
    flow_after_mw: tuple[float, ...]
    congested_before: tuple[int, ...]  # line positions over their limit before management
    congested_after: tuple[int, ...]
    out_of_band_before: tuple[int, ...] = ()  # bus positions outside the voltage band
    out_of_band_after: tuple[int, ...] = ()
    injection_after_mw: tuple[float, ...] = ()
    # volume management added to pairs beyond the match without the network: re-pairing through a
    # counterflow (a seller near the buyer a cut trade served), so traded = matched - curtailed + added
    added_mwh: float = 0.0


def network_round(
    offers: Sequence[Bid], bids: Sequence[Bid], rules: Rules, network: MarketNetwork, injection_mw: np.ndarray,
    round_no: int,
) -> tuple[list[Fill], RoundFlows]:
    """Fills of one round on `network`, where earlier rounds' trades inject `injection_mw` per bus."""
    if len({b.hour for b in (*offers, *bids)}) > 1:
        raise ValueError("a network clears one hour at a time: multi-hour bundles are not supported")
    mode = rules.matching
    if mode not in _MATCH:
        raise ValueError(f"matching mode {mode!r} does not support a network; use {', '.join(_MATCH)}")
    injection_mw = np.asarray(injection_mw, dtype=float)
    lines = network.lines(network.base_flow_mw + network.feeder.flows(injection_mw))
    pairs = _Pairs.of(offers, bids, network)
    matched = _MATCH[mode](pairs, rules, None)
    congestion = network.congestion
    if congestion == "off" or not matched.any():
        managed = matched
    elif congestion == "greedy":
        managed = greedy(lines, pairs.trades(matched)).quantity_mw
    elif mode in ("pairwise_rounds", "net_surplus_greedy"):  # exact re-solve over the pairs this round made
        managed = exact(lines, pairs.trades(matched)).quantity_mw
    else:
        managed = _MATCH[mode](pairs, rules, lines)
    managed = np.where(managed > rules.quantity_tolerance_mwh, managed, 0.0)  # dust never trades, nor flows
    before = security_check(lines, pairs.trades(), matched)
    after = security_check(lines, pairs.trades(), managed)
    fills = [Fill(int(i), int(j), float(q)) for i, j, q in zip(pairs.seller, pairs.buyer, managed) if q > 0]
    injected = {which: injection_mw + pairs.injection(x) for which, x in (("before", matched), ("after", managed))}
    record = RoundFlows(
        round_no, float(matched.sum()), float(np.maximum(matched - managed, 0.0).sum()),
        tuple(before.flow_mw.tolist()), tuple(after.flow_mw.tolist()),
        tuple(np.flatnonzero(before.congested).tolist()), tuple(np.flatnonzero(after.congested).tolist()),
        network.out_of_band(injected["before"]), network.out_of_band(injected["after"]),
        tuple(injected["after"].tolist()), float(np.maximum(managed - matched, 0.0).sum()))
    return fills, record


@dataclass(frozen=True)
class _Pairs:
    """The round's candidate trades: every offer-bid pair whose net surplus b - a - u is >= 0."""

    offers: Sequence[Bid]
    bids: Sequence[Bid]
    seller: np.ndarray  # offer index
    buyer: np.ndarray  # bid index
    offer_bus: np.ndarray  # feeder bus position of every offer
    bid_bus: np.ndarray  # and of every bid
    quantity_mw: np.ndarray  # min of the two quantities
    surplus: np.ndarray  # b - a - u per MWh
    charge: np.ndarray  # offers x bids, u per MWh
    n_buses: int

    @classmethod
    def of(cls, offers: Sequence[Bid], bids: Sequence[Bid], network: MarketNetwork) -> _Pairs:
        """Pairs numbered in merit order (sellers, then buyers), so the LP's tie-break towards
        lower numbers is the rule's: among equal pairs the earlier upload trades (§A.5.2)."""
        charge = np.array([[network.uos_per_mwh(o.bidder, b.bidder) for b in bids] for o in offers],
                          dtype=float).reshape(len(offers), len(bids))
        found = [(i, j, bids[j].price_per_mwh - offers[i].price_per_mwh - charge[i, j],
                  min(offers[i].quantity_mwh, bids[j].quantity_mwh))
                 for i in merit_order_indices(offers, seller_rank) for j in merit_order_indices(bids, buyer_rank)
                 if offers[i].price_per_mwh <= bids[j].price_per_mwh
                 and bids[j].price_per_mwh - offers[i].price_per_mwh - charge[i, j] >= 0]
        i, j, w, q = (np.array(col, dtype=float) for col in zip(*found)) if found else (np.zeros(0),) * 4
        i, j = i.astype(np.int64), j.astype(np.int64)
        where = np.array([network.position(o.bidder) for o in offers], dtype=np.int64)
        there = np.array([network.position(b.bidder) for b in bids], dtype=np.int64)
        return cls(offers, bids, i, j, where, there, q, w, charge, network.feeder.n_buses)

    def trades(self, quantity_mw: np.ndarray | None = None) -> Trades:
        """The pairs as congestion.Trades, offering `quantity_mw` (default: the most each can trade)."""
        return Trades(self.seller, self.buyer, self.offer_bus[self.seller], self.bid_bus[self.buyer],
                      self.quantity_mw if quantity_mw is None else quantity_mw, self.surplus)

    def injection(self, quantity_mw: np.ndarray) -> np.ndarray:
        """Per-bus injection of trading `quantity_mw` on the pairs: + at sellers, - at buyers."""
        out = np.zeros(self.n_buses)
        np.add.at(out, self.offer_bus[self.seller], quantity_mw)
        np.add.at(out, self.bid_bus[self.buyer], -quantity_mw)
        return out

    def caps(self) -> tuple[np.ndarray, np.ndarray]:
        return (np.array([o.quantity_mwh for o in self.offers], dtype=float),
                np.array([b.quantity_mwh for b in self.bids], dtype=float))


def _lp(pairs: _Pairs, rules: Rules, lines: Lines | None) -> np.ndarray:
    """merit_order: the clearing LP of §B.3.3, with the line limits when `lines` is given."""
    if not len(pairs.seller):
        return np.zeros(0)
    return exact(lines, pairs.trades(), *pairs.caps()).quantity_mw


def _pairwise(pairs: _Pairs, rules: Rules, lines: Lines | None) -> np.ndarray:
    """pairwise_rounds: one counterpart per bidder, highest net surplus first; ties in merit order."""
    seller_pos = {k: n for n, k in enumerate(merit_order_indices(pairs.offers, seller_rank))}
    buyer_pos = {k: n for n, k in enumerate(merit_order_indices(pairs.bids, buyer_rank))}
    order = sorted(range(len(pairs.seller)), key=lambda k: (-pairs.surplus[k], seller_pos[int(pairs.seller[k])],
                                                             buyer_pos[int(pairs.buyer[k])]))
    x, busy_s, busy_b = np.zeros(len(pairs.seller)), set(), set()
    for k in order:
        i, j = int(pairs.seller[k]), int(pairs.buyer[k])
        if i not in busy_s and j not in busy_b:
            x[k] = pairs.quantity_mw[k]
            busy_s.add(i)
            busy_b.add(j)
    return x


def _block(pairs: _Pairs, rules: Rules, lines: Lines | None) -> np.ndarray:
    """block: the integer program with the charge in its objective and, given `lines`, the limits."""
    limits = []
    if lines is not None:
        ptdf = np.asarray(lines.ptdf, dtype=float)
        where, there = pairs.offer_bus, pairs.bid_bus
        base, limit = np.asarray(lines.base_flow_mw, dtype=float), lines.effective_limit_mw
        for line in range(len(limit)):
            coef = ptdf[line, where][:, None] - ptdf[line, there][None, :]
            coef[np.abs(coef) < 1e-12] = 0.0
            limits.append((coef, float(-limit[line] - base[line]), float(limit[line] - base[line])))
    fills = block.match(pairs.offers, pairs.bids, rules, pairs.charge, limits)
    index = {(int(i), int(j)): k for k, (i, j) in enumerate(zip(pairs.seller, pairs.buyer))}
    x = np.zeros(len(pairs.seller))
    for fill in fills:
        x[index[(fill.seller, fill.buyer)]] = fill.quantity_mwh
    return x


def _greedy(pairs: _Pairs, rules: Rules, lines: Lines | None) -> np.ndarray:
    """net_surplus_greedy: every pair, highest net surplus b - a - u first, the smaller residual each."""
    return greedy_fill(pairs.surplus, pairs.seller, pairs.buyer, *pairs.caps(),
                       merit_positions(pairs.offers, seller_rank), merit_positions(pairs.bids, buyer_rank))


_MATCH = {"merit_order": _lp, "pairwise_rounds": _pairwise, "block": _block, "net_surplus_greedy": _greedy}
