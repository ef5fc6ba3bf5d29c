"""`ledger verify` with the signatures checked ahead in a forked child (ledger.signature_prefetch):
the same report with and without it whatever was tampered with, a child that hands over only
signatures that hold, no fork beside another thread, and no child left behind."""

import hashlib
import os
import shutil
import sys
import sqlite3
import threading
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st
from ledger_helpers import build_chain
from store_helpers import flip_bit

import ledger.signature_prefetch as prefetch
from ledger.alliance import Alliance
from ledger.identity import clear_signature_cache
from ledger.verify import verify_store

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the child is forked on Linux only")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("ledger") / "ledger.sqlite"
    alliance = Alliance.create(7, dnos=["dno1", "dno2", "dno3", "dno4"], validators=["v1", "v2", "v3", "v4"])
    chain = build_chain(alliance, str(path), n_blocks=6)
    chain.close()
    return path, chain


def _blobs(path):
    db = sqlite3.connect(path)
    rows = [("blocks", "certificate", h, 0, b) for h, b in db.execute("SELECT height, certificate FROM blocks WHERE height > 0 ORDER BY height")]
    rows += [("txs", "entry", h, i, b) for h, i, b in db.execute("SELECT height, idx, entry FROM txs ORDER BY height, idx")]
    db.close()
    return rows


def _tampered(src, dst, table, column, height, idx, position, mask):
    shutil.copy(src, dst)
    flip_bit(dst, table, column, "height", height, idx, position, mask)
    return dst


@pytest.fixture
def children(monkeypatch):
    """The pid of every child verify forks (None where it forks none)."""
    pids = []
    start = prefetch.SignaturePrefetch.__init__

    def recording(self, path, start_):
        start(self, path, start_)
        pids.append(self._pid)

    monkeypatch.setattr(prefetch.SignaturePrefetch, "__init__", recording)
    return pids


def _verify(path, with_child):
    clear_signature_cache()
    return verify_store(str(path), prefetch=with_child)


def test_an_honest_store_verifies_the_same_with_the_child(store):
    path, chain = store
    assert _verify(path, True) == _verify(path, False)
    assert _verify(path, True).ok and _verify(path, True).tip_hash == chain.tip.hash


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_whatever_was_tampered_with_the_report_is_the_same(store, tmp_path_factory, data):
    path, _ = store
    table, column, height, idx, blob = data.draw(st.sampled_from(_blobs(path)))
    position = data.draw(st.integers(0, len(blob) - 1))
    mask = data.draw(st.sampled_from([1, 2, 4, 8, 16, 32, 64, 128]))
    bad = _tampered(path, tmp_path_factory.mktemp("t") / "bad.sqlite", table, column, height, idx, position, mask)
    alone = _verify(bad, False)
    assert not alone.ok
    assert _verify(bad, True) == alone


def _keys_sent(path):
    read_fd, write_fd = os.pipe()
    prefetch._check_and_send(str(path), write_fd)  # in this process: a small chain fits the pipe
    with os.fdopen(read_fd, "rb") as pipe:
        data = pipe.read()
    keys, at = set(), 0
    while at < len(data):
        _height, count = prefetch._HEAD.unpack_from(data, at)
        at += prefetch._HEAD.size
        for _ in range(count):
            keys.add((data[at:at + 32], data[at + 32:at + 96], data[at + 96:at + 128]))
            at += 128
    clear_signature_cache()
    return keys


def _transaction_keys(chain):
    """(public key, signature, digest) of every transaction signature, from the chain in memory."""
    return {(bytes.fromhex(e.tx.tx.sender), e.tx.signature, hashlib.sha256(e.tx.tx.signing_bytes()).digest())
            for c in chain.blocks for e in c.block.entries}


def test_the_child_hands_over_exactly_the_signatures_that_hold(store, tmp_path):
    path, chain = store
    sent = _keys_sent(path)
    transactions = _transaction_keys(chain)
    assert transactions <= sent  # every transaction's, and the certificates' votes besides
    assert len(sent - transactions) == sum(len(c.certificate.signatures) for c in chain.blocks[1:])
    for key, signature, _digest in sent:
        assert len(key) == 32 and len(signature) == 64
    for key, signature, digest in transactions:  # checked here without the project's code
        entry = next(e for c in chain.blocks for e in c.block.entries if e.tx.signature == signature)
        assert hashlib.sha256(entry.tx.tx.signing_bytes()).digest() == digest
        Ed25519PublicKey.from_public_bytes(key).verify(signature, entry.tx.tx.signing_bytes())
    # One signature spoiled (a digit of its hex): that one is not handed over, every other one is.
    _, _, height, idx, blob = next(b for b in _blobs(path) if b[0] == "txs")
    at = blob.index(b'"sig":"') + len(b'"sig":"')
    spoiled = next(k for k in transactions if k[1] == bytes.fromhex(blob[at:at + 128].decode()))
    mask = blob[at] ^ (ord("1") if blob[at] == ord("0") else ord("0"))
    bad = _tampered(path, tmp_path / "bad.sqlite", "txs", "entry", height, idx, at, mask)
    assert _keys_sent(bad) == sent - {spoiled}


def test_no_fork_beside_another_thread(store, monkeypatch):
    path, _ = store
    monkeypatch.setattr(os, "fork", lambda: pytest.fail("forked beside another thread"))
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        assert not prefetch.can_fork()
        assert _verify(path, True).ok
    finally:
        release.set()
        other.join()


def test_no_child_is_left_when_verify_stops_early(store, tmp_path, children):
    path, _ = store
    _, _, height, idx, blob = _blobs(path)[0]  # the first certificate: verify stops at height 1
    report = _verify(_tampered(path, tmp_path / "bad.sqlite", "blocks", "certificate", height, idx, 40, 1), True)
    assert report.first_bad_height == 1
    assert children and children[0] is not None
    with pytest.raises(ChildProcessError):  # reaped: no longer our child
        os.waitpid(children[0], os.WNOHANG)


def test_a_child_that_stalls_is_given_up(store, children, monkeypatch):
    """As one forked beside a native thread holding a lock it needs would: verify goes on alone."""
    path, _ = store
    monkeypatch.setattr(prefetch, "_check_and_send", lambda path_, fd: time.sleep(60))
    monkeypatch.setattr(prefetch, "STALL_S", 0.2)
    began = time.monotonic()
    assert _verify(path, True) == _verify(path, False)
    assert time.monotonic() - began < 30
    with pytest.raises(ChildProcessError):
        os.waitpid(children[0], os.WNOHANG)
