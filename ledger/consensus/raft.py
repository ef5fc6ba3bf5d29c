"""Raft (Ongaro and Ousterhout 2014) with double credit, for crash faults; log entries are blocks.

Terms, randomised election timeouts, RequestVote with the up-to-date-log check, AppendEntries with
the log-matching check, and commitment of current-term entries on a majority (earlier entries by
implication), as in the paper. A new leader appends a no-op so earlier entries can commit. The
credit extension (§B.2.4) gates who stands, biases timeouts and lets followers demote a
low-credit leader; it never touches the majority, and it never keeps a live majority leaderless:
after `credit_waiver_timeouts` election timeouts in a row without a leader, a node stands, votes
and follows regardless of credit (for that term). Followers sign an acknowledgement of each block
they store; a majority of them is the block's commit certificate, so `ledger verify` can check a
Raft chain as it checks a BFT one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Mapping

from pydantic import Field

from ledger.block import Block, CommitCertificate, Vote
from ledger.consensus.base import MAX_TIMEOUT_MS, Action, ConsensusNode, EngineParams, Send, SetTimer, register_engine
from ledger.contracts import Evidence, validator_credits
from ledger.contracts.credit import rules_of
from ledger.credit import (Credit, CreditParams, election_timeout_ms, may_grant_vote, may_lead,
                           may_stand)

FOLLOWER, CANDIDATE, LEADER = "follower", "candidate", "leader"
ACK = "ack"


class RaftParams(EngineParams):
    election_min_ms: float = Field(150.0, gt=0, le=MAX_TIMEOUT_MS, description="tau_min, ms; [A] §B.2.4")
    election_max_ms: float = Field(300.0, gt=0, le=MAX_TIMEOUT_MS, description="tau_max, ms; [A] §B.2.4")
    election_jitter_ms: float = Field(50.0, ge=0, le=MAX_TIMEOUT_MS, description="j of the uniform jitter U(0, j), ms; [A] §B.2.4")
    heartbeat_ms: float = Field(50.0, gt=0, le=MAX_TIMEOUT_MS, description="leader heartbeat period, ms; [A] §B.2.4")
    max_entries_per_append: int = Field(32, ge=1, le=10_000, description="entries per AppendEntries; [A]")
    credit: CreditParams = Field(default_factory=CreditParams, description="double-credit rules; [A] §B.2.4")
    credit_waiver_timeouts: int = Field(
        3, ge=1, le=1000, description="election timeouts in a row without a leader after which a node stands, "
        "votes and follows regardless of credit: credit picks who leads, never whether anyone can; [A]")
    credits: Mapping[str, tuple[float, float]] = Field(
        default_factory=dict, strict=False, description="validator key -> (TC, NC) at start; others start at credit.initial")


@dataclass(frozen=True)
class LogEntry:
    term: int
    block: Block | None  # None: the no-op a new leader appends


@dataclass(frozen=True)
class RequestVote:
    term: int
    candidate: int
    last_index: int
    last_term: int
    size = 80


@dataclass(frozen=True)
class VoteReply:
    term: int
    voter: int
    granted: bool
    size = 48


@dataclass(frozen=True)
class AppendEntries:
    term: int
    leader: int
    prev_index: int
    prev_term: int
    entries: tuple[LogEntry, ...]
    leader_commit: int
    certificates: tuple[tuple[int, CommitCertificate], ...] = ()

    @cached_property
    def size(self) -> int:
        blocks = sum(len(e.block.header.encoded) + sum(len(x.encoded) for x in e.block.entries)
                     for e in self.entries if e.block is not None)
        return 96 + 16 * len(self.entries) + blocks + sum(len(c.encoded) for _, c in self.certificates)


@dataclass(frozen=True)
class AppendReply:
    term: int
    follower: int
    success: bool
    match_index: int
    applied: int
    acks: tuple[tuple[int, Vote], ...] = field(default=())

    @property
    def size(self) -> int:
        return 64 + 200 * len(self.acks)


@register_engine("raft")
class RaftNode(ConsensusNode):
    params_model = RaftParams

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        p = self.params.credit
        self.credit = {k: Credit(*self.params.credits.get(k, (p.initial, p.initial))) for k in self.peers}
        on_chain = rules_of(self.chain.genesis)
        if on_chain is not None:  # credit kept on chain: its rules and the committed credits decide
            self.params = self.params.model_copy(update={"credit": on_chain})
            self._refresh_credit()
        # persistent state (survives a crash)
        self.term = 0
        self.voted_for: int | None = None
        self.log: list[LogEntry] = [LogEntry(0, None)]
        self.certificates: dict[int, CommitCertificate] = {}
        self.applied = 0  # the chain replica is durable, so what was applied stays applied
        self.led_terms: list[int] = []
        self.stood_at: list[float] = []  # when this node became a candidate
        self._my_acks: dict[int, Vote] = {}
        self._volatile()

    def _volatile(self) -> None:
        self.leaderless = 0  # election timeouts in a row without following a leader
        self.waived_term = -1  # the highest term in which this node set credit aside to stay live
        self.snubbed_term = -1  # the highest term of a leader this node refused for its credit
        self.role = FOLLOWER
        self.leader: int | None = None
        self.commit_index = self.applied
        self.votes: set[int] = set()
        self.next_index: dict[int, int] = {}
        self.match_index: dict[int, int] = {}
        self.peer_applied: dict[int, int] = {}
        self.acks: dict[int, dict[str, Vote]] = {}

    # --- helpers --------------------------------------------------------------------------------

    @property
    def last_index(self) -> int:
        return len(self.log) - 1

    @property
    def n(self) -> int:
        return len(self.peers)

    def set_credit(self, key: str, credit: Credit) -> None:
        """A credit update as replicated by the credit contract; every node applies the same one."""
        self.credit[key] = credit

    def _refresh_credit(self) -> None:
        """Take every validator's credit from the committed state (the credit contract's): every
        node that applied the same blocks holds the same credits. No-op on a chain without credit."""
        self.credit.update(validator_credits(self.chain.state))

    def _tip_acks(self) -> tuple[Vote, ...]:
        """Every ack this leader holds for the chain's tip block, for the credit contract's evidence:
        acks keep arriving after the commit, so they show more of who is up than the certificate."""
        for index in range(self.last_index, 0, -1):
            block = self.log[index].block
            if block is not None and block.hash == self.chain.tip.hash:
                return tuple(self.acks.get(index, {}).values())
        return ()

    def _election_timer(self) -> SetTimer:
        p = self.params
        tau = election_timeout_ms(self.credit[self.key], p.credit, p.election_min_ms, p.election_max_ms,
                                  p.election_jitter_ms, self.rng)
        return SetTimer(tau, "election")

    def _become_follower(self, term: int) -> None:
        if term > self.term:
            self.term, self.voted_for = term, None
        if self.role != FOLLOWER:
            self.role = FOLLOWER
            self.next_index, self.match_index, self.acks = {}, {}, {}

    def _ack(self, index: int) -> Vote | None:
        """This node's signed statement that it stores the block at log `index` (cached)."""
        entry = self.log[index]
        if entry.block is None:
            return None
        vote = self._my_acks.get(index)
        if vote is None or vote.block_hash != entry.block.hash:
            vote = Vote.cast(self.identity, ACK, self.chain.genesis.chain_id, entry.block.height, entry.term,
                             entry.block.hash)
            self._my_acks[index] = vote
        return vote

    def _apply_committed(self, now: float) -> None:
        while self.applied < self.commit_index:
            entry = self.log[self.applied + 1]
            if entry.block is not None:
                cert = self.certificates.get(self.applied + 1)
                if cert is None:
                    return  # wait for the leader to pass the certificate on
                self.chain.commit(entry.block, cert)
                self._refresh_credit()
                self.on_commit(self.id, entry.block, now)
            self.applied += 1

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self, now: float) -> list[Action]:
        return [self._election_timer()]

    def on_restart(self, now: float) -> list[Action]:
        self._volatile()
        return [self._election_timer()]

    def on_timer(self, name: str, data: tuple, now: float) -> list[Action]:
        return getattr(self, f"_timer_{name}")(now)

    def on_message(self, msg: Any, now: float) -> list[Action]:
        return self._handlers[type(msg)](self, msg, now)

    # --- elections ------------------------------------------------------------------------------

    @property
    def _credit_waived(self) -> bool:
        """No leader for `credit_waiver_timeouts` timeouts: credit must not keep the cluster leaderless."""
        return self.leaderless >= self.params.credit_waiver_timeouts

    def _timer_election(self, now: float) -> list[Action]:
        if self.role == LEADER:
            return []
        self.leaderless += 1
        eligible = may_stand(self.credit[self.key], self.params.credit)
        if not eligible and not self._credit_waived:
            return [self._election_timer()]  # not eligible: stay a follower and keep listening
        if self._credit_waived and self.snubbed_term >= self.term:
            self.waived_term = self.snubbed_term  # follow the live leader credit made it refuse, not stand against it
            return [self._election_timer()]
        if not eligible:
            self.waived_term = self.term + 1
        self.term += 1
        self.role, self.voted_for, self.votes, self.leader = CANDIDATE, self.id, {self.id}, None
        self.stood_at.append(now)
        ask = RequestVote(self.term, self.id, self.last_index, self.log[-1].term)
        return [Send(p, ask) for p in range(self.n) if p != self.id] + [self._election_timer()] + self._won(now)

    def _on_request_vote(self, m: RequestVote, now: float) -> list[Action]:
        was_leader = self.role == LEADER
        if m.term > self.term:
            self._become_follower(m.term)
        up_to_date = (m.last_term, m.last_index) >= (self.log[-1].term, self.last_index)
        credit_ok = may_grant_vote(self.credit[self.peers[m.candidate]], self.credit[self.key], self.params.credit)
        grant = (m.term == self.term and self.voted_for in (None, m.candidate) and up_to_date
                 and (credit_ok or self._credit_waived))
        if grant and not credit_ok:
            self.waived_term = max(self.waived_term, m.term)
        actions: list[Action] = [Send(m.candidate, VoteReply(self.term, self.id, grant))]
        if grant:
            self.voted_for = m.candidate
        if grant or (was_leader and self.role != LEADER):
            # a leader that stepped down had only its heartbeat timer: every node that is not the
            # leader must have an election timer, or a refused vote leaves it silent for good
            actions.append(self._election_timer())
        return actions

    def _on_vote_reply(self, m: VoteReply, now: float) -> list[Action]:
        if m.term > self.term:
            self._become_follower(m.term)
            return [self._election_timer()]
        if self.role != CANDIDATE or m.term != self.term or not m.granted:
            return []
        self.votes.add(m.voter)
        return self._won(now)

    def _won(self, now: float) -> list[Action]:
        if self.role != CANDIDATE or 2 * len(self.votes) <= self.n:
            return []
        self.role, self.leader = LEADER, self.id
        self.led_terms.append(self.term)
        self.next_index = {p: self.last_index + 1 for p in range(self.n)}
        self.match_index = {p: 0 for p in range(self.n)}
        self.acks = {}
        self.log.append(LogEntry(self.term, None))  # the no-op that lets earlier entries commit
        self.match_index[self.id] = self.last_index
        for index in range(self.commit_index + 1, self.last_index):  # earlier terms' blocks need acks too
            if self.log[index].block is not None:
                self.acks.setdefault(index, {})[self.key] = self._ack(index)
        return self._broadcast_append() + [SetTimer(self.params.heartbeat_ms, "heartbeat"),
                                           SetTimer(0.0, "propose")]

    # --- replication (leader) -------------------------------------------------------------------

    def _broadcast_append(self) -> list[Action]:
        return [self._append_to(p) for p in range(self.n) if p != self.id]

    def _append_to(self, peer: int) -> Send:
        prev = self.next_index[peer] - 1
        entries = tuple(self.log[prev + 1: prev + 1 + self.params.max_entries_per_append])
        since = self.peer_applied.get(peer, 0)
        certs = tuple((i, self.certificates[i]) for i in range(since + 1, self.commit_index + 1)
                      if i in self.certificates)
        return Send(peer, AppendEntries(self.term, self.id, prev, self.log[prev].term, entries,
                                        self.commit_index, certs))

    def _timer_heartbeat(self, now: float) -> list[Action]:
        if self.role != LEADER:
            return []
        return self._broadcast_append() + [SetTimer(self.params.heartbeat_ms, "heartbeat")]

    def _timer_propose(self, now: float) -> list[Action]:
        """Append the next block when it is due and everything before it is applied."""
        if self.role != LEADER:
            return []
        due = self.schedule.due(self.chain.height + 1)
        if now < due:
            return [SetTimer(due - now, "propose")]
        if self.applied < self.last_index:
            return [SetTimer(self.params.heartbeat_ms, "propose")]
        entries = self.chain.mempool.select(self.params.max_block_txs)
        block = self.chain.build(self.identity, self.term, max(now, self.chain.tip.time_ms), entries,
                                 Evidence(votes=self._tip_acks()))
        self.log.append(LogEntry(self.term, block))
        self.match_index[self.id] = self.last_index
        self.acks.setdefault(self.last_index, {})[self.key] = self._ack(self.last_index)
        return self._broadcast_append() + [SetTimer(self.params.heartbeat_ms, "heartbeat")]

    def _on_append_reply(self, m: AppendReply, now: float) -> list[Action]:
        if m.term > self.term:
            self._become_follower(m.term)
            return [self._election_timer()]
        if self.role != LEADER or m.term != self.term:
            return []
        self.peer_applied[m.follower] = m.applied
        if not m.success:
            self.next_index[m.follower] = max(1, min(self.next_index[m.follower] - 1, m.match_index + 1))
            return [self._append_to(m.follower)]
        self.match_index[m.follower] = max(self.match_index[m.follower], m.match_index)
        self.next_index[m.follower] = self.match_index[m.follower] + 1
        sender = self.peers[m.follower]
        for index, vote in m.acks:
            entry = self.log[index] if index <= self.last_index else None
            if (entry is not None and entry.block is not None and vote.validator == sender
                    and vote.block_hash == entry.block.hash and vote.round == entry.term and vote.signature_valid()):
                self.acks.setdefault(index, {})[sender] = vote
        before = self.applied
        self._advance_commit()
        self._apply_committed(now)
        actions: list[Action] = []
        if self.next_index[m.follower] <= self.last_index:
            actions.append(self._append_to(m.follower))
        if self.applied > before:
            actions.append(SetTimer(0.0, "propose"))
        return actions

    def _advance_commit(self) -> None:
        """Commit the highest current-term index a majority stores, once every block up to it has a
        majority of signed acks to form its certificate."""
        for n_idx in range(self.last_index, self.commit_index, -1):
            if self.log[n_idx].term != self.term:
                break
            if 2 * sum(1 for m in self.match_index.values() if m >= n_idx) <= self.n:
                continue
            pending = [i for i in range(self.commit_index + 1, n_idx + 1)
                       if self.log[i].block is not None and i not in self.certificates]
            if any(2 * len(self.acks.get(i, {})) <= self.n for i in pending):
                continue
            for i in pending:
                self.certificates[i] = CommitCertificate.from_votes(self.acks[i].values())
            self.commit_index = n_idx
            return

    # --- replication (follower) -----------------------------------------------------------------

    def _on_append(self, m: AppendEntries, now: float) -> list[Action]:
        leader_key = self.peers[m.leader]
        credit_ok = may_lead(self.credit[leader_key], self.params.credit) or m.term <= self.waived_term
        if m.term < self.term or not credit_ok:
            # stale leader, or one whose node credit no longer allows it to lead (constraint 4)
            if m.term >= self.term:
                self.snubbed_term = max(self.snubbed_term, m.term)
            return [Send(m.leader, AppendReply(self.term, self.id, False, self.last_index, self.applied))]
        self.leaderless = 0
        self._become_follower(m.term)
        self.leader = m.leader
        actions: list[Action] = [self._election_timer()]
        if m.prev_index > self.last_index or self.log[m.prev_index].term != m.prev_term:
            hint = min(self.last_index, m.prev_index - 1)
            return actions + [Send(m.leader, AppendReply(self.term, self.id, False, hint, self.applied))]
        for k, entry in enumerate(m.entries):
            index = m.prev_index + 1 + k
            if index <= self.last_index and self.log[index].term != entry.term:
                del self.log[index:]  # conflicting suffix: the leader's log wins (never committed)
            if index > self.last_index:
                self.log.append(entry)
        match = m.prev_index + len(m.entries)
        for index, cert in m.certificates:
            entry = self.log[index] if index <= self.last_index else None
            if entry is not None and entry.block is not None and entry.block.hash == cert.block_hash:
                self.certificates[index] = cert
        self.commit_index = max(self.commit_index, min(m.leader_commit, match))
        self._apply_committed(now)
        # Ack every block the leader has not committed, applied here or not: a new leader needs acks
        # for blocks of earlier terms that followers applied under the old one (their certificates
        # may not have reached it), or it can never commit them.
        acks = tuple((i, self._ack(i)) for i in range(m.leader_commit + 1, match + 1)
                     if self.log[i].block is not None)
        return actions + [Send(m.leader, AppendReply(self.term, self.id, True, match, self.applied, acks))]

    _handlers = {RequestVote: _on_request_vote, VoteReply: _on_vote_reply, AppendEntries: _on_append,
                 AppendReply: _on_append_reply}
