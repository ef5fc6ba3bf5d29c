"""One node's replica of the chain: committed blocks, the state after them, and its mempool.

Consensus engines call `build`, `check` and `commit`; everything here is deterministic, so
honest replicas that commit the same blocks hold the same state and the same store bytes.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from ledger.block import Block, BlockEntry, BlockHeader, CommitCertificate, MalformedBlock, tx_root
from ledger.contracts import (BlockContext, ContractError, execute_block, genesis_state, state_root,
                              system_transactions)
from ledger.contracts.runtime import apply_entry
from ledger.genesis import Genesis
from ledger.identity import Identity
from ledger.mempool import Mempool
from ledger.store import BlockStore


@dataclass
class Committed:
    block: Block
    certificate: CommitCertificate | None
    events: list[dict] = field(default_factory=list)


class Chain:
    def __init__(self, genesis: Genesis, store_path: str | None = None):
        self.genesis = genesis
        self.state = genesis_state(genesis)
        self.genesis_header = genesis.header(state_root(self.state))
        self.blocks: list[Committed] = [Committed(Block(self.genesis_header, ()), None)]
        self.mempool = Mempool(lambda: self.state)
        self.store = BlockStore(store_path, genesis, self.genesis_header) if store_path else None
        self._executed: dict[str, tuple[dict, list[dict]]] = {}

    @property
    def height(self) -> int:
        return len(self.blocks) - 1

    @property
    def tip(self) -> BlockHeader:
        return self.blocks[-1].block.header

    def _context(self, height: int, time_ms: float, proposer: str) -> BlockContext:
        return BlockContext(height, time_ms, proposer, self.genesis)

    def build(self, proposer: Identity, round_: int, time_ms: float, entries: list[BlockEntry] | None = None) -> Block:
        """A block on the tip from `entries` (default: what the mempool offers), then the proposer's
        own gate closures and clearing results, with the state root they all lead to."""
        entries = list(self.mempool.select() if entries is None else entries)
        height = self.height + 1
        ctx = self._context(height, time_ms, proposer.public_hex)
        work = copy.deepcopy(self.state)  # scratch: users' entries, then the system's, applied in place
        for index, entry in enumerate(entries):
            apply_entry(work, entry, ctx, index)
        entries += system_transactions(work, proposer, ctx)
        state, events = execute_block(self.state, entries, ctx)
        header = BlockHeader(self.genesis.chain_id, height, self.tip.hash, tx_root(entries),
                             state_root(state), proposer.public_hex, round_, time_ms)
        self._executed[header.hash] = (state, events)
        return Block(header, tuple(entries))

    def problem(self, block: Block) -> str | None:
        """Why `block` may not extend this replica's tip, or None after executing it."""
        h = block.header
        if h.chain_id != self.genesis.chain_id or h.height != self.height + 1 or h.prev_hash != self.tip.hash:
            return "does not extend the tip"
        if h.proposer not in self.genesis.validators.powers:
            return "proposer is not a validator"
        if h.time_ms < self.tip.time_ms:
            return "time runs backwards"
        if h.tx_root != tx_root(block.entries):
            return "transaction root mismatch"
        if h.hash in self._executed:
            return None
        try:
            state, events = execute_block(self.state, block.entries, self._context(h.height, h.time_ms, h.proposer))
        except (ContractError, MalformedBlock) as exc:
            return f"contract rejected it: {exc}"
        if state_root(state) != h.state_root:
            return "state root mismatch"
        self._executed[h.hash] = (state, events)
        return None

    def commit(self, block: Block, certificate: CommitCertificate | None) -> Committed:
        problem = self.problem(block)
        if problem is not None:
            raise ValueError(f"cannot commit block {block.height}: {problem}")
        if certificate is not None:
            cert_problem = certificate.problem(block.header, self.genesis.validators)
            if cert_problem is not None:
                raise ValueError(f"cannot commit block {block.height}: {cert_problem}")
        self.state, events = self._executed.pop(block.hash)
        self._executed.clear()
        record = Committed(block, certificate, events)
        self.blocks.append(record)
        self.mempool.remove_committed(list(block.entries))
        if self.store is not None and certificate is not None:
            self.store.append(block, certificate)
        return record

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
