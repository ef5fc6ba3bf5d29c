"""VCG trading of deviations (§B.4.3): every participant reports its alternative with the grid
truthfully (truth is its dominant strategy), the contract allocates efficiently and charges
Clarke-pivot prices (market.vcg), residuals go to the grid.

On chain the allocation is a set of trades, each at its buyer's VCG price per MWh, so buyers pay
exactly their VCG payments; what a seller receives beyond its trades' value is a top-up from the
market operator, and the top-ups sum to the VCG deficit. Compensation and fees apply to the
traded volume like any real-time trade. One divisible hour without a network (the mechanism's
Clarke pivot is exact there); the S0/S3 switches are the paper's design's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from pydantic import Field

from market.auction import Bid, ClearingResult, Rules
from market.bidding import Position
from market.bidding.strategies import grid_limits
from market.book import Trade, buyer_rank, merit_order_indices, seller_rank
from market.realtime.base import REAL_TIME, RealTimeStage
from market.stages import StageParams
from market.vcg import VcgResult, clear as vcg_clear


class VcgParams(StageParams):
    window_s: float = Field(300.0, gt=0, le=86_400, description="the real-time window the clearing must fit: a "
                            "warning (never in byte-reproducible outputs) names any hour whose clearing took longer, "
                            "s; [R] §B.4.3 (5 minutes)")


def trades_of(offers: Sequence[Bid], bids: Sequence[Bid], vcg: VcgResult) -> tuple[list[Trade], dict[str, float]]:
    """The allocation as trades (allocated sellers and buyers paired in merit order, each at its
    buyer's VCG price per MWh) and each seller's top-up: its VCG receipt less its trades' value."""
    sellers = [offers[i] for i in merit_order_indices(offers, seller_rank) if vcg.allocation_mwh[offers[i].bidder] > 0]
    buyers = [bids[j] for j in merit_order_indices(bids, buyer_rank) if vcg.allocation_mwh[bids[j].bidder] > 0]
    price = vcg.price_per_mwh
    left = {b.bidder: vcg.allocation_mwh[b.bidder] for b in (*sellers, *buyers)}
    trades, k = [], 0
    for seller in sellers:
        while left[seller.bidder] > 0 and k < len(buyers):
            buyer = buyers[k]
            q = min(left[seller.bidder], left[buyer.bidder])
            trades.append(Trade(seller.bidder, buyer.bidder, 1, q, float(price[buyer.bidder]), seller.price_per_mwh,
                                buyer.price_per_mwh, seller.hour))
            left[seller.bidder] -= q
            left[buyer.bidder] -= q
            if left[buyer.bidder] <= 0:
                k += 1
    sold = {s.bidder: math.fsum(t.value_rmb for t in trades if t.seller == s.bidder) for s in sellers}
    return trades, {name: vcg.receipts_rmb[name] - value for name, value in sold.items()}


def participant_rows(result: ClearingResult) -> list[dict]:
    """vcg.csv's rows of one hour: each participant's report, allocation, what it paid or received,
    per MWh, and its utility at the value it reported (never negative: VCG is individually rational)."""
    rows = []
    for role, book in (("seller", result.offers), ("buyer", result.bids)):
        for bid in book:
            mine = [t for t in result.trades if bid.bidder == (t.seller if role == "seller" else t.buyer)]
            mwh = math.fsum(t.quantity_mwh for t in mine)
            money = math.fsum(t.value_rmb for t in mine) + (result.top_ups.get(bid.bidder, 0.0) if role == "seller" else 0.0)
            utility = money - bid.price_per_mwh * mwh if role == "seller" else bid.price_per_mwh * mwh - money
            rows.append({"dno": bid.bidder, "role": role, "reported_per_mwh": bid.price_per_mwh,
                         "reported_mwh": bid.quantity_mwh, "allocation_mwh": mwh,
                         "payment_rmb": money if role == "buyer" else None,
                         "receipt_rmb": money if role == "seller" else None,
                         "price_per_mwh": money / mwh if mwh > 0 else None, "utility_rmb": utility})
    return rows


@REAL_TIME.register
class Vcg(RealTimeStage):
    name = "vcg"
    summary = "VCG: truthful reports, efficient allocation, Clarke-pivot prices; the operator covers the deficit (§B.4.3)"
    Params = VcgParams
    rows_file = "vcg"  # vcg.csv, one row per participant and hour

    def hour_rows(self, result: ClearingResult) -> list[dict]:
        return participant_rows(result)

    def price_bids(self, sellers: Sequence[Position], buyers: Sequence[Position], rules: Rules, params: VcgParams,
                   states=None) -> tuple[list[Bid], list[Bid]]:
        """Truthful reports: each side's limit, its alternative with the grid net of what trading adds."""
        seller_limit, buyer_limit = grid_limits(rules)
        return ([Bid(p.bidder, p.quantity_mwh, seller_limit, p.submitted_at) for p in sellers],
                [Bid(p.bidder, p.quantity_mwh, buyer_limit, p.submitted_at) for p in buyers])

    def clear(self, offers: Sequence[Bid], bids: Sequence[Bid], rules: Rules, params: VcgParams,
              network=None, states=None) -> ClearingResult:
        tolerance = rules.quantity_tolerance_mwh
        vcg = vcg_clear(offers, bids, tolerance)
        trades, top_ups = trades_of(offers, bids, vcg)
        residual = {(b.bidder, b.hour): max(0.0, b.quantity_mwh - vcg.allocation_mwh[b.bidder])
                    for b in (*offers, *bids)}
        return ClearingResult(tuple(offers), tuple(bids), tuple(trades), (), residual,
                              top_ups={k: v for k, v in top_ups.items() if v})
