"""The contract runtime: pure functions (state, block) -> (state, events) with a canonical state root.

Each transaction kind has one contract in a registry. Every validator (and the offline verifier)
runs the same code on the same block from the same state, so the state root in the header proves
they agree; a block whose contracts fail, or whose root differs, is invalid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

from ledger.block import BlockEntry
from ledger.canonical import canonical_bytes, sha256
from ledger.genesis import Genesis
from ledger.identity import Role
from ledger.transactions import TX_KINDS, Transaction
from ledger.working_state import derive, encode_state


class ContractError(ValueError):
    """A transaction the chain's rules refuse; it makes the block that carries it invalid."""


@dataclass(frozen=True)
class BlockContext:
    height: int
    time_ms: float
    proposer: str
    genesis: Genesis
    prev_hash: str = ""  # the parent block's hash: what the commit evidence of the parent must sign


Contract = Callable[[dict, Transaction, BlockEntry, BlockContext], list[dict]]
CONTRACTS: dict[str, Contract] = {}
# Run after every transaction of a block, e.g. to insist clearing results are complete.
END_OF_BLOCK_CHECKS: list[Callable[[dict, BlockContext], None]] = []
# Then these, with the block's events so far; they may update state and return more events (the
# credit contract books what each settlement does to the settled DNOs' credit here).
AFTER_BLOCK: list[Callable[[dict, BlockContext, list[dict]], list[dict]]] = []
# State a contract keeps only on chains whose genesis document asks for it (e.g. credit).
GENESIS_PARTS: list[Callable[[Genesis], dict]] = []


def contract(kind: str) -> Callable[[Contract], Contract]:
    def register(fn: Contract) -> Contract:
        if kind not in TX_KINDS:
            raise ValueError(f"no transaction kind {kind!r} to attach a contract to")
        CONTRACTS[kind] = fn
        return fn
    return register


def genesis_state(genesis: Genesis) -> dict:
    """State at height 0: the membership list plus empty books and accounts."""
    return {
        "chain_id": genesis.chain_id,
        "genesis": sha256(genesis.encoded).hex(),  # commits block 0 to the whole document
        "height": 0,
        "members": {m.public_key: {"organisation": m.organisation, "role": m.role.value}
                    for m in genesis.registry.members()},
        "nonces": {},
        "dedup": {},
        "registered": {},
        "plans": {},
        "bids": {},
        "closed": {},
        "expected": [],
        "results": {},
        "accounts": {},
        "days": {},
    } | {key: value for part in GENESIS_PARTS for key, value in part(genesis).items()}


def state_root(state: dict) -> str:
    """SHA-256 of the state's canonical bytes, re-encoding only the sections' touched entries."""
    return sha256(encode_state(state)).hex()


def dedup_token(key: tuple) -> str:
    return canonical_bytes(list(key)).decode()


def hour_key(day: int, hour: int) -> str:
    return f"{day}:{hour}"


def admission_problem(state: dict, tx: Transaction) -> str | None:
    """The stateful checks a transaction must pass to be admitted to a pool or a block.

    Shared by the mempool (before admission) and execution (inside blocks) so the two can never
    disagree on what is a replay, a duplicate or an unknown sender.
    """
    if tx.chain_id != state["chain_id"]:
        return "wrong_chain"
    member = state["members"].get(tx.sender)
    if member is None:
        return "unknown_sender"
    if Role(member["role"]) not in TX_KINDS[tx.kind].roles:
        return "role_not_allowed"
    if tx.nonce <= state["nonces"].get(tx.sender, 0):
        return "replayed_nonce"
    key = tx.dedup_key()
    if key is not None and dedup_token(key) in state["dedup"]:
        return "duplicate"
    return None


def apply_entry(state: dict, entry: BlockEntry, ctx: BlockContext, index: int = 0) -> list[dict]:
    """Check and apply one entry to `state` in place; raise ContractError if it is not allowed."""
    tx = entry.tx.tx
    problem = admission_problem(state, tx)
    if problem is None and tx.nonce != state["nonces"].get(tx.sender, 0) + 1:
        problem = "nonce_gap"
    if problem is None and entry.seen_ms > ctx.time_ms:
        problem = "received_after_its_block"  # a proposer cannot have seen it yet
    if problem is None and not entry.tx.signature_valid():
        problem = "bad_signature"
    if problem is not None:
        raise ContractError(f"entry {index} ({tx.kind}): {problem}")
    events = CONTRACTS[tx.kind](state, tx, entry, ctx)
    state["nonces"][tx.sender] = tx.nonce
    key = tx.dedup_key()
    if key is not None:
        state["dedup"][dedup_token(key)] = entry.tx.tx_id
    return events


def execute_block(state: dict, entries: Iterable[BlockEntry], ctx: BlockContext) -> tuple[dict, list[dict]]:
    """Apply a block's entries in order to a copy-on-write copy of `state` (ledger.working_state);
    raise ContractError if any fails. `state` itself is never changed."""
    new = derive(state)
    events: list[dict] = []
    for index, entry in enumerate(entries):
        events.extend(apply_entry(new, entry, ctx, index))
    return finish_block(new, events, ctx)


def finish_block(new: dict, events: list[dict], ctx: BlockContext) -> tuple[dict, list[dict]]:
    """The end of `execute_block` on a state every entry was applied to, with their events (a
    proposer that applied them while building the block finishes it here, without a second pass)."""
    for check in END_OF_BLOCK_CHECKS:
        check(new, ctx)
    for hook in AFTER_BLOCK:
        events.extend(hook(new, ctx, events))
    new["height"] = ctx.height
    return new, events


def organisation(state: dict, tx: Transaction) -> str:
    return state["members"][tx.sender]["organisation"]


@contract("register")
def register(state: dict, tx: Transaction, entry: BlockEntry, ctx: BlockContext) -> list[dict]:
    """An alliance member joins on chain with its device data (§A.1 stage 1)."""
    member = state["members"][tx.sender]
    if (tx.payload["organisation"], tx.payload["role"]) != (member["organisation"], member["role"]):
        raise ContractError("register payload does not match the sender's membership")
    state["registered"][tx.sender] = dict(tx.payload["details"])
    return [{"event": "registered", "organisation": member["organisation"], "role": member["role"]}]


@contract("plan_commitment")
def plan_commitment(state: dict, tx: Transaction, entry: BlockEntry, ctx: BlockContext) -> list[dict]:
    """A DNO commits to its day-ahead plan by hash, so later deviations are checkable."""
    org = organisation(state, tx)
    state["plans"].setdefault(org, {})[str(tx.payload["day"])] = tx.payload["plan_hash"]
    return [{"event": "plan_committed", "dno": org, "day": tx.payload["day"]}]


def _no_unposted_results(state: dict, ctx: BlockContext) -> None:
    if state["expected"]:
        raise ContractError(f"{len(state['expected'])} clearing results missing from the block")


END_OF_BLOCK_CHECKS.append(_no_unposted_results)

