"""One node's replica of the chain: committed blocks, the state after them, and its mempool.

Consensus engines call `build`, `problem` and `commit`; everything here is deterministic, so
honest replicas that commit the same blocks hold the same state and the same store bytes. The
module-level `build_block`, `extension_problem` and `execution_problem` do the same work on any
parent, for an engine (proof of work) that executes blocks before they are final.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ledger.block import Block, BlockEntry, BlockHeader, CommitCertificate, MalformedBlock, tx_root
from ledger.contracts import (BlockContext, ContractError, Evidence, evidence_transactions, execute_block,
                              genesis_state, state_root, system_transactions)
from ledger.contracts.runtime import apply_entry, finish_block
from ledger.genesis import Genesis
from ledger.horizon import short_of_horizon
from ledger.identity import Identity
from ledger.mempool import Mempool
from ledger.proof_of_work import work_problem
from ledger.store import BlockStore
from ledger.working_state import derive


@dataclass
class Committed:
    block: Block
    certificate: CommitCertificate | None
    events: list[dict] = field(default_factory=list)


class Executions:
    """Blocks already executed by some replica of one simulated cluster, by block hash.

    A block's hash commits to its parent's hash and so to the state it runs on (every replica that
    committed that parent verified its state root), and execution is a pure function of the two:
    a replica whose tip is the block's parent gets exactly this result by executing it itself.
    Sharing it spares the other replicas the same work. Only what a replica found by executing a
    block it received is kept (a proposer's own build is not: the first replica to receive it
    checks it independently, so building and executing keep checking each other); the last `keep`.
    """

    def __init__(self, keep: int = 64) -> None:
        self.keep = keep
        self._done: dict[str, tuple[dict, list[dict]]] = {}

    def get(self, block_hash: str) -> tuple[dict, list[dict]] | None:
        return self._done.get(block_hash)

    def put(self, block_hash: str, executed: tuple[dict, list[dict]]) -> None:
        self._done[block_hash] = executed
        if len(self._done) > self.keep:
            del self._done[next(iter(self._done))]  # the oldest: dicts keep insertion order


class Chain:
    def __init__(self, genesis: Genesis, store_path: str | None = None, executions: Executions | None = None):
        """`executions`: shared by the replicas of one cluster (see Executions); by default its own."""
        self.genesis = genesis
        self.state = genesis_state(genesis)
        self.genesis_header = genesis.header(state_root(self.state))
        self.blocks: list[Committed] = [Committed(Block(self.genesis_header, ()), None)]
        self.mempool = Mempool(lambda: self.state)
        self.store = BlockStore(store_path, genesis, self.genesis_header) if store_path else None
        self._executed: dict[str, tuple[dict, list[dict]]] = {}
        self._executions = executions if executions is not None else Executions()
        self.complete_at: int | None = None  # the height that completed the run's horizon, once one has

    @property
    def record_tip(self) -> BlockHeader:
        """The tip of the run's record: the block that completed its horizon (the store ends
        there, so removing any block from its end fails `ledger verify`), or the tip before that."""
        return self.tip if self.complete_at is None else self.blocks[self.complete_at].block.header

    @property
    def height(self) -> int:
        return len(self.blocks) - 1

    @property
    def tip(self) -> BlockHeader:
        return self.blocks[-1].block.header

    def build(self, proposer: Identity, round_: int, time_ms: float, entries: list[BlockEntry] | None = None,
              evidence: Evidence | None = None) -> Block:
        """A block on the tip from `entries` (default: what the mempool offers), then the proposer's
        own gate closures and clearing results, with the state root they all lead to. On a chain
        that keeps credit it carries the tip's certificate as evidence, with `evidence`'s votes."""
        entries = self.mempool.select() if entries is None else entries
        evidence = replace(evidence or Evidence(), certificate=self.blocks[-1].certificate)
        block, state, events = build_block(self.genesis, self.state, self.tip, proposer, round_, time_ms, entries,
                                           evidence)
        self._executed[block.hash] = (state, events)  # not shared: the first replica checks it by executing it
        return block

    def problem(self, block: Block) -> str | None:
        """Why `block` may not extend this replica's tip, or None after executing it."""
        problem = extension_problem(self.genesis, self.tip, block)
        if problem is not None or block.hash in self._executed:
            return problem
        executed = self._executions.get(block.hash)  # it extends this tip: the same parent state
        if executed is None:
            problem, executed = execution_problem(self.genesis, self.state, block)
            if executed is not None:
                self._executions.put(block.hash, executed)
        if executed is not None:
            self._executed[block.hash] = executed
        return problem

    def commit(self, block: Block, certificate: CommitCertificate | None,
               executed: tuple[dict, list[dict]] | None = None) -> Committed:
        """Append `block`, sealed by `certificate` (or, on a proof-of-work chain, by its nonce).
        `executed`: the state and events this node already computed for it on the same parent
        (a proof-of-work node executes blocks while they are still tentative)."""
        if executed is not None and block.header.prev_hash == self.tip.hash:
            self._executed[block.hash] = executed
        problem = self.problem(block)
        if problem is not None:
            raise ValueError(f"cannot commit block {block.height}: {problem}")
        mined = self.genesis.pow_target_bits is not None
        if certificate is not None or not mined:
            seal_problem = certificate.problem(block.header, self.genesis.validators) if certificate else None
        else:
            seal_problem = work_problem(block.header, self.genesis)
        if seal_problem is not None:
            raise ValueError(f"cannot commit block {block.height}: {seal_problem}")
        self.state, events = self._executed.pop(block.hash)
        self._executed.clear()
        record = Committed(block, certificate, events)
        self.blocks.append(record)
        self.mempool.remove_committed(list(block.entries))
        if self.complete_at is None:
            if self.store is not None and (certificate is not None or mined):
                self.store.append(block, certificate)
            if self.genesis.horizon_hours is not None and short_of_horizon(self.genesis, self.state, block.header) is None:
                self.complete_at = block.height
        return record

    def close(self) -> None:
        if self.store is not None:
            self.store.close()


def build_block(genesis: Genesis, state: dict, parent: BlockHeader, proposer: Identity, round_: int,
                time_ms: float, entries: list[BlockEntry],
                evidence: Evidence | None = None) -> tuple[Block, dict, list[dict]]:
    """A block on `parent` (whose resulting state is `state`) from the users' `entries`, then the
    proposer's own evidence for the credit contract, gate closures and clearing results; with the
    state and events it leads to."""
    entries = list(entries)
    ctx = BlockContext(parent.height + 1, time_ms, proposer.public_hex, genesis, parent.hash)
    work = derive(state)  # users' entries, then the system's, applied to its own copies: the new state
    events: list[dict] = []
    for index, entry in enumerate(entries):
        events.extend(apply_entry(work, entry, ctx, index))
    entries += system_transactions(work, proposer, ctx, evidence_transactions(work, ctx, evidence), events)
    new_state, events = finish_block(work, events, ctx)
    header = BlockHeader(genesis.chain_id, ctx.height, parent.hash, tx_root(entries), state_root(new_state),
                         proposer.public_hex, round_, time_ms)
    return Block(header, tuple(entries)), new_state, events


def extension_problem(genesis: Genesis, parent: BlockHeader, block: Block) -> str | None:
    """Why `block` cannot follow `parent`, by what its header and entries say (nothing executed)."""
    h = block.header
    if h.chain_id != genesis.chain_id or h.height != parent.height + 1 or h.prev_hash != parent.hash:
        return "does not extend the tip"
    if h.proposer not in genesis.validators.powers:
        return "proposer is not a validator"
    if h.time_ms < parent.time_ms:
        return "time runs backwards"
    if h.tx_root != tx_root(block.entries):
        return "transaction root mismatch"
    return None


def execution_problem(genesis: Genesis, state: dict, block: Block) -> tuple[str | None, tuple[dict, list[dict]] | None]:
    """Execute `block` on `state` (its parent's): (None, (state, events)), or (why not, None)."""
    h = block.header
    try:
        ctx = BlockContext(h.height, h.time_ms, h.proposer, genesis, h.prev_hash)
        new_state, events = execute_block(state, block.entries, ctx)
    except (ContractError, MalformedBlock) as exc:
        return f"contract rejected it: {exc}", None
    if state_root(new_state) != h.state_root:
        return "state root mismatch", None
    return None, (new_state, events)
