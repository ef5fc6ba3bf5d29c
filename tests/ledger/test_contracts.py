"""Contracts on chain: the market's clearing runs inside blocks, every replica agrees, the trades on
chain are the market rules' trades, late bids miss the hour, and wrong results are refused."""

import hashlib

import pytest
from ledger_helpers import CHAIN, certify, signed_bid

from ledger.alliance import Alliance
from ledger.block import BlockEntry
from ledger.chain import Chain, Executions
from ledger.consensus.base import BlockSchedule
from ledger.consensus.cluster import Cluster
from ledger.contracts import ContractError, market_document
from ledger.network import NetworkParams, PartitionWindow
from ledger.transactions import sign_transaction
from ledger.verify import verify_store
from market.auction import Bid, Rules, clear_hour
from market.params import MechanismParams
from market.settlement import HourBook, settle_day, settle_hour
from market.tariff import Tariff

DNOS = ["dno1", "dno2", "dno3", "dno4"]
HOUR_MS, GATE_MS = 10_000.0, 2_000.0
# hour -> (dno, side, MWh, RMB/MWh): distinct prices so no tie depends on arrival order
BOOK = {
    1: [("dno1", "sell", 5.0, 330.0), ("dno2", "sell", 3.0, 360.0), ("dno4", "buy", 10.0, 380.0)],
    2: [("dno2", "sell", 4.0, 300.0), ("dno3", "buy", 2.0, 390.0), ("dno4", "buy", 1.0, 350.0)],
    9: [("dno1", "sell", 6.0, 700.0), ("dno3", "buy", 6.0, 900.0)],  # a peak hour, no compensation
}


def market_alliance(seed=5, params=None):
    return Alliance.create(seed, dnos=DNOS, validators=["v1", "v2", "v3", "v4"], hour_ms=HOUR_MS,
                           gate_offset_ms=GATE_MS,
                           market=market_document(params or MechanismParams(), Tariff()))


def run_day(engine="bft", network_seed=1, store_path=None, partitions=(), late=None, params=None, hours=10):
    a = market_alliance(params=params)
    net = NetworkParams(n_validators=4, topology="ring", jitter_ms=3.0, partitions=tuple(partitions))
    extra = {"quorum": "majority_nodes"} if engine == "raft" else {}
    if extra:
        a = Alliance.create(5, dnos=DNOS, validators=["v1", "v2", "v3", "v4"], hour_ms=HOUR_MS,
                            gate_offset_ms=GATE_MS, market=market_document(params or MechanismParams(), Tariff()),
                            **extra)
    c = Cluster(a, engine, network=net, seed=7, network_seed=network_seed, store_path=store_path,
                schedule=BlockSchedule(first_ms=GATE_MS, interval_ms=HOUR_MS))
    nonce = {d: 0 for d in DNOS}
    for hour, book in BOOK.items():
        for k, (dno, side, q, p) in enumerate(book):
            nonce[dno] += 1
            at = (hour - 1) * HOUR_MS + 100.0 * k
            if late == (hour, dno):
                at = (hour - 1) * HOUR_MS + GATE_MS + 500.0  # sent after its gate closed
            c.submit(signed_bid(a, dno, nonce[dno], hour=hour, side=side, quantity=q, price=p),
                     dno, DNOS.index(dno), at_ms=at)
    c.run(until_ms=hours * HOUR_MS)
    c.close()
    return c


def posted(chain, kind):
    return [dict(e.tx.tx.payload) for c in chain.blocks for e in c.block.entries if e.tx.tx.kind == kind]


def expected_from_market(chain, hour, params=None):
    """What the market rules give on the book the chain recorded (its upload times included)."""
    records = [r for r in chain.state["bids"][f"0:{hour}"] if r["included"]]
    rules = Rules.for_hour(params or MechanismParams(), Tariff(), hour)
    offers = [Bid(r["bidder"], r["quantity_mwh"], r["price_per_mwh"], r["submitted_at"], hour=hour)
              for r in records if r["side"] == "sell"]
    bids = [Bid(r["bidder"], r["quantity_mwh"], r["price_per_mwh"], r["submitted_at"], hour=hour)
            for r in records if r["side"] == "buy"]
    result = clear_hour(offers, bids, rules)
    return result, settle_hour(hour, result, rules)


def test_chain_clears_with_the_market_rules_and_every_replica_agrees(tmp_path):
    path = tmp_path / "day.sqlite"
    c = run_day(store_path=str(path))
    top = min(n.chain.height for n in c.nodes)
    assert top >= 9 and c.conflicts() == []
    # same blocks, hence the same state roots: every replica ran the contracts to the same state
    assert len({n.chain.blocks[top].block.header.state_root for n in c.nodes}) == 1
    chain = c.nodes[0].chain
    trades = posted(chain, "trade")
    for hour in BOOK:
        result, settled = expected_from_market(chain, hour)
        on_chain = [t for t in trades if t["hour"] == hour]
        assert [(t["seller"], t["buyer"], t["round"], t["quantity_mwh"], t["price_per_mwh"]) for t in on_chain] == \
               [(t.seller, t.buyer, t.round, t.quantity_mwh, t.price_per_mwh) for t in result.trades]
        grid = [g for g in posted(chain, "grid_settlement") if g["hour"] == hour]
        assert [(g["dno"], g["quantity_mwh"]) for g in grid] == [(g.dno, g.quantity_mwh) for g in settled.grid_trades]
    assert trades, "the book was built to trade"
    comp = posted(chain, "compensation")
    assert comp and {x["hour"] for x in comp} <= {1, 2}  # valley hours only
    assert all(f["amount_rmb"] > 0 for f in posted(chain, "fee"))
    report = verify_store(str(path))  # the verifier re-runs the clearing and checks the state roots
    assert report.ok, report


def test_same_seed_gives_a_byte_identical_market_store(tmp_path):
    digests = []
    for k in range(2):
        path = tmp_path / f"{k}.sqlite"
        run_day(store_path=str(path))
        digests.append(hashlib.sha256(path.read_bytes()).hexdigest())
    assert digests[0] == digests[1]


def test_a_different_network_seed_gives_the_same_market_results():
    runs = [run_day(network_seed=s) for s in (1, 2)]
    chains = [r.nodes[0].chain for r in runs]
    times = [[b["submitted_at"] for b in ch.state["bids"]["0:1"]] for ch in chains]
    assert times[0] != times[1]  # the network changed who heard what when...
    for kind in ("trade", "grid_settlement", "compensation", "fee"):
        assert posted(chains[0], kind) == posted(chains[1], kind)  # ...and not the market outcome


def test_raft_and_bft_reach_the_same_market_results():
    bft, raft = run_day("bft").nodes[0].chain, run_day("raft").nodes[0].chain
    assert posted(bft, "trade") == posted(raft, "trade")
    assert posted(bft, "grid_settlement") == posted(raft, "grid_settlement")


def test_bid_arriving_after_gate_closure_misses_the_hour_and_goes_to_the_grid():
    c = run_day(late=(1, "dno2"))
    chain = c.nodes[0].chain
    record = [r for r in chain.state["bids"]["0:1"] if r["bidder"] == "dno2"][0]
    assert not record["included"] and record["submitted_at"] > GATE_MS
    assert all("dno2" not in (t["seller"], t["buyer"]) for t in posted(chain, "trade") if t["hour"] == 1)
    grid = [g for g in posted(chain, "grid_settlement") if g["hour"] == 1 and g["dno"] == "dno2"]
    assert grid == [{"day": 0, "hour": 1, "dno": "dno2", "side": "sell", "quantity_mwh": 3.0, "price_per_mwh": 400.0}]


def test_partition_delays_a_bid_past_the_gate():
    """dno3's entry validator (node 2) is cut off around hour 2's gate: its bid misses the hour."""
    cut = PartitionWindow(start_ms=HOUR_MS, end_ms=HOUR_MS + GATE_MS + 1000,
                          groups=(frozenset({0, 1, 3}), frozenset({2})))
    chain = run_day(partitions=[cut]).nodes[0].chain
    record = [r for r in chain.state["bids"]["0:2"] if r["bidder"] == "dno3"][0]
    assert not record["included"]
    assert [g for g in posted(chain, "grid_settlement") if g["hour"] == 2 and g["dno"] == "dno3"]


def test_scenario_s0_trades_nothing_peer_to_peer():
    params = MechanismParams(p2p_enabled=False)
    chain = run_day(params=params).nodes[0].chain
    assert posted(chain, "trade") == [] and posted(chain, "fee") == []
    assert len(posted(chain, "grid_settlement")) == sum(len(b) for b in BOOK.values())


def _chain_with_bids():
    a = market_alliance()
    chain = Chain(a.genesis)
    for k, (dno, side, q, p) in enumerate(BOOK[1]):
        chain.mempool.admit(signed_bid(a, dno, 1, hour=1, side=side, quantity=q, price=p), 10.0 * k)
    return a, chain


def test_a_wrong_posted_result_makes_the_block_invalid():
    a, chain = _chain_with_bids()
    proposer = a.validators[0]
    block = chain.build(proposer, 0, GATE_MS)
    entries = list(block.entries)
    i = next(k for k, e in enumerate(entries) if e.tx.tx.kind == "trade")
    forged = dict(entries[i].tx.tx.payload, price_per_mwh=entries[i].tx.tx.payload["price_per_mwh"] + 1.0)
    entries[i] = BlockEntry(sign_transaction(proposer, CHAIN, "trade", entries[i].tx.tx.nonce, forged),
                            entries[i].seen_ms)
    other = Chain(a.genesis)
    from ledger.block import Block, BlockHeader, tx_root

    h = block.header
    bad = Block(BlockHeader(h.chain_id, h.height, h.prev_hash, tx_root(entries), h.state_root, h.proposer,
                            h.round, h.time_ms), tuple(entries))
    assert "differs from what the clearing produced" in other.problem(bad)
    dropped = Block(BlockHeader(h.chain_id, h.height, h.prev_hash, tx_root(block.entries[:-1]), h.state_root,
                                h.proposer, h.round, h.time_ms), tuple(block.entries[:-1]))
    assert "missing" in other.problem(dropped)
    assert other.problem(block) is None


def test_replicas_share_what_one_executed_never_what_was_built_or_refused():
    """A cluster's replicas share executions (ledger.chain.Executions): the second replica to check
    a block takes the first one's result, which equals executing it alone; a proposer's own build is
    not shared (the first receiver executes it independently); a refused block is never kept, and a
    block that differs in anything has another hash, so it is executed again (and refused)."""
    from ledger.block import Block, BlockHeader, tx_root
    from ledger.chain import execution_problem
    from ledger.contracts import state_root

    a, builder = _chain_with_bids()
    executions = Executions()
    builder._executions = executions
    block = builder.build(a.validators[0], 0, GATE_MS)
    assert executions.get(block.hash) is None
    first, second = Chain(a.genesis, executions=executions), Chain(a.genesis, executions=executions)
    assert first.problem(block) is None
    shared = executions.get(block.hash)
    assert shared is not None and second.problem(block) is None and second._executed[block.hash] is shared
    _, alone = execution_problem(a.genesis, Chain(a.genesis).state, block)
    assert state_root(shared[0]) == state_root(alone[0]) == block.header.state_root and shared[1] == alone[1]
    h = block.header
    wrong_root = Block(BlockHeader(h.chain_id, h.height, h.prev_hash, h.tx_root, "00" * 32, h.proposer, h.round,
                                   h.time_ms), block.entries)
    assert Chain(a.genesis, executions=executions).problem(wrong_root) == "state root mismatch"
    assert executions.get(wrong_root.hash) is None
    short = Block(BlockHeader(h.chain_id, h.height, h.prev_hash, tx_root(block.entries[:-1]), h.state_root,
                              h.proposer, h.round, h.time_ms), block.entries[:-1])
    assert "missing" in Chain(a.genesis, executions=executions).problem(short)
    for replica in (first, second):
        replica.commit(block, certify(block, a.validators))
    assert first.state is second.state and state_root(first.state) == h.state_root


def test_executions_keep_only_the_latest():
    executions = Executions(keep=2)
    for k in range(3):
        executions.put(f"b{k}", ({"k": k}, []))
    assert executions.get("b0") is None and executions.get("b2") == ({"k": 2}, [])


def test_gate_cannot_close_early():
    a, chain = _chain_with_bids()
    block = chain.build(a.validators[0], 0, GATE_MS - 1.0)
    assert all(e.tx.tx.kind == "bid" for e in block.entries)  # nothing is due yet
    proposer = a.validators[0]
    early = BlockEntry(sign_transaction(proposer, CHAIN, "gate_closure", 1, {"day": 0, "hour": 1}), 0.0)
    with pytest.raises(Exception, match="closes at"):
        chain.build(proposer, 0, GATE_MS - 1.0, list(block.entries) + [early])


def test_day_close_settles_scheduling_fee_as_the_market_does(tmp_path):
    path = tmp_path / "day.sqlite"
    chain = run_day(hours=25, store_path=str(path)).nodes[0].chain
    books = []
    for hour in sorted(BOOK):
        records = [r for r in chain.state["bids"][f"0:{hour}"] if r["included"]]
        books.append(HourBook(hour, tuple(Bid(r["bidder"], r["quantity_mwh"], r["price_per_mwh"], r["submitted_at"],
                                              hour=hour) for r in records if r["side"] == "sell"),
                              tuple(Bid(r["bidder"], r["quantity_mwh"], r["price_per_mwh"], r["submitted_at"],
                                        hour=hour) for r in records if r["side"] == "buy")))
    day = settle_day(books, Tariff(), MechanismParams(), members=DNOS)
    posted_fees = {x["dno"]: x["scheduling_fee_rmb"] for x in posted(chain, "day_settlement")}
    assert posted_fees == {n: a.scheduling_fee_rmb for n, a in day.accounts.items() if a.scheduling_fee_rmb}
    assert chain.state["days"]["0"]["net_rmb"] == day.platform.net_rmb
    for name, account in day.accounts.items():  # the chain's running accounts are the market's revenue terms
        on_chain = chain.state["accounts"][name]
        assert on_chain["scheduling_fee_rmb"] == account.scheduling_fee_rmb
        assert on_chain["p2p_sales_rmb"] == account.p2p_sales_rmb
        assert on_chain["grid_purchases_rmb"] == account.grid_purchases_rmb
    assert verify_store(str(path)).ok


def test_plan_commitment_and_registration_are_recorded_once():
    a = market_alliance()
    chain = Chain(a.genesis)
    dno = a.identity("dno1", "dno")
    plan = sign_transaction(dno, CHAIN, "plan_commitment", 1, {"day": 0, "plan_hash": "ab" * 32})
    again = sign_transaction(dno, CHAIN, "plan_commitment", 2, {"day": 0, "plan_hash": "cd" * 32})
    reg = sign_transaction(dno, CHAIN, "register", 2, {"organisation": "dno1", "role": "dno", "details": {"pv_mw": 5}})
    liar = sign_transaction(a.identity("dno2", "dno"), CHAIN, "register", 1,
                            {"organisation": "dno1", "role": "dno", "details": {}})
    chain.mempool.admit(plan, 0.0)
    with pytest.raises(Exception, match="duplicate"):
        chain.mempool.admit(again, 1.0)
    chain.mempool.admit(reg, 2.0)
    block = chain.build(a.validators[0], 0, 10.0)
    chain.commit(block, certify(block, a.validators))
    assert chain.state["plans"] == {"dno1": {"0": "ab" * 32}}
    assert chain.state["registered"][dno.public_hex] == {"pv_mw": 5}
    with pytest.raises(ContractError, match="does not match"):
        chain.build(a.validators[0], 0, 20.0, [BlockEntry(liar, 15.0)])


def test_upload_order_rule_decides_ties():
    """Two sellers at one price, one buyer for less than both: who trades is the tie-break's call."""
    a_book = [("dno3", "sell", 2.0, 330.0), ("dno1", "sell", 2.0, 330.0), ("dno4", "buy", 2.0, 380.0)]
    winners = {}
    for order in ("network", "index"):
        a = market_alliance(params=MechanismParams(upload_order=order))
        chain = Chain(a.genesis)
        for k, (dno, side, q, p) in enumerate(a_book):
            chain.mempool.admit(signed_bid(a, dno, 1, hour=1, side=side, quantity=q, price=p), 10.0 * k)
        block = chain.build(a.validators[0], 0, GATE_MS)
        chain.commit(block, certify(block, a.validators))
        winners[order] = [x["seller"] for x in posted(chain, "trade")]
    assert winners == {"network": ["dno3"], "index": ["dno1"]}  # dno3 was heard first; dno1 has the lower index
