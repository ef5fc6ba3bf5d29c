"""Blocks: header, entries (transactions with their proposer receipt time) and commit certificate.

The header commits to everything else: the previous header's hash chains blocks, the RFC 6962
root commits to the entries, the state root to the contracts' result. The certificate sits
outside the header because it signs the header's hash; it is checked against the validator set
and the quorum rule named in the genesis document. A proof-of-work block has no certificate: the
nonce in its header, which puts the header's hash below the genesis target, is its seal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Iterable

from ledger.canonical import NonCanonical, canonical_bytes, is_hex, parse_canonical, sha256
from ledger.identity import Identity, verify_signature
from ledger.merkle import inclusion_proof, merkle_root, verify_inclusion
from ledger.transactions import MalformedTx, SignedTx
from ledger.validators import ValidatorSet

VOTE_DOMAIN = "storagemarket/vote/v1"
ZERO_HASH = "0" * 64


class MalformedBlock(ValueError):
    """Stored or received bytes that are not a well-formed header, entry or certificate."""


def _decode(data: bytes, keys: set[str], what: str, optional: frozenset[str] = frozenset()) -> dict:
    try:
        doc = parse_canonical(data)
    except NonCanonical as exc:
        raise MalformedBlock(f"{what}: {exc}") from exc
    if not isinstance(doc, dict) or not keys <= set(doc) <= keys | optional:
        extra = f" (and optionally {sorted(optional)})" if optional else ""
        raise MalformedBlock(f"{what} must have exactly {sorted(keys)}{extra}")
    return doc


@dataclass(frozen=True)
class BlockHeader:
    chain_id: str
    height: int
    prev_hash: str
    tx_root: str
    state_root: str
    proposer: str  # validator public key, hex ("" for genesis)
    round: int  # BFT round, or Raft term
    time_ms: float  # simulated time at proposal
    # Proof of work's nonce (SHA-256 of the header below the genesis target); None, and then left
    # out of the encoding, for engines that seal blocks with a certificate instead.
    nonce: int | None = None

    def to_doc(self) -> dict:
        doc = {"chain_id": self.chain_id, "height": self.height, "prev_hash": self.prev_hash,
               "tx_root": self.tx_root, "state_root": self.state_root, "proposer": self.proposer,
               "round": self.round, "time_ms": self.time_ms}
        if self.nonce is not None:
            doc["nonce"] = self.nonce
        return doc

    @cached_property
    def encoded(self) -> bytes:
        return canonical_bytes(self.to_doc())

    @cached_property
    def hash(self) -> str:
        return sha256(self.encoded).hex()

    @classmethod
    def from_bytes(cls, data: bytes) -> "BlockHeader":
        doc = _decode(data, {"chain_id", "height", "prev_hash", "tx_root", "state_root", "proposer",
                             "round", "time_ms"}, "header", frozenset({"nonce"}))
        nonce = doc.get("nonce", 0)
        ok = (isinstance(nonce, int) and not isinstance(nonce, bool) and nonce >= 0
              and isinstance(doc["height"], int) and isinstance(doc["round"], int)
              and isinstance(doc["time_ms"], (int, float)) and isinstance(doc["chain_id"], str)
              and all(is_hex(doc[k], 32) for k in ("prev_hash", "tx_root", "state_root"))
              and (doc["proposer"] == "" or is_hex(doc["proposer"], 32)))
        if not ok:
            raise MalformedBlock("header field types are wrong")
        return cls(**doc)


@dataclass(frozen=True)
class BlockEntry:
    """A transaction as the proposer ordered it, with the simulated time it first saw it.

    The receipt time is the bid's upload time (§A.13 item 7); putting it in the Merkle leaf
    makes it part of what the certificate signs, so no validator can reorder ties afterwards.
    """

    tx: SignedTx
    seen_ms: float

    @cached_property
    def encoded(self) -> bytes:
        return canonical_bytes({"seen_ms": self.seen_ms, "tx": self.tx.to_doc()})

    @classmethod
    def from_bytes(cls, data: bytes) -> "BlockEntry":
        doc = _decode(data, {"seen_ms", "tx"}, "entry")
        if not isinstance(doc["seen_ms"], (int, float)) or isinstance(doc["seen_ms"], bool):
            raise MalformedBlock("entry seen_ms must be a number")
        try:
            return cls(SignedTx.from_doc(doc["tx"]), doc["seen_ms"])
        except MalformedTx as exc:
            raise MalformedBlock(f"entry transaction: {exc}") from exc


def tx_root(entries: Iterable[BlockEntry]) -> str:
    return merkle_root([e.encoded for e in entries]).hex()


@dataclass(frozen=True)
class Vote:
    """A validator's signed statement about one block hash at (height, round)."""

    vote_type: str  # "prevote", "precommit" (BFT) or "ack" (Raft)
    chain_id: str
    height: int
    round: int
    block_hash: str | None  # None = nil vote
    validator: str
    signature: bytes = field(repr=False)

    def signing_bytes(self) -> bytes:
        return vote_signing_bytes(self.vote_type, self.chain_id, self.height, self.round, self.block_hash)

    def signature_valid(self) -> bool:
        return verify_signature(bytes.fromhex(self.validator), self.signature, self.signing_bytes())

    @classmethod
    def cast(cls, identity: Identity, vote_type: str, chain_id: str, height: int, round_: int,
             block_hash: str | None) -> "Vote":
        sig = identity.sign(vote_signing_bytes(vote_type, chain_id, height, round_, block_hash))
        return cls(vote_type, chain_id, height, round_, block_hash, identity.public_hex, sig)


def vote_signing_bytes(vote_type: str, chain_id: str, height: int, round_: int, block_hash: str | None) -> bytes:
    return canonical_bytes({"domain": VOTE_DOMAIN, "type": vote_type, "chain_id": chain_id,
                            "height": height, "round": round_, "block_hash": block_hash})


@dataclass(frozen=True)
class CommitCertificate:
    """Signatures of a quorum over one block hash: the proof a block is final."""

    vote_type: str
    height: int
    round: int
    block_hash: str
    signatures: tuple[tuple[str, bytes], ...]  # (validator, signature), sorted by validator

    @classmethod
    def from_votes(cls, votes: Iterable[Vote]) -> "CommitCertificate":
        votes = list(votes)
        first = votes[0]
        sigs = {v.validator: v.signature for v in votes}
        return cls(first.vote_type, first.height, first.round, first.block_hash, tuple(sorted(sigs.items())))

    def to_doc(self) -> dict:
        return {"vote_type": self.vote_type, "height": self.height, "round": self.round,
                "block_hash": self.block_hash,
                "signatures": [[v, s.hex()] for v, s in self.signatures]}

    @cached_property
    def encoded(self) -> bytes:
        return canonical_bytes(self.to_doc())

    @classmethod
    def from_bytes(cls, data: bytes) -> "CommitCertificate":
        doc = _decode(data, {"vote_type", "height", "round", "block_hash", "signatures"}, "certificate")
        sigs = doc["signatures"]
        if not (isinstance(sigs, list) and all(isinstance(p, list) and len(p) == 2 and is_hex(p[0], 32)
                                               and is_hex(p[1], 64) for p in sigs)
                and isinstance(doc["height"], int) and isinstance(doc["round"], int)
                and is_hex(doc["block_hash"], 32) and isinstance(doc["vote_type"], str)):
            raise MalformedBlock("certificate field types are wrong")
        return cls(doc["vote_type"], doc["height"], doc["round"], doc["block_hash"],
                   tuple((v, bytes.fromhex(s)) for v, s in sigs))

    def problem(self, header: BlockHeader, validators: ValidatorSet) -> str | None:
        """Why this certificate does not finalise `header` under `validators`, or None."""
        if self.vote_type != validators.rule.vote_type:
            return f"certificate votes are {self.vote_type!r}, the quorum rule needs {validators.rule.vote_type!r}"
        if self.height != header.height or self.block_hash != header.hash:
            return "certificate is for another block"
        names = [v for v, _ in self.signatures]
        if names != sorted(set(names)):
            return "certificate signers repeat or are unsorted"
        message = vote_signing_bytes(self.vote_type, header.chain_id, self.height, self.round, self.block_hash)
        for validator, sig in self.signatures:
            if validator not in validators.powers:
                return f"certificate signer {validator[:12]} is not a validator"
            if not verify_signature(bytes.fromhex(validator), sig, message):
                return f"bad signature from {validator[:12]} in certificate"
        if not validators.has_quorum(set(names)):
            return "certificate signers fall short of the quorum"
        return None


@dataclass(frozen=True)
class Block:
    header: BlockHeader
    entries: tuple[BlockEntry, ...]

    @property
    def hash(self) -> str:
        return self.header.hash

    @property
    def height(self) -> int:
        return self.header.height

    def inclusion_proof(self, index: int) -> list[bytes]:
        return inclusion_proof(index, [e.encoded for e in self.entries])


def entry_included(entry: BlockEntry, index: int, size: int, proof: list[bytes], header: BlockHeader) -> bool:
    """A light client's check that `entry` sits at `index` of the block `header` commits to."""
    return verify_inclusion(index, size, entry.encoded, proof, bytes.fromhex(header.tx_root))
