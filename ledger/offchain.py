"""Off-chain messages among participants over the validators' network (coordination stages).

A participant reaches the network through its entry validator, as its transactions do; a message
travels client -> entry validator -> fastest path -> recipient's entry validator -> recipient.
The channel uses its own copy of the chain's seeded network (same graph, same link latencies) so
its traffic is counted apart from consensus and never perturbs the chain's random draws. Each
`exchange` is one synchronous round: it ends when its last message has arrived; a message lost or
cut off is sent again after `retry_ms`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ledger.canonical import canonical_bytes
from ledger.network import Network, NetworkParams

MAX_TRIES = 20


class CoordinationFailed(RuntimeError):
    """A message could not be delivered: the participants could not reach an agreement."""


class OffChainChannel:
    def __init__(self, params: NetworkParams, seed: int, entry: Mapping[str, int], start_ms: float = 0.0,
                 retry_ms: float = 500.0) -> None:
        self._params, self._seed = params, seed
        self._network: Network | None = None  # built on first use: most stages never talk
        self.entry = dict(entry)
        self.start_ms = self.now_ms = start_ms
        self.retry_ms = retry_ms
        self.rounds = 0
        self.client_messages = 0
        self.client_bytes = 0

    def exchange(self, messages: Sequence[tuple[str, str, dict]]) -> None:
        """Deliver one round of (sender, recipient, payload) messages; advance the clock."""
        if not messages:
            return
        end = self.now_ms
        for sender, recipient, payload in messages:
            end = max(end, self._deliver(sender, recipient, len(canonical_bytes(payload))))
        self.now_ms = end
        self.rounds += 1

    @property
    def network(self) -> Network:
        if self._network is None:
            self._network = Network(self._params, self._seed)
        return self._network

    def _deliver(self, sender: str, recipient: str, size: int) -> float:
        net = self.network
        up, down = net.client_latency(sender), net.client_latency(recipient)
        self.client_messages += 2  # participant to its validator, and validator to participant
        self.client_bytes += 2 * size
        at = self.now_ms
        for _ in range(MAX_TRIES):
            arrival = net.route(self.entry[sender], self.entry[recipient], size, at + up)
            if arrival is not None:
                return arrival + down
            at += self.retry_ms
        raise CoordinationFailed(f"{sender} could not reach {recipient} over the validator network")

    def metrics(self) -> dict[str, float]:
        """Messages (link hops plus client links), bytes, rounds and simulated time of the stage."""
        hops, hop_bytes = (self._network.messages, self._network.bytes) if self._network else (0, 0)
        return {"messages": hops + self.client_messages, "bytes": hop_bytes + self.client_bytes,
                "iterations": self.rounds, "time_ms": self.now_ms - self.start_ms}
