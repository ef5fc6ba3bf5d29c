"""The credit contract, one test per rule: settlement, late bids, refused bids, metered delivery,
votes, timeouts and conflicting votes move credit as docs/credit.md says; bad evidence makes a
block invalid; a chain without credit is the chain it always was."""

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ledger_helpers import CHAIN, certify, signed_bid

from ledger.alliance import Alliance
from ledger.block import BlockEntry, Vote
from ledger.chain import Chain
from ledger.contracts import (ContractError, Evidence, credit_document, genesis_state, market_document,
                              participant_credits, validator_credits)
from ledger.credit import ChainCredit
from ledger.transactions import sign_transaction
from ledger.verify import verify_store
from market.params import MechanismParams
from market.tariff import Tariff

DNOS = ["dno1", "dno2", "dno3", "dno4"]
HOUR_MS, GATE_MS = 10_000.0, 2_000.0
R = ChainCredit()  # the default rules
# hour 1 (a valley hour): two sellers and a buyer that more than absorbs them
BOOK = [("dno1", "sell", 5.0, 330.0), ("dno2", "sell", 3.0, 360.0), ("dno4", "buy", 10.0, 380.0)]


def credit_alliance(**settings_):
    """Four DNOs and four validators (validator i hosted by dno{i+1}) on a chain keeping credit."""
    a = Alliance.create(5, dnos=DNOS, validators=["v1", "v2", "v3", "v4"], hour_ms=HOUR_MS, gate_offset_ms=GATE_MS,
                        market=market_document(MechanismParams(), Tariff()))
    keys = [v.public_hex for v in a.validators]
    doc = credit_document(ChainCredit(enabled=True, **settings_), DNOS, keys, DNOS)
    return replace(a, genesis=replace(a.genesis, credit=doc))


class Driver:
    """Blocks built by validator 0 and certified by chosen signers, as consensus would."""

    def __init__(self, alliance, store_path=None):
        self.a, self.chain = alliance, Chain(alliance.genesis, store_path)
        self.nonce: dict[str, int] = {}

    def bid(self, dno, hour, side, quantity, price, seen_ms):
        self.nonce[dno] = self.nonce.get(dno, 0) + 1
        stx = signed_bid(self.a, dno, self.nonce[dno], hour=hour, side=side, quantity=quantity, price=price)
        return BlockEntry(stx, seen_ms)

    def block(self, time_ms, entries=(), signers=None, evidence=None):
        """Build, certify by `signers` (validator indices; default all) and commit one block."""
        proposer = self.a.validators[0]
        block = self.chain.build(proposer, 0, time_ms, list(entries), evidence)
        who = range(4) if signers is None else signers
        self.chain.commit(block, certify(block, [self.a.validators[i] for i in who]))
        return self.chain.blocks[-1]

    def credit_events(self, record=None):
        records = [record] if record is not None else self.chain.blocks
        return [e for r in records for e in r.events if e.get("event") == "credit"]

    def tc(self, dno):
        return participant_credits(self.chain.state)[dno]

    def nc(self, i):
        return validator_credits(self.chain.state)[self.a.validators[i].public_hex].node


def hour_one(d, late=None):
    """Bid the book in hour 1 (one bid seen after the gate if `late` names its DNO) and close it."""
    entries = [d.bid(dno, 1, side, q, p, GATE_MS + 500.0 if dno == late else 100.0 * k)
               for k, (dno, side, q, p) in enumerate(BOOK)]
    on_time = [e for e in entries if e.seen_ms <= GATE_MS]
    d.block(GATE_MS - 1.0, on_time)  # bids in, the gate has not closed yet
    return d.block(GATE_MS + 1000.0, [e for e in entries if e not in on_time])  # gate closure (and late bids)


# --- transaction credit -------------------------------------------------------------------------

def test_a_settled_hour_moves_each_bidder_by_a_plus_times_its_settled_share():
    d = Driver(credit_alliance())
    closed = hour_one(d)
    settled = {e["who"]: e for e in d.credit_events(closed) if e["reason"] == "settled"}
    assert set(settled) == {"dno1", "dno2", "dno4"}  # every bidder, and only bidders
    for dno in ("dno1", "dno2", "dno4"):  # the grid takes what P2P leaves: everything is settled
        assert d.tc(dno) == pytest.approx(R.initial + R.a_plus) == settled[dno]["transaction"]
        assert settled[dno]["node"] is None and settled[dno]["role"] == "dno"
    assert d.tc("dno3") == R.initial


def test_a_hosted_validator_carries_its_dnos_transaction_credit():
    d = Driver(credit_alliance())
    hour_one(d)
    for i, dno in enumerate(DNOS):
        assert validator_credits(d.chain.state)[d.a.validators[i].public_hex].transaction == d.tc(dno)


def test_a_bid_that_misses_the_gate_is_late_and_costs_a_minus():
    d = Driver(credit_alliance())
    closed = hour_one(d, late="dno2")
    late = [e for e in d.credit_events(closed) if e["who"] == "dno2"]
    assert [e["reason"] for e in late] == ["late"]
    assert d.tc("dno2") == pytest.approx(R.initial - R.a_minus)
    assert d.tc("dno1") == pytest.approx(R.initial + R.a_plus)


def test_a_bid_from_a_dno_below_the_trade_threshold_is_refused_and_settled_with_the_grid():
    d = Driver(credit_alliance(participants={"dno1": 0.5}))
    hour_one(d)
    record = {r["bidder"]: r for r in d.chain.state["bids"]["0:1"]}
    assert not record["dno1"]["included"] and "below 0.6" in record["dno1"]["refused"]
    assert record["dno2"]["included"] and "refused" not in record["dno2"]
    posted = [e.tx.tx.payload for c in d.chain.blocks for e in c.block.entries]
    assert not any("dno1" in (p.get("seller"), p.get("buyer")) for p in posted)  # kept out of the auction
    assert {"day": 0, "hour": 1, "dno": "dno1", "side": "sell", "quantity_mwh": 5.0,
            "price_per_mwh": Tariff().sell_per_mwh()[0]} in posted  # ...and settled with the grid
    # the grid settlement was fulfilled, so a refused DNO earns its way back by a+
    assert [e["reason"] for e in d.credit_events() if e["who"] == "dno1"] == ["refused"]
    assert d.tc("dno1") == pytest.approx(0.5 + R.a_plus)


@given(st.floats(0.0, 1.0), st.floats(0.0, 1.0))
@settings(max_examples=15, deadline=None)
def test_admission_is_exactly_the_threshold(tc, theta):
    d = Driver(credit_alliance(participants={"dno1": tc}, theta_trade=theta))
    d.block(100.0, [d.bid("dno1", 1, "sell", 5.0, 330.0, 10.0)])
    (record,) = d.chain.state["bids"]["0:1"]
    assert record["included"] == (tc >= theta)


def test_meter_readings_outside_the_tolerance_cost_a_minus():
    d = Driver(credit_alliance())
    grid = d.a.identity("main_grid", "main_grid")

    def reading(nonce, dno, delivered, hour=1):
        payload = {"day": 0, "hour": hour, "dno": dno, "delivered_mwh": delivered}
        return BlockEntry(sign_transaction(grid, CHAIN, "meter_reading", nonce, payload), 10.0)

    early = d.block(GATE_MS - 1.0, [reading(1, "dno1", 5.0)])  # hour 1 is not settled yet
    assert "refused" in next(e for e in early.events if e["event"] == "meter_reading")
    hour_one(d)
    before = {dno: d.tc(dno) for dno in DNOS}
    inside, outside = 5.0 * (1 - 0.9 * R.delivery_tolerance), 3.0 * (1 + 1.1 * R.delivery_tolerance)
    d.block(GATE_MS + 2000.0, [reading(2, "dno1", inside), reading(3, "dno2", outside)])
    assert d.tc("dno1") == before["dno1"]
    assert d.tc("dno2") == pytest.approx(before["dno2"] - R.a_minus)
    assert [e["who"] for e in d.credit_events(d.chain.blocks[-1]) if e["reason"] == "out_of_tolerance"] == ["dno2"]
    again = d.block(GATE_MS + 3000.0, [reading(4, "dno2", outside)])  # a delivery is metered once
    assert "already metered" in next(e for e in again.events if e["event"] == "meter_reading")["refused"]
    assert d.tc("dno2") == pytest.approx(before["dno2"] - R.a_minus)


# --- node credit ----------------------------------------------------------------------------------

def test_votes_raise_node_credit_and_a_long_absence_is_a_timeout():
    """Validator 3 never signs: one or two missing votes are no fault (a quorum is all a certificate
    needs), the `timeout_blocks`-th in a row and each one after it cost b-."""
    d = Driver(credit_alliance())
    d.block(1000.0, signers=[0, 1, 2])  # block 1 carries no evidence: genesis has no certificate
    assert d.credit_events() == []
    history = []
    for h in range(2, 8):
        record = d.block(1000.0 * h, signers=[0, 1, 2])
        history.append({e["who"]: e["reason"] for e in d.credit_events(record)})
    keys = [v.public_hex for v in d.a.validators]
    for i in range(3):
        assert all(h[keys[i]] == "vote" for h in history)
        assert d.nc(i) == pytest.approx(min(1.0, R.initial + 6 * R.b_plus))
    missing = [h.get(keys[3]) for h in history]
    assert missing == [None, None, "timeout", "timeout", "timeout", "timeout"]
    assert d.nc(3) == pytest.approx(R.initial - 4 * R.b_minus)
    d.block(8000.0, signers=[1, 2, 3])  # it is back (its vote shows in the next block's evidence)
    reason = lambda: {e["who"]: e["reason"] for e in d.credit_events(d.chain.blocks[-1])}.get(keys[3])  # noqa: E731
    d.block(9000.0, signers=[0, 1, 2])
    assert reason() == "vote"
    assert d.nc(3) == pytest.approx(R.initial - 5 * R.b_minus + R.b_plus)
    d.block(10_000.0, signers=[0, 1, 2])  # the count of missed blocks starts again
    assert reason() is None


def test_votes_beyond_the_certificate_count_as_votes():
    """A Raft leader keeps receiving acks after it commits: they are evidence that the node is up."""
    d = Driver(credit_alliance(timeout_blocks=1))
    tip = d.block(1000.0, signers=[0, 1, 2]).block
    late = Vote.cast(d.a.validators[3], "precommit", CHAIN, 1, 0, tip.hash)
    record = d.block(2000.0, signers=[0, 1, 2], evidence=Evidence(votes=(late,)))
    assert {e["reason"] for e in d.credit_events(record)} == {"vote"}


def test_conflicting_votes_cost_b_minus_once():
    d = Driver(credit_alliance())
    tip = d.block(1000.0).block
    cheat = d.a.validators[2]
    pair = (Vote.cast(cheat, "prevote", CHAIN, 2, 0, tip.hash), Vote.cast(cheat, "prevote", CHAIN, 2, 0, "ab" * 32))
    record = d.block(2000.0, evidence=Evidence(conflicts=(pair,)))
    reasons = {e["who"]: e["reason"] for e in d.credit_events(record)}
    assert reasons[cheat.public_hex] == "conflicting"
    assert d.nc(2) == pytest.approx(R.initial + R.b_plus - R.b_minus)  # it also voted for block 1
    record = d.block(3000.0, evidence=Evidence(conflicts=(pair,)))  # the proposer has nothing new to show
    assert {e["reason"] for e in d.credit_events(record)} == {"vote"}
    same = (pair[0], pair[0])
    d.block(4000.0, evidence=Evidence(conflicts=(same,)))  # not a conflict: the builder leaves it out
    assert d.nc(2) == pytest.approx(R.initial + 3 * R.b_plus - R.b_minus)


def _evidence_entry(d, payload, signer=0):
    identity = d.a.validators[signer]
    nonce = d.chain.state["nonces"].get(identity.public_hex, 0) + 1
    return BlockEntry(sign_transaction(identity, CHAIN, "evidence", nonce, payload), 0.0)


@pytest.mark.parametrize("damage, reason", [
    (lambda doc: {**doc, "signatures": doc["signatures"][:2]}, "short of the quorum"),
    (lambda doc: {**doc, "block_hash": "cd" * 32}, "another block"),
    (lambda doc: {**doc, "signatures": [[k, "00" * 64] for k, _ in doc["signatures"]]}, "bad signature"),
    (lambda doc: {**doc, "height": "one"}, "field types"),
])
def test_evidence_that_is_not_the_parents_certificate_makes_the_block_invalid(damage, reason):
    d = Driver(credit_alliance())
    tip = d.block(1000.0)
    doc = tip.certificate.to_doc()
    with pytest.raises(ContractError, match=reason):
        d.chain.build(d.a.validators[0], 0, 2000.0, [_evidence_entry(d, {"last_commit": damage(doc), "conflicts": []})])


def test_only_the_proposer_posts_evidence_and_only_once():
    d = Driver(credit_alliance())
    tip = d.block(1000.0)
    payload = {"last_commit": tip.certificate.to_doc(), "conflicts": []}
    with pytest.raises(ContractError, match="proposer, once per block"):  # from another validator
        d.chain.build(d.a.validators[0], 0, 2000.0, [_evidence_entry(d, payload, signer=1)])
    with pytest.raises(ContractError, match="proposer, once per block"):  # a second one beside its own
        d.chain.build(d.a.validators[0], 0, 2000.0, [_evidence_entry(d, payload)])


def test_forged_or_repeated_conflicts_make_the_block_invalid():
    d = Driver(credit_alliance())
    tip = d.block(1000.0).block
    cheat = d.a.validators[2]
    a, b = (Vote.cast(cheat, "prevote", CHAIN, 2, 0, h) for h in (tip.hash, "ab" * 32))
    doc = lambda v: {"vote_type": v.vote_type, "height": v.height, "round": v.round,  # noqa: E731
                     "block_hash": v.block_hash, "validator": v.validator, "signature": v.signature.hex()}
    forged = {**doc(b), "block_hash": "ef" * 32}  # signature no longer matches
    with pytest.raises(ContractError, match="signature"):
        d.chain.build(d.a.validators[0], 0, 2000.0,
                      [_evidence_entry(d, {"last_commit": None, "conflicts": [[doc(a), forged]]})])
    d.block(2000.0, evidence=Evidence(conflicts=((a, b),)))
    with pytest.raises(ContractError, match="already on chain"):
        d.chain.build(d.a.validators[0], 0, 3000.0,
                      [_evidence_entry(d, {"last_commit": None, "conflicts": [[doc(a), doc(b)]]})])


# --- the chain --------------------------------------------------------------------------------------

def test_the_verifier_replays_credit_from_the_store(tmp_path):
    path = tmp_path / "credit.sqlite"
    d = Driver(credit_alliance(participants={"dno4": 0.55}), str(path))
    hour_one(d, late="dno2")
    for h in range(3, 7):
        d.block(1000.0 * h + GATE_MS, signers=[0, 1, 2])
    d.chain.close()
    report = verify_store(str(path))
    assert report.ok and report.blocks == d.chain.height, report


def test_a_chain_without_credit_carries_none():
    a = Alliance.create(5, dnos=DNOS, validators=["v1", "v2", "v3", "v4"])
    assert "credit" not in a.genesis.to_doc() and "credit" not in genesis_state(a.genesis)
    assert credit_alliance().genesis.to_doc()["credit"]["rules"]["theta_trade"] == R.theta_trade
    chain = Chain(a.genesis)
    block = chain.build(a.validators[0], 0, 1000.0)
    chain.commit(block, certify(block, a.validators))
    block = chain.build(a.validators[0], 0, 2000.0)
    assert block.entries == () and validator_credits(chain.state) == {}  # no evidence, no credit
