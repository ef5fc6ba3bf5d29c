"""The validators' network: a seeded networkx graph with per-edge latency, loss and partitions.

All randomness comes from one seed split with numpy's SeedSequence (topology, latencies, loss
and jitter draws, client access links), so changing the network seed changes who hears what
when, and nothing else. Links are checked against the partition schedule at send time.

The parameters are strict: every number finite, `true` is not a number, delays within what a
simulated chain can live with, and every node a fault names one of the network's validators.
"""

from __future__ import annotations

import zlib
from typing import Annotated, Any, Callable

import networkx as nx
import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict, model_validator

MAX_VALIDATORS = 1000  # far beyond a permissioned consortium; the simulation is quadratic in it
MAX_DELAY_MS = 60_000.0  # a minute per hop: anything slower is no network a chain can run on
MAX_EXTRA_MS = 3_600_000.0  # a slowdown adds at most an hour per hop
MAX_TIME_MS = 366 * 24 * 3_600_000.0  # the end of the longest run: 366 days of hours of at most an hour


def _index(value: Any) -> Any:
    """A validator index: a whole number, never a boolean; digits (a --set path segment) read as one."""
    if isinstance(value, bool):
        raise ValueError(f"a validator index is a whole number, not {str(value).lower()}")
    return int(value) if isinstance(value, str) and value.isdigit() else value


NodeIndex = Annotated[int, BeforeValidator(_index), Field(ge=0, lt=MAX_VALIDATORS)]
_STRICT = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)

Topology = Callable[[int, int, int], nx.Graph]  # (n, degree, seed) -> connected graph
TOPOLOGIES: dict[str, Topology] = {}


def topology(name: str) -> Callable[[Topology], Topology]:
    def register(fn: Topology) -> Topology:
        TOPOLOGIES[name] = fn
        return fn
    return register


@topology("complete")
def _complete(n: int, degree: int, seed: int) -> nx.Graph:
    return nx.complete_graph(n)


@topology("ring")
def _ring(n: int, degree: int, seed: int) -> nx.Graph:
    return nx.cycle_graph(n) if n > 2 else nx.complete_graph(n)


@topology("star")
def _star(n: int, degree: int, seed: int) -> nx.Graph:
    return nx.star_graph(n - 1)


@topology("small_world")
def _small_world(n: int, degree: int, seed: int) -> nx.Graph:
    if n <= degree + 1:
        return nx.complete_graph(n)
    return nx.connected_watts_strogatz_graph(n, degree, 0.2, tries=100, seed=seed)


@topology("random_regular")
def _random_regular(n: int, degree: int, seed: int) -> nx.Graph:
    if n <= degree + 1:
        return nx.complete_graph(n)
    d = degree if (n * degree) % 2 == 0 else degree + 1
    for attempt in range(100):
        g = nx.random_regular_graph(d, n, seed=seed + attempt)
        if nx.is_connected(g):
            return g
    raise RuntimeError("no connected random regular graph found")


@topology("scale_free")
def _scale_free(n: int, degree: int, seed: int) -> nx.Graph:
    return nx.barabasi_albert_graph(n, max(1, min(degree // 2, n - 1)), seed=seed) if n > 2 else nx.complete_graph(n)


class _Window(BaseModel):
    """A fault that lasts from `start_ms` until just before `end_ms` (simulated ms since the run began)."""

    model_config = _STRICT
    start_ms: float = Field(ge=0, le=MAX_TIME_MS, description="simulated ms it begins; [A]")
    end_ms: float = Field(le=MAX_TIME_MS, description="simulated ms it ends, after start_ms (a later end than the "
                          "run's lasts to its end); [A]")

    @model_validator(mode="after")
    def _ordered(self) -> "_Window":
        if self.end_ms <= self.start_ms:
            raise ValueError(f"must end after it starts (end_ms {self.end_ms:g}, start_ms {self.start_ms:g})")
        return self

    def nodes_named(self) -> frozenset[int]:
        """Every validator this window names (checked against the network's size)."""
        return getattr(self, "nodes", frozenset())


class PartitionWindow(_Window):
    """While active, a link is up only between nodes that share a group; unlisted nodes are cut off."""

    groups: tuple[Annotated[frozenset[NodeIndex], Strict(False)], ...] = Field(
        strict=False, description="node groups (validator indices) that still reach each other; a validator "
        "in two bridges them (in a scenario only a Byzantine one may); [A]")

    def link_up(self, u: int, v: int) -> bool:
        return any(u in g and v in g for g in self.groups)

    def bridges(self) -> frozenset[int]:
        """Validators in more than one group: each reaches across the cut (e.g. a Byzantine one
        feeding each side its own block)."""
        return frozenset(n for n in self.nodes_named() if sum(n in g for g in self.groups) > 1)

    def nodes_named(self) -> frozenset[int]:
        return frozenset().union(*self.groups)


class _NodeWindow(_Window):
    nodes: frozenset[NodeIndex] = Field(
        frozenset(), strict=False, description="affected validator indices; empty means all; [A]")

    def applies(self, u: int, v: int, now_ms: float) -> bool:
        return self.start_ms <= now_ms < self.end_ms and (not self.nodes or u in self.nodes or v in self.nodes)


class SlowWindow(_NodeWindow):
    """While active, every hop touching one of `nodes` (all nodes if empty) takes `extra_ms` longer."""

    extra_ms: float = Field(gt=0, le=MAX_EXTRA_MS, description="added delay per hop, ms, at most an hour; [A]")


class LossWindow(_NodeWindow):
    """While active, every hop touching one of `nodes` (all nodes if empty) also drops a message
    with probability `loss`, on top of the network's steady loss."""

    loss: float = Field(gt=0, lt=1, description="probability a hop drops a message while it lasts; [A]")


class NetworkParams(BaseModel):
    model_config = _STRICT
    topology: str = Field("small_world", description="graph family, a key of TOPOLOGIES; [A]")
    n_validators: int = Field(4, ge=1, le=MAX_VALIDATORS, description="validator nodes, at most 1000; [A]")
    degree: int = Field(4, ge=1, le=MAX_VALIDATORS, description="target neighbours per node (family-specific); [A]")
    latency_median_ms: float = Field(
        20.0, gt=0, le=MAX_DELAY_MS, description="median one-hop latency, ms, lognormal, at most 60 000; [A]")
    latency_sigma: float = Field(0.5, ge=0, le=3, description="lognormal shape of per-edge latency, at most 3; [A]")
    jitter_ms: float = Field(
        0.0, ge=0, le=MAX_DELAY_MS, description="uniform extra delay per message and hop, ms, at most 60 000; [A]")
    loss: float = Field(0.0, ge=0, lt=1, description="probability a hop drops a message, in [0, 1); [A]")
    client_latency_ms: float = Field(
        10.0, ge=0, le=MAX_DELAY_MS, description="median client-to-validator latency, ms, at most 60 000; [A]")
    partitions: tuple[PartitionWindow, ...] = Field((), strict=False, description="partition schedule; [A]")
    slowdowns: tuple[SlowWindow, ...] = Field((), strict=False, description="extra-delay schedule; [A]")
    losses: tuple[LossWindow, ...] = Field((), strict=False, description="spells of extra message loss; [A]")

    @property
    def can_lose(self) -> bool:
        """Whether a hop may drop a message: then only anti-entropy makes a flood complete."""
        return self.loss > 0 or bool(self.losses)

    @model_validator(mode="after")
    def _known_topology(self) -> "NetworkParams":
        if self.topology not in TOPOLOGIES:
            raise ValueError(f"unknown topology {self.topology!r}; known: {sorted(TOPOLOGIES)}")
        for field in ("partitions", "slowdowns", "losses"):
            for i, window in enumerate(getattr(self, field)):
                beyond = sorted(n for n in window.nodes_named() if n >= self.n_validators)
                if beyond:
                    raise ValueError(f"{field}[{i}]: validator {beyond[0]} is not one of 0..{self.n_validators - 1}")
        return self


class Network:
    """Links, their latencies and faults; counts every hop a message takes."""

    def __init__(self, params: NetworkParams, seed: int):
        self.params = params
        self._seed = seed
        topo_seq, latency_seq, fault_seq = np.random.SeedSequence(seed).spawn(3)
        topo_seed = int(topo_seq.generate_state(1)[0])
        self.graph = TOPOLOGIES[params.topology](params.n_validators, params.degree, topo_seed)
        latency_rng = np.random.default_rng(latency_seq)
        mu = np.log(params.latency_median_ms)
        for u, v in sorted(self.graph.edges()):
            self.graph.edges[u, v]["latency_ms"] = float(latency_rng.lognormal(mu, params.latency_sigma))
        self._fault_rng = np.random.default_rng(fault_seq)
        self.down: set[int] = set()
        self.messages = 0
        self.bytes = 0
        self.dropped = 0
        self.link_messages: dict[tuple[int, int], int] = {}  # (low, high) node pair -> hops sent over it
        self._routes: dict[tuple, dict[int, dict[int, list[int]]]] = {}

    @property
    def nodes(self) -> list[int]:
        return sorted(self.graph.nodes)

    def neighbours(self, node: int) -> list[int]:
        return sorted(self.graph.neighbors(node))

    def _window(self, now_ms: float) -> int | None:
        for i, w in enumerate(self.params.partitions):
            if w.start_ms <= now_ms < w.end_ms:
                return i
        return None

    def link_up(self, u: int, v: int, now_ms: float) -> bool:
        if u in self.down or v in self.down:
            return False
        w = self._window(now_ms)
        return w is None or self.params.partitions[w].link_up(u, v)

    def _hop_delay(self, u: int, v: int, now_ms: float) -> float:
        delay = self.graph.edges[u, v]["latency_ms"]
        if self.params.jitter_ms:
            delay += float(self._fault_rng.uniform(0.0, self.params.jitter_ms))
        return delay + sum(w.extra_ms for w in self.params.slowdowns if w.applies(u, v, now_ms))

    def _lost(self, u: int, v: int, now_ms: float) -> bool:
        p = self.params.loss
        for w in self.params.losses:
            if w.applies(u, v, now_ms):
                p = 1.0 - (1.0 - p) * (1.0 - w.loss)
        return p > 0 and bool(self._fault_rng.random() < p)

    def hop(self, u: int, v: int, size: int, now_ms: float) -> float | None:
        """Send one message over link u-v; its arrival time, or None if cut or lost."""
        if not self.link_up(u, v, now_ms):
            return None
        self._count(u, v, size)
        if self._lost(u, v, now_ms):
            self.dropped += 1
            return None
        return now_ms + self._hop_delay(u, v, now_ms)

    def route(self, src: int, dst: int, size: int, now_ms: float) -> float | None:
        """Point-to-point delivery over the fastest path of links up now; arrival time or None."""
        if src == dst:
            return now_ms
        key = (frozenset(self.down), self._window(now_ms))
        paths = self._routes.get(key)
        if paths is None:
            up = nx.Graph()
            up.add_nodes_from(self.graph.nodes)
            up.add_edges_from((u, v, d) for u, v, d in self.graph.edges(data=True) if self.link_up(u, v, now_ms))
            paths = self._routes[key] = dict(nx.all_pairs_dijkstra_path(up, weight="latency_ms"))
        path = paths.get(src, {}).get(dst)
        if path is None:
            return None
        t = now_ms
        for u, v in zip(path, path[1:]):
            self._count(u, v, size)
            if self._lost(u, v, now_ms):
                self.dropped += 1
                return None
            t += self._hop_delay(u, v, now_ms)
        return t

    def _count(self, u: int, v: int, size: int) -> None:
        """One hop sent: totals, and per link so a viewer can show where the traffic went."""
        self.messages += 1
        self.bytes += size
        link = (u, v) if u < v else (v, u)
        self.link_messages[link] = self.link_messages.get(link, 0) + 1

    def client_latency(self, client: str) -> float:
        """Seeded access latency from an outside client (a DNO) to its entry validator."""
        seq = np.random.SeedSequence([self._seed, zlib.crc32(client.encode())])
        rng = np.random.default_rng(seq)
        return float(rng.lognormal(np.log(max(self.params.client_latency_ms, 1e-9)), self.params.latency_sigma))
