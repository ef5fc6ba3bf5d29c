"""Append-only SQLite block store, one file per run, with byte-identical files for equal runs.

Rows hold the exact canonical bytes that were hashed and signed, so the verifier checks what is
on disk rather than a re-encoding. Triggers refuse UPDATE and DELETE; appends must extend the
tip. Fixed page size, rollback journal (no WAL), no timestamps and one transaction per block make
the file a function of its content and the SQLite version alone.
"""

from __future__ import annotations

import os
import sqlite3
from typing import Iterator

from ledger.block import Block, BlockHeader, CommitCertificate
from ledger.genesis import Genesis

APPLICATION_ID = 0x534D4C47  # "SMLG"
SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE genesis (id INTEGER PRIMARY KEY CHECK (id = 0), document BLOB NOT NULL);
CREATE TABLE blocks (
    height INTEGER PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE,
    header BLOB NOT NULL,
    certificate BLOB
);
CREATE TABLE txs (
    height INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    tx_id TEXT NOT NULL,
    entry BLOB NOT NULL,
    PRIMARY KEY (height, idx)
);
CREATE INDEX txs_by_id ON txs (tx_id);
"""
APPEND_ONLY = "".join(
    f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
    f"BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;\n"
    for table in ("genesis", "blocks", "txs") for op in ("UPDATE", "DELETE"))


class StoreError(RuntimeError):
    pass


class NoStore(StoreError):
    """Nothing at the path to read (no file, a directory, an empty file): a mistake in the path,
    not a damaged or tampered chain."""


class BlockStore:
    """Writer for one run's chain; reading for verification goes through `verify.py`."""

    def __init__(self, path: str | os.PathLike, genesis: Genesis, genesis_header: BlockHeader):
        if os.path.exists(path):
            raise StoreError(f"{path} exists; a store is written once, by one run")
        self.path = str(path)
        # One run writes its store, one block at a time, but not always from the thread that opened
        # it (the live view steps the model from a worker thread when playing).
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        for pragma in ("page_size = 4096", "journal_mode = DELETE", "auto_vacuum = NONE",
                       f"application_id = {APPLICATION_ID}", f"user_version = {SCHEMA_VERSION}",
                       "synchronous = FULL"):
            self._db.execute(f"PRAGMA {pragma}")
        self._db.execute("BEGIN")
        for statement in (SCHEMA + APPEND_ONLY).split(";\n"):
            if statement.strip():
                self._db.execute(statement)
        self._db.execute("INSERT INTO genesis VALUES (0, ?)", (genesis.encoded,))
        self._db.execute("INSERT INTO blocks VALUES (0, ?, ?, NULL)", (genesis_header.hash, genesis_header.encoded))
        self._db.execute("COMMIT")
        self.height, self.tip_hash = 0, genesis_header.hash

    def append(self, block: Block, certificate: CommitCertificate | None) -> None:
        """Append `block` with its commit certificate (None for proof of work: its nonce seals it)."""
        header = block.header
        if header.height != self.height + 1 or header.prev_hash != self.tip_hash:
            raise StoreError(f"block {header.height} does not extend the tip at {self.height}")
        self._db.execute("BEGIN")
        self._db.execute("INSERT INTO blocks VALUES (?, ?, ?, ?)",
                         (header.height, header.hash, header.encoded,
                          None if certificate is None else certificate.encoded))
        self._db.executemany("INSERT INTO txs VALUES (?, ?, ?, ?)",
                             [(header.height, i, e.tx.tx_id, e.encoded) for i, e in enumerate(block.entries)])
        self._db.execute("COMMIT")
        self.height, self.tip_hash = header.height, header.hash

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "BlockStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_rows(path: str) -> tuple[bytes, Iterator[tuple[int, str, bytes, bytes | None, list[tuple[int, str, bytes]]]]]:
    """Genesis bytes and, height by height, (height, hash, header, certificate, [(idx, tx_id, entry)])."""
    if not os.path.isfile(path):
        raise NoStore("is a directory, not a ledger store" if os.path.isdir(path) else "no such file")
    if os.path.getsize(path) == 0:
        raise NoStore("is an empty file, not a ledger store")
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    row = db.execute("SELECT document FROM genesis WHERE id = 0").fetchone()
    if row is None:
        raise StoreError("store has no genesis document")

    def blocks():
        try:
            txs = db.execute("SELECT height, idx, tx_id, entry FROM txs ORDER BY height, idx")
            pending = next(txs, None)
            for height, hash_, header, cert in db.execute(
                    "SELECT height, hash, header, certificate FROM blocks ORDER BY height"):
                entries = []
                while pending is not None and pending[0] <= height:
                    entries.append((pending[0], pending[1], pending[2], pending[3]))
                    pending = next(txs, None)
                yield height, hash_, header, cert, entries
            if pending is not None:
                yield pending[0], None, None, None, [pending]  # transactions with no block
        finally:
            db.close()

    return row[0], blocks()
