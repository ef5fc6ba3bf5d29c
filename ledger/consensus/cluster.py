"""The driver: validators, their network and the simulated clock, with faults injected on schedule.

It carries out the actions engines return, floods transactions and broadcasts through gossip,
crashes and restarts nodes, and keeps the metrics a chain engineer asks for: messages, bytes,
propagation percentiles, block commit time and transaction finality, plus a safety check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from ledger.alliance import Alliance
from ledger.block import Block
from ledger.chain import Chain, Executions
from ledger.clock import SimClock
from ledger.consensus.base import ENGINES, BlockSchedule, Broadcast, Send, SetTimer
from ledger.consensus.collusion import Collusion
from ledger.gossip import Gossip
from ledger.mempool import Rejected
from ledger.network import Network, NetworkParams
from ledger.transactions import SignedTx

# Byzantine behaviours by name: (engine, behaviour) -> node class taking a `collusion` argument.
BEHAVIOURS: dict[tuple[str, str], type] = {}


@dataclass(frozen=True)
class Crash:
    node: int
    at_ms: float
    restart_ms: float | None = None


def archival_node(honest: list[int], crashes: tuple[Crash, ...]) -> int:
    """The replica whose chain is the run's ledger: an honest node that never crashes; failing
    that, one that is down for good last of all (never, if possible), then down the least time, so
    a schedule that crashes every node in turn still leaves the ledger with a live writer."""
    down = dict.fromkeys(honest, 0.0)
    forever = {}
    for c in crashes:
        if c.node in down:
            if c.restart_ms is None:
                forever[c.node] = min(forever.get(c.node, c.at_ms), c.at_ms)
            else:
                down[c.node] += c.restart_ms - c.at_ms
    return min(honest, key=lambda i: (i in forever, -forever.get(i, 0.0), down[i], i))


class Cluster:
    def __init__(self, alliance: Alliance, engine: str, *, network: NetworkParams, seed: int,
                 network_seed: int | None = None, params: Any = None, schedule: BlockSchedule = BlockSchedule(),
                 crashes: tuple[Crash, ...] = (), byzantine: Mapping[int, str] | None = None,
                 store_path: str | None = None, store_node: int | None = None,
                 collusion_split: tuple[frozenset[int], frozenset[int]] | None = None,
                 client_resend_ms: float = 1000.0, mempool_sync_ms: float = 500.0):
        if engine not in ENGINES:
            raise ValueError(f"unknown consensus engine {engine!r}; known: {sorted(ENGINES)}")
        identities = alliance.validators
        if network.n_validators != len(identities):
            raise ValueError(f"network has {network.n_validators} nodes for {len(identities)} validators")
        self.engine = engine
        self.clock = SimClock()
        self.network = Network(network, seed if network_seed is None else network_seed)
        self.gossip = Gossip(self.network, self.clock, self._deliver)
        self.byzantine = dict(byzantine or {})
        self.honest = [i for i in range(len(identities)) if i not in self.byzantine]
        if store_node is None:
            store_node = archival_node(self.honest, crashes)
        self.store_node = store_node
        peers = [i.public_hex for i in identities]
        node_rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(len(identities))]
        base = ENGINES[engine]
        params = params if params is not None else base.default_params()
        self.collusion = Collusion(self.honest, sorted(self.byzantine), seed, collusion_split)
        self.nodes = []
        executions = Executions()  # a block is executed once, whichever replicas check it
        for i, identity in enumerate(identities):
            chain = Chain(alliance.genesis, store_path if i == store_node else None, executions)
            args = (i, identity, chain, peers, params, schedule, node_rngs[i], self._committed)
            if i in self.byzantine:
                self.nodes.append(BEHAVIOURS[(engine, self.byzantine[i])](*args, collusion=self.collusion))
            else:
                self.nodes.append(base(*args))
        self._timer_gen: dict[tuple[int, str], int] = {}
        self.commits: dict[int, dict[int, str]] = {}
        self.first_commit_ms: dict[int, float] = {}
        self.all_commit_ms: dict[int, float] = {}
        self.proposed_ms: dict[int, float] = {}
        self.tx_submitted: dict[str, float] = {}
        self.tx_final: dict[str, float] = {}
        for i in range(len(self.nodes)):
            self.clock.schedule(0.0, self._start, i)
        self.crashes = tuple(crashes)
        for crash in crashes:
            self.clock.schedule(crash.at_ms, self._crash, crash.node)
            if crash.restart_ms is not None:
                self.clock.schedule(crash.restart_ms, self._restart, crash.node)
        for window in network.partitions:  # peers that reconnect exchange their pending pools
            self.clock.schedule(window.end_ms, self._sync_mempools)
        self.client_resend_ms = client_resend_ms
        self.mempool_sync_ms = mempool_sync_ms
        self.tx_rejected: dict[str, str] = {}  # tx id -> why its client gave up on it
        self.client_resends = 0
        if network.can_lose:  # a lossy hop can leave a hole in any flood: anti-entropy fills it
            self.clock.schedule(mempool_sync_ms, self._anti_entropy)

    # --- carrying out actions ---------------------------------------------------------------

    def _apply(self, node: int, actions: list) -> None:
        now = self.clock.now
        for action in actions:
            if isinstance(action, Send):
                arrival = self.network.route(node, action.dst, action.msg.size, now)
                if arrival is not None:
                    self.clock.schedule(arrival, self._receive, action.dst, action.msg)
            elif isinstance(action, Broadcast):
                self.clock.schedule(now, self.gossip.publish, node, action.msg.msg_id, action.msg,
                                    action.msg.size, "consensus")
            elif isinstance(action, SetTimer):
                key = (node, action.name)
                gen = self._timer_gen[key] = self._timer_gen.get(key, 0) + 1
                self.clock.schedule(now + action.delay_ms, self._fire, node, action.name, action.data, gen)
            else:
                raise TypeError(f"unknown action {action!r}")

    def _start(self, node: int) -> None:
        if node not in self.network.down:
            self._apply(node, self.nodes[node].start(self.clock.now))

    def _receive(self, node: int, msg: Any) -> None:
        if node in self.network.down:
            return
        if getattr(msg, "gossiped", False):  # enters the flood at its first honest receiver
            self.gossip.publish(node, msg.msg_id, msg, msg.size, "consensus")
        else:
            self._apply(node, self.nodes[node].on_message(msg, self.clock.now))

    def _deliver(self, node: int, message_id: str, payload: Any, now: float) -> bool:
        if isinstance(payload, SignedTx):
            try:
                self.nodes[node].chain.mempool.admit(payload, now)
            except Rejected:
                return False
            return True
        self._apply(node, self.nodes[node].on_message(payload, now))
        return self.nodes[node].relays(payload)

    def _fire(self, node: int, name: str, data: tuple, gen: int) -> None:
        if node in self.network.down or self._timer_gen.get((node, name)) != gen:
            return
        self._apply(node, self.nodes[node].on_timer(name, data, self.clock.now))

    def _crash(self, node: int) -> None:
        self.network.down.add(node)

    def _restart(self, node: int) -> None:
        self.network.down.discard(node)
        for key in [k for k in self._timer_gen if k[0] == node]:
            self._timer_gen[key] += 1  # timers set before the crash died with the process
        self._apply(node, self.nodes[node].on_restart(self.clock.now))
        self._sync_mempools()

    def _sync_mempools(self, seen_by_ms: float | None = None) -> None:
        """Every live node re-announces its pending transactions: a flood cut by a partition or a
        crash would otherwise leave them stranded on the nodes that hold them."""
        for node in range(len(self.nodes)):
            if node in self.network.down or node in self.byzantine:
                continue
            for stx in self.nodes[node].chain.mempool.pending(seen_by_ms):
                self.gossip.reannounce(node, "tx:" + stx.tx_id, stx, len(stx.encoded))

    def _anti_entropy(self) -> None:
        """On a lossy network, every `mempool_sync_ms` each node offers its neighbours what it has
        held pending that long (as a mempool reactor does); a reliable network never needs it."""
        self._sync_mempools(self.clock.now - self.mempool_sync_ms)
        self.clock.schedule(self.clock.now + self.mempool_sync_ms, self._anti_entropy)

    def _committed(self, node: int, block: Block, now: float) -> None:
        h = block.height
        self.commits.setdefault(h, {})[node] = block.hash
        if node in self.honest:
            self.first_commit_ms.setdefault(h, now)
            self.proposed_ms.setdefault(h, block.header.time_ms)
            if all(n in self.commits[h] for n in self.honest):
                self.all_commit_ms.setdefault(h, now)
            for entry in block.entries:
                self.tx_final.setdefault(entry.tx.tx_id, now)

    # --- driving ----------------------------------------------------------------------------

    def submit(self, tx: SignedTx, client: str, entry_node: int, at_ms: float,
               deadline_ms: float | None = None) -> None:
        """A client (e.g. a DNO) sends `tx` to its entry validator at `at_ms`; it then floods. The
        client keeps it until it is committed or `deadline_ms` (e.g. its hour's gate) has passed."""
        self.tx_submitted.setdefault(tx.tx_id, at_ms)
        arrival = at_ms + self.network.client_latency(client)
        self.clock.schedule(arrival, self._client_send, tx, client, entry_node, 0)
        self.clock.schedule(arrival + self.client_resend_ms, self._client_check, tx, client, entry_node, deadline_ms)

    def _client_send(self, tx: SignedTx, client: str, node: int, tried: int, attempt: int = 0) -> None:
        """Hand `tx` to `node`; if it is down the client times out and tries the next validator,
        as a real client with a list of endpoints does (each at most once per attempt)."""
        if node in self.network.down:
            if tried + 1 < len(self.nodes):
                retry = self.clock.now + self.network.client_latency(client)
                self.clock.schedule(retry, self._client_send, tx, client, (node + 1) % len(self.nodes), tried + 1,
                                    attempt)
            return
        problem = self.nodes[node].chain.mempool.problem(tx)
        if problem not in (None, "duplicate_tx") and tx.tx_id not in self.tx_final:
            self.tx_rejected.setdefault(tx.tx_id, problem)  # the validator's answer: the client stops
        # a re-send is a new message, so validators that dropped the first copy take this one
        message_id = "tx:" + tx.tx_id + (f":{attempt}" if attempt else "")
        self.gossip.publish(node, message_id, tx, len(tx.encoded), "tx")

    def _client_check(self, tx: SignedTx, client: str, node: int, deadline_ms: float | None) -> None:
        """The client asks its validator about `tx` every `client_resend_ms`: committed or refused,
        it stops; past its deadline it gives up; otherwise, unless the validator holds it
        pending (its pool spreads it), it sends it again. A reliable run never re-sends."""
        now = self.clock.now
        if tx.tx_id in self.tx_final or tx.tx_id in self.tx_rejected:
            return
        if deadline_ms is not None and now >= deadline_ms:
            return
        if node in self.network.down or tx.tx_id not in self.nodes[node].chain.mempool:
            self.client_resends += 1
            self.clock.schedule(now + self.network.client_latency(client), self._client_send, tx, client, node, 0,
                                self.client_resends)
        self.clock.schedule(now + self.client_resend_ms, self._client_check, tx, client, node, deadline_ms)

    def honest_height(self) -> int:
        return min(self.nodes[i].chain.height for i in self.honest)

    def run(self, until_ms: float | None = None, height: int | None = None, max_events: int | None = None) -> None:
        """Advance the clock until `until_ms`, or until every honest node has committed `height`."""
        stop = (lambda: self.honest_height() >= height) if height is not None else None
        self.clock.run(until_ms=until_ms, stop=stop, max_events=max_events)

    def conflicts(self) -> list[int]:
        """Heights at which honest nodes committed different blocks: a safety violation."""
        return sorted(h for h, by_node in self.commits.items()
                      if len({b for n, b in by_node.items() if n in self.honest}) > 1)

    def metrics(self) -> dict[str, float]:
        blocks = max(1, max(self.commits, default=0))
        commit_lat = [self.first_commit_ms[h] - self.proposed_ms[h] for h in self.first_commit_ms]
        finality = [self.tx_final[t] - self.tx_submitted[t] for t in self.tx_final if t in self.tx_submitted]

        def pct(values: list[float], q: float) -> float:
            return float(np.percentile(values, q)) if values else float("nan")

        return {
            "blocks": float(self.nodes[self.store_node].chain.record_tip.height),  # the run's ledger
            "messages": float(self.network.messages),
            "bytes": float(self.network.bytes),
            "messages_per_block": self.network.messages / blocks,
            "tx_propagation_p50_ms": self.gossip.propagation_ms(50, "tx"),
            "tx_propagation_p95_ms": self.gossip.propagation_ms(95, "tx"),
            "consensus_propagation_p95_ms": self.gossip.propagation_ms(95, "consensus"),
            "block_commit_ms_mean": float(np.mean(commit_lat)) if commit_lat else float("nan"),
            "finality_p50_ms": pct(finality, 50),
            "finality_p95_ms": pct(finality, 95),
            **ENGINES[self.engine].cluster_metrics(self),
        }

    def uptime_ms(self, node: int) -> float:
        """Simulated ms `node` has been up since the start, by the crash schedule."""
        now = self.clock.now
        down = sum(max(0.0, min(now, c.restart_ms if c.restart_ms is not None else now) - c.at_ms)
                   for c in self.crashes if c.node == node and c.at_ms < now)
        return now - down

    def close(self) -> None:
        for node in self.nodes:
            node.chain.close()
