"""Tendermint-style BFT: propose, prevote, precommit with locks, rounds and timeouts.

Follows the algorithm of Buchman, Kwon and Milosevic, "The latest gossip on BFT consensus"
(2018), with voting power in place of counts: a quorum is more than two thirds of the total
power, so with n > 3f honest power two conflicting quorums cannot both form (safety), and after
the network heals the growing timeouts let a round complete (liveness). Each "upon" rule of the
paper is one guarded branch of `_progress`, re-checked after every state change. A node that falls
behind (crash, partition) notices messages of a later height, asks their author for the committed
blocks with their certificates, and checks both before applying them (block sync).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from pydantic import Field

from ledger.block import Block, CommitCertificate, Vote
from ledger.canonical import canonical_bytes
from ledger.contracts import Evidence
from ledger.consensus.base import (MAX_TIMEOUT_MS, Action, Broadcast, ConsensusNode, EngineParams, Send, SetTimer,
                                   register_engine)
from ledger.identity import verify_signature

PROPOSAL_DOMAIN = "storagemarket/proposal/v1"
PROPOSE, PREVOTE, PRECOMMIT = "propose", "prevote", "precommit"
VOTE_SIZE = 260  # bytes of a vote on the wire (type, height, round, hash, key, signature)


class BftParams(EngineParams):
    timeout_propose_ms: float = Field(1000.0, gt=0, le=MAX_TIMEOUT_MS, description="wait for a proposal in round 0, ms; [L] Tendermint")
    timeout_vote_ms: float = Field(500.0, gt=0, le=MAX_TIMEOUT_MS, description="wait after any 2/3 prevotes or precommits, ms; [L]")
    timeout_delta_ms: float = Field(500.0, ge=0, le=MAX_TIMEOUT_MS, description="added per round, so rounds outlast delays, ms; [L]")
    sync_interval_ms: float = Field(250.0, gt=0, le=MAX_TIMEOUT_MS, description="at most one block-sync request per peer this often; [A]")
    max_future_ms: float = Field(500.0, ge=0, le=MAX_TIMEOUT_MS, description="refuse proposals time-stamped further ahead, ms; [A]")
    resend_ms: float = Field(1000.0, gt=0, le=MAX_TIMEOUT_MS, description="re-send own proposal and votes while a round lasts, ms; [A]")


def proposal_signing_bytes(chain_id: str, height: int, round_: int, block_hash: str, valid_round: int) -> bytes:
    return canonical_bytes({"domain": PROPOSAL_DOMAIN, "chain_id": chain_id, "height": height,
                            "round": round_, "block_hash": block_hash, "valid_round": valid_round})


@dataclass(frozen=True)
class Proposal:
    """A signed block proposal; `gossiped`: an honest node that receives it directly floods it on,
    so what one correct node has seen every correct node sees (the paper's gossip assumption)."""

    gossiped = True
    height: int
    round: int
    block: Block
    valid_round: int
    proposer: str
    signature: bytes
    # the prevotes that justify re-proposing a block of `valid_round` (its proof of lock): a node
    # that missed that round's votes could otherwise never accept the block, nor any other
    pol: tuple[Vote, ...] = ()

    @property
    def msg_id(self) -> str:
        return f"P:{self.height}:{self.round}:{self.block.hash}:{self.proposer}"

    @cached_property
    def size(self) -> int:
        return (len(self.block.header.encoded) + sum(len(e.encoded) for e in self.block.entries) + 200
                + VOTE_SIZE * len(self.pol))

    def signature_valid(self, chain_id: str) -> bool:
        message = proposal_signing_bytes(chain_id, self.height, self.round, self.block.hash, self.valid_round)
        return verify_signature(bytes.fromhex(self.proposer), self.signature, message)


@dataclass(frozen=True)
class VoteMessage:
    gossiped = True
    vote: Vote

    @property
    def msg_id(self) -> str:
        v = self.vote
        return f"V:{v.vote_type}:{v.height}:{v.round}:{v.block_hash}:{v.validator}"

    size = VOTE_SIZE


@dataclass(frozen=True)
class SyncRequest:
    from_height: int
    requester: int
    size = 64


@dataclass(frozen=True)
class SyncResponse:
    blocks: tuple[tuple[Block, CommitCertificate], ...]

    @cached_property
    def size(self) -> int:
        return sum(len(b.header.encoded) + len(c.encoded) + sum(len(e.encoded) for e in b.entries)
                   for b, c in self.blocks) + 32


def proposer_sequence(powers: dict[str, int], steps: int) -> list[str]:
    """Tendermint's weighted round robin: each step every validator gains its power, the richest
    proposes and pays the total; ties go to the smaller key. Deterministic and fair by power."""
    keys = sorted(powers)
    total = sum(powers.values())
    priority = {k: 0 for k in keys}
    smaller_first = {k: [-ord(c) for c in k] for k in keys}
    order = []
    for _ in range(steps):
        for k in keys:
            priority[k] += powers[k]
        chosen = max(keys, key=lambda k: (priority[k], smaller_first[k]))
        priority[chosen] -= total
        order.append(chosen)
    return order


@register_engine("bft")
class BftNode(ConsensusNode):
    params_model = BftParams

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.validators = self.chain.genesis.validators
        self.total = self.validators.total_power
        self._sequence: list[str] = []
        self.evidence: list[tuple[Vote, Vote]] = []  # conflicting votes seen (equivocation)
        self._last_sync: dict[int, float] = {}
        self._reset_height()
        self.round = 0
        self.step = PROPOSE

    # --- bookkeeping --------------------------------------------------------------------------

    def _reset_height(self) -> None:
        self.height = self.chain.height + 1
        self.locked: Block | None = None
        self.locked_round = -1
        self.valid: Block | None = None
        self.valid_round = -1
        self.proposals: dict[tuple[int, int], Proposal] = getattr(self, "proposals", {})
        self.votes: dict[tuple[str, int, int], dict[str, dict[str | None, Vote]]] = getattr(self, "votes", {})
        self.done: set[tuple] = set()
        self._validity: dict[str, bool] = {}
        for store in (self.proposals, self.votes):
            for key in [k for k in store if k[-2] < self.height]:
                del store[key]

    def proposer(self, height: int, round_: int) -> str:
        step = height - 1 + round_
        if step >= len(self._sequence):
            self._sequence = proposer_sequence(dict(self.validators.powers), max(step + 1, 2 * len(self._sequence), 64))
        return self._sequence[step]

    def _power(self, keys) -> int:
        return sum(self.validators.powers.get(k, 0) for k in keys)

    def _two_thirds(self, keys) -> bool:
        return 3 * self._power(keys) > 2 * self.total

    def _votes(self, vote_type: str, h: int, r: int) -> dict[str, dict[str | None, Vote]]:
        """validator -> {voted value -> vote}; more than one value means it equivocated."""
        return self.votes.get((vote_type, h, r), {})

    def _quorum_for(self, vote_type: str, h: int, r: int, block_hash: str | None) -> list[Vote]:
        chosen = [cast[block_hash] for cast in self._votes(vote_type, h, r).values() if block_hash in cast]
        return chosen if self._two_thirds(v.validator for v in chosen) else []

    def _valid_block(self, block: Block, now: float) -> bool:
        """Valid on our replica, and not time-stamped ahead of our clock: a proposer that could post-date
        a block could close gates early and shut honest bids out of an hour."""
        if block.header.time_ms > now + self.params.max_future_ms:
            return False
        if block.hash not in self._validity:
            self._validity[block.hash] = block.height == self.height and self.chain.problem(block) is None
        return self._validity[block.hash]

    def _timeout(self, base: float, round_: int) -> float:
        return base + round_ * self.params.timeout_delta_ms

    # --- outgoing messages (the Byzantine behaviours override these) --------------------------

    def cast(self, vote_type: str, block_hash: str | None) -> list[Action]:
        vote = Vote.cast(self.identity, vote_type, self.chain.genesis.chain_id, self.height, self.round, block_hash)
        return self._send_own(VoteMessage(vote))

    def make_proposal(self, now: float) -> list[Action]:
        block = self.valid if self.valid is not None else self._new_block(now, self.round)
        return self._send_own(self._sign_proposal(block, self.valid_round))

    def _send_own(self, msg: Any) -> list[Action]:
        """Flood one of our messages, and keep it to re-send: a flood has no retransmission, and the
        algorithm's liveness needs every message between correct nodes to arrive eventually."""
        self._own.append(msg)
        return [Broadcast(msg), SetTimer(self.params.resend_ms, "resend", (self.height, self.round))]

    def _new_block(self, now: float, round_: int) -> Block:
        entries = self.chain.mempool.select(self.params.max_block_txs)
        # conflicting votes seen go to the credit contract as evidence (on chains that keep credit)
        return self.chain.build(self.identity, round_, max(now, self.chain.tip.time_ms), entries,
                                Evidence(conflicts=tuple(self.evidence)))

    def _sign_proposal(self, block: Block, valid_round: int) -> Proposal:
        sig = self.identity.sign(proposal_signing_bytes(self.chain.genesis.chain_id, self.height, self.round,
                                                        block.hash, valid_round))
        pol = tuple(self._quorum_for(PREVOTE, self.height, valid_round, block.hash)) if valid_round >= 0 else ()
        return Proposal(self.height, self.round, block, valid_round, self.key, sig, pol)

    # --- the state machine ----------------------------------------------------------------------

    def start(self, now: float) -> list[Action]:
        self._reset_height()
        return self._start_round(0, now)

    def on_restart(self, now: float) -> list[Action]:
        """Step, locks and the votes already cast survive in the write-ahead log, as in Tendermint;
        only timers die. Starting the round afresh would let a node that prevoted nil before the
        crash prevote the block after it: an honest node equivocating."""
        h, r = self.height, self.round
        self.done -= {("prevote_timer", h, r), ("precommit_timer", h, r)}  # their timers died too
        actions = self._round_timer(now) if self.step == PROPOSE else []
        if getattr(self, "_own", None):  # absent if it was down from the start
            actions.append(SetTimer(self.params.resend_ms, "resend", (h, r)))
        return actions + self._progress(now)

    def _start_round(self, round_: int, now: float) -> list[Action]:
        self.round, self.step = round_, PROPOSE
        self._own: list[Any] = []
        return self._round_timer(now) + self._progress(now)

    def _round_timer(self, now: float) -> list[Action]:
        """The proposer's timer to propose when the block is due, everyone else's to give up on it."""
        h, r = self.height, self.round
        due = max(now, self.schedule.due(h))
        if self.proposer(h, r) == self.key:
            return [SetTimer(due - now, f"propose:{h}:{r}", (h, r))]
        wait = due - now + self._timeout(self.params.timeout_propose_ms, r)
        return [SetTimer(wait, f"timeout_propose:{h}:{r}", (h, r))]

    def on_timer(self, name: str, data: tuple, now: float) -> list[Action]:
        h, r = data
        if (h, r) != (self.height, self.round):
            return []
        kind = name.split(":")[0]
        if kind == "resend":
            peers = [p for p in range(len(self.peers)) if p != self.id]
            return [Send(p, m) for m in self._own for p in peers] + [SetTimer(self.params.resend_ms, name, data)]
        if kind == "propose" and self.step == PROPOSE:
            return self.make_proposal(now)
        if kind == "timeout_propose" and self.step == PROPOSE:
            self.step = PREVOTE
            return self.cast(PREVOTE, None) + self._progress(now)
        if kind == "timeout_prevote" and self.step == PREVOTE:
            self.step = PRECOMMIT
            return self.cast(PRECOMMIT, None) + self._progress(now)
        if kind == "timeout_precommit":
            return self._start_round(r + 1, now)
        return []

    def on_message(self, msg: Any, now: float) -> list[Action]:
        handler = self._handlers.get(type(msg))
        return handler(self, msg, now) if handler else []

    def _on_proposal(self, p: Proposal, now: float) -> list[Action]:
        key = (p.height, p.round)
        if p.height < self.height:
            return []
        if key in self.proposals or p.proposer != self.proposer(p.height, p.round):
            return []
        if p.block.height != p.height or not p.signature_valid(self.chain.genesis.chain_id):
            return []
        self.proposals[key] = p
        for vote in p.pol:  # counted like votes received directly (signatures checked there)
            if vote.vote_type == PREVOTE and vote.height == p.height and vote.round == p.valid_round:
                self._count_vote(vote)
        return self._maybe_sync(p.proposer, p.height, now) + self._progress(now)

    def _on_vote(self, m: VoteMessage, now: float) -> list[Action]:
        v = m.vote
        if v.height < self.height:
            return []
        if v.validator not in self.validators.powers or v.vote_type not in (PREVOTE, PRECOMMIT):
            return []
        if not self._count_vote(v):
            return []
        return self._maybe_sync(v.validator, v.height, now) + self._progress(now)

    def _count_vote(self, v: Vote) -> bool:
        """Record a validator's signed vote; False if already known or forged. Votes are counted per
        (validator, value): an equivocator's two votes each count once for their own value, which
        is what the quorum-intersection argument already allows for."""
        if v.validator not in self.validators.powers:
            return False
        cast = self.votes.setdefault((v.vote_type, v.height, v.round), {}).setdefault(v.validator, {})
        if v.block_hash in cast or not v.signature_valid():
            return False
        if cast:
            self.evidence.append((next(iter(cast.values())), v))
        cast[v.block_hash] = v
        return True

    def _progress(self, now: float) -> list[Action]:
        """Apply every rule whose guard holds until none does (the paper's "upon" clauses)."""
        out: list[Action] = []
        while True:
            step = self._rule(now)
            if step is None:
                return out
            out.extend(step)

    def _rule(self, now: float) -> list[Action] | None:
        h, r = self.height, self.round
        p = self.proposals.get((h, r))
        if self.step == PROPOSE and p is not None:
            v, vr = p.block, p.valid_round
            if vr == -1:  # line 22
                ok = self._valid_block(v, now) and (self.locked_round == -1 or self.locked.hash == v.hash)
                self.step = PREVOTE
                return self.cast(PREVOTE, v.hash if ok else None)
            if 0 <= vr < r and self._quorum_for(PREVOTE, h, vr, v.hash):  # line 28
                ok = self._valid_block(v, now) and (self.locked_round <= vr or self.locked.hash == v.hash)
                self.step = PREVOTE
                return self.cast(PREVOTE, v.hash if ok else None)
        if (self.step == PREVOTE and ("prevote_timer", h, r) not in self.done
                and self._two_thirds(self._votes(PREVOTE, h, r))):  # line 34
            self.done.add(("prevote_timer", h, r))
            return [SetTimer(self._timeout(self.params.timeout_vote_ms, r), f"timeout_prevote:{h}:{r}", (h, r))]
        if (self.step in (PREVOTE, PRECOMMIT) and p is not None and ("lock", h, r) not in self.done
                and self._quorum_for(PREVOTE, h, r, p.block.hash) and self._valid_block(p.block, now)):  # line 36
            self.done.add(("lock", h, r))
            self.valid, self.valid_round = p.block, r
            if self.step == PREVOTE:
                self.locked, self.locked_round, self.step = p.block, r, PRECOMMIT
                return self.cast(PRECOMMIT, p.block.hash)
            return []
        if self.step == PREVOTE and self._quorum_for(PREVOTE, h, r, None):  # line 44
            self.step = PRECOMMIT
            return self.cast(PRECOMMIT, None)
        if ("precommit_timer", h, r) not in self.done and self._two_thirds(self._votes(PRECOMMIT, h, r)):  # line 47
            self.done.add(("precommit_timer", h, r))
            return [SetTimer(self._timeout(self.params.timeout_vote_ms, r), f"timeout_precommit:{h}:{r}", (h, r))]
        for (ph, pr), prop in sorted(self.proposals.items()):  # line 49: decide
            if ph == h:
                quorum = self._quorum_for(PRECOMMIT, h, pr, prop.block.hash)
                if quorum and self._valid_block(prop.block, now):
                    return self._decide(prop.block, CommitCertificate.from_votes(quorum), now)
        for rr in sorted({k[2] for k in self.votes if k[1] == h and k[2] > r}):  # line 55: catch up a round
            senders = set(self._votes(PREVOTE, h, rr)) | set(self._votes(PRECOMMIT, h, rr))
            if 3 * self._power(senders) > self.total:
                return self._start_round(rr, now)
        return None

    def _decide(self, block: Block, certificate: CommitCertificate, now: float) -> list[Action]:
        self.chain.commit(block, certificate)
        self.on_commit(self.id, block, now)
        self._reset_height()
        return self._start_round(0, now)

    # --- block sync ---------------------------------------------------------------------------

    def _maybe_sync(self, sender_key: str, height: int, now: float) -> list[Action]:
        """A message from a height above ours means we missed commits: ask its author for them."""
        peer = self.index.get(sender_key)
        if height <= self.height or peer is None or peer == self.id:
            return []
        if now - self._last_sync.get(peer, -1e18) < self.params.sync_interval_ms:
            return []
        self._last_sync[peer] = now
        return [Send(peer, SyncRequest(self.height, self.id))]

    def _sync_response(self, peer: int, from_height: int) -> list[Action]:
        blocks = tuple((c.block, c.certificate) for c in self.chain.blocks[from_height:from_height + 50]
                       if c.certificate is not None)
        return [Send(peer, SyncResponse(blocks))] if blocks else []

    def _on_sync_request(self, m: SyncRequest, now: float) -> list[Action]:
        return self._sync_response(m.requester, m.from_height)

    def _on_sync_response(self, m: SyncResponse, now: float) -> list[Action]:
        applied = False
        for block, cert in m.blocks:
            if block.height != self.chain.height + 1:
                continue
            if cert.problem(block.header, self.validators) is not None or self.chain.problem(block) is not None:
                break
            self.chain.commit(block, cert)
            self.on_commit(self.id, block, now)
            applied = True
        if not applied:
            return []
        self._reset_height()
        return self._start_round(0, now)

    _handlers = {Proposal: _on_proposal, VoteMessage: _on_vote, SyncRequest: _on_sync_request,
                 SyncResponse: _on_sync_response}
