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
transactions to outweigh a fork.
"""

from __future__ import annotations

import json
import os
import signal
import struct
import sys
import threading

from ledger.block import BlockHeader, CommitCertificate
from ledger.genesis import Genesis
from ledger.identity import remember_verified, take_verified
from ledger.store import read_rows
from ledger.transactions import SignedTx

MIN_TRANSACTIONS = 300  # below, a fork (5-13 ms, more for a larger process) outweighs what it saves
_HEAD = struct.Struct("<qI")  # height, number of keys
_KEY = 32 + 64 + 32  # public key, signature, SHA-256 of the message


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def can_fork() -> bool:
    """Linux (macOS forks, but its system libraries may not survive it) with no other thread."""
    return sys.platform.startswith("linux") and threading.active_count() == 1


class SignaturePrefetch:
    """A child checking the signatures of the store at `path` ahead of the parent's replay.

    `through(height)` waits until the child has sent every block up to `height` (or has stopped)
    and caches what it sent; `close()` ends the child wherever it is. Inactive (both do nothing)
    when `start` is False."""

    def __init__(self, path: str, start: bool) -> None:
        self._pid: int | None = None
        self._pipe = None
        self._last = -1
        if not start:
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
        self._pid, self._pipe = pid, os.fdopen(read_fd, "rb")

    def through(self, height: int) -> None:
        while self._pipe is not None and self._last < height:
            head = self._pipe.read(_HEAD.size)
            if len(head) < _HEAD.size:  # the child stopped (it found nothing more it could read)
                self.close()
                return
            self._last, count = _HEAD.unpack(head)
            data = self._pipe.read(count * _KEY)
            remember_verified((data[i:i + 32], data[i + 32:i + 96], data[i + 96:i + _KEY])
                              for i in range(0, len(data) - _KEY + 1, _KEY))

    def close(self) -> None:
        if self._pipe is not None:
            self._pipe.close()
            self._pipe = None
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
