"""The coordination slot: how participants plan the day together before hour 1.

A coordination stage runs off chain among the participants. Its messages travel over the
validator network (a `Channel` counts messages, bytes, rounds and simulated time); its agreed
outcome (day-ahead plans, bilateral trades, side payments) is committed on chain, where a contract
checks it (`agreement_problem`) before settlement uses it. The real-time stage then trades each
hour's deviation from the agreed plan.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from market.scheduling import HOURS, DnoScheduler, Schedule
from market.stages import Registry, Stage, StageParams
from market.tariff import Tariff


# Who coordinates when a stage needs a coordinator (e.g. sets a pool price): the market operator,
# reached through a validator like every participant.
OPERATOR = "market operator"


@dataclass(frozen=True)
class Participant:
    """A DNO as the coordination sees it: its forecasts, its own plan and its scheduler."""

    name: str
    own_plan: Schedule  # its MILP on forecasts alone (§A.2), the no-coordination plan
    scheduler: DnoScheduler
    pv_forecast_mw: np.ndarray
    wind_forecast_mw: np.ndarray
    load_forecast_mw: np.ndarray
    # what a day-ahead trade costs it per MWh besides its price, on (imports, exports): its share of
    # the chain's service fee, which settle_agreement charges
    trade_fees_per_mwh: tuple[float, float] = (0.0, 0.0)


@dataclass(frozen=True)
class BilateralTrade:
    """Energy agreed day-ahead from `seller` to `buyer` in `hour` (1..24) at a price."""

    seller: str
    buyer: str
    hour: int
    quantity_mwh: float
    price_per_mwh: float

    @property
    def value_rmb(self) -> float:
        return self.quantity_mwh * self.price_per_mwh


@dataclass(frozen=True)
class Agreement:
    """What the participants agreed for the day.

    `plans` are the day-ahead schedules each participant commits to (their grid exchange already
    net of the bilateral trades); `payments_rmb` are side payments received (+) or paid (-), which
    balance to zero among the participants.
    """

    plans: Mapping[str, Schedule]
    trades: tuple[BilateralTrade, ...] = ()
    payments_rmb: Mapping[str, float] = field(default_factory=dict)
    iterations: int = 0
    # the stage's own tables for the day, by file name (coordination.csv, admm.csv ...): column -> values
    tables: Mapping[str, Mapping[str, np.ndarray]] = field(default_factory=dict)
    # each participant's agreed use of a shared storage station: (to it, from it), MWh per hour
    station: Mapping[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    # what each participant claims for a split the contract computes (e.g. its costs alone and together)
    claims: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    report: Mapping[str, object] = field(default_factory=dict)  # its figures for summary.json

    def net_import_mwh(self, name: str) -> np.ndarray:
        """What `name` agreed to import (+) or export (-) from the other participants and the
        station, per hour."""
        net = np.zeros(HOURS)
        for t in self.trades:
            if name in (t.buyer, t.seller):
                net[t.hour - 1] += t.quantity_mwh if t.buyer == name else -t.quantity_mwh
        if name in self.station:
            to_station, from_station = self.station[name]
            net += from_station - to_station
        return net

    @property
    def has_money(self) -> bool:
        return bool(self.trades) or any(self.payments_rmb.values()) or bool(self.station)

    def views(self) -> dict[str, dict]:
        """Each participant's own side of the agreement, as it signs and commits it on chain."""
        out: dict[str, dict] = {name: {"trades": [], "payment_rmb": float(self.payments_rmb.get(name, 0.0))}
                                for name in sorted(self.plans)}
        for t in self.trades:
            for me, other, side in ((t.seller, t.buyer, "sell"), (t.buyer, t.seller, "buy")):
                out[me]["trades"].append({"counterparty": other, "hour": t.hour, "side": side,
                                          "quantity_mwh": t.quantity_mwh, "price_per_mwh": t.price_per_mwh})
        for name, (to_station, from_station) in self.station.items():
            out[name]["station"] = {"to_mwh": wire(to_station), "from_mwh": wire(from_station)}
        for name, claim in self.claims.items():
            out[name]["claims"] = {k: float(v) for k, v in claim.items()}
        return out


def wire(values: np.ndarray) -> list[float]:
    """Numbers as a message carries them: plain floats rounded to the byte-stable 1e-9."""
    return [round(float(v), 9) for v in values]


class Channel(Protocol):
    """Off-chain messaging among participants; each `exchange` is one synchronous round."""

    def exchange(self, messages: Sequence[tuple[str, str, dict]]) -> None:
        """Deliver (sender, recipient, payload) messages; returns when the last has arrived."""


class CoordinationStage(Stage):
    """Turns the participants' own plans into an agreement, talking over a `Channel`."""

    tables: tuple[str, ...] = ()  # the tables its agreements carry, each written as `<name>.csv`
    # a stage that schedules a shared storage station takes `station=` in `coordinate` (the scenario's,
    # when it has one); to the others a station is idle
    uses_station = False
    # summary.json's section of a stage whose agreements report figures, and how days add up: keys
    # that hold for every day, that sum over days, and that are reported at their worst (largest)
    section: str | None = None
    kept: tuple[str, ...] = ()
    summed: tuple[str, ...] = ()
    worst: tuple[str, ...] = ()

    def summarize(self, reports: Sequence[Mapping]) -> dict:
        """The days' reports as one section: iterations and days converged, the kept, summed and
        worst figures (None where a day lacks one), and every day's own report under `days`."""
        def total(key):
            values = [r.get(key) for r in reports]
            return None if any(v is None for v in values) else math.fsum(values)

        worst = lambda key: max((r[key] for r in reports if r.get(key) is not None), default=None)  # noqa: E731
        return {**{k: reports[0].get(k) for k in self.kept}, "iterations": sum(r["iterations"] for r in reports),
                "converged_days": sum(bool(r["converged"]) for r in reports), **{k: total(k) for k in self.summed},
                **{k: worst(k) for k in self.worst}, "days": list(reports)}

    def allocation(self, views: Mapping[str, Mapping], params: StageParams) -> dict[str, float] | None:
        """The side payments (received +) the contract computes from the views' claims, for a stage
        whose split is a rule (Nash bargaining); None: the agreed payments stand as they are.
        Raises ValueError naming what is missing or wrong."""
        return None

    @abstractmethod
    def coordinate(self, participants: Sequence[Participant], channel: Channel, tariff: Tariff,
                   params: StageParams) -> Agreement:
        """The day's agreement; every participant must have a plan in it."""


COORDINATION: Registry[CoordinationStage] = Registry("coordination")


def view_problem(me: str, view: Mapping, members: Sequence[str]) -> str | None:
    """Why one participant's own side of an agreement is malformed, or None: it trades only with
    other members, in finite non-negative quantities and prices."""
    if not isinstance(view.get("trades"), list) or not _number(view.get("payment_rmb")):
        return f"{me}: a view needs its trades (a list) and payment_rmb (a number)"
    for t in view["trades"]:
        if not (isinstance(t, Mapping) and isinstance(t.get("counterparty"), str) and t.get("side") in ("sell", "buy")
                and isinstance(t.get("hour"), int) and 1 <= t["hour"] <= HOURS
                and _number(t.get("quantity_mwh")) and _number(t.get("price_per_mwh"))):
            return f"{me}: a trade needs counterparty, side (sell|buy), hour (1..{HOURS}), quantity_mwh and price_per_mwh"
        q, p = t["quantity_mwh"], t["price_per_mwh"]
        if t["counterparty"] == me or t["counterparty"] not in members:
            return f"{me} trades with {t['counterparty']!r}"
        if not (math.isfinite(q) and math.isfinite(p) and q >= 0 and p >= 0):
            return f"{me}: trade quantity and price must be finite and non-negative"
    return None


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def reciprocity_problem(views: Mapping[str, Mapping], tolerance: float = 1e-6) -> str | None:
    """Whether a trade between two participants that both have a view is claimed alike by both
    sides (same hour, quantity and price); a trade with a participant without a view is left for
    when its view arrives."""
    claims: dict[tuple, float] = defaultdict(float)
    for me, view in views.items():
        for t in view["trades"]:
            if t["counterparty"] not in views:
                continue
            seller, buyer = (me, t["counterparty"]) if t["side"] == "sell" else (t["counterparty"], me)
            claims[(seller, buyer, t["hour"], t["price_per_mwh"])] += t["quantity_mwh"] * (1 if t["side"] == "sell" else -1)
    unmatched = [k for k, v in claims.items() if abs(v) > tolerance]
    if unmatched:
        seller, buyer, hour, _ = min(unmatched)
        return f"trade {seller}->{buyer} in hour {hour} is not claimed alike by both sides"
    return None


def agreement_problem(views: Mapping[str, Mapping], members: Sequence[str], tolerance: float = 1e-6) -> str | None:
    """Why a complete agreement cannot be settled, or None: every member has a view, each view is
    well formed, every trade is reciprocal and the side payments balance to zero."""
    missing = sorted(set(members) - set(views))
    if missing:
        return f"no view from {', '.join(missing)}"
    strangers = sorted(set(views) - set(members))
    if strangers:
        return f"views from non-members {', '.join(strangers)}"
    for me, view in sorted(views.items()):
        problem = view_problem(me, view, members)
        if problem is not None:
            return problem
    problem = reciprocity_problem(views, tolerance)
    if problem is not None:
        return problem
    balance = math.fsum(view["payment_rmb"] for view in views.values())
    if abs(balance) > tolerance * max(1.0, len(views)):
        return f"side payments sum to {balance:.6f} RMB, not zero"
    return None


def settle_agreement(views: Mapping[str, Mapping], service_fee_per_mwh: float, fee_shares: tuple[float, float],
                     station_fee_per_mwh: float = 0.0) -> dict[str, dict[str, float]]:
    """Each participant's day-ahead money from a checked agreement (RMB, MWh).

    Bilateral trades pay their price and the chain's service fee per MWh, split as the real-time
    market splits it (`fee_shares` = seller's, buyer's share), so every design pays the same fee
    for energy traded peer to peer; side payments are booked as they were agreed; a participant
    using a shared storage station pays its fee on what it charged and discharged (to the
    station's operator).
    """
    out: dict[str, dict[str, float]] = {}
    for me, view in sorted(views.items()):
        acc = {"p2p_sales_rmb": 0.0, "p2p_purchases_rmb": 0.0, "payments_rmb": float(view["payment_rmb"]),
               "service_fee_rmb": 0.0, "p2p_volume_mwh": 0.0}
        for t in view["trades"]:
            money = t["quantity_mwh"] * t["price_per_mwh"]
            sells = t["side"] == "sell"
            acc["p2p_sales_rmb" if sells else "p2p_purchases_rmb"] += money
            acc["service_fee_rmb"] += fee_shares[0 if sells else 1] * service_fee_per_mwh * t["quantity_mwh"]
            acc["p2p_volume_mwh"] += t["quantity_mwh"]
        acc["net_rmb"] = acc["p2p_sales_rmb"] - acc["p2p_purchases_rmb"] + acc["payments_rmb"] - acc["service_fee_rmb"]
        if "station" in view:  # only then, so that agreements without a station keep their accounts
            used = math.fsum(view["station"]["to_mwh"]) + math.fsum(view["station"]["from_mwh"])
            acc["station_fee_rmb"] = station_fee_per_mwh * used
            acc["net_rmb"] -= acc["station_fee_rmb"]
        out[me] = acc
    return out
