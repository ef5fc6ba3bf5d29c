"""The credit contract: double credit (docs/credit.md) kept on chain, moved only by what the chain records.

Transaction credit (TC) is each DNO's and moves when one of its hours is settled: up by a+ times
the share of its contracted volume that was settled (a bid refused for low credit is settled with
the grid, which counts, so a refused DNO can earn its way back), down by a- when its bid missed
the gate (late) or a meter reading puts its delivery outside the tolerance. Node credit (NC) is
each validator's and moves with each block that carries the proposer's evidence: up by b+ for a
validator whose vote for the parent block is in it (or that proposed the block), down by b- once
it has been missing from `timeout_blocks` evidences in a row (a timeout) and for each pair of
conflicting votes it signed. One missing vote is no fault: a quorum is all a certificate needs.

A validator hosted by a DNO carries that DNO's TC, others their starting TC. Raft reads these
credits from the committed state, so every node applies the same ones, and the bid contract
refuses bids from a DNO whose TC is below theta_trade. Everything here reads only the block, its
context and the state before it, so `ledger verify` replays it exactly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Sequence

from ledger.block import BlockEntry, CommitCertificate, MalformedBlock, Vote
from ledger.canonical import canonical_bytes
from ledger.contracts.runtime import AFTER_BLOCK, GENESIS_PARTS, BlockContext, ContractError, contract, hour_key
from ledger.credit import ChainCredit, Credit, CreditParams, update_node_credit, update_transaction_credit
from ledger.genesis import Genesis
from ledger.identity import Role
from ledger.transactions import Transaction

VOTE_FIELDS = {"vote_type", "height", "round", "block_hash", "validator", "signature"}


def credit_document(settings: ChainCredit, dnos: Sequence[str], validators: Sequence[str],
                    hosts: Sequence[str | None] = ()) -> dict:
    """What the genesis document carries: the rules, each DNO's starting TC, and each validator's
    starting NC with the DNO whose TC it carries. `validators` are keys in node order (the order
    validator indices count in), `hosts[i]` the organisation running validators[i]."""
    start = settings.initial
    members = {key: {"host": hosts[i] if i < len(hosts) and hosts[i] in dnos else None,
                     "transaction": start, "node": settings.validators.get(i, start)}
               for i, key in enumerate(validators)}
    return {"rules": settings.rules.model_dump(mode="json"),
            "participants": {dno: settings.participants.get(dno, start) for dno in sorted(dnos)},
            "validators": members}


@lru_cache(maxsize=32)
def _rules(doc: bytes) -> CreditParams:
    return CreditParams(**json.loads(doc))


def rules_of(genesis: Genesis) -> CreditParams | None:
    """The credit rules the chain was founded with, or None if it keeps no credit."""
    return _rules(canonical_bytes(genesis.credit["rules"])) if genesis.credit else None


def _at_genesis(genesis: Genesis) -> dict:
    """Everyone's starting credit: as the document lists it, else the rules' `initial`."""
    if not genesis.credit:
        return {}
    doc, start = genesis.credit, rules_of(genesis).initial
    dnos = sorted(m.organisation for m in genesis.registry.members() if m.role is Role.DNO)
    fresh = {"host": None, "transaction": start, "node": start}
    return {"credit": {"participants": {dno: doc["participants"].get(dno, start) for dno in dnos},
                       "validators": {key: {**doc["validators"].get(key, fresh), "missed": 0}
                                      for key in genesis.validators.members},
                       "convicted": {}, "evidence_at": 0, "metered": {}}}


GENESIS_PARTS.append(_at_genesis)


# --- reading credit -------------------------------------------------------------------------------

def _transaction_credit(credit: dict, key: str) -> float:
    member = credit["validators"][key]
    return member["transaction"] if member["host"] is None else credit["participants"][member["host"]]


def validator_credits(state: dict) -> dict[str, Credit]:
    """Each validator's (TC, NC) in `state`, by key; empty on a chain that keeps no credit."""
    credit = state.get("credit")
    if credit is None:
        return {}
    return {key: Credit(_transaction_credit(credit, key), v["node"]) for key, v in credit["validators"].items()}


def participant_credits(state: dict) -> dict[str, float]:
    """Each DNO's transaction credit in `state`; empty on a chain that keeps no credit."""
    return dict(state.get("credit", {}).get("participants", {}))


def bid_refusal(state: dict, genesis: Genesis, dno: str) -> str | None:
    """Why the trading contract refuses `dno`'s bid (its TC is below theta_trade), or None."""
    if "credit" not in state:
        return None
    rules = rules_of(genesis)
    tc = state["credit"]["participants"][dno]
    return f"transaction credit {tc:.3f} is below {rules.theta_trade:g}" if tc < rules.theta_trade else None


# --- moving credit --------------------------------------------------------------------------------

def _block_hour(ctx: BlockContext) -> tuple[int, int]:
    """(day, hour 1..24) of the block's time on the chain's clock."""
    day, hour0 = divmod(int(ctx.time_ms // ctx.genesis.hour_ms), 24)
    return day, hour0 + 1


def _event(credit: dict, rules: CreditParams, who: str, reason: str, day: int, hour: int) -> dict:
    """A credit change as the output tables book it: who, both credits after it, and why."""
    if who in credit["validators"]:
        c = Credit(_transaction_credit(credit, who), credit["validators"][who]["node"])
        values = {"role": "validator", "transaction": c.transaction, "node": c.node, "composite": c.composite(rules)}
    else:
        values = {"role": "dno", "transaction": credit["participants"][who], "node": None, "composite": None}
    return {"event": "credit", "day": day, "hour": hour, "who": who, "reason": reason, **values}


def _transaction(credit: dict, rules: CreditParams, dno: str, share: float, violated: bool, reason: str,
                 day: int, hour: int) -> dict:
    tc = credit["participants"][dno]
    credit["participants"][dno] = update_transaction_credit(Credit(tc, 0.0), share, violated, rules).transaction
    return _event(credit, rules, dno, reason, day, hour)


def _settlements(state: dict, ctx: BlockContext, events: list[dict]) -> list[dict]:
    """TC after each settlement in the block: a cleared hour (a+ times each DNO's settled share of
    its contracted volume), a bid that missed the gate (late: a-), a refused bid settled with the grid."""
    credit = state.get("credit")
    if credit is None:
        return []
    rules = rules_of(ctx.genesis)
    out = []
    for ev in events:
        kind = ev.get("event")
        if kind == "hour_cleared":
            for dno, account in sorted(ev["settlement"].accounts.items()):
                if account.deviation_mwh > 0:
                    share = min(1.0, (account.p2p_volume_mwh + account.grid_volume_mwh) / account.deviation_mwh)
                    out.append(_transaction(credit, rules, dno, share, False, "settled", ev["day"], ev["hour"]))
        elif kind in ("bid_missed_gate", "bid_refused"):
            late = kind == "bid_missed_gate"
            out.append(_transaction(credit, rules, ev["bidder"], 0.0 if late else 1.0, late,
                                    "late" if late else "refused", ev["day"], ev["hour"]))
    return out


AFTER_BLOCK.append(_settlements)


def credit_on_reading(state: dict, p: dict, ctx: BlockContext) -> list[dict]:
    """The metering party's reading of a DNO's delivery in a closed hour: a delivery further from
    the volume it bid than `delivery_tolerance` of it costs the DNO a- of transaction credit. A
    reading before the hour is settled, or a second one, is recorded as refused. What counts as
    delivered is the metered volume on the side the DNO bid (`drawn_mwh` for a buyer, when given)."""
    key = hour_key(p["day"], p["hour"])
    book = [r for r in state["bids"].get(key, []) if r["bidder"] == p["dno"]]
    contracted = sum(r["quantity_mwh"] for r in book)
    buyer = any(r["side"] == "buy" for r in book)
    delivered = p.get("drawn_mwh", p["delivered_mwh"]) if buyer else p["delivered_mwh"]
    event = {"event": "meter_reading", "day": p["day"], "hour": p["hour"], "dno": p["dno"],
             "delivered_mwh": delivered, "contracted_mwh": contracted}
    credit = state.get("credit")
    if credit is None:
        return [event]  # nothing on this chain's credit depends on delivery
    metered = f"{key}:{p['dno']}"
    refusal = ("the DNO has no settled volume in this hour" if key not in state["closed"] or contracted <= 0
               else "this delivery is already metered" if metered in credit["metered"] else None)
    if refusal is not None:
        return [{**event, "refused": refusal}]
    credit["metered"][metered] = delivered
    rules = rules_of(ctx.genesis)
    if abs(delivered - contracted) <= rules.delivery_tolerance * contracted:
        return [event]
    return [event, _transaction(credit, rules, p["dno"], 0.0, True, "out_of_tolerance", p["day"], p["hour"])]


# --- evidence of consensus behaviour --------------------------------------------------------------

@dataclass(frozen=True)
class Evidence:
    """What a proposer has seen of consensus behaviour: the commit certificate of the block it
    builds on, further votes it holds for that block (a Raft leader's acks keep arriving after
    it commits) and pairs of conflicting votes (equivocation)."""

    certificate: CommitCertificate | None = None
    votes: tuple[Vote, ...] = ()
    conflicts: tuple[tuple[Vote, Vote], ...] = ()


@dataclass(frozen=True)
class _Parent:
    """The parent header as far as a certificate check reads it; the context names the parent."""

    chain_id: str
    height: int
    hash: str


def _vote_doc(v: Vote) -> dict:
    return {"vote_type": v.vote_type, "height": v.height, "round": v.round, "block_hash": v.block_hash,
            "validator": v.validator, "signature": v.signature.hex()}


def _offence(doc: dict) -> str:
    return f"{doc['validator']}:{doc['vote_type']}:{doc['height']}:{doc['round']}"


def _conflict_problem(pair: object, genesis: Genesis) -> str | None:
    """Why `pair` does not prove that a validator signed two different votes for one step, or None."""
    if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(d, dict) and set(d) == VOTE_FIELDS
                                                                 for d in pair)):
        return "a conflict is a pair of votes"
    a, b = pair
    if any(a[f] != b[f] for f in ("vote_type", "height", "round", "validator")) or a["block_hash"] == b["block_hash"]:
        return "the votes are not two different votes of one validator for one step"
    if a["validator"] not in genesis.validators.powers:
        return "the signer is not a validator"
    for d in pair:
        try:
            vote = Vote(d["vote_type"], genesis.chain_id, d["height"], d["round"], d["block_hash"], d["validator"],
                        bytes.fromhex(d["signature"]))
            valid = vote.signature_valid()
        except (TypeError, ValueError):
            valid = False
        if not valid:
            return "a vote's signature is not valid"
    return None


def evidence_transactions(state: dict, ctx: BlockContext, evidence: Evidence | None) -> list[tuple[str, dict]]:
    """The evidence transaction (kind, payload) a proposer adds to its block: the parent's
    certificate with every further vote it holds for the parent, and conflicts not yet convicted.
    None on a chain without credit, or with nothing to show."""
    credit = state.get("credit")
    if credit is None or evidence is None:
        return []
    last = None
    cert = evidence.certificate
    if cert is not None and cert.block_hash == ctx.prev_hash:
        signatures = dict(cert.signatures)
        for v in evidence.votes:
            if (v.vote_type, v.height, v.round, v.block_hash) == (cert.vote_type, cert.height, cert.round,
                                                                   cert.block_hash):
                signatures.setdefault(v.validator, v.signature)
        last = replace(cert, signatures=tuple(sorted(signatures.items()))).to_doc()
    conflicts: dict[str, list[dict]] = {}
    for a, b in evidence.conflicts:
        pair = [_vote_doc(a), _vote_doc(b)]
        key = _offence(pair[0])
        if key not in credit["convicted"] and key not in conflicts and _conflict_problem(pair, ctx.genesis) is None:
            conflicts[key] = pair
    if last is None and not conflicts:
        return []
    return [("evidence", {"last_commit": last, "conflicts": [conflicts[k] for k in sorted(conflicts)]})]


def _signers(doc: dict, ctx: BlockContext) -> frozenset[str]:
    """The validators whose votes for the parent block `doc` proves; it must be a valid certificate."""
    try:
        cert = CommitCertificate.from_bytes(canonical_bytes(doc))
    except MalformedBlock as exc:
        raise ContractError(f"evidence: {exc}") from exc
    problem = cert.problem(_Parent(ctx.genesis.chain_id, ctx.height - 1, ctx.prev_hash), ctx.genesis.validators)
    if problem is not None:
        raise ContractError(f"evidence of the parent block: {problem}")
    return frozenset(v for v, _ in cert.signatures)


@contract("evidence")
def evidence(state: dict, tx: Transaction, entry: BlockEntry, ctx: BlockContext) -> list[dict]:
    """The proposer's evidence of consensus behaviour moves each validator's node credit."""
    credit = state.get("credit")
    if credit is None:
        raise ContractError("this chain keeps no credit")
    if tx.sender != ctx.proposer or credit["evidence_at"] == ctx.height:
        raise ContractError("evidence comes from the block's proposer, once per block")
    credit["evidence_at"] = ctx.height
    rules = rules_of(ctx.genesis)
    last = tx.payload["last_commit"]
    signers = None if last is None else _signers(last, ctx)
    caught = set()
    for pair in tx.payload["conflicts"]:
        problem = _conflict_problem(pair, ctx.genesis)
        if problem is None and _offence(pair[0]) in credit["convicted"]:
            problem = "this offence is already on chain"
        if problem is not None:
            raise ContractError(f"evidence of conflicting votes: {problem}")
        credit["convicted"][_offence(pair[0])] = ctx.height
        caught.add(pair[0]["validator"])
    day, hour = _block_hour(ctx)
    events = []
    for key, member in sorted(credit["validators"].items()):
        voted = timed_out = False
        if signers is not None:
            voted = key in signers or key == ctx.proposer
            member["missed"] = 0 if voted else member["missed"] + 1
            timed_out = member["missed"] >= rules.timeout_blocks
        reason = "conflicting" if key in caught else "timeout" if timed_out else "vote" if voted else None
        if reason is None:
            continue  # missing from this evidence, not yet long enough to be a timeout
        member["node"] = update_node_credit(Credit(0.0, member["node"]), voted, timed_out or key in caught, rules).node
        events.append(_event(credit, rules, key, reason, day, hour))
    return events
