"""The interface every consensus engine implements: a deterministic state machine per node.

A node never touches the clock or the network itself. It is stepped by `start`, `on_message`,
`on_timer` and `on_restart`, and answers with actions (send, broadcast, set a timer) that the
cluster driver carries out on the simulated clock. That keeps engines testable message by
message, as etcd/raft does, and makes a run a pure function of its seed.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ledger.block import Block
from ledger.chain import Chain
from ledger.identity import Identity


@dataclass(frozen=True)
class Send:
    dst: int
    msg: Any


@dataclass(frozen=True)
class Broadcast:
    """Flood `msg` to every validator through the gossip layer (including the sender itself)."""

    msg: Any


@dataclass(frozen=True)
class SetTimer:
    """Fire `on_timer(name, data)` after `delay_ms`; a timer set again under its name replaces it."""

    delay_ms: float
    name: str
    data: tuple = ()


Action = Send | Broadcast | SetTimer


MAX_TIMEOUT_MS = 3_600_000.0  # an engine's timeouts and intervals stay within an hour of simulated time


class EngineParams(BaseModel):
    """What every engine's parameters share; each engine adds its own timeouts (finite, strictly
    typed, each at most MAX_TIMEOUT_MS)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)
    max_block_txs: int | None = Field(None, ge=1, le=1_000_000, description="cap on user transactions per block; [A]")

    def validator_problem(self, n_validators: int) -> tuple[str, str] | None:
        """(field, message) if these parameters do not fit `n_validators` validators, else None."""
        return None


CommitHook = Callable[[int, Block, float], None]


@dataclass(frozen=True)
class BlockSchedule:
    """When block h is due: `first_ms + (h - 1) * interval_ms` (a market run aligns it to gate closures)."""

    first_ms: float = 0.0
    interval_ms: float = 1000.0

    def due(self, height: int) -> float:
        return self.first_ms + (height - 1) * self.interval_ms


class ConsensusNode(ABC):
    """One validator's consensus state machine over its own chain replica."""

    engine: ClassVar[str]
    params_model: ClassVar[type]

    @classmethod
    def default_params(cls) -> Any:
        return cls.params_model()

    def __init__(self, node_id: int, identity: Identity, chain: Chain, peers: list[str], params: Any,
                 schedule: BlockSchedule, rng: np.random.Generator, on_commit: CommitHook):
        self.id = node_id
        self.identity = identity
        self.chain = chain
        self.peers = peers  # validator public keys by node id
        self.index = {key: i for i, key in enumerate(peers)}
        self.params = params
        self.schedule = schedule
        self.rng = rng
        self.on_commit = on_commit

    @property
    def key(self) -> str:
        return self.identity.public_hex

    @abstractmethod
    def start(self, now: float) -> list[Action]: ...

    @abstractmethod
    def on_message(self, msg: Any, now: float) -> list[Action]: ...

    @abstractmethod
    def on_timer(self, name: str, data: tuple, now: float) -> list[Action]: ...

    def on_restart(self, now: float) -> list[Action]:
        """After a crash: drop volatile state (engine-specific) and start again."""
        return self.start(now)

    def relays(self, msg: Any) -> bool:
        """Whether this node forwards a flooded message (honest nodes do)."""
        return True

    def fault_weight(self) -> float:
        """What this validator weighs in the engine's fault bound: its voting power by default."""
        return self.chain.genesis.validators.powers[self.key]

    @classmethod
    def cluster_metrics(cls, cluster: Any) -> dict[str, float]:
        """Figures only this engine has, added to `Cluster.metrics` (none by default)."""
        return {}


ENGINES: dict[str, type[ConsensusNode]] = {}


def register_engine(name: str) -> Callable[[type[ConsensusNode]], type[ConsensusNode]]:
    def register(cls: type[ConsensusNode]) -> type[ConsensusNode]:
        cls.engine = name
        ENGINES[name] = cls
        return cls
    return register
