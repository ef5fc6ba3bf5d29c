"""`ledger verify`: replay a store from genesis and name the first height where anything is wrong.

Checks, height by height: canonical encodings, the stored hash, the previous-hash chain, the
RFC 6962 transaction root, every transaction signature, nonce and contract (by re-executing the
block, which also recomputes the state root), and the commit certificate against the validator
set and quorum rule of the genesis document (on a proof-of-work chain instead: the header's hash
against the genesis target). A light client trusting only the genesis document
learns from this whether the file is the chain the validators signed.

Blocks cut off the end would leave a valid prefix, so the chain must also reach the run's horizon
(recorded in genesis): past the gate of its last hour, with every hour that took bids and every
day closed. `--head HASH` further pins the tip to a hash kept elsewhere (summary.json records it).
"""

from __future__ import annotations

import sqlite3
import string
import sys
from dataclasses import dataclass

from ledger.block import BlockEntry, BlockHeader, CommitCertificate, tx_root
from ledger.canonical import NonCanonical
from ledger.contracts import BlockContext, ContractError, execute_block, genesis_state, state_root
from ledger.genesis import Genesis
from ledger.horizon import short_of_horizon
from ledger.merkle import inclusion_proof, verify_inclusion
from ledger.proof_of_work import work_problem
from ledger.signature_prefetch import SignaturePrefetch
from ledger.store import NoStore, StoreError, read_rows


@dataclass(frozen=True)
class VerifyReport:
    blocks: int  # committed blocks after genesis that verified
    transactions: int
    chain_id: str | None = None
    tip_hash: str | None = None
    first_bad_height: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.first_bad_height is None

    def summary(self) -> str:
        if self.ok:
            return (f"ledger ok: chain {self.chain_id}, {self.blocks} blocks, {self.transactions} transactions, "
                    f"tip {self.tip_hash[:16]}")
        return f"ledger BAD at height {self.first_bad_height}: {self.reason}"


class _Bad(Exception):
    pass


def _check_block(height, hash_, header_bytes, cert_bytes, rows, prev: BlockHeader, state: dict,
                 genesis: Genesis) -> tuple[BlockHeader, dict, int]:
    if hash_ is None:
        raise _Bad("transactions stored without a block")
    header = BlockHeader.from_bytes(header_bytes)
    if header.hash != hash_:
        raise _Bad("stored hash differs from the header's hash")
    if header.height != height or height != prev.height + 1:
        raise _Bad(f"height {header.height} stored at {height}, after {prev.height}")
    if header.chain_id != genesis.chain_id or header.prev_hash != prev.hash:
        raise _Bad("does not chain to the previous block")
    if header.proposer not in genesis.validators.powers:
        raise _Bad("proposer is not a validator")
    if header.time_ms < prev.time_ms:
        raise _Bad("time runs backwards")
    entries = []
    for expected_idx, (tx_height, idx, tx_id, entry_bytes) in enumerate(rows):
        if tx_height != height or idx != expected_idx:
            raise _Bad("transaction rows are out of place")
        entry = BlockEntry.from_bytes(entry_bytes)
        if entry.tx.tx_id != tx_id:
            raise _Bad(f"transaction {idx}: stored id differs from its hash")
        entries.append(entry)
    if tx_root(entries) != header.tx_root:
        raise _Bad("transaction Merkle root mismatch")
    seal = _seal_problem(header, cert_bytes, genesis)
    if seal:
        raise _Bad(seal)
    ctx = BlockContext(height, header.time_ms, header.proposer, genesis, header.prev_hash)
    try:
        new_state, _ = execute_block(state, entries, ctx)
    except ContractError as exc:
        raise _Bad(f"contract rejected it: {exc}") from exc
    if state_root(new_state) != header.state_root:
        raise _Bad("state root mismatch")
    return header, new_state, len(entries)


def _seal_problem(header: BlockHeader, cert_bytes: bytes | None, genesis: Genesis) -> str | None:
    """Why the block is not final: its certificate falls short, or (proof of work) its nonce does."""
    if genesis.pow_target_bits is not None:
        if cert_bytes is not None:
            return "a proof-of-work block carries no certificate"
        return work_problem(header, genesis)
    if cert_bytes is None:
        return "no commit certificate"
    return CommitCertificate.from_bytes(cert_bytes).problem(header, genesis.validators)


def verify_store(path: str, prefetch: bool | None = None) -> VerifyReport:
    """Replay the store at `path`; the report names the first bad height, if any. NoStore when
    there is no store to replay (no file, a directory, an empty file): nothing was tampered with.

    `prefetch` checks the signatures on a second core meanwhile (ledger.signature_prefetch): None
    where it pays (two cores, a store of some size), True wherever forking is safe, False never.
    The report is the same either way."""
    try:
        genesis_bytes, rows = read_rows(path)
    except NoStore:
        raise
    except (StoreError, sqlite3.Error) as exc:
        return VerifyReport(0, 0, first_bad_height=0, reason=f"unreadable store: {exc}")
    with SignaturePrefetch(path, prefetch) as signatures:
        return _replay(genesis_bytes, rows, signatures)


def _replay(genesis_bytes: bytes, rows, signatures: SignaturePrefetch) -> VerifyReport:
    height, n_txs, genesis, prev, state = 0, 0, None, None, None
    try:
        try:
            genesis = Genesis.from_bytes(genesis_bytes)
            state = genesis_state(genesis)
        except (NonCanonical, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise _Bad(f"genesis document is invalid: {exc}") from exc
        for height, hash_, header_bytes, cert_bytes, tx_rows in rows:
            if prev is None:
                expected = genesis.header(state_root(state))
                if (height, hash_, header_bytes, cert_bytes, tx_rows) != (0, expected.hash, expected.encoded, None, []):
                    raise _Bad("genesis block does not match the genesis document")
                prev = expected
                continue
            stored = [("header", header_bytes), ("certificate", cert_bytes), *(("transaction", r[3]) for r in tx_rows)]
            for what, value in stored:  # e.g. rewritten by hand as TEXT: no signature or hash can hold
                if value is not None and not isinstance(value, bytes):
                    raise _Bad(f"a {what} of block {height} is stored as {type(value).__name__}, not bytes")
            signatures.through(height)
            prev, state, count = _check_block(height, hash_, header_bytes, cert_bytes, tx_rows, prev, state, genesis)
            n_txs += count
        if prev is None:
            raise _Bad("no genesis block")
        height = prev.height + 1
        unfinished = short_of_horizon(genesis, state, prev)
        if unfinished:
            raise _Bad(unfinished)
    except _Bad as exc:
        return VerifyReport(prev.height if prev else 0, n_txs, genesis.chain_id if genesis else None,
                            first_bad_height=height, reason=str(exc))
    except Exception as exc:  # hostile bytes may break any parser: report, never crash
        return VerifyReport(prev.height if prev else 0, n_txs, genesis.chain_id if genesis else None,
                            first_bad_height=height, reason=f"malformed: {type(exc).__name__}: {exc}")
    return VerifyReport(prev.height, n_txs, genesis.chain_id, prev.hash)


MIN_HEAD_PREFIX = 16
HASH_DIGITS = 64  # a SHA-256 hash in hex
EXIT_BAD, EXIT_USAGE = 1, 2  # the chain does not verify; the command was given no store, or no hash


def head_problem(head: str) -> str | None:
    """Why `head` cannot pin a tip (not hex, too short to mean much, longer than a hash), or None."""
    if not MIN_HEAD_PREFIX <= len(head) <= HASH_DIGITS or any(c not in string.hexdigits for c in head):
        return (f"expected a tip hash (summary.json: chain.tip_hash) or a prefix of {MIN_HEAD_PREFIX} to "
                f"{HASH_DIGITS} hex digits, got {head!r}")
    return None


def verify_main(path: str, head: str | None = None) -> int:
    """CLI entry: one line, exit 0 if the whole chain verifies (and ends at `head`, a tip hash or
    a prefix of at least 16 hex digits), 1 naming the first bad height, 2 (an `error:` line) when
    there is no store at `path` or `head` is no hash: a mistake in the command, not tampering."""
    problem = head_problem(head) if head is not None else None
    if problem:
        print(f"error: --head: {problem}", file=sys.stderr)
        return EXIT_USAGE
    try:
        report = verify_store(path)
    except NoStore as exc:
        print(f"error: {path}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if report.ok and head is not None and not report.tip_hash.startswith(head.lower()):
        print(f"ledger BAD at height {report.blocks}: tip {report.tip_hash[:16]} is not the expected head "
              f"{head[:16]} (blocks were cut off or replaced)", file=sys.stderr)
        return EXIT_BAD
    print(report.summary(), file=sys.stdout if report.ok else sys.stderr)
    return 0 if report.ok else EXIT_BAD


@dataclass(frozen=True)
class InclusionProof:
    """A light client's evidence that a transaction sits in a block: the stored leaf, its RFC 6962
    audit path and the header (whose certificate `verify_store` checks) that commits to the root."""

    header: BlockHeader
    index: int
    size: int
    leaf: bytes
    path: tuple[bytes, ...]

    def holds(self) -> bool:
        return verify_inclusion(self.index, self.size, self.leaf, list(self.path), bytes.fromhex(self.header.tx_root))


def prove_transaction(path: str, tx_id: str) -> InclusionProof | None:
    """The inclusion proof of `tx_id` in the store at `path`, or None if no block carries it."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = db.execute("SELECT height, idx FROM txs WHERE tx_id = ?", (tx_id,)).fetchone()
        if row is None:
            return None
        height, index = row
        leaves = [e for (e,) in db.execute("SELECT entry FROM txs WHERE height = ? ORDER BY idx", (height,))]
        (header,) = db.execute("SELECT header FROM blocks WHERE height = ?", (height,)).fetchone()
    finally:
        db.close()
    return InclusionProof(BlockHeader.from_bytes(header), index, len(leaves), leaves[index],
                          tuple(inclusion_proof(index, leaves)))
