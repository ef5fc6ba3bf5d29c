"""The simulated network and gossip: seeded graphs and latencies, flooding, loss, delay, partitions."""

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.clock import SimClock
from ledger.gossip import Gossip
from ledger.network import TOPOLOGIES, Network, NetworkParams, PartitionWindow, SlowWindow


def flood(params, seed=1, origin=0, at=0.0, relay=lambda node: True):
    clock = SimClock()
    net = Network(params, seed)
    got = []

    def deliver(node, mid, payload, now):
        got.append(node)
        return relay(node)

    g = Gossip(net, clock, deliver)
    clock.schedule(at, g.publish, origin, "m1", b"x", 100)
    clock.run()
    return net, g, got


@pytest.mark.parametrize("topology", sorted(TOPOLOGIES))
@pytest.mark.parametrize("n", [1, 4, 16, 31])
def test_topologies_are_connected_and_seeded(topology, n):
    a = Network(NetworkParams(topology=topology, n_validators=n), seed=5)
    b = Network(NetworkParams(topology=topology, n_validators=n), seed=5)
    assert a.graph.number_of_nodes() == n and nx.is_connected(a.graph)
    assert sorted(a.graph.edges(data=True)) == sorted(b.graph.edges(data=True))


def test_latencies_depend_on_the_seed_only():
    p = NetworkParams(topology="complete", n_validators=6)
    lat = lambda s: [d["latency_ms"] for _, _, d in sorted(Network(p, s).graph.edges(data=True))]  # noqa: E731
    assert lat(1) == lat(1) and lat(1) != lat(2)
    assert all(x > 0 for x in lat(3))


@settings(max_examples=30)
@given(st.sampled_from(sorted(TOPOLOGIES)), st.integers(2, 24), st.integers(0, 10_000))
def test_flooding_reaches_everyone_once_over_fastest_paths(topology, n, seed):
    params = NetworkParams(topology=topology, n_validators=n)
    net, g, got = flood(params, seed)
    assert sorted(got) == list(range(n))  # the seen-set: each node takes the message in once
    e = net.graph.number_of_edges()
    assert net.messages == 2 * e - (n - 1)  # every node relays to all but its sender
    assert g.duplicates == net.messages - (n - 1)
    fastest = nx.single_source_dijkstra_path_length(net.graph, 0, weight="latency_ms")
    for node in range(n):
        assert g.first_seen(node, "m1") == pytest.approx(fastest[node])
    assert g.propagation_ms(50) <= g.propagation_ms(95) <= max(fastest.values()) + 1e-9


def test_partition_cuts_until_it_heals():
    cut = PartitionWindow(start_ms=0, end_ms=1000, groups=(frozenset({0, 1}), frozenset({2, 3})))
    params = NetworkParams(topology="complete", n_validators=4, partitions=(cut,))
    _, _, got = flood(params, at=50.0)
    assert sorted(got) == [0, 1]
    _, _, got = flood(params, at=1500.0)
    assert sorted(got) == [0, 1, 2, 3]
    net = Network(params, 1)
    assert net.route(0, 3, 10, now_ms=50.0) is None and net.route(0, 3, 10, now_ms=1500.0) is not None


def test_loss_is_seeded_and_drops_messages():
    params = NetworkParams(topology="ring", n_validators=12, loss=0.3)
    runs = [flood(params, seed=s) for s in (4, 4, 5)]
    assert runs[0][2] == runs[1][2]  # same seed, same losses
    assert any(len(r[2]) < 12 for r in runs) and all(r[0].dropped > 0 for r in runs)


def test_slow_window_delays_hops_of_its_nodes():
    base = NetworkParams(topology="complete", n_validators=4)
    slow = base.model_copy(update={"slowdowns": (SlowWindow(start_ms=0, end_ms=1000, extra_ms=500.0,
                                                             nodes=frozenset({3})),)})
    net, g0, _ = flood(base)
    _, g1, _ = flood(slow)
    assert g1.first_seen(3, "m1") >= g0.first_seen(3, "m1") + 500.0
    weighted = net.graph.copy()
    for u, v, d in weighted.edges(data=True):
        d["w"] = d["latency_ms"] + (500.0 if 3 in (u, v) else 0.0)
    expected = nx.single_source_dijkstra_path_length(weighted, 0, weight="w")
    for node in range(4):
        assert g1.first_seen(node, "m1") == pytest.approx(expected[node])


def test_a_node_that_does_not_relay_is_a_dead_end():
    params = NetworkParams(topology="ring", n_validators=5)
    _, _, got = flood(params, relay=lambda node: node != 1)
    assert 1 in got and len(got) == 5  # the ring still reaches everyone the other way round
    _, _, got = flood(NetworkParams(topology="star", n_validators=5), origin=1, relay=lambda node: node != 0)
    assert sorted(got) == [0, 1]  # the hub of a star will not relay: nobody else hears it


def test_clock_runs_in_time_order_with_fifo_ties():
    clock, seen = SimClock(), []
    for t, tag in [(5.0, "c"), (1.0, "a"), (5.0, "d"), (2.0, "b")]:
        clock.schedule(t, seen.append, tag)
    clock.run(until_ms=4.0)
    assert seen == ["a", "b"] and clock.now == 4.0
    clock.run()
    assert seen == ["a", "b", "c", "d"]


def test_client_latency_is_seeded_per_client():
    net = Network(NetworkParams(n_validators=4), seed=9)
    assert net.client_latency("dno1") == Network(NetworkParams(n_validators=4), seed=9).client_latency("dno1")
    assert net.client_latency("dno1") != net.client_latency("dno2")
