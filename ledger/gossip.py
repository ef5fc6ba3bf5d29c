"""Gossip by flooding: each node relays a message to all its neighbours the first time it sees it.

The seen-set makes flooding terminate and counts duplicates; first-seen times give propagation
percentiles and, for the block proposer, a bid's upload time (§A.13 item 7).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ledger.clock import SimClock
from ledger.network import Network

# deliver(node, message_id, payload, now) -> relay further?
Deliver = Callable[[int, str, Any, float], bool]


class Gossip:
    def __init__(self, network: Network, clock: SimClock, deliver: Deliver):
        self.network = network
        self.clock = clock
        self.deliver = deliver
        self.seen: dict[int, dict[str, float]] = {n: {} for n in network.nodes}
        self.origin_time: dict[str, float] = {}
        self.category: dict[str, str] = {}
        self.delays_ms: dict[str, list[float]] = {}
        self.duplicates = 0

    def publish(self, origin: int, message_id: str, payload: Any, size: int, category: str = "tx") -> None:
        """`origin` has the message now: it takes it in and floods it."""
        self.origin_time.setdefault(message_id, self.clock.now)
        self.category.setdefault(message_id, category)
        self._receive(origin, None, message_id, payload, size)

    def _receive(self, node: int, sender: int | None, message_id: str, payload: Any, size: int) -> None:
        if node in self.network.down:
            return
        seen = self.seen[node]
        if message_id in seen:
            self.duplicates += 1
            return
        now = self.clock.now
        seen[message_id] = now
        if sender is not None:
            self.delays_ms.setdefault(self.category[message_id], []).append(now - self.origin_time[message_id])
        if not self.deliver(node, message_id, payload, now):
            return
        for peer in self.network.neighbours(node):
            if peer == sender:
                continue
            arrival = self.network.hop(node, peer, size, now)
            if arrival is not None:
                self.clock.schedule(arrival, self._receive, peer, node, message_id, payload, size)

    def reannounce(self, node: int, message_id: str, payload: Any, size: int) -> None:
        """Offer a message `node` already holds to all its neighbours again (mempool sync when a
        link or peer comes back); peers that have it drop it as a duplicate, the others flood it."""
        now = self.clock.now
        for peer in self.network.neighbours(node):
            arrival = self.network.hop(node, peer, size, now)
            if arrival is not None:
                self.clock.schedule(arrival, self._receive, peer, node, message_id, payload, size)

    def first_seen(self, node: int, message_id: str) -> float | None:
        return self.seen[node].get(message_id)

    def propagation_ms(self, q: float, category: str = "tx") -> float:
        """Percentile `q` (0-100) of origin-to-node delay over every node a message reached; NaN
        (null in summary.json) when nothing of `category` was flooded, e.g. Raft's consensus, whose
        messages go point to point."""
        delays = self.delays_ms.get(category, [])
        return float(np.percentile(delays, q)) if delays else float("nan")
