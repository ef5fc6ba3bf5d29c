"""Settling an hour and a day (§A.7-A.10): DNO accounts, the platform, the grid, baselines.

Every flow is booked once on each side it touches, so the accounts of the DNOs, the main grid and
the platform sum to zero; a test checks it. Money is RMB throughout (`_rmb`).
"""

from __future__ import annotations

import math
import operator

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields

from market.auction import Bid, ClearingResult, Rules, Trade
from market.fees import COMP_DNO_SHARES, FEE_SHARES, SCHED_FEE_WEIGHTS, pro_rata, scheduling_fee
from market.grid import GridTrade, compulsory_trades
from market.params import MechanismParams
from market.realtime import REAL_TIME
from market.tariff import Tariff


@dataclass(frozen=True)
class DnoAccount:
    """One DNO's money and volumes over an hour or a day; accounts add field by field."""

    p2p_sales_rmb: float = 0.0
    p2p_purchases_rmb: float = 0.0
    grid_sales_rmb: float = 0.0
    grid_purchases_rmb: float = 0.0
    compensation_received_rmb: float = 0.0
    compensation_funded_rmb: float = 0.0
    service_fee_rmb: float = 0.0
    scheduling_fee_rmb: float = 0.0
    baseline_rmb: float = 0.0
    p2p_volume_mwh: float = 0.0
    valley_volume_mwh: float = 0.0
    grid_volume_mwh: float = 0.0
    deviation_mwh: float = 0.0
    uos_rmb: float = 0.0  # use-of-system charges paid to the network operator (with a network)
    imbalance_rmb: float = 0.0  # paid to the grid for forecast errors after delivery (market.delivery)
    penalty_rmb: float = 0.0  # delivery penalties paid to the market operator
    top_up_rmb: float = 0.0  # received from the market operator beyond its trades (VCG's Clarke pivot)

    def __add__(self, other: DnoAccount) -> DnoAccount:
        # Field by field without dataclasses.astuple, which deep-copies and dominated profiles.
        return DnoAccount(*map(operator.add, _account_values(self), _account_values(other)))

    @property
    def revenue_rmb(self) -> float:
        """R^DN_n of §A.9: P2P and grid money, compensation, fees and the scheduling fee (and, where
        they apply, network charges and the settlement of forecast errors)."""
        return (
            self.p2p_sales_rmb
            - self.p2p_purchases_rmb
            + self.grid_sales_rmb
            - self.grid_purchases_rmb
            + self.compensation_received_rmb
            - self.compensation_funded_rmb
            - self.service_fee_rmb
            + self.scheduling_fee_rmb
            - self.uos_rmb
            - self.imbalance_rmb
            - self.penalty_rmb
            + self.top_up_rmb
        )

    @property
    def gain_rmb(self) -> float:
        """Delta R_n = R^DN_n - R^DN,0_n, the revenue increase over settling all with the grid."""
        return self.revenue_rmb - self.baseline_rmb

    @property
    def trade_share(self) -> float:
        """sum_t V_n,t / sum_t |Q_n,t| (§A.10); 0 for a DNO with no deviation."""
        return self.p2p_volume_mwh / self.deviation_mwh if self.deviation_mwh > 0 else 0.0


ACCOUNT_FIELDS = tuple(f.name for f in fields(DnoAccount))
_account_values = operator.attrgetter(*ACCOUNT_FIELDS)


@dataclass(frozen=True)
class HourBook:
    """The priced book of one hour (1..24) of a day."""

    hour: int
    offers: tuple[Bid, ...]
    bids: tuple[Bid, ...]


@dataclass(frozen=True)
class HourSettlement:
    """One hour's clearing and what it books; the day adds the scheduling fee and funding."""

    hour: int
    result: ClearingResult
    grid_trades: tuple[GridTrade, ...]
    accounts: dict[str, DnoAccount]
    fees_rmb: float
    compensation_rmb: float
    uos_rmb: float = 0.0  # what the network operator collected this hour
    top_ups_rmb: float = 0.0  # what the market operator paid sellers beyond their trades (VCG)


@dataclass(frozen=True)
class PlatformAccount:
    """The chain platform's fee pool (§A.9); its net may be negative and is never clipped."""

    fees_rmb: float
    compensation_paid_rmb: float
    scheduling_fee_paid_rmb: float
    top_ups_paid_rmb: float = 0.0  # a VCG market's deficit

    @property
    def net_rmb(self) -> float:
        """R^BC_net = gross fees - compensation it paid - scheduling fee (- VCG top-ups)."""
        return self.fees_rmb - self.compensation_paid_rmb - self.scheduling_fee_paid_rmb - self.top_ups_paid_rmb


@dataclass(frozen=True)
class DaySettlement:
    """A day settled: per-DNO accounts, the platform, the grid and the hours behind them."""

    accounts: dict[str, DnoAccount]
    platform: PlatformAccount
    hours: tuple[HourSettlement, ...] = field(repr=False)

    @property
    def dso_rmb(self) -> float:
        """The network operator's takings: the use-of-system charges of the day's trades."""
        return math.fsum(h.uos_rmb for h in self.hours)

    @property
    def grid_net_rmb(self) -> float:
        """The main grid's takings: what DNOs paid it minus what it paid them."""
        return math.fsum(a.grid_purchases_rmb - a.grid_sales_rmb for a in self.accounts.values())

    @property
    def trades(self) -> list[Trade]:
        """All P2P trades of the day in hour order."""
        return [trade for hour in self.hours for trade in hour.result.trades]


def settle_hour(hour: int, result: ClearingResult, rules: Rules) -> HourSettlement:
    """Book an hour's P2P trades, compulsory grid trades (§A.7), compensation (§A.8) and fees (§A.9).

    Also books each DNO's baseline R^DN,0: its whole quantity settled with the grid at this
    hour's prices, as if there were no mechanism.
    """
    stray = {b.hour for b in result.offers + result.bids} - {None, hour}
    if stray:
        raise ValueError(f"settling hour {hour} but the book holds bids for hours {sorted(stray)}")
    book: dict[str, DnoAccount] = defaultdict(DnoAccount)
    for bid in result.offers:
        book[bid.bidder] += DnoAccount(
            baseline_rmb=rules.feed_in_per_mwh * bid.quantity_mwh, deviation_mwh=bid.quantity_mwh
        )
    for bid in result.bids:
        book[bid.bidder] += DnoAccount(
            baseline_rmb=-rules.tou_buy_per_mwh * bid.quantity_mwh, deviation_mwh=bid.quantity_mwh
        )
    seller_share, buyer_share = FEE_SHARES[rules.fee_payer]
    fee_per_mwh = rules.service_fee_per_mwh
    comp_per_mwh = rules.valley_compensation_per_mwh if rules.is_valley else 0.0
    for trade in result.trades:
        q = trade.quantity_mwh
        seller_uos, buyer_uos = trade.uos_rmb
        for name, share, money in (
            (trade.seller, seller_share, DnoAccount(p2p_sales_rmb=trade.value_rmb, uos_rmb=seller_uos)),
            (trade.buyer, buyer_share, DnoAccount(p2p_purchases_rmb=trade.value_rmb, uos_rmb=buyer_uos)),
        ):
            book[name] += money + DnoAccount(
                service_fee_rmb=share * fee_per_mwh * q,
                compensation_received_rmb=comp_per_mwh * q,
                p2p_volume_mwh=q,
                valley_volume_mwh=q if rules.is_valley else 0.0,
            )
    for name, amount in result.top_ups.items():
        book[name] += DnoAccount(top_up_rmb=amount)
    grid_trades = tuple(compulsory_trades(result, rules))
    for gt in grid_trades:
        money = {"grid_sales_rmb" if gt.dno_sells else "grid_purchases_rmb": gt.value_rmb}
        book[gt.dno] += DnoAccount(grid_volume_mwh=gt.quantity_mwh, **money)
    volume_mwh = math.fsum(t.quantity_mwh for t in result.trades)
    return HourSettlement(
        hour=hour,
        result=result,
        grid_trades=grid_trades,
        accounts=dict(book),
        fees_rmb=(seller_share + buyer_share) * fee_per_mwh * volume_mwh,
        compensation_rmb=2 * comp_per_mwh * volume_mwh,
        uos_rmb=math.fsum(sum(t.uos_rmb) for t in result.trades),
        top_ups_rmb=math.fsum(result.top_ups.values()),
    )


def close_day(
    hours: Sequence[HourSettlement], params: MechanismParams, members: Iterable[str] = ()
) -> DaySettlement:
    """Sum the hours, fund the compensation and pay the scheduling fee (§A.8-A.9).

    `members` names DNOs of the alliance that may have had no bid all day; they still count for
    an equal split of the scheduling fee.
    """
    totals: dict[str, DnoAccount] = {name: DnoAccount() for name in members}
    for hour in hours:
        for name, account in hour.accounts.items():
            totals[name] = totals.get(name, DnoAccount()) + account
    fees_rmb = math.fsum(h.fees_rmb for h in hours)
    compensation_rmb = math.fsum(h.compensation_rmb for h in hours)
    volumes = {name: a.p2p_volume_mwh for name, a in totals.items()}
    dno_funded_rmb = COMP_DNO_SHARES[params.comp_payer] * compensation_rmb
    platform_compensation_rmb = compensation_rmb - dno_funded_rmb
    sched_fee_rmb = scheduling_fee(
        fees_rmb, platform_compensation_rmb, params.sched_fee_share, params.sched_fee_base
    )
    weight = SCHED_FEE_WEIGHTS[params.sched_fee_allocation]
    sched_shares = pro_rata(sched_fee_rmb, {n: weight(v) for n, v in volumes.items()})
    funding = pro_rata(dno_funded_rmb, volumes)
    accounts = {
        name: account
        + DnoAccount(scheduling_fee_rmb=sched_shares[name], compensation_funded_rmb=funding[name])
        for name, account in totals.items()
    }
    platform = PlatformAccount(
        fees_rmb=fees_rmb,
        compensation_paid_rmb=platform_compensation_rmb,
        scheduling_fee_paid_rmb=math.fsum(sched_shares.values()),
        top_ups_paid_rmb=math.fsum(h.top_ups_rmb for h in hours),
    )
    return DaySettlement(accounts=accounts, platform=platform, hours=tuple(hours))


def settle_day(
    books: Sequence[HourBook],
    tariff: Tariff,
    params: MechanismParams,
    members: Iterable[str] = (),
) -> DaySettlement:
    """Clear and settle every hour of a day, honouring the S0/S3 switches of §A.10."""
    auction = REAL_TIME["concession_auction"]
    settled = []
    for book in books:
        rules = Rules.for_hour(params, tariff, book.hour)
        result = auction.clear(book.offers, book.bids, rules, params)
        settled.append(settle_hour(book.hour, result, rules))
    return close_day(settled, params, members)
