"""The run's output tables and summary, built once from what the model booked off the chain."""

from __future__ import annotations

import math

from typing import Any

import numpy as np
import pandas as pd

from market.auction import Rules
from market.participation import reservation_prices
from market.settlement import DnoAccount
from model.market_model import DELIVERY_COLUMNS
from model.heat_outputs import heat_summary
from model.outcomes import outcomes

# settlement.csv: each money term of §A.9 (RMB), then the volumes behind them (MWh).
_MONEY = (
    "p2p_sales_rmb",
    "p2p_purchases_rmb",
    "grid_sales_rmb",
    "grid_purchases_rmb",
    "compensation_received_rmb",
    "compensation_funded_rmb",
    "service_fee_rmb",
    "scheduling_fee_rmb",
)
_VOLUMES = ("p2p_volume_mwh", "valley_volume_mwh", "grid_volume_mwh", "deviation_mwh")


def hourly(model) -> pd.DataFrame:
    return pd.DataFrame(model.hourly_rows)


def bids(model) -> pd.DataFrame:
    columns = ["day", "hour", "round", "dno", "side", "quantity_mwh", "price_per_mwh", "submitted_at", "included", "tx_id"]
    if model.strategy is not None:  # what each quote of a stateful bid strategy rested on
        columns[7:7] = ["aggressiveness", "equilibrium_estimate_per_mwh"]
    if model.config.mechanism.participation != "always":  # who settled with the grid by choice
        columns.insert(-1, "opted_out")
    frame = pd.DataFrame(model.bid_rows, columns=columns)
    if "opted_out" in frame:  # the contract's later rounds are never an opt-out
        frame["opted_out"] = frame["opted_out"].astype(object).where(frame["opted_out"].notna(), False).astype(bool)
    return frame.sort_values(["day", "hour", "round", "side", "dno"], kind="stable").reset_index(drop=True)


def best_response(model) -> pd.DataFrame:
    """Every best-response update of every negotiated hour: the bid and utility after it, and the
    hour's outcome (converged, cycling or not_converged)."""
    columns = ["day", "hour", "sweep", "dno", "bid_per_mwh", "utility_rmb", "outcome"]
    return pd.DataFrame(model.negotiation_rows, columns=columns)


def record_table(records: list[dict]) -> pd.DataFrame:
    """A coordination stage's table (e.g. coordination.csv): each day's columns, one day after another."""
    frames = [pd.DataFrame(r) for r in records]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["day"])


def stage_table(rows: list[dict]) -> pd.DataFrame:
    """A real-time stage's own table (vcg.csv): day first, then the stage's columns in its order."""
    columns = ["day", *dict.fromkeys(k for r in rows for k in r if k != "day")]
    return pd.DataFrame(rows, columns=columns)


def delivery(model) -> pd.DataFrame:
    """One row per DNO and hour whose metered delivery differed from what cleared (market.delivery)."""
    return pd.DataFrame(model.delivery_rows, columns=["day", "hour", *DELIVERY_COLUMNS, "block_height", "tx_id"])


def trades(model) -> pd.DataFrame:
    columns = ["day", "hour", "round", "kind", "seller", "buyer", "quantity_mwh", "price_per_mwh", "valley",
               "compensation_per_mwh", "fee_per_mwh", "block_height", "tx_id"]
    if model.dso is not None:  # where each P2P trade ran and what it paid the DSO; empty for grid trades
        columns[8:8] = ["seller_bus", "buyer_bus", "distance", "uos_per_mwh"]
    frame = pd.DataFrame(model.trade_rows, columns=columns)
    frame["round"] = frame["round"].astype("Int64")  # grid trades have no round
    if model.dso is not None:
        frame = frame.astype({"seller_bus": "Int64", "buyer_bus": "Int64", "distance": float, "uos_per_mwh": float})
    return frame


def _congested(model, day: int, hour: int) -> tuple[set[int], set[int]]:
    """Line positions the hour's linear check found over their limit, before management (any
    round) and after it (the final flows); empty if the hour had no P2P round."""
    result = model.clearings.get((day, hour))
    flows = () if result is None else result.flows
    before = set().union(*(f.congested_before for f in flows)) if flows else set()
    return before, set(flows[-1].congested_after) if flows else set()


def network(model) -> pd.DataFrame:
    """network.csv: one row per hour and in-service line, AC flows and the linear check's verdict."""
    feeder = model.config.network.feeder
    rows = []
    for (day, hour), (_, ac) in sorted(model.dso.hours.items()):
        before, _ = _congested(model, day, hour)
        for k, line in enumerate(feeder.lines):
            rows.append({"day": day + 1, "hour": hour, "line": line, "from_bus": feeder.from_bus[k],
                         "to_bus": feeder.to_bus[k], "flow_mw": ac.flow_mw[k], "limit_mw": feeder.limit_mw[k],
                         "loading_pct": ac.loading_pct[k], "congested": k in before})
    return pd.DataFrame(rows, columns=["day", "hour", "line", "from_bus", "to_bus", "flow_mw", "limit_mw",
                                       "loading_pct", "congested"])


def buses(model) -> pd.DataFrame:
    """buses.csv: one row per hour and bus, the participants' net injection and the AC voltage."""
    feeder = model.config.network.feeder
    rows = [{"day": day + 1, "hour": hour, "bus": bus, "p_mw": injection[k], "v_pu": ac.v_pu[k]}
            for (day, hour), (injection, ac) in sorted(model.dso.hours.items()) for k, bus in enumerate(feeder.buses)]
    return pd.DataFrame(rows, columns=["day", "hour", "bus", "p_mw", "v_pu"])


def network_summary(model) -> dict[str, Any]:
    """summary.json's `network`: charges, the linear check and management, and the AC truth.

    `curtailed_mwh` sums what management cut from the pairs of each round (a cut volume may still
    trade in a later round), `management_added_mwh` what it added to other pairs instead (a
    re-pairing through a counterflow); `linear_out_of_band_bus_hours` counts buses whose LinDistFlow voltage with the
    hour's trades is outside the band (checked, not managed). `ac_missed_by_linear` counts line-hours the AC power flow finds over their limit
    although the linear check passed them, with the worst of them: the linear check sees the
    trades on the base case, the AC power flow every deviation, traded or not (docs/network.md).
    """
    feeder = model.config.network.feeder
    before_hours = after_hours = linear_out_of_band = 0
    curtailed = added = 0.0
    missed: list[tuple[float, int, int, int]] = []
    loading, v_low, v_high, losses, overloaded, out_of_band, diverged = [], [], [], 0.0, 0, 0, 0
    for (day, hour), (_, ac) in sorted(model.dso.hours.items()):
        before, after = _congested(model, day, hour)
        before_hours += len(before)
        after_hours += len(after)
        result = model.clearings.get((day, hour))
        curtailed += math.fsum(f.curtailed_mwh for f in result.flows) if result is not None else 0.0
        added += math.fsum(f.added_mwh for f in result.flows) if result is not None else 0.0
        linear_out_of_band += len(result.flows[-1].out_of_band_after) if result is not None and result.flows else 0
        if not ac.converged:
            diverged += 1
            continue
        loading.append(float(np.max(ac.loading_pct)))
        v_low.append(float(np.min(ac.v_pu)))
        v_high.append(float(np.max(ac.v_pu)))
        losses += ac.losses_mw
        over = np.flatnonzero(ac.overloaded())
        overloaded += len(over)
        out_of_band += int(ac.out_of_band(feeder).sum())
        missed += [(float(ac.loading_pct[k]), day, hour, k) for k in over if k not in after]
    worst = max(missed, default=None)
    return {
        "uos_collected_rmb": model.dso.uos_rmb,
        "congested_line_hours_before": before_hours,
        "congested_line_hours_after": after_hours,
        "curtailed_mwh": curtailed,
        "management_added_mwh": added,
        "linear_out_of_band_bus_hours": linear_out_of_band,
        "worst_loading_pct": max(loading, default=None),
        "min_v_pu": min(v_low, default=None),
        "max_v_pu": max(v_high, default=None),
        "losses_mwh": losses,
        "ac_overloaded_line_hours": overloaded,
        "ac_out_of_band_bus_hours": out_of_band,
        "ac_not_converged_hours": diverged,
        "ac_missed_by_linear": {
            "line_hours": len(missed),
            "worst": None if worst is None else {"day": worst[1] + 1, "hour": worst[2], "line": feeder.lines[worst[3]],
                                                 "loading_pct": worst[0]},
        },
        **trade_locality(model),
    }


def trade_locality(model) -> dict[str, float | None]:
    """How local the P2P trades were: the share of their volume between DNOs at most the median
    electrical distance apart (over all pairs of DNOs), and their volume-weighted mean distance."""
    market = model.config.network.market_network
    names = [d.name for d in model.dnos]
    median = float(np.median([market.distance(a, b) for a in names for b in names if a != b])) if len(names) > 1 else 0.0
    p2p = [(r["quantity_mwh"], r["distance"]) for r in model.trade_rows if r["kind"] == "p2p"]
    volume = math.fsum(q for q, _ in p2p)
    if volume <= 0:
        return {"local_trade_share": None, "mean_trade_distance_ohm": None}
    return {"local_trade_share": math.fsum(q for q, d in p2p if d <= median) / volume,
            "mean_trade_distance_ohm": math.fsum(q * d for q, d in p2p) / volume}


def credit(model) -> pd.DataFrame:
    """credit.csv: every change of double credit the chain committed, in chain order (node credit
    and composite are empty for DNOs, which hold transaction credit only)."""
    columns = ["day", "hour", "node_or_participant", "transaction_credit", "node_credit", "composite", "event"]
    return pd.DataFrame(model.credit_rows, columns=columns).astype({"node_credit": float, "composite": float})


def settlement(model) -> pd.DataFrame:
    """One row per DNO: the money terms as settled on chain, net revenue, S0 baseline and gain."""
    rows = []
    for dno in model.dnos:
        a: DnoAccount = model.accounts[dno.name]
        rows.append({
            "dno": dno.name,
            **{k: getattr(a, k) for k in _MONEY},
            **({"uos_rmb": a.uos_rmb} if model.dso is not None else {}),  # paid to the DSO
            **({"top_up_rmb": a.top_up_rmb} if model.real_time.name == "vcg" else {}),  # from the operator
            # forecast errors settled after delivery: net paid to the grid, penalties to the operator
            **({"imbalance_rmb": a.imbalance_rmb, "penalty_rmb": a.penalty_rmb}
               if model.config.design.delivery.settle else {}),
            "revenue_rmb": a.revenue_rmb,
            "baseline_s0_rmb": a.baseline_rmb,
            "gain_rmb": a.gain_rmb,
            **{k: getattr(a, k) for k in _VOLUMES},
            "trade_share": a.trade_share,
            "storage_owner_payments_rmb": math.fsum(o.revenue_rmb for o in dno.owners),
            "retained_rmb": dno.retained_rmb,
        })
    return pd.DataFrame(rows)


def activity(hourly_frame: pd.DataFrame, trades_frame: pd.DataFrame) -> dict[str, int]:
    """§A.10 counts over all days: hours with any deviation, with one active DNO, with P2P trades."""
    active = hourly_frame.assign(on=(hourly_frame.supply_mwh > 0) | (hourly_frame.demand_mwh > 0))
    per_hour = active.groupby(["day", "hour"]).on.sum()
    p2p = trades_frame[trades_frame.kind == "p2p"]
    return {
        "active_hours": int((per_hour > 0).sum()),
        "single_dno_hours": int((per_hour == 1).sum()),
        "traded_hours": int(p2p.groupby(["day", "hour"]).ngroups),
    }


def individual_rationality(model, frames: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """Who lost money by trading: DNOs whose revenue fell below settling everything with the grid
    (S0), and the sides of P2P trades priced beyond their reservation price (market.participation:
    the grid's price, net of the side's fee share and any compensation), with what they lost."""
    p2p = frames["trades"][frames["trades"]["kind"] == "p2p"]
    losses: dict[str, list[float]] = {dno.name: [] for dno in model.dnos}
    sides = 0
    for hour, rows in p2p.groupby("hour"):
        seller_floor, buyer_cap = reservation_prices(Rules.for_hour(model.config.mechanism, model.config.tariff,
                                                                    int(hour)))
        for seller, buyer, q, price in zip(rows["seller"], rows["buyer"], rows["quantity_mwh"], rows["price_per_mwh"]):
            for who, short in ((seller, seller_floor - price), (buyer, price - buyer_cap)):
                if short > 1e-9:
                    sides += 1
                    losses[who].append(short * q)
    settle = frames["settlement"]
    return {"dnos_worse_off_than_s0": sorted(settle.dno[settle.gain_rmb < -1e-6]),
            "trade_sides_worse_than_grid": sides,
            "loss_against_grid_rmb": math.fsum(v for values in losses.values() for v in values),
            "loss_against_grid_by_dno_rmb": {dno: math.fsum(values) for dno, values in losses.items()}}


def summary(model, frames: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """Deterministic summary of the run (no wall-clock figures: those go to timings.json)."""
    s = model.config
    settle = frames["settlement"]
    deviation = float(settle.deviation_mwh.sum())
    p2p_by_dno = float(settle.p2p_volume_mwh.sum())  # counts each traded MWh on both sides
    chain = model.ledger.metrics()
    chain["transactions"] = sum(len(c.block.entries) for c in model.ledger.chain.blocks)
    tip = model.ledger.chain.record_tip  # `ledger verify --head` checks the file ends here
    chain["tip_height"], chain["tip_hash"] = tip.height, tip.hash
    chain["bids_missed_gate"] = sum(1 for book in model.ledger.chain.state["bids"].values() for r in book
                                    if not r["included"] and "refused" not in r)  # refused ones: credit's count
    trades = frames["trades"]
    valley_p2p = trades[(trades.kind == "p2p") & trades.valley.astype(bool)]
    out = {
        "scenario": s.name,
        "seed": model.seed,
        "days": s.days,
        "matching": s.mechanism.matching,
        "intraday_mode": s.scheduling.intraday_mode,
        "consensus": s.ledger.engine,
        "solver": model.dnos[0].day_ahead.solver if model.dnos else None,
        "social_welfare_rmb": model.welfare_rmb,
        "p2p_volume_mwh": model.p2p_volume_mwh,
        "grid_volume_mwh": model.grid_volume_mwh,
        "valley_p2p_volume_mwh": float(valley_p2p.quantity_mwh.sum()),
        "valley_traded_hours": int(valley_p2p.groupby(["day", "hour"]).ngroups),
        "unserved_mwh": float(frames["hourly"].unserved_mw.sum()),
        "deviation_mwh": deviation,
        "trade_share": p2p_by_dno / deviation if deviation > 0 else 0.0,
        "trade_share_by_dno": dict(zip(settle.dno, settle.trade_share)),
        "gain_by_dno_rmb": dict(zip(settle.dno, settle.gain_rmb)),
        "individual_rationality": individual_rationality(model, frames),
        **activity(frames["hourly"], frames["trades"]),
        "platform": model.platform,
        "main_grid_net_rmb": model.main_grid.net_rmb,
        "chain": {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in chain.items()},
        "design": s.design.model_dump(mode="json"),
        "warnings": model.ledger.fault_warnings(),
        "outcomes": outcomes(model, frames, chain),
    }
    if s.ledger.credit.enabled:  # only then: a chain without credit has the summary it always had
        out["credit"] = credit_summary(model)
    if s.ledger.engine == "pow":  # proof of work settles in tokens (1 token = 1 RMB) on final blocks
        out["tokens"] = model.ledger.token_balances()
    if s.scheduling.uncertainty == "dro":  # the robust plans: how they were found and what they cost
        out["dro"] = dro_summary(frames["dro"])
    if model.has_heat:  # electric-heat DNOs (§B.2.1): their heat dispatch and its cost
        out["heat"] = heat_summary(frames["hourly"], s, model.plan_rows)
    if model.dso is not None:
        out["network"] = network_summary(model)
    if s.design.delivery.settle:
        out["delivery"] = delivery_summary(frames["delivery"])
    if "top_ups_paid_rmb" in model.platform or model.real_time.name == "vcg":  # VCG's budget deficit
        out["vcg"] = {"deficit_rmb": model.platform.get("top_ups_paid_rmb", 0.0)}
    state = model.ledger.chain.state
    if any(k in state for k in ("agreements", "refused_agreements", "schedules", "refused_schedules")):
        # day-ahead agreements: what the chain decided, the submissions it refused and the days still
        # missing a DNO's submission
        out["agreements"] = {"accepted": len(state.get("agreements", {})),
                             "refused": [{"day": r["day"] + 1, "reason": r["reason"]}
                                         for r in state.get("refused_agreements", [])],
                             "refused_submissions": [{"day": r["day"] + 1, "dno": r["dno"], "reason": r["reason"]}
                                                     for r in state.get("refused_schedules", [])],
                             "incomplete_days": sorted(int(d) + 1 for d in state.get("schedules", {}))}
    if model.coordination_reports and model.coordination.section:  # a stage that iterates: how far it got
        out[model.coordination.section] = model.coordination.summarize(model.coordination_reports)
    if model.real_time.negotiates:  # hours whose bids were negotiated, by how the negotiation ended
        hours = sum(model.negotiation_outcomes.values())
        out["negotiation"] = {"hours": hours,
                              **{k: model.negotiation_outcomes.get(k, 0) for k in ("converged", "cycling", "not_converged")},
                              "converged_share": model.negotiation_outcomes.get("converged", 0) / hours if hours else None}
    return out


def dro_summary(rows: pd.DataFrame) -> dict[str, Any]:
    """The robust plans over DNOs and days: C&CG's iterations and convergence, their worst-case
    expected cost, and the price of robustness: what the robust plans cost on the days' actuals
    less what the deterministic plans would have (storage as planned, the grid settling the rest)."""
    robust, deterministic = float(rows.realised_robust_rmb.sum()), float(rows.realised_deterministic_rmb.sum())
    return {"plans": len(rows), "converged": int(rows.converged.sum()), "iterations": int(rows.iterations.sum()),
            "worst_case_cost_rmb": float(rows.upper_rmb.sum()), "realised_robust_rmb": robust,
            "realised_deterministic_rmb": deterministic, "price_of_robustness_rmb": robust - deterministic}


def delivery_summary(rows: pd.DataFrame) -> dict[str, Any]:
    """Forecast errors settled after delivery, totalled: what was short of the P2P contracts, the
    penalties (to the market operator), the net paid to the grid, and how many settlements."""
    return {"settlements": len(rows), "shortfall_mwh": math.fsum(rows.shortfall_mwh),
            "penalties_rmb": math.fsum(rows.penalty_rmb), "paid_to_grid_rmb": math.fsum(rows.grid_rmb)}


def credit_summary(model) -> dict[str, Any]:
    """Double credit at the end of the run: each DNO's transaction credit, each validator's node
    credit and composite, and how many bids the trading contract refused for low credit."""
    participants, validators = model.ledger.credits()
    names = {v.name: model.ledger.alliance.validators[v.index].public_hex for v in model.validators}
    rules = model.config.ledger.credit.rules
    refused = sum(len([r for r in book if "refused" in r]) for book in model.ledger.chain.state["bids"].values())
    return {
        "transaction_by_dno": participants,
        "node_by_validator": {name: validators[key].node for name, key in names.items()},
        "composite_by_validator": {name: validators[key].composite(rules) for name, key in names.items()},
        "bids_refused": refused,
    }


def network_note(summary_: dict[str, Any]) -> str | None:
    """One line when the AC power flow found what the linear check did not, or did not converge."""
    net = summary_.get("network")
    if net is None:
        return None
    missed, parts = net["ac_missed_by_linear"], []
    if missed["line_hours"]:
        w = missed["worst"]
        parts.append(f"{missed['line_hours']} line-hours over their limit in the AC power flow that the linear "
                     f"check passed (worst: line {w['line']}, day {w['day']} hour {w['hour']}, "
                     f"{w['loading_pct']:.1f} %)")
    if net["ac_not_converged_hours"]:
        parts.append(f"the AC power flow did not converge in {net['ac_not_converged_hours']} hours")
    return "network: " + "; ".join(parts) if parts else None


def measures(summary_: dict[str, Any]) -> dict[str, float | int | str]:
    """The summary flattened to scalars for sweeps (`a.b` for nested keys)."""
    flat: dict[str, float | int | str] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        elif isinstance(value, list):  # e.g. warnings: one text column, empty when there are none
            flat[prefix] = "; ".join(str(v) for v in value)
        elif value is not None:
            flat[prefix] = value

    walk("", summary_)
    return flat
