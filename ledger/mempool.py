"""The transaction pool: what a node holds between receiving a transaction and committing it.

Admission runs every check that can be made before ordering (well-formed, right chain, known
sender with the right role, fresh nonce, not a duplicate, valid signature), with the same
stateful rules the contracts apply, so nothing admitted here can make a block invalid later
except by losing a race to a conflicting transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ledger.block import BlockEntry
from ledger.contracts import admission_problem, dedup_token
from ledger.transactions import SignedTx


class Rejected(ValueError):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class PoolEntry:
    tx: SignedTx
    seen_ms: float  # simulated time this node first received it


class Mempool:
    """Pending transactions of one node, checked against that node's committed state."""

    def __init__(self, committed_state: Callable[[], dict]):
        self._state = committed_state
        self._by_id: dict[str, PoolEntry] = {}
        self._by_nonce: dict[tuple[str, int], str] = {}
        self._by_key: dict[str, str] = {}
        self.rejections: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, tx_id: str) -> bool:
        return tx_id in self._by_id

    def problem(self, stx: SignedTx) -> str | None:
        tx = stx.tx
        if stx.tx_id in self._by_id:
            return "duplicate_tx"
        problem = admission_problem(self._state(), tx)
        if problem is not None:
            return problem
        if (tx.sender, tx.nonce) in self._by_nonce:
            return "replayed_nonce"
        key = tx.dedup_key()
        if key is not None and dedup_token(key) in self._by_key:
            return "duplicate"
        if not stx.signature_valid():
            return "bad_signature"
        return None

    def admit(self, stx: SignedTx, now_ms: float) -> PoolEntry:
        """Admit or raise Rejected(reason); the receipt time is kept as the upload time."""
        problem = self.problem(stx)
        if problem is not None:
            self.rejections[problem] = self.rejections.get(problem, 0) + 1
            raise Rejected(problem)
        entry = PoolEntry(stx, now_ms)
        self._by_id[stx.tx_id] = entry
        self._by_nonce[(stx.tx.sender, stx.tx.nonce)] = stx.tx_id
        key = stx.tx.dedup_key()
        if key is not None:
            self._by_key[dedup_token(key)] = stx.tx_id
        return entry

    def pending(self, seen_by_ms: float | None = None) -> list[SignedTx]:
        """Pooled transactions (those received by `seen_by_ms`, if given), in receipt order (then
        id), for re-announcing to peers."""
        entries = sorted(self._by_id.values(), key=lambda e: (e.seen_ms, e.tx.tx_id))
        return [e.tx for e in entries if seen_by_ms is None or e.seen_ms <= seen_by_ms]

    def select(self, limit: int | None = None, seen_by_ms: float | None = None,
               state: dict | None = None) -> list[BlockEntry]:
        """Entries a proposer may include now: per sender, consecutive nonces from the committed one
        (or from `state`'s, for a block on a tip that is not yet committed, as proof of work builds).

        Ordered by receipt time, then transaction id, so the proposer's view of the network decides
        the order and nothing else does.
        """
        state = self._state() if state is None else state
        pending = sorted(self._by_id.values(), key=lambda e: (e.seen_ms, e.tx.tx_id))
        if seen_by_ms is not None:
            pending = [e for e in pending if e.seen_ms <= seen_by_ms]
        next_nonce = {}
        chosen: list[BlockEntry] = []
        progress = True
        remaining = pending
        while progress:  # a later nonce may become includable once its predecessor is chosen
            progress, held = False, []
            for e in remaining:
                sender = e.tx.tx.sender
                expected = next_nonce.get(sender, state["nonces"].get(sender, 0) + 1)
                if e.tx.tx.nonce == expected and admission_problem(state, e.tx.tx) is None:
                    chosen.append(BlockEntry(e.tx, e.seen_ms))
                    next_nonce[sender] = expected + 1
                    progress = True
                else:
                    held.append(e)
            remaining = held
        chosen.sort(key=lambda b: (b.seen_ms, b.tx.tx_id))
        ordered = _nonce_order(chosen)
        return ordered if limit is None else ordered[:limit]

    def remove_committed(self, entries: list[BlockEntry]) -> None:
        """Drop what a committed block carried, and anything its commit made stale."""
        for entry in entries:
            self._drop(entry.tx.tx_id)
        state = self._state()
        for tx_id in [t for t, e in self._by_id.items() if admission_problem(state, e.tx.tx) is not None]:
            self._drop(tx_id)

    def _drop(self, tx_id: str) -> None:
        entry = self._by_id.pop(tx_id, None)
        if entry is None:
            return
        tx = entry.tx.tx
        self._by_nonce.pop((tx.sender, tx.nonce), None)
        key = tx.dedup_key()
        if key is not None:
            self._by_key.pop(dedup_token(key), None)


def _nonce_order(entries: list[BlockEntry]) -> list[BlockEntry]:
    """Keep receipt order but never put a sender's nonce before its predecessor."""
    by_sender: dict[str, list[BlockEntry]] = {}
    for e in entries:
        by_sender.setdefault(e.tx.tx.sender, []).append(e)
    for queue in by_sender.values():
        queue.sort(key=lambda e: e.tx.tx.nonce)
    cursor = {s: 0 for s in by_sender}
    out = []
    for e in entries:
        s = e.tx.tx.sender
        out.append(by_sender[s][cursor[s]])
        cursor[s] += 1
    return out
