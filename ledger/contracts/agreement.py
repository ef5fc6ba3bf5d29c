"""The day-ahead agreement contract: a coordination stage's outcome, checked before it is settled.

A coordination stage runs off chain; its outcome arrives as one `agreement` transaction carrying
every DNO's own view (its trades and side payment) with that DNO's Ed25519 approval of the whole
agreement. The contract accepts it only if it is the design's stage, every DNO approved exactly
these views, and `market.coordination.agreement_problem` finds nothing (trades reciprocal, side
payments balanced). Only an accepted agreement's money is booked; a refused one is recorded with
its reason, so a forged or one-sided agreement never reaches anyone's account.
"""

from __future__ import annotations

import math

from market.coordination import COORDINATION, OPERATOR, agreement_problem, settle_agreement  # noqa: F401  (OPERATOR: for the channel)
from market.design import stage_params
from market.shared_storage import station_problem
from market.fees import FEE_SHARES

from ledger.canonical import canonical_bytes
from ledger.contracts.clearing import market_of, station_of
from ledger.contracts.runtime import BlockContext, contract, organisation
from ledger.block import BlockEntry
from ledger.identity import verify_signature
from ledger.transactions import Transaction


def approval_message(chain_id: str, day: int, stage: str, views: dict) -> bytes:
    """The bytes each participant signs to approve an agreement."""
    return canonical_bytes({"chain_id": chain_id, "day": day, "stage": stage, "views": views,
                            "what": "day-ahead agreement"})


def _problem(state: dict, tx: Transaction, ctx: BlockContext) -> str | None:
    p = tx.payload
    _, _, design = market_of(ctx.genesis)
    if p["stage"] != design.coordination.stage:
        return f"stage {p['stage']!r} is not the design's {design.coordination.stage!r}"
    if str(p["day"]) in state.get("agreements", {}):
        return f"day {p['day']} already has an agreement"
    keys = {m["organisation"]: key for key, m in state["members"].items() if m["role"] == "dno"}
    problem = agreement_problem(p["views"], sorted(keys)) or _station_problem(p["views"], ctx)
    if problem is not None:
        return problem
    try:
        rule = COORDINATION[design.coordination.stage].allocation(p["views"], stage_params(design.coordination, None))
    except ValueError as exc:
        return str(exc)
    for dno, paid in sorted((rule or {}).items()):
        if abs(p["views"][dno]["payment_rmb"] - paid) > 1e-6 * max(1.0, abs(paid)):
            return f"{dno}'s payment {p['views'][dno]['payment_rmb']:.6f} RMB is not the stage's split ({paid:.6f})"
    message = approval_message(state["chain_id"], p["day"], p["stage"], p["views"])
    for dno, key in sorted(keys.items()):
        signature = p["approvals"].get(dno)
        if not isinstance(signature, str) or not verify_signature(bytes.fromhex(key), _hex(signature), message):
            return f"{dno} did not approve these views"
    return None


def _station_problem(views: dict, ctx: BlockContext) -> str | None:
    """Whether the views' use of the shared storage station fits it (SPEC B.1.5)."""
    used = {n: v["station"] for n, v in views.items() if "station" in v}
    if not used:
        return None
    station = station_of(ctx.genesis)
    if station is None:
        return "the views use a shared storage station this chain does not have"
    problem = station_problem(station, {n: u["to_mwh"] for n, u in used.items()},
                              {n: u["from_mwh"] for n, u in used.items()}, tolerance=1e-6)
    return None if problem is None else f"shared storage: {problem}"


def _hex(text: str) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError:
        return b""


@contract("agreement")
def agreement(state: dict, tx: Transaction, entry: BlockEntry, ctx: BlockContext) -> list[dict]:
    """Check a day-ahead agreement and book its money, or record why it was refused."""
    p = tx.payload
    problem = _problem(state, tx, ctx)
    agreements = state.setdefault("agreements", {})  # only chains with coordination carry it
    event = {"event": "agreement_accepted" if problem is None else "agreement_refused", "day": p["day"],
             "stage": p["stage"], "by": organisation(state, tx)}
    if problem is not None:
        state.setdefault("refused_agreements", []).append({"day": p["day"], "reason": problem, "tx_id": entry.tx.tx_id})
        return [{**event, "reason": problem}]
    params, _, _ = market_of(ctx.genesis)
    station = station_of(ctx.genesis)
    accounts = settle_agreement(p["views"], params.service_fee_per_mwh, FEE_SHARES[params.fee_payer],
                                0.0 if station is None else station.fee_per_mwh)
    agreements[str(p["day"])] = {"stage": p["stage"], "accounts": accounts, "block": ctx.height,
                                 "fees_rmb": math.fsum(a["service_fee_rmb"] for a in accounts.values())}
    if any("station_fee_rmb" in a for a in accounts.values()):  # paid to the station's operator
        agreements[str(p["day"])]["station_fees_rmb"] = math.fsum(a.get("station_fee_rmb", 0.0) for a in accounts.values())
    return [event]
