"""The genesis document: the chain's trust anchor (members, validators, quorum rule, market rules).

Everything a verifier needs to replay the chain from nothing is here, so `ledger verify` needs
no scenario file; its hash is block 0's state root source and is itself checked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Mapping

from ledger.block import ZERO_HASH, BlockHeader
from ledger.canonical import canonical_bytes, parse_canonical
from ledger.identity import Registry
from ledger.merkle import EMPTY_ROOT
from ledger.validators import ValidatorSet

HOUR_MS = 3_600_000.0


@dataclass(frozen=True)
class Genesis:
    chain_id: str
    registry: Registry = field(compare=False)
    validators: ValidatorSet
    # Market parameters the clearing contract needs (passed to market rules as given).
    market: Mapping[str, Any] = field(default_factory=dict, compare=False)
    # Simulated ms after an hour starts at which its book closes (§A.13 item 7).
    gate_offset_ms: float = 600_000.0
    # Simulated ms one market hour lasts on the chain's clock; a run may compress it (e.g. 10 s)
    # so a day of Raft heartbeats stays cheap, without changing any market result.
    hour_ms: float = HOUR_MS
    # Market hours the run lasts: a verifier then knows where the chain must reach, so a ledger
    # whose last blocks were cut off fails. None for chains without a planned end (some tests).
    horizon_hours: int | None = None
    # Proof of work only (quorum rule `proof_of_work`): a header's SHA-256 must start with this
    # many zero bits, so a verifier checks each block's nonce against the chain's own target.
    pow_target_bits: int | None = None
    # Double credit kept on chain (ledger.contracts.credit): its rules and everyone's starting
    # credit. Empty, and then left out of the document, on chains that keep no credit.
    credit: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if (self.validators.quorum == "proof_of_work") != (self.pow_target_bits is not None):
            raise ValueError("a proof_of_work chain needs pow_target_bits, and only such a chain has one")
        bits = self.pow_target_bits
        if bits is not None and (isinstance(bits, bool) or not isinstance(bits, int) or not 0 <= bits <= 256):
            raise ValueError(f"pow_target_bits must be an integer in 0..256, not {bits!r}")

    def to_doc(self) -> dict:
        doc = {"chain_id": self.chain_id, "members": self.registry.to_doc(),
               "validators": self.validators.to_doc(), "market": dict(self.market),
               "gate_offset_ms": self.gate_offset_ms, "hour_ms": self.hour_ms}
        if self.horizon_hours is not None:
            doc["horizon_hours"] = self.horizon_hours
        if self.pow_target_bits is not None:
            doc["pow_target_bits"] = self.pow_target_bits
        if self.credit:
            doc["credit"] = dict(self.credit)
        return doc

    @property
    def encoded(self) -> bytes:
        return canonical_bytes(self.to_doc())

    @cached_property
    def market_bytes(self) -> bytes:
        """The market section's canonical bytes, encoded once: every contract call decodes its rules
        from them (a genesis document is the chain's fixed anchor, never changed once made)."""
        return canonical_bytes(dict(self.market))

    @classmethod
    def from_bytes(cls, data: bytes) -> "Genesis":
        doc = parse_canonical(data)
        return cls(doc["chain_id"], Registry.from_doc(doc["members"]),
                   ValidatorSet.from_doc(doc["validators"]), doc["market"], doc["gate_offset_ms"], doc["hour_ms"],
                   doc.get("horizon_hours"), doc.get("pow_target_bits"), doc.get("credit", {}))

    def gate_closure_ms(self, day: int, hour: int) -> float:
        """Simulated time at which hour `hour` (1..24) of day `day` stops taking bids."""
        return (day * 24 + hour - 1) * self.hour_ms + self.gate_offset_ms

    def header(self, state_root: str) -> BlockHeader:
        """Block 0: no proposer, no transactions, no certificate; it commits to the initial state."""
        return BlockHeader(self.chain_id, 0, ZERO_HASH, EMPTY_ROOT.hex(), state_root, "", 0, 0.0)
