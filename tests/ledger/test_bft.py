"""Tendermint-style BFT: agreement, equivocation with a partition, catch-up, and the n > 3f bound."""

import hashlib

import numpy as np
import pytest
from ledger_helpers import signed_bid

from ledger.alliance import Alliance
from ledger.consensus.cluster import Cluster, Crash
from ledger.network import NetworkParams, PartitionWindow
from ledger.verify import verify_store

DNOS = ["dno1", "dno2", "dno3", "dno4"]


def alliance4(seed=5):
    return Alliance.create(seed, dnos=DNOS, validators=["v1", "v2", "v3", "v4"])


def chains(cluster, nodes):
    return [[c.block.hash for c in cluster.nodes[i].chain.blocks] for i in nodes]


def test_honest_validators_agree_and_the_store_verifies(tmp_path):
    path = tmp_path / "ledger.sqlite"
    a = alliance4()
    c = Cluster(a, "bft", network=NetworkParams(n_validators=4, topology="ring"), seed=3, store_path=str(path))
    for k in range(8):
        c.submit(signed_bid(a, DNOS[k % 4], k // 4 + 1, hour=k + 1), DNOS[k % 4], k % 4, at_ms=100.0 * k)
    c.run(height=6, until_ms=60_000)
    c.close()
    assert c.honest_height() >= 6 and c.conflicts() == []
    assert len({tuple(ch[:7]) for ch in chains(c, range(4))}) == 1
    assert sorted(c.tx_final) == sorted(c.tx_submitted)  # every bid made it into a block
    report = verify_store(str(path))
    assert report.ok and report.transactions == 8, report


def test_same_seed_gives_byte_identical_store(tmp_path):
    digests = []
    for run in range(2):
        path = tmp_path / f"{run}.sqlite"
        a = alliance4()
        c = Cluster(a, "bft", network=NetworkParams(n_validators=4, jitter_ms=5.0), seed=9, store_path=str(path))
        for k in range(4):
            c.submit(signed_bid(a, DNOS[k], 1, hour=1), DNOS[k], k, at_ms=10.0 * k)
        c.run(height=4, until_ms=60_000)
        c.close()
        digests.append(hashlib.sha256(path.read_bytes()).hexdigest())
    assert digests[0] == digests[1]


def byzantine_partition_run(seed):
    """1 equivocating proposer-and-voter of 4, and one honest node cut off for a while."""
    rng = np.random.default_rng(seed)
    byz = int(rng.integers(4))
    honest = [i for i in range(4) if i != byz]
    isolated = int(rng.choice(honest))
    start = float(rng.uniform(0, 3000))
    end = start + float(rng.uniform(4000, 10000))
    rest = frozenset(i for i in range(4) if i != isolated)
    bridge = bool(rng.integers(2))  # may the Byzantine node also reach the isolated one?
    groups = (rest, frozenset({isolated, byz})) if bridge else (rest, frozenset({isolated}))
    net = NetworkParams(n_validators=4, topology="complete", jitter_ms=10.0,
                        partitions=(PartitionWindow(start_ms=start, end_ms=end, groups=groups),))
    a = alliance4(seed)
    c = Cluster(a, "bft", network=net, seed=seed, byzantine={byz: "equivocating"})
    for k in range(6):
        c.submit(signed_bid(a, DNOS[k % 4], k // 4 + 1, hour=k + 1), DNOS[k % 4], k % 4, at_ms=700.0 * k)
    c.run(until_ms=end)
    c.lag_at_heal = max(c.nodes[i].chain.height for i in honest) - c.nodes[isolated].chain.height
    c.run(until_ms=end + 15_000)
    return c, honest, isolated


LAGS = {}


@pytest.mark.parametrize("seed", range(12))
def test_one_byzantine_and_a_partition_never_fork_and_the_isolated_node_catches_up(seed):
    c, honest, isolated = byzantine_partition_run(seed)
    LAGS[seed] = c.lag_at_heal
    assert c.conflicts() == []
    heights = [c.nodes[i].chain.height for i in honest]
    assert min(heights) >= 5, heights  # progress resumed after healing
    top = min(heights)
    assert len({tuple(ch[:top + 1]) for ch in chains(c, honest)}) == 1  # isolated one holds the same chain
    assert c.nodes[isolated].chain.height >= top


def test_some_isolated_node_really_fell_behind():
    """The catch-up checks above are not vacuous: in some runs the cut-off node missed blocks."""
    lags = {s: LAGS[s] if s in LAGS else byzantine_partition_run(s)[0].lag_at_heal for s in range(12)}
    assert sum(lag >= 1 for lag in lags.values()) >= 4 and max(lags.values()) >= 2, lags


def test_equivocation_is_seen_as_evidence():
    found = 0
    for seed in range(6):
        c, honest, _ = byzantine_partition_run(seed)
        found += sum(len(c.nodes[i].evidence) for i in honest)
    assert found > 0


def test_negative_control_two_byzantine_of_four_can_fork():
    """The same attack with f = 2 of n = 4 (n <= 3f) forks the honest nodes, and with f = 1 (n > 3f)
    it does not: two colluding equivocators feed each of two cut-off honest nodes its own block."""
    for byzantine in ({0: "equivocating", 1: "equivocating"}, {0: "equivocating"}):
        honest = [i for i in range(4) if i not in byzantine]
        h1, h2 = honest[0], honest[-1]
        groups = (frozenset({h1, 0, 1}), frozenset({h2, 0, 1}))  # the Byzantine nodes bridge the cut
        net = NetworkParams(n_validators=4, topology="complete",
                            partitions=(PartitionWindow(start_ms=0, end_ms=20_000, groups=groups),))
        c = Cluster(alliance4(), "bft", network=net, seed=1, byzantine=byzantine,
                    collusion_split=(frozenset({h1}), frozenset({h2})))
        c.run(until_ms=20_000)
        n, f = 4, len(byzantine)
        assert bool(c.conflicts()) == (n <= 3 * f), (f, c.conflicts())


def test_crashed_validator_restarts_and_catches_up():
    net = NetworkParams(n_validators=4, topology="complete")
    c = Cluster(alliance4(), "bft", network=net, seed=2, crashes=(Crash(node=2, at_ms=1500, restart_ms=7000),))
    c.run(until_ms=6500)
    assert c.nodes[2].chain.height < c.nodes[0].chain.height  # others went on without it
    c.run(until_ms=15_000)
    assert c.conflicts() == []
    assert c.nodes[2].chain.height >= c.nodes[0].chain.height - 1 >= 10


def test_post_dated_proposals_are_refused():
    """A proposer that stamps a block ahead of the clock could close gates early; honest nodes refuse."""
    c = Cluster(alliance4(), "bft", network=NetworkParams(n_validators=4), seed=1)
    node = c.nodes[0]
    fine = node.chain.build(node.identity, 0, 100.0, [])
    ahead = node.chain.build(node.identity, 0, 100.0 + node.params.max_future_ms + 1.0, [])
    assert node._valid_block(fine, now=100.0)
    assert not node._valid_block(ahead, now=100.0)
    assert node._valid_block(ahead, now=100.0 + node.params.max_future_ms + 1.0)


@pytest.mark.parametrize("seed", range(3))
def test_seven_validators_two_byzantine_lossy_network_stay_safe(seed):
    """n = 7 > 3f = 6: two colluding equivocators, 5 % message loss and a partition cannot fork it."""
    names = [f"v{i}" for i in range(1, 8)]
    a = Alliance.create(seed, dnos=DNOS, validators=names)
    cut = PartitionWindow(start_ms=2000, end_ms=6000, groups=(frozenset({0, 1, 2, 3, 4}), frozenset({5, 6})))
    net = NetworkParams(n_validators=7, topology="small_world", loss=0.05, jitter_ms=10.0, partitions=(cut,))
    rng = np.random.default_rng(seed)
    byz = {int(b): "equivocating" for b in rng.choice(7, size=2, replace=False)}
    c = Cluster(a, "bft", network=net, seed=seed, byzantine=byz)
    c.run(until_ms=25_000)
    assert c.conflicts() == []
    assert c.honest_height() >= 5
