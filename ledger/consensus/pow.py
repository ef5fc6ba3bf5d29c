"""Proof of work (Nakamoto consensus) as a stochastic model with real seals.

Mining is simulated, not performed: each validator draws the time to its next block from an
exponential distribution with rate (its share of the hash rate) / (mean block interval), and draws
again whenever its best tip changes (memorylessness makes the redraw exact). Independent
exponentials make block times exponential in the total hash rate and the winner proportional to
its hash share. The winner builds a block on its best tip from its mempool, searches a real nonce
so the header's SHA-256 meets the genesis target (`ledger/proof_of_work.py`), and floods it over
the validator graph, so blocks found close together fork.

Each node keeps a tree of the valid blocks above its last final one, each with the state it leads
to, and follows the longest branch (equal targets: most blocks; ties: the first seen). A block is
final, and committed to the node's `Chain` replica and store, once it has `confirmations` blocks
(itself included) on the best branch. A node never reverts a final block: a branch forking below
it is refused, as Bitcoin Cash's rolling checkpoints do; if a partition lets two sides finalise
different blocks, the cluster's conflict check reports it. A block whose parent a node lacks (it
was down, or cut off) makes it ask the block's miner for the missing ancestors. A restarted node,
and one that has heard no peer's block for a few block intervals (a stale tip), asks every peer
for its best tip, naming its own, and whichever of the two is behind gets the other's branch.
While a block higher than its tip waits for its ancestors, a node calls nothing final: a longer
branch is on its way, and its own branch, however deep, may be a fork.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Annotated, Any

import numpy as np
from pydantic import Field, Strict, model_validator

from ledger.block import Block, BlockHeader
from ledger.chain import build_block, execution_problem, extension_problem
from ledger.consensus.base import MAX_TIMEOUT_MS, Action, Broadcast, ConsensusNode, EngineParams, Send, SetTimer, register_engine
from ledger.proof_of_work import search_nonce, work_problem

DEFAULT_HASH_RATE_HPS = 1e12  # one ASIC-class miner per validator


class PowParams(EngineParams):
    mean_block_interval_ms: float = Field(
        500.0, gt=0, le=MAX_TIMEOUT_MS, description="mean time between blocks at the full hash rate, simulated ms; [A] "
        "many blocks per market hour (hour_ms 10 000)")
    confirmations: int = Field(
        6, ge=1, le=1000, description="k: a block is final with k blocks (itself included) on the best chain; [L] Bitcoin's 6")
    target_bits: int = Field(
        8, ge=0, le=24, description="leading zero bits of SHA-256(header) a nonce must reach (4 hex zeros = 16); "
        "[A] low, so a search costs about 2**bits hashes in Python")
    hash_rates_hps: Annotated[tuple[Annotated[float, Field(ge=0, le=1e21)], ...], Strict(False)] | None = Field(
        None, description="hash rate of validator i, hashes/s, at most 1e21: its win share, and its energy with "
        f"joules_per_hash; [A] {DEFAULT_HASH_RATE_HPS:g} each")
    joules_per_hash: float | None = Field(
        None, ge=0, le=1, description="energy per hash, J, at most 1 (about 3e-11 for a 30 J/TH ASIC); unset: no energy figure; [A]")
    sync_retry_ms: float = Field(1000.0, gt=0, le=MAX_TIMEOUT_MS, description="ask again for a missing parent after this long, ms; [A]")
    max_sync_blocks: int = Field(64, ge=1, le=10_000, description="blocks per reply to a request for missing ancestors; [A]")
    stale_tip_intervals: float = Field(
        3.0, gt=0, le=100, description="ask every peer for its best tip once no peer's block has joined this node's "
        "tree for this many mean block intervals, and again after each such spell; [L] Bitcoin Core's stale-tip check, "
        "3 block intervals")

    @model_validator(mode="after")
    def _someone_mines(self) -> "PowParams":
        if self.hash_rates_hps is not None and not sum(self.hash_rates_hps) > 0:
            raise ValueError("hash_rates_hps: at least one validator needs a positive hash rate")
        return self

    def validator_problem(self, n_validators: int) -> tuple[str, str] | None:
        if self.hash_rates_hps is not None and len(self.hash_rates_hps) != n_validators:
            return "hash_rates_hps", f"{len(self.hash_rates_hps)} rates for {n_validators} validators"
        return None

    def rates(self, n_validators: int) -> tuple[float, ...]:
        return self.hash_rates_hps or (DEFAULT_HASH_RATE_HPS,) * n_validators


@dataclass(frozen=True)
class NewBlock:
    """A mined block, flooded to every validator."""

    block: Block

    @property
    def msg_id(self) -> str:
        return "B:" + self.block.hash

    @cached_property
    def size(self) -> int:
        return len(self.block.header.encoded) + sum(len(e.encoded) for e in self.block.entries) + 32


@dataclass(frozen=True)
class GetBlocks:
    """Ask for `block_hash` and its ancestors down to the requester's last final height. None asks
    for the responder's best tip, and names the requester's (`tip` at `tip_height`), so that
    whichever of the two is behind learns the other's branch."""

    block_hash: str | None
    requester: int
    above: int
    tip: str | None = None
    tip_height: int = 0

    @property
    def size(self) -> int:
        return 96 if self.tip is None else 136  # a tip request also carries a hash and a height


@dataclass(frozen=True)
class Blocks:
    blocks: tuple[Block, ...]  # oldest first

    @cached_property
    def size(self) -> int:
        return sum(NewBlock(b).size for b in self.blocks) + 32


@dataclass
class Tentative:
    """A block of the tree above the last final one (or that final block), with its result."""

    block: Block
    state: dict
    events: list[dict]


@register_engine("pow")
class PowNode(ConsensusNode):
    params_model = PowParams

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        genesis = self.chain.genesis
        if genesis.pow_target_bits != self.params.target_bits:
            raise ValueError(f"the genesis target is {genesis.pow_target_bits} bits, the engine's "
                             f"{self.params.target_bits}: create the alliance with pow_target_bits")
        problem = self.params.validator_problem(len(self.peers))
        if problem is not None:
            raise ValueError(": ".join(problem))
        rates = self.params.rates(len(self.peers))
        self.hash_rate = rates[self.id]
        self.share = self.hash_rate / sum(rates)
        root = self.chain.blocks[-1]
        self.live: dict[str, Tentative] = {root.block.hash: Tentative(root.block, self.chain.state, root.events)}
        self.best = root.block.hash
        self.connected: dict[str, Block] = {}  # every block that joined the tree (kept to serve peers)
        self.orphans: dict[str, Block] = {}  # sealed blocks whose parent has not arrived
        self.waiting: dict[str, list[str]] = {}  # missing parent -> orphans that need it
        self.asked: dict[str, float] = {}
        self.invalid: set[str] = set()
        self.stale: set[str] = set()  # blocks refused for forking below a final block
        self.mined: list[str] = []

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self, now: float) -> list[Action]:
        return self._redraw() + self._watch_tip()

    def on_restart(self, now: float) -> list[Action]:
        """The block tree is on disk and survives; the search in progress died with the process.
        Ask every peer for its best tip, so as not to mine long on a branch the others left."""
        self.asked.clear()
        return self._ask_tips() + self._redraw()

    def relays(self, msg: Any) -> bool:
        return isinstance(msg, NewBlock) and (msg.block.hash in self.connected or msg.block.hash in self.orphans)

    def fault_weight(self) -> float:
        return self.hash_rate

    def on_timer(self, name: str, data: tuple, now: float) -> list[Action]:
        if name == "mine":
            return self._mine(now)
        if name == "stale_tip":
            return self._ask_tips()
        raise ValueError(f"unknown timer {name!r}")

    def on_message(self, msg: Any, now: float) -> list[Action]:
        before, known = self.best, len(self.connected)
        if isinstance(msg, NewBlock):
            actions = self._receive(msg.block, now)
        elif isinstance(msg, Blocks):
            actions = [a for b in msg.blocks for a in self._receive(b, now)]
        elif isinstance(msg, GetBlocks):
            return self._serve(msg, now)
        else:
            raise TypeError(f"unexpected message {msg!r}")
        heard = self._watch_tip() if len(self.connected) > known else []  # a peer's block joined the tree
        return actions + heard + self._moved(before, now)

    # --- the stale-tip check --------------------------------------------------------------------

    def _watch_tip(self) -> list[Action]:
        """(Re)arm the stale-tip check: it fires once no peer's block has joined the tree for
        `stale_tip_intervals` mean block intervals."""
        return [SetTimer(self.params.stale_tip_intervals * self.params.mean_block_interval_ms, "stale_tip")]

    def _ask_tips(self) -> list[Action]:
        """Ask every peer for its best tip, and again after each spell in which no peer's block
        arrives. A node whose requests were lost (it restarted inside a partition, or a reply was
        dropped), or whose partition healed with no block crossing since, hears of the others'
        longer branch within a spell rather than only with their next block, which may come
        after it has buried a fork of its own k deep and made it final. Bitcoin Core's stale-tip
        check does the same: a tip that has not moved for three block intervals makes it sync
        headers from one more peer."""
        tip = self.live[self.best].block
        ask = GetBlocks(None, self.id, self.chain.height, tip.hash, tip.height)
        return [Send(p, ask) for p in range(len(self.peers)) if p != self.id] + self._watch_tip()

    # --- mining ---------------------------------------------------------------------------------

    def _redraw(self) -> list[Action]:
        """Time to this node's next block: exponential with its share of the total rate."""
        if self.share <= 0:
            return []
        return [SetTimer(float(self.rng.exponential(self.params.mean_block_interval_ms / self.share)), "mine")]

    def _mine(self, now: float) -> list[Action]:
        before = self.best
        tip = self.live[self.best]
        parent = tip.block.header
        entries = self.chain.mempool.select(self.params.max_block_txs, state=tip.state)
        block, state, events = build_block(self.chain.genesis, tip.state, parent, self.identity, 0,
                                           max(now, parent.time_ms), entries)
        block = Block(search_nonce(block.header, self.params.target_bits)[0], block.entries)
        self.mined.append(block.hash)
        self._insert(block, state, events)
        return [Broadcast(NewBlock(block))] + self._moved(before, now)

    # --- receiving blocks -----------------------------------------------------------------------

    def _seal_problem(self, header: BlockHeader, now: float) -> str | None:
        """What a header alone shows wrong: checked before anything is executed or relayed."""
        genesis = self.chain.genesis
        if header.chain_id != genesis.chain_id or header.height < 1:
            return "not a block of this chain"
        if header.proposer not in self.index:
            return "miner is not a validator"
        if header.time_ms > now:
            return "time-stamped after its arrival"
        return work_problem(header, genesis)

    def _seen(self, h: str) -> bool:
        return h in self.connected or h in self.orphans or h in self.invalid or h in self.stale

    def _receive(self, block: Block, now: float) -> list[Action]:
        h = block.hash
        if self._seen(h):
            return []
        if self._seal_problem(block.header, now) is not None:
            self.invalid.add(h)
            return []
        parent = block.header.prev_hash
        if parent in self.live:
            self._connect(block)
            return []
        if parent in self.connected or parent in self.stale or block.height <= self.chain.height:
            self.stale.add(h)  # a branch off final history: never taken
            self.stale.update(self._drop_waiting(h))
            return []
        self.orphans[h] = block
        self.waiting.setdefault(parent, []).append(h)
        missing = parent
        while missing in self.orphans:
            missing = self.orphans[missing].header.prev_hash
        return self._fetch(missing, self.index[block.header.proposer], now)

    def _fetch(self, block_hash: str, peer: int, now: float) -> list[Action]:
        """Ask `peer` for `block_hash` and its ancestors, at most once per `sync_retry_ms`."""
        if now - self.asked.get(block_hash, -np.inf) < self.params.sync_retry_ms:
            return []
        self.asked[block_hash] = now
        return [Send(peer, GetBlocks(block_hash, self.id, self.chain.height))]

    def _connect(self, block: Block) -> None:
        """Execute `block` on its parent's state and add it to the tree, then any orphans it frees."""
        queue = [block]
        while queue:
            b = queue.pop(0)
            parent = self.live.get(b.header.prev_hash)
            problem = extension_problem(self.chain.genesis, parent.block.header, b) if parent else "parent pruned"
            executed = None
            if problem is None:
                problem, executed = execution_problem(self.chain.genesis, parent.state, b)
            if problem is not None:
                self.invalid.add(b.hash)
                self.invalid.update(self._drop_waiting(b.hash))
                continue
            self._insert(b, *executed)
            queue += [self.orphans.pop(c) for c in self.waiting.pop(b.hash, [])]

    def _drop_waiting(self, parent: str) -> list[str]:
        dropped, stack = [], [parent]
        while stack:
            for child in self.waiting.pop(stack.pop(), []):
                self.orphans.pop(child, None)
                dropped.append(child)
                stack.append(child)
        return dropped

    def _insert(self, block: Block, state: dict, events: list[dict]) -> None:
        self.connected[block.hash] = block
        self.live[block.hash] = Tentative(block, state, events)
        if block.height > self.live[self.best].block.height:  # longest wins; a tie keeps the first seen
            self.best = block.hash

    def _serve(self, m: GetBlocks, now: float) -> list[Action]:
        """The asked block and its ancestors down to the requester's final height: the one at that
        height shows the requester whether the branch forks below its final block. A tip request
        gets this node's tip only if it is higher than the requester's (a tie or a shorter branch
        changes nothing there); if the requester's is higher, this node asks for it instead."""
        if m.block_hash is None:
            height = self.live[self.best].block.height
            if m.tip_height > height and m.tip is not None and not self._seen(m.tip):
                return self._fetch(m.tip, m.requester, now)
            if height <= m.tip_height:
                return []
        out: list[Block] = []
        h = self.best if m.block_hash is None else m.block_hash
        while len(out) < self.params.max_sync_blocks and h in self.connected and self.connected[h].height >= m.above:
            out.append(self.connected[h])
            h = self.connected[h].header.prev_hash
        return [Send(m.requester, Blocks(tuple(reversed(out))))] if out else []

    # --- fork choice and finality ---------------------------------------------------------------

    def _moved(self, before: str, now: float) -> list[Action]:
        """After the best tip changed: commit what became final, prune, and restart the search."""
        if self.best == before:
            return []
        self._finalise(now)
        return self._redraw()

    def _finalise(self, now: float) -> None:
        """Commit the blocks k deep on the best branch, unless a sealed block higher than its tip
        is waiting for its ancestors: a longer branch exists that this node has not fetched yet (as
        a Bitcoin node whose best header is ahead of its tip is still syncing), and finalising its
        own branch now could be finalising a fork."""
        tip = self.live[self.best]
        final_height = tip.block.height - self.params.confirmations + 1
        if final_height <= self.chain.height or any(b.height > tip.block.height for b in self.orphans.values()):
            return
        branch = []
        while tip.block.height > self.chain.height:
            branch.append(tip)
            tip = self.live[tip.block.header.prev_hash]
        for t in reversed(branch):
            if t.block.height > final_height:
                break
            self.chain.commit(t.block, None, (t.state, t.events))
            self.on_commit(self.id, t.block, now)
        root = self.chain.tip.hash
        keep = {root: self.live[root]}
        for h, t in sorted(self.live.items(), key=lambda item: item[1].block.height):
            if t.block.header.prev_hash in keep:
                keep[h] = t
        self.live = keep
        for h in [h for h, b in self.orphans.items() if b.height <= self.chain.height]:
            if self.orphans.pop(h, None) is None:
                continue  # dropped already, as a descendant of an earlier one
            self.stale.add(h)  # their branch forks below a final block
            self.stale.update(self._drop_waiting(h))

    # --- measures -------------------------------------------------------------------------------

    @classmethod
    def cluster_metrics(cls, cluster: Any) -> dict[str, float]:
        """Orphan rate (mined blocks at final heights that the archival chain left out), the mean
        interval between final blocks, refused deep forks and, given joules_per_hash, the energy
        spent hashing while up (finality_* of the cluster is the confirmation latency)."""
        archival = cluster.nodes[cluster.store_node]
        final = {c.block.hash for c in archival.chain.blocks}
        height = archival.chain.height
        honest = [cluster.nodes[i] for i in cluster.honest]
        settled = [h for n in honest for h in n.mined if n.connected[h].height <= height]
        orphans = sum(1 for h in settled if h not in final)
        times = [c.block.header.time_ms for c in archival.chain.blocks[1:]]
        params = archival.params
        out = {
            "confirmations": float(params.confirmations),
            "blocks_mined": float(sum(len(n.mined) for n in honest)),
            "orphaned_blocks": float(orphans),
            "orphan_rate": orphans / len(settled) if settled else float("nan"),
            "block_interval_ms_mean": (times[-1] - times[0]) / (len(times) - 1) if len(times) > 1 else float("nan"),
            "stale_forks_refused": float(sum(len(n.stale) for n in honest)),
        }
        if params.joules_per_hash is not None:
            joules = params.joules_per_hash * sum(n.hash_rate * cluster.uptime_ms(n.id) / 1000.0 for n in cluster.nodes)
            out["hashing_energy_j"] = joules
            out["hashing_energy_j_per_block"] = joules / height if height else float("nan")
        return out
