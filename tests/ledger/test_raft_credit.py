"""Raft with double credit kept on chain: every node takes its credits from the committed state,
credit decides who stands and how soon, and it never replaces the majority rule."""

from dataclasses import replace

import pytest

from ledger.alliance import Alliance
from ledger.consensus.cluster import Cluster, Crash
from ledger.contracts import credit_document, validator_credits
from ledger.credit import ChainCredit, may_stand
from ledger.network import NetworkParams
from ledger.verify import verify_store

N = 5


def credit_cluster(seed=1, node_credit=None, crashes=(), store_path=None, **rules):
    """Five Raft validators on a chain keeping credit; `node_credit`: node index -> starting NC."""
    a = Alliance.create(seed, dnos=["dno1"], validators=[f"v{i + 1}" for i in range(N)], quorum="majority_nodes")
    settings = ChainCredit(enabled=True, validators=node_credit or {}, **rules)
    doc = credit_document(settings, ["dno1"], [v.public_hex for v in a.validators])
    a = replace(a, genesis=replace(a.genesis, credit=doc))
    net = NetworkParams(n_validators=N, topology="complete", jitter_ms=5.0)
    return Cluster(a, "raft", network=net, seed=seed, crashes=tuple(crashes), store_path=store_path)


def leaders(c):
    return {node.id for node in c.nodes if node.led_terms}


@pytest.mark.parametrize("seed", range(3))
def test_credit_on_chain_never_replaces_the_majority(seed):
    """Two top-credit nodes alone never commit; the three others, two of them too low in node
    credit to stand, elect the one that may and commit: credit picks the leader, the majority
    decides what is final."""
    credit = {0: 1.0, 1: 1.0, 2: 0.3, 3: 0.3, 4: 0.6}
    top = credit_cluster(seed, credit, crashes=[Crash(i, 0.0) for i in (2, 3, 4)])
    top.run(until_ms=10_000)
    assert max(n.chain.height for n in top.nodes) == 0
    rest = credit_cluster(seed, credit, crashes=[Crash(i, 0.0) for i in (0, 1)])
    rest.run(until_ms=10_000)
    assert rest.honest_height() == 0 and min(rest.nodes[i].chain.height for i in (2, 3, 4)) >= 8
    assert leaders(rest) == {4} and rest.nodes[2].stood_at == rest.nodes[3].stood_at == []


def test_every_node_uses_the_credits_its_committed_state_holds(tmp_path):
    path = tmp_path / "raft-credit.sqlite"
    c = credit_cluster(2, crashes=[Crash(3, 2_000.0, 9_000.0)], store_path=str(path))
    c.run(until_ms=15_000)
    c.close()
    for node in c.nodes:
        assert node.credit == validator_credits(node.chain.state)
    assert c.conflicts() == []
    top = max(node.chain.height for node in c.nodes)
    credits = [dict(node.credit) for node in c.nodes if node.chain.height == top]
    assert len(credits) >= 3 and all(x == credits[0] for x in credits)  # same blocks, same credits
    crashed = credits[0].pop(c.nodes[3].key)
    assert crashed.node < min(v.node for v in credits[0].values())
    assert verify_store(str(path)).ok  # the verifier replays the same credit from the store


def test_a_validator_that_timed_out_no_longer_stands():
    """Down for eight blocks, a validator's node credit falls below theta_N on chain; when the
    leader later crashes, it votes but never stands, and another node takes over."""
    probe = credit_cluster(3)
    probe.run(until_ms=1_500)
    (leader,) = leaders(probe)
    absent = (leader + 1) % N
    c = credit_cluster(3, crashes=[Crash(absent, 1_500.0, 9_500.0), Crash(leader, 13_000.0)])
    c.run(until_ms=13_000)
    node = c.nodes[absent]
    assert not may_stand(node.credit[node.key], node.params.credit)
    height = c.honest_height()
    c.run(until_ms=22_000)
    assert [t for t in node.stood_at if t > 9_500.0] == []
    assert leaders(c) - {leader, absent} and c.nodes[absent].chain.height > height + 3
    assert c.conflicts() == []


@pytest.mark.parametrize("seed", range(4))
def test_credit_on_chain_decides_who_stands_first(seed):
    # With the composite all node credit, NC 0.95 gives tau in [157.5, 207.5] ms and NC 0.6 gives
    # [210, 260] ms: the favourite stands first whatever the seed.
    favourite = seed % N
    credit = {i: 0.95 if i == favourite else 0.6 for i in range(N)}
    c = credit_cluster(seed, credit, w_transaction=0.0, w_node=1.0)
    c.run(until_ms=2_000)
    assert min((t, n.id) for n in c.nodes for t in n.stood_at)[1] == favourite
    assert min(n.led_terms[0] for n in c.nodes if n.led_terms) == 1 and 1 in c.nodes[favourite].led_terms


@pytest.mark.parametrize("seed", range(3))
def test_credit_never_keeps_a_live_majority_leaderless(seed):
    """Nobody live may stand by credit (the only eligible node is down): after a few leaderless
    timeouts the others set credit aside, elect one of themselves by majority and commit."""
    low = {i: 0.3 for i in range(N - 1)}  # node 4 keeps the starting credit, and is down for good
    c = credit_cluster(seed, low, crashes=[Crash(4, 0.0)])
    assert not any(may_stand(credit, c.nodes[0].params.credit) for key, credit in c.nodes[0].credit.items()
                   if key != c.nodes[4].key)
    c.run(until_ms=10_000)
    assert min(c.nodes[i].chain.height for i in range(N - 1)) >= 5 and c.conflicts() == []
    first = min(t for n in c.nodes for t in n.stood_at)
    timeouts = c.nodes[0].params.credit_waiver_timeouts
    assert first >= timeouts * c.nodes[0].params.election_min_ms  # only after the waiver's timeouts
