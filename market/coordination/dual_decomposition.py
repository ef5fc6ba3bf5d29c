"""Day-ahead P2P trading by Lagrangian decomposition and subgradient prices (§B.4.1, §B.4.2).

No central solver sees the participants' models. The coupling constraint (the pool balances, or
each pair's trades are reciprocal) is relaxed with prices; each participant answers a price with
what it would trade (its convex day model, market.coordination.convex); prices move with the
mismatch by a subgradient step and are sent back. Two forms:

- `pool` (weakly centralised): one internal price per hour, set by the market operator and kept
  within the hour's tariff band (between the feed-in and the purchase price, widened by the fee a
  trade pays each side) unless `price_band: none`;
- `bilateral` (decentralised): one price per pair and hour, which both sides of the pair update
  alike from the quantities they exchanged.

Only prices and quantities cross the validators' network. Responses of linear models jump from
one bound to the other as a price crosses a participant's marginal value, so the iterates never
balance by themselves: the agreed trades are the step-weighted (ergodic) averages of the responses,
made reciprocal (`reciprocal_pool`, `reciprocal_pairs`). Each participant then re-solves its own
MILP with its agreed trades fixed, and that is the plan it commits to.

The same problem solved centrally (`convex.central`) is the reference the outcome is measured
against: the dual gap, the recovered trades' cost against the central optimum, and the prices
against the central duals in hours where the central solution trades (elsewhere any price in an
interval is optimal).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import Field

from market.coordination.base import COORDINATION, OPERATOR, Agreement, Channel, CoordinationStage, Participant, wire
from market.coordination.convex import POOL, DayData, LocalProblem, central, counterparties
from market.coordination.reciprocity import pair_trades, pool_pairs, reciprocal_pairs, reciprocal_pool
from market.scheduling import HOURS
from market.stages import StageParams
from market.tariff import Tariff



class DualDecompositionParams(StageParams):
    form: Literal["pool", "bilateral"] = Field(
        "pool", description="pool: one internal price per hour set by the market operator (weakly centralised); "
        "bilateral: one price per pair and hour (decentralised); [L] §B.4.2")
    step: Literal["diminishing", "polyak"] = Field(
        "diminishing", description="diminishing: alpha0/(1 + beta k); polyak: factor x (bound - dual)/|mismatch|^2 "
        "with the best agreed plan's cost as the bound; [L] §B.4.2")
    alpha0: float = Field(1.0, gt=0, le=1_000, description="first diminishing step, RMB/MWh per MWh of mismatch; "
                          "[A] §B.4.2")
    beta: float = Field(0.05, ge=0, le=10, description="decay of the diminishing step per iteration; [A] §B.4.2")
    polyak_factor: float = Field(1.0, gt=0, le=2, description="factor of Polyak's step, halved whenever the dual "
                                 "has not improved for 20 iterations; [L] Held, Wolfe and Crowder (1974)")
    mismatch_tol_mwh: float = Field(0.01, gt=0, le=1_000, description="stop when no hour's (pair's) averaged "
                                    "trades mismatch by more, MWh ...; [A]")
    price_tol_per_mwh: float = Field(0.01, gt=0, le=1_000, description="... and no price moved by more in the "
                                     "last iteration, RMB/MWh; [A]")
    max_iterations: int = Field(1000, ge=1, le=100_000, description="iteration cap; [A] §B.4.2")
    price_band: Literal["tariff", "none"] = Field(
        "tariff", description="tariff: the pool price is projected onto the feed-in to purchase band, widened by "
        "the fee a trade pays each side; none: not projected, so it can reach the central dual where a grid "
        "connection limit binds (a seller curtailing values energy below the feed-in price); [L] §B.4.2")
    reference: bool = Field(True, description="also solve the problem centrally and report the gap to it; [A]")


@dataclass(frozen=True)
class Outcome:
    """What the subgradient method reached: the agreed net trades and prices, its record, its gap."""

    trades: dict[str, dict[str, np.ndarray]]  # participant -> counterparty -> per-hour import (MWh)
    prices: dict[tuple[str, str], np.ndarray]  # (participant, counterparty) -> RMB/MWh per hour
    iterations: int
    converged: bool
    record: dict[str, np.ndarray]  # coordination.csv's columns: one row per iteration, hour and market
    report: dict[str, float | int | bool | None]


def price_band(data: DayData) -> tuple[np.ndarray, np.ndarray]:
    """Where the pool price is kept: between the feed-in and the purchase price, widened by the fee
    a trade pays on each side. Every price at which a trade beats the grid for a buyer and a seller
    whose own grid connections are not both at their limits lies inside."""
    lo = np.minimum(data.buy_per_mwh, data.sell_per_mwh) - data.fee_import_per_mwh
    hi = np.maximum(data.buy_per_mwh, data.sell_per_mwh) + data.fee_export_per_mwh
    return lo, hi


def subgradient(datas: Sequence[DayData], params: DualDecompositionParams, channel: Channel | None = None
                ) -> Outcome:
    """The subgradient method on the participants' convex models; `channel` carries its messages."""
    names = [d.name for d in datas]
    form = params.form
    locals_ = {d.name: LocalProblem(d, counterparties(d.name, names, form)) for d in datas}
    lo, hi = price_band(datas[0])
    keys = [(n, c) for n in names for c in locals_[n].counterparties]
    pairs = [(POOL, POOL)] if form == "pool" else [(n, c) for n, c in keys if n < c]  # one price per pool or pair
    price = {k: (lo + hi) / 2 for k in pairs}
    weights = 0.0
    average = {n: {c: np.zeros(HOURS) for c in locals_[n].counterparties} for n in names}
    history: list[tuple[float, float, np.ndarray, np.ndarray]] = []  # per iteration: step, dual, prices, mismatches
    best_dual, best_price, since_best, factor = -math.inf, dict(price), 0, params.polyak_factor
    bound = None
    converged, k = False, 0
    for k in range(1, params.max_iterations + 1):
        seen = {key: price[_multiplier(key, form)] for key in keys}
        if channel is not None and form == "pool":
            channel.exchange([(OPERATOR, n, {"price_per_mwh": wire(price[(POOL, POOL)])}) for n in names])
        answers = {n: locals_[n].respond({c: seen[(n, c)] for c in locals_[n].counterparties}) for n in names}
        trades = {n: a[0] for n, a in answers.items()}
        if channel is not None:
            channel.exchange([(n, OPERATOR, {"import_mwh": wire(trades[n][POOL])}) for n in names] if form == "pool"
                             else [(n, c, {"import_mwh": wire(trades[n][c])}) for n, c in keys])
        dual = math.fsum(a[2] for a in answers.values())
        mismatch = {(n, c): (sum(trades[m][POOL] for m in names) if form == "pool" else trades[n][c] + trades[c][n])
                    for n, c in pairs}
        if dual > best_dual + 1e-9 * max(1.0, abs(dual)):
            best_dual, best_price, since_best = dual, dict(price), 0
        else:
            since_best += 1
            if since_best >= 20:
                factor, since_best = factor / 2, 0
        norm2 = math.fsum(float(g @ g) for g in mismatch.values())
        if params.step == "polyak":
            if bound is None:
                bound = _no_trade_cost(datas)
            step = factor * max(bound - dual, 0.0) / norm2 if norm2 > 0 else 0.0
        else:
            step = params.alpha0 / (1.0 + params.beta * (k - 1))
        if k & (k - 1) == 0 and k >= 16:  # a power of two: average only the latest half from here on
            weights = 0.0
        weights += step if step > 0 else 0.0
        if step > 0:
            for n in names:
                for c, x in trades[n].items():
                    average[n][c] += step / weights * (x - average[n][c])
        elif weights == 0.0:  # the first answers balance already: they are the agreement
            average = {n: {c: x.copy() for c, x in trades[n].items()} for n in names}
        history.append((step, dual, np.array([price[key] for key in pairs]), np.array([mismatch[key] for key in pairs])))
        moved = 0.0
        for key in pairs:
            new = price[key] + step * mismatch[key]
            if form == "pool" and params.price_band == "tariff":
                new = np.clip(new, lo, hi)
            moved = max(moved, float(np.max(np.abs(new - price[key]))))
            price[key] = new
        averaged = max((float(np.max(np.abs(_avg_mismatch(average, key, names, form)))) for key in pairs), default=0.0)
        if averaged <= params.mismatch_tol_mwh and moved <= params.price_tol_per_mwh:
            converged = True
            break
        if params.step == "polyak" and k % 10 == 0:  # the agreed trades so far: a feasible plan, a bound
            bound = min(bound, _agreed_cost(datas, locals_, _recover(average, datas, form), form))
    # the agreed prices are those of the best dual bound: the last ones still swing with the step
    final = {key: best_price[_multiplier(key, form)] for key in keys}
    agreed = _recover(average, datas, form)
    report = {"form": form, "iterations": k, "converged": converged, "dual_rmb": best_dual,
              "agreed_cost_rmb": _agreed_cost(datas, locals_, agreed, form)}
    if params.reference:
        report.update(_reference(datas, form, final, report))
    return Outcome(agreed, final, k, converged, _record(history, [_market(key, form) for key in pairs]), report)


def _record(history, markets: list[str]) -> dict[str, np.ndarray]:
    """coordination.csv's columns, iteration by iteration, market by market, hour by hour."""
    n, m = len(history), len(markets)
    shape = (n, m, HOURS)
    return {"iteration": np.broadcast_to(np.arange(1, n + 1)[:, None, None], shape).ravel(),
            "hour": np.broadcast_to(np.arange(1, HOURS + 1)[None, None, :], shape).ravel(),
            "market": np.broadcast_to(np.array(markets, dtype=object)[None, :, None], shape).ravel(),
            "price_per_mwh": np.array([h[2] for h in history]).ravel(),
            "mismatch_mwh": np.array([h[3] for h in history]).ravel(),
            "step": np.broadcast_to(np.array([h[0] for h in history])[:, None, None], shape).ravel(),
            "dual_rmb": np.broadcast_to(np.array([h[1] for h in history])[:, None, None], shape).ravel()}


def _recover(average, datas: Sequence[DayData], form: str) -> dict[str, dict[str, np.ndarray]]:
    """The averaged answers made reciprocal: trades every participant can keep."""
    if form == "pool":
        return {n: {POOL: x} for n, x in reciprocal_pool({n: average[n][POOL] for n in average}).items()}
    return reciprocal_pairs(average, {d.name: d.trade_bounds() for d in datas})


def _avg_mismatch(average, key, names, form) -> np.ndarray:
    n, c = key
    return sum(average[m][POOL] for m in names) if form == "pool" else average[n][c] + average[c][n]


def _multiplier(key: tuple[str, str], form: str) -> tuple[str, str]:
    """Whose price a participant's trade with a counterparty pays: the pool's, or the pair's."""
    return (POOL, POOL) if form == "pool" else tuple(sorted(key))


def _market(key: tuple[str, str], form: str) -> str:
    return POOL if form == "pool" else f"{key[0]}|{key[1]}"


def _no_trade_cost(datas: Sequence[DayData]) -> float:
    """Every participant's convex plan without trades: a bound on the optimum known before iterating."""
    return math.fsum(LocalProblem(d, [POOL]).cost_with({POOL: np.zeros(HOURS)})[1] for d in datas)


def _agreed_cost(datas, locals_, agreed, form) -> float:
    """Total objective of the participants' convex plans with given trades fixed (RMB)."""
    total = []
    for d in datas:
        fixed = agreed[d.name] if form == "bilateral" else {POOL: agreed[d.name][POOL]}
        total.append(locals_[d.name].cost_with(fixed)[1])
    return math.fsum(total)


def _reference(datas, form, final, report) -> dict:
    """The central solution and the gaps to it: dual and agreed cost, prices where it trades."""
    ref = central(datas, form)
    traded = {key: np.abs(ref.trades[key[0]][key[1]]) > 1e-6 for key in ref.prices}
    gaps = [float(np.max(np.abs(final[key] - ref.prices[key])[traded[key]])) for key in ref.prices if traded[key].any()]
    return {"central_rmb": ref.objective_rmb,
            "dual_gap_rmb": ref.objective_rmb - report["dual_rmb"],
            "cost_gap_rmb": report["agreed_cost_rmb"] - ref.objective_rmb,
            "cost_gap_share": (report["agreed_cost_rmb"] - ref.objective_rmb) / abs(ref.objective_rmb)
            if ref.objective_rmb else None,
            "price_gap_per_mwh": max(gaps) if gaps else 0.0}


@COORDINATION.register
class DualDecomposition(CoordinationStage):
    name = "dual_decomposition"
    summary = ("day-ahead P2P trades priced by Lagrangian decomposition: participants answer prices, a subgradient "
               "step moves them (pool or per pair); each re-solves its MILP with the agreed trades (§B.4.1-B.4.2)")
    Params = DualDecompositionParams
    tables = ("coordination",)  # coordination.csv: prices and mismatches of every iteration
    section, kept = "decomposition", ("form",)
    summed = ("dual_gap_rmb", "cost_gap_rmb", "central_rmb", "agreed_cost_rmb", "milp_cost_rmb", "own_cost_rmb")
    worst = ("cost_gap_share", "price_gap_per_mwh")

    def coordinate(self, participants: Sequence[Participant], channel: Channel, tariff: Tariff,
                   params: DualDecompositionParams) -> Agreement:
        datas = [DayData.of(p.name, p.scheduler, p.pv_forecast_mw, p.wind_forecast_mw, p.load_forecast_mw,
                            p.own_plan.sell_mw, p.trade_fees_per_mwh) for p in participants]
        by_name = {d.name: d for d in datas}
        out = subgradient(datas, params, channel)
        if params.form == "pool":
            trades = pool_pairs({n: x[POOL] for n, x in out.trades.items()}, out.prices[(datas[0].name, POOL)])
        else:
            trades = pair_trades(out.trades, out.prices)
        draft = Agreement(plans={}, trades=tuple(trades))
        plans = {}
        for p in participants:  # each re-solves its own MILP with its agreed trades fixed
            net = draft.net_import_mwh(p.name)
            plans[p.name] = p.own_plan if not net.any() else p.scheduler.solve(
                p.pv_forecast_mw, p.wind_forecast_mw, p.load_forecast_mw - net)
        fees = math.fsum(t.quantity_mwh * (d.fee_export_per_mwh + b.fee_import_per_mwh) for t in trades
                         for d, b in [(by_name[t.seller], by_name[t.buyer])])
        report = {**out.report, "milp_cost_rmb": math.fsum(plan.cost for plan in plans.values()) + fees,
                  "own_cost_rmb": math.fsum(p.own_plan.cost for p in participants)}
        return Agreement(plans=plans, trades=tuple(trades), iterations=out.iterations, tables={"coordination": out.record},
                         report=report)
