"""The liveness rules the fault fuzzer found or the issue named, one test each: a BFT re-proposal
carries its proof of lock, a restarted BFT validator keeps its step (no honest equivocation), a
proof-of-work miner that missed the others' blocks hears of their branch again (the stale-tip
check), clients re-send what no validator holds until it commits or its deadline passes, lossy
spells and their anti-entropy, and timeouts checked against the network's round trip."""

import pytest
from ledger_helpers import signed_bid

from ledger.alliance import Alliance
from ledger.block import Vote
from ledger.consensus.base import Broadcast
from ledger.consensus.bft import PREVOTE, VoteMessage
from ledger.consensus.cluster import Cluster, Crash
from ledger.consensus.pow import PowParams
from ledger.network import LossWindow, Network, NetworkParams, PartitionWindow
from ledger.service import MarketLedger
from ledger.tolerance import round_trip_ms, timing_warnings

DNOS = ["dno1", "dno2", "dno3", "dno4"]


def bft4(seed=5, **network):
    a = Alliance.create(seed, dnos=DNOS, validators=["v1", "v2", "v3", "v4"])
    c = Cluster(a, "bft", network=NetworkParams(n_validators=4, **network), seed=seed)
    c.run(until_ms=0.0)  # every node has started
    return a, c


def votes_in(actions):
    return [a.msg.vote for a in actions if isinstance(a, Broadcast) and isinstance(a.msg, VoteMessage)]


def test_a_reproposed_block_carries_the_prevotes_that_locked_it():
    """A node that missed round 0's prevotes must still accept round 1's re-proposal of the locked
    block: the proposal carries the 2/3 prevotes (its proof of lock), checked like any vote."""
    a, c = bft4()
    proposer = next(n for n in c.nodes if n.proposer(1, 1) == n.key)
    behind = next(n for n in c.nodes if n is not proposer)
    block = proposer.chain.build(proposer.identity, 0, 1000.0)
    quorum = [Vote.cast(n.identity, PREVOTE, a.genesis.chain_id, 1, 0, block.hash) for n in c.nodes[:3]]
    for vote in quorum:
        proposer._count_vote(vote)
    proposer.valid, proposer.valid_round, proposer.round = block, 0, 1
    proposal = proposer._sign_proposal(block, 0)
    assert {v.validator for v in proposal.pol} == {n.key for n in c.nodes[:3]}

    behind._start_round(1, 1500.0)
    cast = votes_in(behind.on_message(proposal, 1500.0))
    assert [(v.round, v.block_hash) for v in cast if v.vote_type == PREVOTE] == [(1, block.hash)]

    # the same proposal without its proof leaves the node waiting for its timeout
    _, c2 = bft4()
    behind2 = c2.nodes[behind.id]
    behind2._start_round(1, 1500.0)
    bare = proposal.__class__(1, 1, block, 0, proposal.proposer, proposal.signature)
    assert votes_in(behind2.on_message(bare, 1500.0)) == []


def test_a_restarted_validator_keeps_its_step_and_never_votes_twice():
    """A node that prevoted nil on its propose timeout, then crashed and restarted with the proposal
    in hand, must not prevote the block too: that would make an honest node an equivocator."""
    a, c = bft4()
    proposer = next(n for n in c.nodes if n.proposer(1, 0) == n.key)
    node = next(n for n in c.nodes if n is not proposer)
    (nil,) = votes_in(node.on_timer("timeout_propose:1:0", (1, 0), 5000.0))
    assert (nil.vote_type, nil.block_hash) == (PREVOTE, None) and node.step == PREVOTE
    block = proposer.chain.build(proposer.identity, 0, 1000.0)
    proposal = proposer._sign_proposal(block, -1)
    assert votes_in(node.on_message(proposal, 5100.0)) == []
    actions = node.on_restart(5200.0)
    assert votes_in(actions) == [] and node.step == PREVOTE
    assert any(getattr(x, "name", "") == "resend" for x in actions)  # its nil prevote is re-sent


def test_a_miner_restarted_inside_a_partition_hears_of_the_longer_branch_before_it_buries_a_fork():
    """The fuzz's pow seed 33 stripped to its crash and partition: miner 2 restarts while cut off,
    so its requests for the others' tip are lost, and after the heal the others find no block for
    2.5 s while it, with a fifth of the hash rate, finds six. It used to hear of their branch only
    with their next block, after it had made its own first block final, and then refused their
    branch for good; now the others' stale-tip check, naming a higher tip, makes it fetch theirs."""
    names = ["v1", "v2", "v3", "v4", "v5"]
    a = Alliance.create(5, dnos=["dno1"], validators=names, quorum="proof_of_work", pow_target_bits=4)
    cut = PartitionWindow(start_ms=1800.0, end_ms=3900.0, groups=(frozenset({0, 1, 3, 4}), frozenset({2})))
    c = Cluster(a, "pow", network=NetworkParams(n_validators=5, topology="complete", partitions=(cut,)),
                seed=33, params=PowParams(target_bits=4), crashes=(Crash(2, 300.0, 2300.0),))
    c.run(until_ms=8000.0)
    assert c.conflicts() == [] and c.nodes[2].chain.height > 10  # it took their branch and follows it


def test_a_client_resends_what_no_validator_took_until_it_commits():
    a, c = bft4()
    for node in range(4):  # every validator is down when the bid arrives
        c._crash(node)
        c.clock.schedule(3000.0, c._restart, node)
    stx = signed_bid(a, "dno1", 1, hour=1)
    c.submit(stx, "dno1", 0, at_ms=100.0)
    c.run(until_ms=20_000)
    assert stx.tx_id in c.tx_final and c.client_resends >= 1


def test_a_client_gives_up_once_its_deadline_has_passed():
    a, c = bft4()
    for node in range(4):
        c._crash(node)
        c.clock.schedule(3000.0, c._restart, node)
    stx = signed_bid(a, "dno1", 1, hour=1)
    c.submit(stx, "dno1", 0, at_ms=100.0, deadline_ms=2000.0)
    c.run(until_ms=20_000)
    assert stx.tx_id not in c.tx_final and c.client_resends == 1  # at ~1.1 s, before its deadline


def test_a_reliable_run_never_resends():
    """Re-sends and anti-entropy only ever add traffic when something was lost."""
    a, c = bft4(jitter_ms=5.0)
    for k in range(8):
        c.submit(signed_bid(a, DNOS[k % 4], k // 4 + 1, hour=k + 1), DNOS[k % 4], k % 4, at_ms=100.0 * k)
    c.run(until_ms=10_000)
    assert sorted(c.tx_final) == sorted(c.tx_submitted) and c.client_resends == 0


def test_a_lossy_spell_drops_only_while_it_lasts_and_only_on_its_nodes():
    spell = LossWindow(start_ms=100.0, end_ms=200.0, loss=0.999, nodes=frozenset({1}))
    net = Network(NetworkParams(n_validators=3, topology="complete", losses=(spell,)), seed=1)
    assert net.params.can_lose and not NetworkParams().can_lose
    assert net.hop(0, 2, 10, 150.0) is not None  # not its nodes
    assert net.hop(0, 1, 10, 50.0) is not None and net.hop(0, 1, 10, 250.0) is not None  # outside it
    assert sum(net.hop(0, 1, 10, 150.0) is None for _ in range(50)) >= 45
    with pytest.raises(ValueError, match="must end after it starts"):
        LossWindow(start_ms=5.0, end_ms=5.0, loss=0.5)


def test_under_loss_every_bid_still_commits():
    a, c = bft4(loss=0.3)
    for k in range(12):
        c.submit(signed_bid(a, DNOS[k % 4], k // 4 + 1, hour=k + 1), DNOS[k % 4], k % 4, at_ms=50.0 * k)
    c.run(until_ms=30_000)
    assert sorted(c.tx_final) == sorted(c.tx_submitted) and c.conflicts() == []


@pytest.mark.parametrize("engine", ["raft", "bft"])
def test_timeouts_within_the_round_trip_are_named(engine):
    slow = NetworkParams(n_validators=31, topology="ring")
    ledger = MarketLedger(run_seed=0, dnos=["a"], engine=engine, network=slow)
    rtt = round_trip_ms(ledger.cluster.network)
    assert rtt > 500.0
    warnings = ledger.fault_warnings()
    assert any(w.startswith(f"{engine}: ") and "round trip" in w for w in warnings), warnings
    assert MarketLedger(run_seed=0, dnos=["a"], engine=engine).fault_warnings() == []
    params = ledger.cluster.nodes[0].params
    roomy = params.model_copy(update={"election_min_ms": 2 * rtt, "election_max_ms": 4 * rtt}
                              if engine == "raft" else {"timeout_propose_ms": 2 * rtt, "timeout_vote_ms": 2 * rtt})
    assert timing_warnings(engine, roomy, ledger.cluster.network) == []


def test_a_heartbeat_no_shorter_than_the_election_timeout_is_named():
    ledger = MarketLedger(run_seed=0, dnos=["a"], engine="raft")
    params = ledger.cluster.nodes[0].params.model_copy(update={"heartbeat_ms": 200.0})
    assert any("heartbeat" in w for w in timing_warnings("raft", params, ledger.cluster.network))
    crash_all = [Crash(i, 0.0) for i in range(4)]
    assert MarketLedger(run_seed=0, dnos=["a"], engine="raft", crashes=crash_all).fault_warnings()


@pytest.mark.parametrize("engine", ["raft", "bft"])
def test_a_slowdown_that_outlasts_the_timeouts_is_named_with_its_window(engine):
    from ledger.network import SlowWindow

    spell = SlowWindow(start_ms=5_000.0, end_ms=9_000.0, extra_ms=250.0)
    slow = NetworkParams(slowdowns=(spell,))
    warnings = MarketLedger(run_seed=0, dnos=["a"], engine=engine, network=slow).fault_warnings()
    assert len(warnings) == 1 and warnings[0].startswith(f"{engine}: while the slowdown of 5000-9000 ms"), warnings
    slight = NetworkParams(slowdowns=(SlowWindow(start_ms=5_000.0, end_ms=9_000.0, extra_ms=1.0),))
    assert MarketLedger(run_seed=0, dnos=["a"], engine=engine, network=slight).fault_warnings() == []
