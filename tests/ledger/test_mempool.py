"""Transactions and the pool: canonical bytes, and every rejection before admission."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ledger_helpers import CHAIN, bid_payload, signed_bid

from ledger.alliance import Alliance
from ledger.canonical import NonCanonical, canonical_bytes, parse_canonical
from ledger.identity import Identity, Role
from ledger.mempool import Mempool, Rejected
from ledger.transactions import MalformedTx, SignedTx, Transaction, sign_transaction


def test_canonical_bytes_are_sorted_compact_and_strict():
    assert canonical_bytes({"b": 1, "a": [1.5, "x"]}) == b'{"a":[1.5,"x"],"b":1}'
    with pytest.raises(NonCanonical):
        parse_canonical(b'{"b":1, "a":2}')
    with pytest.raises(ValueError):
        canonical_bytes({"x": math.nan})


@given(st.dictionaries(st.text(max_size=5), st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                                                     st.text(max_size=5), st.booleans(), st.none())))
def test_canonical_round_trip(value):
    assert parse_canonical(canonical_bytes(value)) == value


def test_envelope_round_trips_and_signature_covers_chain_and_nonce(alliance):
    stx = signed_bid(alliance, "dno1", 1)
    again = SignedTx.from_bytes(stx.encoded)
    assert again == stx and again.tx_id == stx.tx_id and again.signature_valid()
    for changed in (Transaction("other-chain", "bid", stx.tx.sender, 1, stx.tx.payload),
                    Transaction(CHAIN, "bid", stx.tx.sender, 2, stx.tx.payload),
                    Transaction(CHAIN, "bid", stx.tx.sender, 1, bid_payload(price=301.0))):
        assert not SignedTx(changed, stx.signature).signature_valid()


def test_malformed_payloads_are_refused_at_signing(alliance):
    dno = alliance.identity("dno1", "dno")
    for bad in (bid_payload(quantity=-1.0), {**bid_payload(), "extra": 1}, bid_payload(side="hold"),
                bid_payload(hour=0)):
        with pytest.raises(MalformedTx):
            sign_transaction(dno, CHAIN, "bid", 1, bad)
    with pytest.raises(MalformedTx):
        sign_transaction(dno, CHAIN, "no_such_kind", 1, {})


def test_valid_bid_is_admitted_with_its_receipt_time(state, alliance):
    pool = Mempool(lambda: state)
    entry = pool.admit(signed_bid(alliance, "dno1", 1), now_ms=12.5)
    assert entry.seen_ms == 12.5 and len(pool) == 1


def test_forged_signature_rejected(state, alliance):
    pool = Mempool(lambda: state)
    good = signed_bid(alliance, "dno1", 1)
    forger = Identity.derive(99, "mallory", Role.DNO)
    forged = SignedTx(good.tx, forger.sign(good.tx.signing_bytes()))  # claims dno1's key
    with pytest.raises(Rejected, match="bad_signature"):
        pool.admit(forged, 0.0)
    flipped = bytearray(good.signature)
    flipped[10] ^= 0x40
    with pytest.raises(Rejected, match="bad_signature"):
        pool.admit(SignedTx(good.tx, bytes(flipped)), 0.0)
    assert len(pool) == 0


def test_replayed_nonce_rejected_in_pool_and_after_commit(state, alliance):
    pool = Mempool(lambda: state)
    pool.admit(signed_bid(alliance, "dno1", 1, hour=1), 0.0)
    with pytest.raises(Rejected, match="replayed_nonce"):
        pool.admit(signed_bid(alliance, "dno1", 1, hour=2), 0.0)
    state["nonces"][alliance.identity("dno1", "dno").public_hex] = 5  # as if committed up to 5
    with pytest.raises(Rejected, match="replayed_nonce"):
        pool.admit(signed_bid(alliance, "dno1", 5, hour=3), 0.0)


def test_duplicate_tx_and_duplicate_bid_rejected(state, alliance):
    pool = Mempool(lambda: state)
    first = signed_bid(alliance, "dno1", 1, hour=4)
    pool.admit(first, 0.0)
    with pytest.raises(Rejected, match="duplicate_tx"):
        pool.admit(first, 1.0)
    # Same DNO, same hour and round, fresh nonce and another price: still one bid per hour.
    with pytest.raises(Rejected, match="duplicate"):
        pool.admit(signed_bid(alliance, "dno1", 2, hour=4, price=999.0), 1.0)
    pool.admit(signed_bid(alliance, "dno1", 2, hour=5), 1.0)


def test_unknown_sender_wrong_role_and_wrong_chain_rejected(state, alliance):
    pool = Mempool(lambda: state)
    outsider = Identity.derive(7, "outsider", Role.DNO)
    with pytest.raises(Rejected, match="unknown_sender"):
        pool.admit(sign_transaction(outsider, CHAIN, "bid", 1, bid_payload()), 0.0)
    grid = alliance.identity("main_grid", "main_grid")
    with pytest.raises(Rejected, match="role_not_allowed"):
        pool.admit(sign_transaction(grid, CHAIN, "bid", 1, bid_payload()), 0.0)
    with pytest.raises(Rejected, match="wrong_chain"):
        pool.admit(sign_transaction(alliance.identity("dno1", "dno"), "other", "bid", 1, bid_payload()), 0.0)


def test_select_orders_by_receipt_and_respects_nonce_sequence(state, alliance):
    pool = Mempool(lambda: state)
    pool.admit(signed_bid(alliance, "dno1", 2, hour=2), 1.0)  # arrives before its predecessor
    pool.admit(signed_bid(alliance, "dno2", 1, hour=1), 2.0)
    pool.admit(signed_bid(alliance, "dno3", 2, hour=1), 2.5)  # nonce 1 never arrives: held back
    pool.admit(signed_bid(alliance, "dno1", 1, hour=1), 3.0)
    chosen = pool.select()
    names = [(alliance.genesis.registry.lookup(e.tx.tx.sender).organisation, e.tx.tx.nonce) for e in chosen]
    assert names == [("dno1", 1), ("dno2", 1), ("dno1", 2)]
    assert [e.tx.tx.nonce for e in pool.select(seen_by_ms=2.0) if e.tx.tx.sender == chosen[1].tx.tx.sender] == [1]


def test_alliance_is_reproducible():
    a = Alliance.create(3, dnos=["d1"], validators=["v1", "v2"])
    b = Alliance.create(3, dnos=["d1"], validators=["v1", "v2"])
    assert a.genesis.encoded == b.genesis.encoded
