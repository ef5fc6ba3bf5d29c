"""The cooperative design (§B.1): the DNOs schedule the day together, sharing a storage station
and trading with each other, to minimise the coalition's cost; then they split the saving by Nash
bargaining and settle it on chain.

P1 (the coalition's day) is solved by consensus ADMM among the DNOs and the station's operator
(market.coordination.admm) on their convex days; the agreed trades and use of the station are then
fixed and each DNO re-solves its own MILP, which gives its cost in the coalition C*_i (grid energy,
its share of the chain's fee on trades, the station's fee). Its cost alone C0_i is its own plan's
(no trades, no station). P2 (the split): net payments by `market.bargaining.nash_payments`,
symmetric, weighted by contribution, or weighted so that every DNO ends equally satisfied; trades carry no price, the payments settle.

The same P1 solved centrally is the reference: the report gives ADMM's cost gap to it and how far
its copies still disagreed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from market.bargaining import contribution_weights, equal_satisfaction_weights, nash_payments, satisfaction
from market.coordination.admm import admm
from market.coordination.base import COORDINATION, Agreement, Channel, CoordinationStage, Participant
from market.coordination.convex import DayData, central
from market.coordination.reciprocity import pair_trades, reciprocal_pairs
from market.shared_storage import SharedStorage, station_problem
from market.stages import StageFieldError, StageParams
from market.tariff import Tariff


class NashBargainingParams(StageParams):
    split: Literal["symmetric", "contribution", "equal_satisfaction"] = Field(
        "symmetric", description="symmetric: every DNO gains the same; contribution: gains in proportion to the "
        "weights of §B.1.4 from energy supplied to and received from the coalition; equal_satisfaction: every DNO "
        "ends with the same satisfaction degree; [L] §B.1.4 ([A] for equal_satisfaction)")
    rho: float = Field(0.1, gt=0, le=1e6, description="ADMM's first penalty, RMB/MWh^2; [A] §B.1.3")
    adaptive_rho: bool = Field(True, description="double or halve rho when one residual is ten times the other; "
                               "[L] Boyd et al. (2011) 3.4.1")
    eps_rel: float = Field(1e-3, ge=0, le=1, description="relative stopping tolerance; [A] §B.1.3")
    eps_abs: float = Field(1e-3, ge=0, le=1e3, description="absolute stopping tolerance per coupled value, MWh; [A]")
    max_iterations: int | None = Field(500, ge=1, le=100_000, description="ADMM's iteration cap; none: until the "
                                       "tolerances hold; [A] §B.1.3")
    solver_tolerance: float = Field(1e-6, gt=0, le=1e-2, description="PDLP's relative and absolute tolerance on "
                                    "each local step; [A]")
    reference: bool = Field(True, description="also solve P1 centrally and report the gap to it; [A]")

    @model_validator(mode="after")
    def _ends(self) -> NashBargainingParams:
        if self.max_iterations is None and self.eps_rel == 0 and self.eps_abs == 0:
            raise StageFieldError("max_iterations", "with both tolerances 0, ADMM needs an iteration cap")
        return self


def split_saving(claims: Mapping[str, Mapping[str, float]], split: str) -> tuple[dict[str, float], dict[str, float]]:
    """Net payments (positive: pays) and bargaining weights from each participant's claims: its
    cost alone and in the coalition, and the energy it supplied to and received from it."""
    try:
        alone = {n: float(c["standalone_cost_rmb"]) for n, c in claims.items()}
        together = {n: float(c["coalition_cost_rmb"]) for n, c in claims.items()}
        if split == "contribution":
            weights = contribution_weights({n: float(c["supplied_mwh"]) for n, c in claims.items()},
                                           {n: float(c["received_mwh"]) for n, c in claims.items()})
        elif split == "equal_satisfaction":
            weights = equal_satisfaction_weights(alone, together)
        else:
            weights = {n: 1.0 for n in claims}
    except (KeyError, TypeError) as exc:
        raise ValueError(f"a participant's claims lack {exc}") from None
    return nash_payments(alone, together, weights), weights


@COORDINATION.register
class NashBargaining(CoordinationStage):
    name = "nash_bargaining"
    summary = ("the coalition schedules together by ADMM (P2P trades, a shared storage station), then splits its "
               "saving by Nash bargaining, settled on chain (§B.1)")
    Params = NashBargainingParams
    tables = ("admm", "bargaining")  # admm.csv: residuals by iteration; bargaining.csv: the split
    uses_station = True
    section, kept = "bargaining", ("split",)
    summed = ("standalone_cost_rmb", "coalition_cost_rmb", "saving_rmb", "station_fees_rmb", "admm_cost_rmb",
              "central_cost_rmb")
    worst = ("cost_gap_share", "violation_mwh")

    def allocation(self, views: Mapping[str, Mapping], params: NashBargainingParams) -> dict[str, float]:
        """The split the contract computes itself from the claims every participant signed."""
        missing = sorted(n for n, v in views.items() if "claims" not in v)
        if missing:
            raise ValueError(f"no claims from {', '.join(missing)}")
        payments, _ = split_saving({n: v["claims"] for n, v in views.items()}, params.split)
        return {n: -pay for n, pay in payments.items()}

    def coordinate(self, participants: Sequence[Participant], channel: Channel, tariff: Tariff,
                   params: NashBargainingParams, station: SharedStorage | None = None) -> Agreement:
        power = station.power_mw if station is not None and station.energy_mwh > 0 else 0.0
        fee = station.fee_per_mwh if station is not None else 0.0
        datas = [DayData.of(p.name, p.scheduler, p.pv_forecast_mw, p.wind_forecast_mw, p.load_forecast_mw,
                            p.own_plan.sell_mw, p.trade_fees_per_mwh, power, fee) for p in participants]
        ses = station if power > 0 else None
        out = admm(datas, ses, params.rho, params.adaptive_rho, params.eps_abs, params.eps_rel, params.max_iterations,
                   params.solver_tolerance, channel)
        zero = np.zeros(24)
        use = {d.name: out.station.get(d.name, (zero, zero)) for d in datas}
        if ses is not None:  # what the contract will check: a schedule it would refuse is a fault here
            problem = station_problem(ses, {n: u[0] for n, u in use.items()}, {n: u[1] for n, u in use.items()})
            if problem is not None:
                raise RuntimeError(f"the agreed use of the shared storage station does not fit it: {problem}")
        bounds = {}
        for d in datas:  # what is left for trades once its use of the station is fixed
            imports, exports = d.trade_bounds()
            from_station = use[d.name][1] - use[d.name][0]
            bounds[d.name] = (np.maximum(imports - from_station, 0.0), np.maximum(exports + from_station, 0.0))
        agreed = reciprocal_pairs(out.trades, bounds)
        unpriced = {(buyer, seller): zero for buyer in agreed for seller in agreed[buyer]}  # the payments settle
        trades = pair_trades(agreed, unpriced)
        draft = Agreement(plans={}, trades=tuple(trades))
        plans, alone, together, supplied, received = {}, {}, {}, {}, {}
        for p, d in zip(participants, datas):  # each re-solves its own MILP with what it agreed fixed
            to_station, from_station = use[p.name]
            net = draft.net_import_mwh(p.name) + from_station - to_station
            plans[p.name] = p.own_plan if not net.any() else p.scheduler.solve(
                p.pv_forecast_mw, p.wind_forecast_mw, p.load_forecast_mw - net)
            bought = math.fsum(t.quantity_mwh for t in trades if t.buyer == p.name)
            sold = math.fsum(t.quantity_mwh for t in trades if t.seller == p.name)
            station_mwh = float(np.sum(to_station) + np.sum(from_station))
            alone[p.name] = p.own_plan.cost
            together[p.name] = (plans[p.name].cost + d.fee_import_per_mwh * bought + d.fee_export_per_mwh * sold
                                + fee * station_mwh)
            supplied[p.name] = sold + float(np.sum(to_station))
            received[p.name] = bought + float(np.sum(from_station))
        claims = {n: {"standalone_cost_rmb": alone[n], "coalition_cost_rmb": together[n], "supplied_mwh": supplied[n],
                      "received_mwh": received[n]} for n in alone}
        payments, weights = split_saving(claims, params.split)
        final = {n: together[n] + payments[n] for n in alone}
        satisfied = satisfaction(alone, together, final)
        names = sorted(alone)
        bargaining = {"dno": np.array(names, dtype=object),
                      **{column: np.array([values[n] for n in names]) for column, values in (
                          ("standalone_cost_rmb", alone), ("coalition_cost_rmb", together), ("payment_rmb", payments),
                          ("final_cost_rmb", final), ("gain_rmb", {n: alone[n] - final[n] for n in names}),
                          ("satisfaction", satisfied), ("weight", weights), ("supplied_mwh", supplied),
                          ("received_mwh", received))}}
        admm_table = {key: np.array([r[key] for r in out.rows]) for key in out.rows[0]}
        report = {"split": params.split, "iterations": out.iterations, "converged": out.converged,
                  "violation_mwh": out.violation_mwh, "admm_cost_rmb": math.fsum(out.costs_rmb.values()),
                  "standalone_cost_rmb": math.fsum(alone.values()), "coalition_cost_rmb": math.fsum(together.values()),
                  "saving_rmb": math.fsum(alone.values()) - math.fsum(together.values()),
                  "station_fees_rmb": fee * math.fsum(float(np.sum(a) + np.sum(b)) for a, b in use.values())}
        if params.reference:
            ref = central(datas, "bilateral", ses=ses)
            report["central_cost_rmb"] = ref.cost_rmb
            report["cost_gap_share"] = (report["admm_cost_rmb"] - ref.cost_rmb) / abs(ref.cost_rmb) if ref.cost_rmb else None
        return Agreement(plans=plans, trades=tuple(trades), payments_rmb={n: -payments[n] for n in names},
                         iterations=out.iterations, tables={"admm": admm_table, "bargaining": bargaining},
                         report=report, station={n: use[n] for n in out.station}, claims=claims)
