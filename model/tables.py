"""The run's output tables and summary, built once from what the model booked off the chain."""

from __future__ import annotations

import math

from typing import Any

import numpy as np
import pandas as pd

from market.settlement import DnoAccount
from model.outcomes import outcomes

# settlement.csv: each money term of SPEC A.9 (RMB), then the volumes behind them (MWh).
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
    frame = pd.DataFrame(model.bid_rows, columns=columns)
    return frame.sort_values(["day", "hour", "round", "side", "dno"], kind="stable").reset_index(drop=True)


def trades(model) -> pd.DataFrame:
    columns = ["day", "hour", "round", "kind", "seller", "buyer", "quantity_mwh", "price_per_mwh", "valley",
               "compensation_per_mwh", "fee_per_mwh", "block_height", "tx_id"]
    frame = pd.DataFrame(model.trade_rows, columns=columns)
    frame["round"] = frame["round"].astype("Int64")  # grid trades have no round
    return frame


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
    """SPEC A.10 counts over all days: hours with any deviation, with one active DNO, with P2P trades."""
    active = hourly_frame.assign(on=(hourly_frame.supply_mwh > 0) | (hourly_frame.demand_mwh > 0))
    per_hour = active.groupby(["day", "hour"]).on.sum()
    p2p = trades_frame[trades_frame.kind == "p2p"]
    return {
        "active_hours": int((per_hour > 0).sum()),
        "single_dno_hours": int((per_hour == 1).sum()),
        "traded_hours": int(p2p.groupby(["day", "hour"]).ngroups),
    }


def summary(model, frames: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """Deterministic summary of the run (no wall-clock figures: those go to timings.json)."""
    s = model.config
    settle = frames["settlement"]
    deviation = float(settle.deviation_mwh.sum())
    p2p_by_dno = float(settle.p2p_volume_mwh.sum())  # counts each traded MWh on both sides
    chain = model.ledger.metrics()
    chain["transactions"] = sum(len(c.block.entries) for c in model.ledger.chain.blocks)
    chain["tip_height"] = model.ledger.chain.height  # `ledger verify --head` checks the file ends here
    chain["tip_hash"] = model.ledger.chain.tip.hash
    chain["bids_missed_gate"] = int((~frames["bids"].included).sum()) if len(frames["bids"]) else 0
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
    return out


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
