"""The store and `ledger verify`: honest chains pass, any flipped byte is caught at its height."""

import hashlib
from dataclasses import replace
import shutil
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ledger_helpers import build_chain, certify
from store_helpers import flip_bit

from ledger.alliance import Alliance
from ledger.block import entry_included
from ledger.store import NoStore, StoreError
from ledger.verify import prove_transaction, verify_main, verify_store

N_BLOCKS = 4


@pytest.fixture(scope="module")
def honest_store(tmp_path_factory):
    path = tmp_path_factory.mktemp("ledger") / "ledger.sqlite"
    alliance = Alliance.create(7, dnos=["dno1", "dno2", "dno3", "dno4"], validators=["v1", "v2", "v3", "v4"])
    chain = build_chain(alliance, str(path), n_blocks=N_BLOCKS)
    chain.close()
    return path, chain


def _blobs(path):
    db = sqlite3.connect(path)
    rows = [("blocks", "header", "height", h, 0, b) for h, b in db.execute("SELECT height, header FROM blocks")]
    rows += [("blocks", "certificate", "height", h, 0, b)
             for h, b in db.execute("SELECT height, certificate FROM blocks WHERE height > 0")]
    rows += [("txs", "entry", "height", h, i, b) for h, i, b in db.execute("SELECT height, idx, entry FROM txs")]
    rows += [("genesis", "document", "id", 0, 0, b) for (b,) in db.execute("SELECT document FROM genesis")]
    db.close()
    return rows


def test_honest_store_verifies(honest_store, capsys):
    path, chain = honest_store
    report = verify_store(str(path))
    assert report.ok, report.reason
    assert (report.blocks, report.transactions) == (N_BLOCKS, 3 * N_BLOCKS)
    assert report.tip_hash == chain.tip.hash
    assert verify_main(str(path)) == 0
    assert f"{N_BLOCKS} blocks, {3 * N_BLOCKS} transactions" in capsys.readouterr().out


def test_store_is_append_only(honest_store, tmp_path):
    path, _ = honest_store
    copy = tmp_path / "copy.sqlite"
    shutil.copy(path, copy)
    db = sqlite3.connect(copy)
    for statement in ("UPDATE txs SET entry = x'00'", "DELETE FROM blocks WHERE height = 3",
                      "UPDATE genesis SET document = x'00'"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute(statement)
    db.close()


@settings(max_examples=150)
@given(st.data())
def test_any_flipped_byte_is_caught_at_its_height(honest_store, tmp_path_factory, data):
    path, _ = honest_store
    table, column, key, height, idx, blob = data.draw(st.sampled_from(_blobs(path)))
    position = data.draw(st.integers(0, len(blob) - 1))
    mask = data.draw(st.integers(1, 255))
    if data.draw(st.booleans()):  # keep the bytes well-formed so semantic checks must catch it
        hex_positions = [i for i, c in enumerate(blob) if chr(c) in "0123456789abcdef"]
        position = data.draw(st.sampled_from(hex_positions))
        new = data.draw(st.sampled_from([c for c in "0123456789abcdef" if c != chr(blob[position])]))
        mask = blob[position] ^ ord(new)
    copy = tmp_path_factory.mktemp("tamper") / "ledger.sqlite"
    shutil.copy(path, copy)
    flip_bit(copy, table, column, key, height, idx, position, mask)
    report = verify_store(str(copy))
    assert report.first_bad_height == height, (table, column, height, position, mask, report)
    assert verify_main(str(copy)) == 1


def test_every_byte_of_one_certificate_signature_is_caught(honest_store, tmp_path):
    path, _ = honest_store
    db = sqlite3.connect(path)
    (cert,) = db.execute("SELECT certificate FROM blocks WHERE height = 2").fetchone()
    db.close()
    start = cert.index(b'"signatures":[["') + len(b'"signatures":[["') + 64 + 3  # first signature's hex
    for position in range(start, start + 128):
        copy = tmp_path / f"c{position}.sqlite"
        shutil.copy(path, copy)
        flip_bit(copy, "blocks", "certificate", "height", 2, 0, position, 0x01)
        assert verify_store(str(copy)).first_bad_height == 2


def test_certificate_short_of_quorum_is_caught(tmp_path):
    alliance = Alliance.create(7, dnos=["dno1", "dno2", "dno3", "dno4"], validators=["v1", "v2", "v3", "v4"])
    from ledger.chain import Chain

    chain = Chain(alliance.genesis, str(tmp_path / "s.sqlite"))
    block = chain.build(alliance.validators[0], 0, 10.0)
    with pytest.raises(ValueError, match="quorum"):
        chain.commit(block, certify(block, alliance.validators[:2]))  # 2 of 4 is not > 2/3
    chain.commit(block, certify(block, alliance.validators[:3]))
    chain.close()
    assert verify_store(str(tmp_path / "s.sqlite")).ok


def test_inclusion_proofs_of_stored_transactions(honest_store):
    _, chain = honest_store
    block = chain.blocks[2].block
    n = len(block.entries)
    for i, entry in enumerate(block.entries):
        proof = block.inclusion_proof(i)
        assert entry_included(entry, i, n, proof, block.header)
        other = block.entries[(i + 1) % n]
        assert not entry_included(other, i, n, proof, block.header)
        bent = [bytes([p[0] ^ 1]) + p[1:] for p in proof[:1]] + proof[1:]
        assert not entry_included(entry, i, n, bent, block.header)


def test_same_seed_same_store_bytes(tmp_path):
    digests = []
    for run in range(2):
        path = tmp_path / f"run{run}.sqlite"
        alliance = Alliance.create(11, dnos=["dno1", "dno2", "dno3", "dno4"], validators=["v1", "v2", "v3", "v4"])
        build_chain(alliance, str(path), n_blocks=3).close()
        digests.append(hashlib.sha256(path.read_bytes()).hexdigest())
    assert digests[0] == digests[1]


def test_store_refuses_to_overwrite_or_fork(honest_store, tmp_path):
    path, chain = honest_store
    alliance = Alliance.create(7, dnos=["dno1", "dno2", "dno3", "dno4"], validators=["v1", "v2", "v3", "v4"])
    from ledger.chain import Chain

    with pytest.raises(StoreError):
        Chain(alliance.genesis, str(path))
    with pytest.raises(NoStore, match="no such file"):
        verify_store(str(tmp_path / "missing.sqlite"))


def test_cli_ledger_verify(honest_store, tmp_path, capsys):
    from experiments.cli import main

    path, _ = honest_store
    assert main(["ledger", "verify", str(path)]) == 0
    assert "ledger ok" in capsys.readouterr().out
    copy = tmp_path / "bad.sqlite"
    shutil.copy(path, copy)
    flip_bit(copy, "blocks", "header", "height", 3, 0, 20, 0x01)
    assert main(["ledger", "verify", str(copy)]) == 1
    assert "height 3" in capsys.readouterr().err


@pytest.mark.parametrize("place, message", [("missing.sqlite", "no such file"),
                                            ("folder", "is a directory, not a ledger store"),
                                            ("empty.sqlite", "is an empty file, not a ledger store")])
def test_no_store_at_the_path_is_an_error_not_a_bad_chain(tmp_path, capsys, place, message):
    """Nothing to verify is a mistake in the command (exit 2, `error:`), not tampering (exit 1, BAD)."""
    from experiments.cli import main

    (tmp_path / "folder").mkdir()
    (tmp_path / "empty.sqlite").write_bytes(b"")
    assert main(["ledger", "verify", str(tmp_path / place)]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"error: {tmp_path / place}: {message}\n" and captured.out == ""


@pytest.mark.parametrize("head", ["zzzz" * 4, "ab" * 4, "ab" * 33, "0x" + "ab" * 8, "ab" * 8 + " "])
def test_a_head_that_is_no_hash_is_refused_as_bad_input(honest_store, capsys, head):
    """Not hex, shorter than 16 digits or longer than a hash: exit 2 before anything is read."""
    from experiments.cli import main

    path, _ = honest_store
    assert main(["ledger", "verify", str(path), "--head", head]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "--head" in err and repr(head) in err and "BAD" not in err
    assert verify_main(str(path), head) == 2, "the API entry refuses it too"
    assert capsys.readouterr().err.startswith("error: --head: expected a tip hash")


def test_a_wrong_head_is_still_a_bad_chain(honest_store, capsys):
    path, chain = honest_store
    assert verify_main(str(path), chain.tip.hash) == 0
    assert verify_main(str(path), "ab" * 32) == 1
    assert "ledger BAD" in capsys.readouterr().err


def test_inclusion_proof_from_the_store_holds_and_breaks_when_altered(honest_store):
    path, chain = honest_store
    entry = chain.blocks[3].block.entries[1]
    proof = prove_transaction(str(path), entry.tx.tx_id)
    assert proof.holds() and proof.header.hash == chain.blocks[3].block.hash and proof.index == 1
    assert not replace(proof, leaf=proof.leaf.replace(b'"seen_ms":', b'"seen_ms":1')).holds()
    assert not replace(proof, index=0).holds()
    assert not replace(proof, path=(bytes(32),) + proof.path[1:]).holds()
    assert prove_transaction(str(path), "00" * 32) is None


@pytest.mark.parametrize("table, column", [("blocks", "header"), ("blocks", "certificate"), ("txs", "entry")])
def test_a_blob_rewritten_as_text_is_named_not_a_parser_crash(honest_store, tmp_path, table, column, capsys):
    path = tmp_path / "ledger.sqlite"
    shutil.copy(honest_store[0], path)
    db = sqlite3.connect(path)
    db.executescript(f"DROP TRIGGER {table}_no_update;")
    db.execute(f"UPDATE {table} SET {column} = CAST({column} AS TEXT) WHERE height = 2")
    db.commit()
    db.close()
    assert verify_main(str(path)) == 1
    err = capsys.readouterr().err.strip()
    assert err == f"ledger BAD at height 2: a {'transaction' if table == 'txs' else column} of block 2 is stored as str, not bytes"
