"""What each consensus engine tolerates, checked against a run's configured faults.

BFT stays safe and live while the faulty validators (Byzantine, or down) hold less than a third
of the voting power; Raft commits while a majority of the nodes is up; proof of work stays live
while any miner is up, and final blocks stay final while nobody holds half the hash rate. A schedule beyond that is
allowed (it is how a researcher sees a chain stall or fork), but it is named up front in one line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import networkx as nx

from ledger.consensus.cluster import Crash
from ledger.network import Network, SlowWindow


def _worst_moment(crashes: Sequence[Crash], always: set[int], weight: Mapping[int, int]) -> tuple[float, int, set[int]]:
    """The earliest time (ms) at which the faulty set weighs most: (time, weight, nodes)."""
    times = sorted({0.0, *(c.at_ms for c in crashes)})
    best = (0.0, sum(weight[i] for i in always), set(always))
    for t in times:
        down = {c.node for c in crashes if c.at_ms <= t and (c.restart_ms is None or t < c.restart_ms)}
        faulty = always | down
        w = sum(weight[i] for i in faulty)
        if w > best[1]:
            best = (t, w, faulty)
    return best


def _pow_warnings(rates: Sequence[float], byzantine: Sequence[int], crashes: Sequence[Crash],
                  hour_ms: float) -> list[str]:
    """Proof of work: whoever holds half the hash rate out-mines the rest and can rewrite confirmed
    history; crashed miners only slow the chain down, until no hash rate is left."""
    total = sum(rates)
    out = [f"pow: validator {i} holds {r / total:.0%} of the hash rate: alone it can rewrite confirmed "
           f"history (a 51% attack)" for i, r in enumerate(rates) if 2 * r >= total]
    if len(byzantine) > 1 and 2 * sum(rates[i] for i in byzantine) >= total:
        out.append(f"pow: faulty validators {sorted(byzantine)} hold half the hash rate or more: they can "
                   f"rewrite confirmed history")
    t, down, nodes = _worst_moment(crashes, set(byzantine), dict(enumerate(rates)))
    if down >= total:
        out.append(f"pow: every miner is down from hour {t / hour_ms:g} (nodes {sorted(nodes)}): "
                   f"no block until one restarts")
    return out


def fault_warnings(engine: str, powers: Sequence[int], byzantine: Sequence[int], crashes: Sequence[Crash],
                   hour_ms: float) -> list[str]:
    """One line per way the configured faults exceed what `engine` tolerates (empty if none).
    `powers[i]` is validator i's voting power (proof of work: its hash rate)."""
    n = len(powers)
    if engine == "pow":
        return _pow_warnings(powers, byzantine, crashes, hour_ms)
    if engine == "raft":
        t, down, nodes = _worst_moment(crashes, set(byzantine), dict.fromkeys(range(n), 1))
        if 2 * down >= n:
            return [f"raft: {down} of {n} validators are down from hour {t / hour_ms:g} "
                    f"(nodes {sorted(nodes)}): no live majority, the chain stalls until enough restart"]
        return []
    total = sum(powers)
    t, faulty, nodes = _worst_moment(crashes, set(byzantine), dict(enumerate(powers)))
    if 3 * faulty >= total:
        return [f"{engine}: faulty validators {sorted(nodes)} hold {faulty} of {total} voting power from hour "
                f"{t / hour_ms:g}, not less than a third: safety or liveness may be lost"]
    return []


def round_trip_ms(network: Network, slow: SlowWindow | None = None) -> float:
    """The slowest validator-to-validator round trip on the healthy network (or during the slowdown
    `slow`): twice the longest fastest path, each hop with its worst jitter."""
    graph = network.graph
    if slow is not None:
        graph = graph.copy()
        for u, v, data in graph.edges(data=True):
            if not slow.nodes or u in slow.nodes or v in slow.nodes:
                data["latency_ms"] += slow.extra_ms
    paths = dict(nx.all_pairs_dijkstra(graph, weight="latency_ms"))
    worst = max((d + network.params.jitter_ms * (len(paths[u][1][v]) - 1))
                for u, (dist, _) in paths.items() for v, d in dist.items())
    return 2.0 * worst


def timing_warnings(engine: str, params: Any, network: Network) -> list[str]:
    """Timeouts an engine cannot live with on this network, one line each: Raft needs its election
    timeout well above the round trip (Ongaro and Ousterhout: broadcast time << election timeout);
    a BFT round shorter than one fails until its timeouts have grown past it."""
    rtt = round_trip_ms(network)
    out = []
    names = {"raft": ("election_min_ms",), "bft": ("timeout_propose_ms", "timeout_vote_ms")}.get(engine, ())
    for w in network.params.slowdowns:  # a slowdown the timeouts outlive only while it lasts
        during = round_trip_ms(network, w)
        short = [(n, getattr(params, n)) for n in names if rtt < getattr(params, n) <= during]
        if short:
            which = ", ".join(f"{n} {t:g} ms" for n, t in short)
            out.append(f"{engine}: while the slowdown of {w.start_ms:g}-{w.end_ms:g} ms lasts the validators' round trip "
                       f"is {during:.0f} ms, above its {which}: expect repeated elections or failed rounds until it ends")
    if engine == "raft":
        if params.election_min_ms <= rtt:
            out.append(f"raft: election timeout {params.election_min_ms:g} ms does not exceed the validators' "
                       f"round trip of {rtt:.0f} ms: followers time out under a live leader and elections may never finish")
        if params.heartbeat_ms >= params.election_min_ms:
            out.append(f"raft: heartbeat {params.heartbeat_ms:g} ms is not shorter than the election timeout "
                       f"{params.election_min_ms:g} ms: followers stand for election under a live leader")
    elif engine == "bft":
        for name in ("timeout_propose_ms", "timeout_vote_ms"):
            if getattr(params, name) <= rtt:
                out.append(f"bft: {name} {getattr(params, name):g} ms does not exceed the validators' round trip "
                           f"of {rtt:.0f} ms: rounds fail until their timeouts grow past it")
    return out
