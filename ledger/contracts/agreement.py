"""The day-ahead agreement contract: a coordination stage's outcome, checked before it is settled.

A coordination stage runs off chain; then each DNO submits its own side of the agreement (its
trades, side payment, station schedule and claims) as a `schedule` transaction signed with its
key. The contract refuses a submission that is not the design's stage, is malformed
or contradicts a counterpart's submission already in (a trade not claimed alike by both sides).
When every DNO's is in, it checks the whole (payments balance, the shared storage station can do
the schedules, the payments are the stage's split), then books the day's money, or refuses the
day with its reason, so a forged or one-sided agreement never reaches anyone's account.
"""

from __future__ import annotations

import math

from market.coordination import (COORDINATION, OPERATOR, agreement_problem, reciprocity_problem,  # noqa: F401
                                 settle_agreement, view_problem)  # (OPERATOR: for the channel)
from market.design import stage_params
from market.shared_storage import station_problem
from market.fees import FEE_SHARES

from ledger.contracts.clearing import market_of, station_of
from ledger.contracts.runtime import BlockContext, contract, organisation
from ledger.block import BlockEntry
from ledger.transactions import Transaction


def _members(state: dict) -> list[str]:
    return sorted(m["organisation"] for m in state["members"].values() if m["role"] == "dno")


def _submission_problem(state: dict, tx: Transaction, ctx: BlockContext) -> str | None:
    """Why one DNO's submission is refused on arrival, or None."""
    p, me = tx.payload, organisation(state, tx)
    _, _, design = market_of(ctx.genesis)
    if p["stage"] != design.coordination.stage:
        return f"stage {p['stage']!r} is not the design's {design.coordination.stage!r}"
    day = str(p["day"])
    if day in state.get("agreements", {}):
        return f"day {p['day']} already has an agreement"
    if any(str(r["day"]) == day for r in state.get("refused_agreements", [])):
        return f"day {p['day']}'s agreement was refused"
    pending = state.get("schedules", {}).get(day, {})  # (a second submission is a duplicate: never admitted)
    return view_problem(me, p["view"], _members(state)) or reciprocity_problem({**pending, me: p["view"]})


def _agreement_problem(views: dict, members: list[str], ctx: BlockContext) -> str | None:
    """Why the complete set of submissions cannot be settled, or None."""
    _, _, design = market_of(ctx.genesis)
    problem = agreement_problem(views, members) or _station_problem(views, ctx)
    if problem is not None:
        return problem
    try:
        rule = COORDINATION[design.coordination.stage].allocation(views, stage_params(design.coordination, None))
    except ValueError as exc:
        return str(exc)
    for dno, paid in sorted((rule or {}).items()):
        if abs(views[dno]["payment_rmb"] - paid) > 1e-6 * max(1.0, abs(paid)):
            return f"{dno}'s payment {views[dno]['payment_rmb']:.6f} RMB is not the stage's split ({paid:.6f})"
    return None


def _station_problem(views: dict, ctx: BlockContext) -> str | None:
    """Whether the views' use of the shared storage station fits it (§B.1.5)."""
    used = {n: v["station"] for n, v in views.items() if "station" in v}
    if not used:
        return None
    station = station_of(ctx.genesis)
    if station is None:
        return "the views use a shared storage station this chain does not have"
    problem = station_problem(station, {n: u["to_mwh"] for n, u in used.items()},
                              {n: u["from_mwh"] for n, u in used.items()}, tolerance=1e-6)
    return None if problem is None else f"shared storage: {problem}"


def settle_views(views: dict, genesis) -> dict[str, dict[str, float]]:
    """Each DNO's day-ahead money from an accepted day's views, with the chain's fee rules."""
    params, _, _ = market_of(genesis)
    station = station_of(genesis)
    return settle_agreement(views, params.service_fee_per_mwh, FEE_SHARES[params.fee_payer],
                            0.0 if station is None else station.fee_per_mwh)


@contract("schedule")
def schedule(state: dict, tx: Transaction, entry: BlockEntry, ctx: BlockContext) -> list[dict]:
    """Take one DNO's side of the day's agreement, or record why not; settle the day when it is
    complete, or record why it cannot be."""
    p, me = tx.payload, organisation(state, tx)
    base = {"day": p["day"], "stage": p["stage"]}
    problem = _submission_problem(state, tx, ctx)
    if problem is not None:
        state.setdefault("refused_schedules", []).append({"day": p["day"], "dno": me, "reason": problem,
                                                          "tx_id": entry.tx.tx_id})
        return [{"event": "schedule_refused", **base, "by": me, "reason": problem}]
    events = [{"event": "schedule_accepted", **base, "by": me}]
    pending = state.setdefault("schedules", {}).setdefault(str(p["day"]), {})
    pending[me] = p["view"]
    members = _members(state)
    if len(pending) < len(members):
        return events
    views = state["schedules"].pop(str(p["day"]))
    problem = _agreement_problem(views, members, ctx)
    if problem is not None:
        state.setdefault("refused_agreements", []).append({"day": p["day"], "reason": problem, "tx_id": entry.tx.tx_id})
        return [*events, {"event": "agreement_refused", **base, "reason": problem}]
    accounts = settle_views(views, ctx.genesis)
    day = state.setdefault("agreements", {})[str(p["day"])] = {
        "stage": p["stage"], "accounts": accounts, "block": ctx.height,
        "fees_rmb": math.fsum(a["service_fee_rmb"] for a in accounts.values())}
    if any("station_fee_rmb" in a for a in accounts.values()):  # paid to the station's operator
        day["station_fees_rmb"] = math.fsum(a.get("station_fee_rmb", 0.0) for a in accounts.values())
    return [*events, {"event": "agreement_accepted", **base}]
