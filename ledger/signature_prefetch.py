"""`ledger verify`'s Ed25519 checks on a second core while the first re-executes the contracts.

cryptography holds the GIL while it verifies a signature, so a thread cannot overlap signatures
with the contracts' Python; a forked process can, and costs no imports. The child reads the same
store and checks, block by block, every transaction signature and certificate vote with the same
code verify uses; it sends back the cache keys of those that held, and the parent puts them in the
signature cache (`ledger.identity`), which keeps only successes under the exact key, signature
and message digest. So the child can only spare the parent work: a signature it did not send
(bad, malformed, or not reached yet) the parent checks itself, and the report is the same with or
without it (tests/ledger/test_signature_prefetch.py).

Used only where forking is safe and pays: Linux, more than one usable core, no other
Python thread in the process (a fork copies locks held by other threads), and a store with enough
transactions to outweigh a fork. Native threads escape that check (numpy's OpenBLAS starts one;
Python 3.12+ warns about them at the fork): the child touches none of their libraries, and a child
that stalls all the same is given up after STALL_S, the parent then verifying alone.
"""

from __future__ import annotations

import json
import os
import select
import signal
import sqlite3
import struct
import sys
import threading

from ledger.block import BlockHeader, CommitCertificate
from ledger.genesis import Genesis
from ledger.identity import remember_verified, take_verified
from ledger.store import read_rows
from ledger.transactions import SignedTx

STALL_S = 5.0  # a child silent this long is given up (a block takes it about a millisecond)
MIN_TRANSACTIONS = 300  # below, a fork (5-13 ms, more for a larger process) outweighs what it saves
_HEAD = struct.Struct("<qI")  # height, number of keys
_KEY = 32 + 64 + 32  # public key, signature, SHA-256 of the message


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def can_fork() -> bool:
    """Linux (macOS forks, but its system libraries may not survive it) with no other thread."""
    return sys.platform.startswith("linux") and threading.active_count() == 1


def _wanted(path: str, prefetch: bool | None) -> bool:
    """True: wherever forking is safe; False: never; None: where it also pays (two cores, a store
    of MIN_TRANSACTIONS or more)."""
    if prefetch is False or not can_fork():
        return False
    return prefetch is True or (usable_cores() > 1 and _transactions(path) >= MIN_TRANSACTIONS)


def _transactions(path: str) -> int:
    """How many transactions the store holds (0 if it cannot say: the replay will name why)."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return db.execute("SELECT COUNT(*) FROM txs").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return 0


class SignaturePrefetch:
    """A child checking the signatures of the store at `path` ahead of the parent's replay.

    `through(height)` waits until the child has sent every block up to `height` (or has stopped,
    or has sent nothing for STALL_S) and caches what it sent; `close()` ends the child wherever it
    is. `prefetch` as `ledger.verify.verify_store` takes it; with no child, both do nothing."""

    def __init__(self, path: str, prefetch: bool | None) -> None:
        self._pid: int | None = None
        self._fd: int | None = None
        self._buffer = bytearray()
        self._last = -1
        if not _wanted(path, prefetch):
            return
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns into the caller's code
            os.close(read_fd)
            try:
                _check_and_send(path, write_fd)
            finally:
                os._exit(0)  # no atexit handlers, no flushing the parent's buffers twice
        os.close(write_fd)
        self._pid, self._fd = pid, read_fd

    def through(self, height: int) -> None:
        while self._fd is not None and self._last < height:
            message = self._message()
            if message is None:  # the child stopped (nothing more it could read) or stalled
                self.close()
                return
            self._last, data = message
            remember_verified((data[i:i + 32], data[i + 32:i + 96], data[i + 96:i + _KEY])
                              for i in range(0, len(data), _KEY))

    def _message(self) -> tuple[int, bytes] | None:
        """The next block's (height, keys) from the child, or None (see `_read`)."""
        head = self._read(_HEAD.size)
        if head is None:
            return None
        height, count = _HEAD.unpack(head)
        data = self._read(count * _KEY)
        return None if data is None else (height, data)

    def _read(self, size: int) -> bytes | None:
        """`size` bytes from the child, or None at its end or after STALL_S without a byte: a
        child forked beside a native thread that held a lock it needs would wait forever, and
        the parent then verifies alone instead."""
        while len(self._buffer) < size:
            ready, _, _ = select.select([self._fd], [], [], STALL_S)
            chunk = os.read(self._fd, 1 << 16) if ready else b""
            if not chunk:
                return None
            self._buffer += chunk
        out = bytes(self._buffer[:size])
        del self._buffer[:size]
        return out

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._pid is not None:
            try:
                os.kill(self._pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(self._pid, 0)
            self._pid = None

    def __enter__(self) -> SignaturePrefetch:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _check_and_send(path: str, fd: int) -> None:
    take_verified()  # start empty: what it holds after a block is what that block's checks found
    genesis_bytes, rows = read_rows(path)
    genesis = Genesis.from_bytes(genesis_bytes)
    with os.fdopen(fd, "wb") as out:
        for height, _hash, header_bytes, cert_bytes, txs in rows:
            try:
                for _height, _idx, _tx_id, entry in txs:  # the parent checks the encodings are canonical
                    SignedTx.from_doc(json.loads(entry)["tx"]).signature_valid()
                if cert_bytes is not None and header_bytes is not None:
                    CommitCertificate.from_bytes(cert_bytes).problem(BlockHeader.from_bytes(header_bytes),
                                                                     genesis.validators)
            except Exception:  # malformed bytes: the parent finds and names them; send what held
                pass
            keys = take_verified()
            out.write(_HEAD.pack(height, len(keys)) + b"".join(k + s + d for k, s, d in keys))
            out.flush()
