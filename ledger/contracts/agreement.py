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

from market.coordination import OPERATOR, agreement_problem, settle_agreement  # noqa: F401  (OPERATOR: for the channel)
from market.fees import FEE_SHARES

from ledger.canonical import canonical_bytes
from ledger.contracts.clearing import market_of
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
    problem = agreement_problem(p["views"], sorted(keys))
    if problem is not None:
        return problem
    message = approval_message(state["chain_id"], p["day"], p["stage"], p["views"])
    for dno, key in sorted(keys.items()):
        signature = p["approvals"].get(dno)
        if not isinstance(signature, str) or not verify_signature(bytes.fromhex(key), _hex(signature), message):
            return f"{dno} did not approve these views"
    return None


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
    accounts = settle_agreement(p["views"], params.service_fee_per_mwh, FEE_SHARES[params.fee_payer])
    agreements[str(p["day"])] = {"stage": p["stage"], "accounts": accounts, "block": ctx.height,
                                 "fees_rmb": math.fsum(a["service_fee_rmb"] for a in accounts.values())}
    return [event]
