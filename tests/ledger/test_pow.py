"""Proof of work: block times and winners follow the exponential model, forks resolve to the longest
chain, final blocks are never reverted (and a split that finalises both sides is reported), a miner
that missed the longer branch hears of it before it makes a fork of its own final, headers carry
real nonces that `ledger verify` checks, and tokens from the final settlements are conserved."""

import math
import shutil
import sqlite3
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from ledger.alliance import Alliance
from ledger.block import Block, BlockHeader
from ledger.chain import Chain
from ledger.consensus.base import BlockSchedule, Broadcast, Send, SetTimer
from ledger.consensus.cluster import Cluster, Crash
from ledger.consensus.pow import Blocks, GetBlocks, NewBlock, PowNode, PowParams
from ledger.contracts.tokens import PLATFORM, postings
from ledger.network import NetworkParams, PartitionWindow
from ledger.proof_of_work import meets_target, search_nonce, work_problem
from ledger.service import MarketLedger
from ledger.tolerance import fault_warnings
from ledger.verify import verify_main, verify_store
from market.fees import FEE_SHARES
from market.params import MechanismParams
from market.settlement import DnoAccount
from model.job import simulate
from model.scenario import ScenarioError, load

NAMES = ["v1", "v2", "v3", "v4"]


def pow_alliance(bits, n=4, seed=5):
    return Alliance.create(seed, dnos=["dno1", "dno2"], validators=NAMES[:n], quorum="proof_of_work",
                           pow_target_bits=bits)


def pow_cluster(seed=1, bits=4, crashes=(), partitions=(), store_path=None, **params):
    a = pow_alliance(bits)
    net = NetworkParams(n_validators=4, topology="complete", partitions=tuple(partitions))
    return Cluster(a, "pow", network=net, seed=seed, params=PowParams(target_bits=bits, **params),
                   crashes=tuple(crashes), store_path=store_path)


def mined(cluster):
    """(find time, miner) of every block any node mined, in time order."""
    return sorted((n.connected[h].header.time_ms, n.id) for n in cluster.nodes for h in n.mined)


def final_chains(cluster):
    return [[c.block.hash for c in n.chain.blocks] for n in cluster.nodes]


def assert_one_final_chain(cluster):
    chains = final_chains(cluster)
    shortest = min(len(c) for c in chains)
    assert all(c[:shortest] == chains[0][:shortest] for c in chains)
    assert cluster.conflicts() == []


# --- the exponential model -----------------------------------------------------------------------

def test_block_times_and_win_shares_follow_the_exponential_model():
    """Each miner's next find is exponential at its share of the rate, redrawn when its tip moves:
    finds over all miners are a Poisson process at the total rate (intervals i.i.d. exponential
    with the configured mean) and each find's miner is drawn in proportion to its hash share."""
    rates, interval = (4.0, 2.0, 1.0, 1.0), 500.0
    c = pow_cluster(seed=11, hash_rates_hps=rates, mean_block_interval_ms=interval)
    c.run(until_ms=1_000_000)
    finds = mined(c)
    n = len(finds)
    assert n > 1800
    gaps = np.diff([0.0] + [t for t, _ in finds])
    # the mean within 4 standard errors (sd of an exponential = its mean), the shape by KS
    assert abs(gaps.mean() - interval) < 4 * interval / math.sqrt(n), gaps.mean()
    assert stats.kstest(gaps, "expon", args=(0, interval)).pvalue > 1e-3
    counts = np.bincount([miner for _, miner in finds], minlength=4)
    shares = np.array(rates) / sum(rates)
    assert stats.chisquare(counts, n * shares).pvalue > 1e-3, counts
    assert stats.chisquare(counts, np.full(4, n / 4)).pvalue < 1e-6  # the test tells shares apart
    m = c.metrics()
    assert m["blocks_mined"] == n and 0 < m["orphan_rate"] < 0.1
    assert_one_final_chain(c)


# --- fork choice, step by step -------------------------------------------------------------------

def _nodes(k=3, bits=4):
    a = pow_alliance(bits)
    params = PowParams(confirmations=k, target_bits=bits)
    peers = [i.public_hex for i in a.validators]
    commits = []
    nodes = [PowNode(i, ident, Chain(a.genesis), peers, params, BlockSchedule(), np.random.default_rng(i),
                     lambda node, block, now: commits.append((node, block.height, block.hash)))
             for i, ident in enumerate(a.validators)]
    return a, nodes, commits


def _redrawn(actions):
    """Whether the node drew its next find (its tip moved), not just re-armed its stale-tip check."""
    return any(isinstance(a, SetTimer) and a.name == "mine" for a in actions)


def _mine(node, now):
    actions = node.on_timer("mine", (), now)
    (block,) = [a.msg.block for a in actions if isinstance(a, Broadcast)]
    assert _redrawn(actions)  # its tip moved: it draws its next find
    return block


def _deliver(node, block, now):
    return node.on_message(NewBlock(block), now)


def test_near_simultaneous_blocks_fork_and_the_longest_chain_wins():
    a, (n0, n1, n2, n3), commits = _nodes(k=3)
    a1, b1 = _mine(n0, 100.0), _mine(n1, 100.0)  # two miners find height 1 at once: a fork
    assert a1.height == b1.height == 1 and a1.hash != b1.hash
    for node, first, second in ((n2, a1, b1), (n3, b1, a1)):
        _deliver(node, first, 120.0)
        assert not _redrawn(_deliver(node, second, 130.0))  # a tie keeps the first seen: no redraw
        assert node.best == first.hash
    assert not _redrawn(_deliver(n0, b1, 130.0)) and n0.best == a1.hash
    b2 = _mine(n1, 400.0)
    for node in (n0, n2, n3):
        actions = _deliver(node, b2, 420.0)
        assert node.best == b2.hash and _redrawn(actions)  # reorg, new search
    b3 = _mine(n3, 700.0)
    for node in (n0, n1, n2):
        _deliver(node, b3, 720.0)
    # three confirmations: b1 is final on every node, a1 is orphaned
    assert sorted(commits) == sorted((i, 1, b1.hash) for i in range(4))
    assert all(n.chain.blocks[1].block.hash == b1.hash for n in (n0, n1, n2, n3))
    assert a1.hash not in n0.live and all(n.best == b3.hash for n in (n0, n1, n2, n3))
    # a block on the orphaned a1 forks below a final block: refused, counted, not relayed
    side = Chain(a.genesis)
    side.commit(a1, None)
    stale = side.build(a.validators[0], 0, 800.0, [])
    stale = Block(search_nonce(stale.header, 4)[0], stale.entries)
    assert _deliver(n2, stale, 810.0) == [] and n2.stale == {stale.hash} and not n2.relays(NewBlock(stale))
    assert n2.best == b3.hash


def test_a_block_with_an_unknown_parent_is_fetched_from_its_miner():
    _, (n0, n1, n2, _), _ = _nodes(k=3)
    b1 = _mine(n1, 100.0)
    _deliver(n0, b1, 110.0)
    b2 = _mine(n0, 300.0)
    asks = _deliver(n2, b2, 320.0)  # n2 never saw b1
    assert n2.best != b2.hash
    (ask,) = [x for x in asks if isinstance(x, Send)]
    assert ask.dst == n0.id and ask.msg == GetBlocks(b1.hash, n2.id, 0)
    (reply,) = n0.on_message(ask.msg, 330.0)
    actions = n2.on_message(reply.msg, 340.0)
    assert n2.best == b2.hash and _redrawn(actions)


def _sends(actions):
    return {x.dst: x.msg for x in actions if isinstance(x, Send)}


def test_a_miner_that_missed_the_longer_branch_asks_again_and_finalises_no_fork_of_its_own():
    """A miner restarted while cut off (its requests for the others' tip are lost) mines alone.
    Once no peer's block has reached it for the stale-tip spell it asks every peer again: the one
    with a higher tip sends it, one with a lower tip asks for the asker's, and it takes the longer
    branch before its own is k deep. A miner holding a block higher than its tip whose ancestors
    have not come calls nothing final meanwhile, though its own branch is k deep."""
    _, (n0, n1, n2, n3), commits = _nodes(k=3)
    longer = [_mine(n0, 100.0 * h) for h in range(1, 5)]
    restart = n3.on_restart(500.0)  # its tip requests are lost in the partition
    (spell,) = [x.delay_ms for x in restart if isinstance(x, SetTimer) and x.name == "stale_tip"]
    assert spell == 3 * n3.params.mean_block_interval_ms
    _mine(n3, 600.0)
    own = _mine(n3, 700.0)
    asks = _sends(n3.on_timer("stale_tip", (), 500.0 + spell))
    assert sorted(asks) == [0, 1, 2] and asks[0] == GetBlocks(None, n3.id, 0, own.hash, 2)
    assert _sends(n1.on_message(asks[1], 2010.0)) == {n3.id: GetBlocks(own.hash, n1.id, 0)}
    (reply,) = n0.on_message(asks[0], 2010.0)
    n3.on_message(reply.msg, 2020.0)
    assert n3.best == longer[-1].hash
    assert [b.block.hash for b in n3.chain.blocks] == [b.block.hash for b in n0.chain.blocks]  # a1, a2

    _mine(n2, 600.0)
    _mine(n2, 700.0)
    tip = _mine(n0, 800.0)
    (fetch,) = _sends(_deliver(n2, tip, 820.0)).values()  # it asks for the missing ancestors: slow to come
    _mine(n2, 900.0)  # its own branch is 3 deep, but a longer one is on its way
    assert n2.chain.height == 0 and not [c for c in commits if c[0] == n2.id]
    (reply,) = n0.on_message(fetch, 2000.0)
    n2.on_message(reply.msg, 2020.0)
    assert n2.best == tip.hash and [b.block.hash for b in n2.chain.blocks[1:]] == [b.hash for b in longer[:3]]


def test_chained_orphans_that_a_new_final_block_leaves_behind_are_refused_together():
    """Two orphans, the second waiting on the first (a side branch whose first block never came),
    fall below the final height in one step: the first is refused with its descendant, and the
    second, already gone, is not looked up again (the fuzz's pow seed 521 stopped on that)."""
    _, (n0, n1, n2, _), _ = _nodes(k=3)
    side = [_mine(n1, 100.0 * h) for h in range(1, 4)]
    main = [_mine(n0, 100.0 * h + 50.0) for h in range(1, 6)]
    for block in side[1:]:
        _deliver(n2, block, 600.0)
    assert list(n2.orphans) == [b.hash for b in side[1:]]
    n2.on_message(Blocks(tuple(main)), 700.0)
    assert n2.chain.height == 3 and n2.orphans == {} and n2.stale == {b.hash for b in side[1:]}


def test_invalid_blocks_are_refused():
    a, (n0, n1, _, _), _ = _nodes()
    good = _mine(n0, 100.0)
    forged_root = Block(search_nonce(replace(good.header, state_root="ab" * 32, nonce=None), 4)[0], good.entries)
    unsealed = Block(replace(good.header, nonce=None), good.entries)
    future = Block(search_nonce(replace(good.header, time_ms=900.0, nonce=None), 4)[0], good.entries)
    for block, now in ((forged_root, 200.0), (unsealed, 200.0), (future, 200.0)):
        assert _deliver(n1, block, now) == [] and n1.best != block.hash and not n1.relays(NewBlock(block))
    _deliver(n1, good, 200.0)
    assert n1.best == good.hash


# --- clusters: partitions, crashes, energy -------------------------------------------------------

def test_a_short_partition_forks_and_heals_to_one_chain():
    c = pow_cluster(seed=2, partitions=[PartitionWindow(start_ms=1000, end_ms=3000,
                                                        groups=(frozenset({0, 1}), frozenset({2, 3})))])
    c.run(until_ms=20_000)
    assert_one_final_chain(c)
    m = c.metrics()
    assert m["orphaned_blocks"] >= 1  # both sides mined while cut off; the shorter side lost
    assert m["stale_forks_refused"] == 0
    assert min(n.chain.height for n in c.nodes) > 20


def test_a_partition_longer_than_k_blocks_finalises_both_sides_and_is_reported():
    """The negative control: k confirmations cannot be final under a long partition (CAP); each side
    finalises its own blocks, the cluster reports the conflicting heights, and after the heal
    neither side reverts what it called final."""
    c = pow_cluster(seed=2, partitions=[PartitionWindow(start_ms=1000, end_ms=12_000,
                                                        groups=(frozenset({0, 1}), frozenset({2, 3})))])
    c.run(until_ms=20_000)
    assert c.conflicts() and c.metrics()["stale_forks_refused"] > 0
    sides = {tuple(final_chains(c)[i][:4]) for i in range(4)}
    assert len(sides) == 2


def test_a_crashed_miner_catches_up_and_energy_counts_only_uptime(tmp_path):
    rates = (1e12, 1e12, 1e12, 1e12)
    c = pow_cluster(seed=3, crashes=[Crash(2, 2000.0, 6000.0)], hash_rates_hps=rates, joules_per_hash=1e-10,
                    store_path=str(tmp_path / "pow.sqlite"))
    c.run(until_ms=6000)
    behind = c.nodes[2].chain.height
    c.run(until_ms=12_000)
    assert_one_final_chain(c)
    assert c.nodes[2].chain.height > behind + 5 and c.nodes[2].chain.height >= c.nodes[0].chain.height - 3
    m = c.metrics()
    assert m["stale_forks_refused"] == 0  # on restart it asked for the tip before mining on its old one
    up_seconds = 4 * 12.0 - 4.0  # node 2 was down for 4 s
    assert m["hashing_energy_j"] == pytest.approx(1e-10 * 1e12 * up_seconds)
    assert m["hashing_energy_j_per_block"] == pytest.approx(m["hashing_energy_j"] / c.nodes[c.store_node].chain.height)
    c.close()
    assert verify_store(str(tmp_path / "pow.sqlite")).ok


def test_same_seed_same_ledger_bytes(tmp_path):
    def run(path):
        ledger = MarketLedger(run_seed=4, dnos=["dno1", "dno2"], engine="pow", store_path=str(path),
                              engine_params={"confirmations": 3})
        ledger.register_all(0.0)
        for hour, (seller, buyer) in enumerate((("dno1", "dno2"), ("dno2", "dno1")), start=1):
            ledger.submit_bid(seller, 0, hour, "sell", 2.0, 400.0)
            ledger.submit_bid(buyer, 0, hour, "buy", 1.5, 600.0)
            ledger.run_hour(0, hour)
        ledger.close()
        return path.read_bytes()

    first = run(tmp_path / "a.sqlite")
    assert first == run(tmp_path / "b.sqlite")
    report = verify_store(str(tmp_path / "a.sqlite"))
    assert report.ok and report.transactions > 4


# --- the seal and `ledger verify` ----------------------------------------------------------------

@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10), st.integers(1, 10**6), st.text(min_size=1, max_size=8))
def test_a_found_nonce_meets_the_target_and_survives_encoding(bits, height, chain_id):
    header = BlockHeader(chain_id, height, "0" * 64, "1" * 64, "2" * 64, "3" * 64, 0, float(height))
    sealed, tries = search_nonce(header, bits)
    assert meets_target(sealed.hash, bits) and sealed.nonce == tries - 1
    assert all(not meets_target(replace(header, nonce=k).hash, bits) for k in range(sealed.nonce))
    assert BlockHeader.from_bytes(sealed.encoded) == sealed
    assert BlockHeader.from_bytes(header.encoded) == header and b"nonce" not in header.encoded


@pytest.fixture(scope="module")
def pow_run(tmp_path_factory):
    """paper-4dn on proof of work, with blocks half as frequent as by default (the store syncs each
    block to disk); six confirmations then often outlast the hour, so results are booked late."""
    path = tmp_path_factory.mktemp("pow") / "ledger.sqlite"
    overrides = ["ledger.engine=pow", "ledger.engine_params={mean_block_interval_ms: 1000}"]
    return simulate(load("paper-4dn", overrides), 1, store_path=path), path


def _tamper(src, dst, height, change):
    shutil.copy(src, dst)
    db = sqlite3.connect(dst)
    db.executescript("DROP TRIGGER blocks_no_update;")
    (header, cert) = db.execute("SELECT header, certificate FROM blocks WHERE height = ?", (height,)).fetchone()
    header, cert, rehash = change(BlockHeader.from_bytes(header), cert)
    db.execute("UPDATE blocks SET header = ?, certificate = ?, hash = ? WHERE height = ?",
               (header.encoded, cert, header.hash if rehash else db.execute(
                   "SELECT hash FROM blocks WHERE height = ?", (height,)).fetchone()[0], height))
    db.commit()
    db.close()


def _failing_nonce(header, bits):
    return next(replace(header, nonce=k) for k in range(10**6) if not meets_target(replace(header, nonce=k).hash, bits))


def test_the_market_ledger_verifies_and_a_tampered_seal_fails(pow_run, tmp_path, capsys):
    result, path = pow_run
    assert verify_main(str(path)) == 0
    assert result.summary["chain"]["tip_height"] == verify_store(str(path)).blocks
    bits = result.model.ledger.genesis.pow_target_bits
    height = result.summary["chain"]["tip_height"] // 2
    cases = {
        "hash differs": lambda h, c: (replace(h, nonce=h.nonce + 1), c, False),
        "proof-of-work target": lambda h, c: (_failing_nonce(h, bits), c, True),
        "has no nonce": lambda h, c: (replace(h, nonce=None), c, True),
        "carries no certificate": lambda h, c: (h, b"{}", False),
    }
    for reason, change in cases.items():
        bad = tmp_path / f"{len(reason)}.sqlite"
        _tamper(path, bad, height, change)
        capsys.readouterr()
        assert verify_main(str(bad)) == 1
        err = capsys.readouterr().err
        assert f"at height {height}" in err and reason in err, err


def test_pow_does_not_change_the_market_outcome(pow_run):
    result, _ = pow_run
    bft = simulate(load("paper-4dn"), 1)
    for name in ("settlement", "hourly"):
        pd.testing.assert_frame_equal(result.tables[name].round(6), bft.tables[name].round(6))
    chain = result.summary["chain"]
    assert chain["conflicting_commits"] == 0 and chain["confirmations"] == 6
    assert chain["blocks"] > 100 and 0 <= chain["orphan_rate"] < 0.1
    assert chain["block_commit_ms_mean"] > 0.5 * 5 * 1000  # k - 1 blocks on top of each final block


def test_tokens_from_final_settlements_are_conserved_and_match_the_books(pow_run):
    result, _ = pow_run
    model = result.model
    balances = model.ledger.token_balances()
    assert result.summary["tokens"] == balances  # summary.json carries them on a pow chain
    moved = [abs(t) for c in model.ledger.chain.blocks for e in c.block.entries
             for _, t in postings(e.tx.tx.kind, e.tx.tx.payload)]
    assert sum(moved) > 1000  # the run settled real money
    assert abs(math.fsum(balances.values())) < 1e-9 * sum(moved)
    accounts = model.ledger.chain.state["accounts"]
    for dno in model.dnos:
        assert balances[dno.name] == pytest.approx(DnoAccount(**accounts[dno.name]).revenue_rmb, abs=1e-6)
    assert balances["main_grid"] == pytest.approx(model.main_grid.net_rmb, abs=1e-6)
    assert balances[PLATFORM] == pytest.approx(model.platform_net_rmb, abs=1e-6)


def test_an_accepted_agreement_moves_tokens_and_a_refused_one_none():
    from ledger.contracts.tokens import token_balances

    a = pow_alliance(4)
    views = {"dno1": {"trades": [{"counterparty": "dno2", "hour": 3, "side": "sell", "quantity_mwh": 2.0,
                                  "price_per_mwh": 500.0}], "payment_rmb": 10.0},
             "dno2": {"trades": [{"counterparty": "dno1", "hour": 3, "side": "buy", "quantity_mwh": 2.0,
                                  "price_per_mwh": 500.0}], "payment_rmb": -10.0}}

    class Record:
        def __init__(self, verdict):
            from ledger.block import BlockEntry
            from ledger.transactions import sign_transaction
            txs = [sign_transaction(a.identity(n, "dno"), a.genesis.chain_id, "schedule", 1,
                                    {"day": 0, "stage": "s", "view": views[n]}) for n in sorted(views)]
            self.block = Block(BlockHeader("c", 1, "0" * 64, "0" * 64, "0" * 64, "", 0, 0.0),
                               tuple(BlockEntry(tx, 0.0) for tx in txs))
            self.events = [*({"event": "schedule_accepted", "day": 0, "by": n} for n in sorted(views)),
                           {"event": verdict, "day": 0}]

    accepted = token_balances(a.genesis, [Record("agreement_accepted")])
    params = MechanismParams()
    seller_fee, buyer_fee = (share * params.service_fee_per_mwh * 2.0 for share in FEE_SHARES[params.fee_payer])
    assert accepted["dno1"] == pytest.approx(1000.0 + 10.0 - seller_fee)
    assert accepted["dno2"] == pytest.approx(-1000.0 - 10.0 - buyer_fee)
    assert accepted[PLATFORM] == pytest.approx(seller_fee + buyer_fee) and accepted[PLATFORM] > 0
    assert abs(math.fsum(accepted.values())) < 1e-9
    assert set(token_balances(a.genesis, [Record("agreement_refused")]).values()) == {0.0}


# --- wiring: scenario, genesis, warnings ---------------------------------------------------------

def test_engine_params_are_validated_naming_the_field():
    with pytest.raises(ScenarioError, match=r"ledger\.engine_params\.confirmations: .*greater than or equal to 1"):
        load("paper-4dn", ["ledger.engine=pow", "ledger.engine_params.confirmations=0"])
    with pytest.raises(ScenarioError, match=r"ledger\.engine_params\.hash_rates_hps: 2 rates for 4 validators"):
        load("paper-4dn", ["ledger.engine=pow", "ledger.engine_params.hash_rates_hps=[1, 2]"])
    with pytest.raises(ScenarioError, match=r"ledger\.engine_params\.confirmations: unknown field"):
        load("paper-4dn", ["ledger.engine_params.confirmations=3"])  # bft has no confirmations
    s = load("paper-4dn", ["ledger.engine=pow", "ledger.engine_params={confirmations: 4, target_bits: 6}"])
    assert s.ledger.engine_params == {"confirmations": 4, "target_bits": 6}


def test_genesis_records_the_target_and_work_is_checked_against_it():
    ledger = MarketLedger(run_seed=1, dnos=["dno1"], engine="pow", engine_params={"target_bits": 5})
    genesis = ledger.genesis
    assert genesis.pow_target_bits == 5 and genesis.validators.quorum == "proof_of_work"
    assert type(genesis).from_bytes(genesis.encoded) == genesis
    header = BlockHeader(genesis.chain_id, 1, "0" * 64, "1" * 64, "2" * 64, "3" * 64, 0, 1.0)
    assert "no nonce" in work_problem(header, genesis)
    assert work_problem(search_nonce(header, 5)[0], genesis) is None
    with pytest.raises(ValueError, match="pow_target_bits"):
        Alliance.create(1, dnos=["dno1"], validators=["v1"], pow_target_bits=8)  # a BFT chain has no target
    with pytest.raises(ValueError, match="genesis target"):
        Cluster(pow_alliance(8), "pow", network=NetworkParams(), seed=1, params=PowParams(target_bits=4))


def test_fault_warnings_for_proof_of_work():
    assert fault_warnings("pow", [1.0, 1.0, 1.0, 1.0], [], [Crash(0, 0.0)], 10_000.0) == []
    (big,) = fault_warnings("pow", [3.0, 1.0, 1.0, 1.0], [], [], 10_000.0)
    assert "validator 0 holds 50% of the hash rate" in big
    crashes = [Crash(i, 5_000.0 + i) for i in range(4)]
    (down,) = fault_warnings("pow", [1.0] * 4, [], crashes, 10_000.0)
    assert "every miner is down from hour 0.5003" in down
