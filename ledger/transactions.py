"""Transactions: kinds in a registry, canonical bytes, signed envelopes with chain id and nonce.

A transaction is a JSON document signed by its sender's Ed25519 key over its canonical bytes,
with a domain tag, the chain id (so a signature cannot be replayed on another chain) and a
per-sender nonce (so it cannot be replayed on this one). Each kind declares its payload fields,
the roles allowed to send it and, where one exists, the key that makes two of them duplicates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, Mapping

from ledger.canonical import NonCanonical, canonical_bytes, is_hex, parse_canonical, sha256
from ledger.identity import Identity, Role, verify_signature

TX_DOMAIN = "storagemarket/tx/v1"


class MalformedTx(ValueError):
    """Bytes or fields that do not make a transaction of a known kind."""


# --- field checks: predicates on one payload value ---------------------------------------------

def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def integer(minimum: int = 0) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= minimum


def number(minimum: float = -math.inf) -> Callable[[Any], bool]:
    return lambda v: _is_number(v) and v >= minimum


def text(v: Any) -> bool:
    return isinstance(v, str) and 0 < len(v) <= 200


def hex_digest(v: Any) -> bool:
    return is_hex(v, 32)


def one_of(*choices: str) -> Callable[[Any], bool]:
    return lambda v: v in choices


def mapping(v: Any) -> bool:
    return isinstance(v, dict)


@dataclass(frozen=True)
class TxKind:
    """What a kind of transaction carries, who may send it, and what makes two of them the same."""

    name: str
    roles: frozenset[Role]
    fields: Mapping[str, Callable[[Any], bool]]
    dedup_fields: tuple[str, ...] | None = None  # with the sender, identifies a duplicate
    optional: Mapping[str, Callable[[Any], bool]] = field(default_factory=dict)  # e.g. a network's charge

    def validate(self, payload: Any) -> None:
        if not isinstance(payload, dict) or not set(self.fields) <= set(payload) <= set(self.fields) | set(self.optional):
            extra = f" (optional: {sorted(self.optional)})" if self.optional else ""
            raise MalformedTx(f"{self.name} payload must have exactly {sorted(self.fields)}{extra}")
        for name, check in {**self.fields, **self.optional}.items():
            if name in payload and not check(payload[name]):
                raise MalformedTx(f"{self.name}.{name} is invalid: {payload[name]!r}")

    def dedup_key(self, sender: str, payload: Mapping[str, Any]) -> tuple | None:
        if self.dedup_fields is None:
            return None
        return (self.name, sender, *(payload[f] for f in self.dedup_fields))


TX_KINDS: dict[str, TxKind] = {}


def register_kind(kind: TxKind) -> TxKind:
    if kind.name in TX_KINDS:
        raise ValueError(f"transaction kind {kind.name!r} already registered")
    TX_KINDS[kind.name] = kind
    return kind


ANYONE = frozenset(Role)
DNO_ONLY = frozenset({Role.DNO})
# Clearing results are posted by the block proposer and re-derived by every validator's contract.
VALIDATOR_ONLY = frozenset({Role.VALIDATOR})
HOUR = integer(1)
MWH = number(0.0)
PRICE = number()
MONEY = number()

register_kind(TxKind("register", ANYONE, {"organisation": text, "role": one_of(*(r.value for r in Role)),
                                          "details": mapping}, dedup_fields=()))
DAY = integer(0)
register_kind(TxKind("plan_commitment", DNO_ONLY, {"day": DAY, "plan_hash": hex_digest},
                     dedup_fields=("day",)))
# A DNO's own side of a day-ahead agreement reached off chain (a coordination stage): its trades,
# side payment, station schedule and claims; the agreement contract settles the day once every DNO's is in.
register_kind(TxKind("schedule", DNO_ONLY, {"day": DAY, "stage": text, "view": mapping}, dedup_fields=("day",)))
register_kind(TxKind("bid", DNO_ONLY, {"day": DAY, "hour": HOUR, "round": integer(1),
                                       "side": one_of("sell", "buy"), "quantity_mwh": MWH,
                                       "price_per_mwh": PRICE},
                     dedup_fields=("day", "hour", "round"),
                     # a bid strategy's state (market.bidding.strategies); p2p false: the DNO opts out of
                     # the market this hour (market.participation) and is settled with the grid at once
                     optional={"strategy": mapping, "p2p": lambda v: v is False}))
# Closes an hour's book and triggers its clearing; the result transactions must follow it.
register_kind(TxKind("gate_closure", VALIDATOR_ONLY, {"day": DAY, "hour": HOUR}, dedup_fields=("day", "hour")))
register_kind(TxKind("trade", VALIDATOR_ONLY, {"day": DAY, "hour": HOUR, "round": integer(1), "seller": text,
                                               "buyer": text, "quantity_mwh": MWH, "price_per_mwh": PRICE},
                     optional={"uos_per_mwh": number(0.0)}))  # on a distribution network
register_kind(TxKind("grid_settlement", VALIDATOR_ONLY, {"day": DAY, "hour": HOUR, "dno": text, "side": one_of("sell", "buy"),
                                                         "quantity_mwh": MWH, "price_per_mwh": PRICE}))
register_kind(TxKind("compensation", VALIDATOR_ONLY, {"day": DAY, "hour": HOUR, "dno": text, "quantity_mwh": MWH,
                                                      "amount_rmb": MONEY}))
# Closes a day: the scheduling fee and compensation funding of §A.9 follow, one per DNO.
register_kind(TxKind("day_close", VALIDATOR_ONLY, {"day": DAY}, dedup_fields=("day",)))
register_kind(TxKind("day_settlement", VALIDATOR_ONLY, {"day": DAY, "dno": text, "scheduling_fee_rmb": MONEY,
                                                        "compensation_funded_rmb": MONEY}))
# Forecast-error settlement after delivery (ledger.contracts.delivery), one per metered DNO and hour.
register_kind(TxKind("delivery_settlement", VALIDATOR_ONLY, {
    "day": DAY, "hour": HOUR, "dno": text, "delivered_mwh": MWH, "drawn_mwh": MWH, "shortfall_mwh": MWH,
    "penalty_rmb": MONEY, "grid_sold_mwh": number(), "grid_bought_mwh": number(), "grid_rmb": MONEY}))
# VCG: the market operator's payment to a seller beyond its trades' value (market.realtime.vcg).
register_kind(TxKind("top_up", VALIDATOR_ONLY, {"day": DAY, "hour": HOUR, "dno": text, "amount_rmb": MONEY}))
register_kind(TxKind("fee", VALIDATOR_ONLY, {"day": DAY, "hour": HOUR, "dno": text, "quantity_mwh": MWH,
                                             "amount_rmb": MONEY}))
# Double credit (ledger.contracts.credit): the proposer's evidence of consensus behaviour (the
# parent block's commit votes, conflicting votes), and the metering party's reading of a delivery.
register_kind(TxKind("evidence", VALIDATOR_ONLY, {"last_commit": lambda v: v is None or mapping(v),
                                                  "conflicts": lambda v: isinstance(v, list)}))
# delivered_mwh: what the DNO supplied as a seller; drawn_mwh: what it drew as a buyer (optional)
register_kind(TxKind("meter_reading", frozenset({Role.MAIN_GRID}), {"day": DAY, "hour": HOUR, "dno": text,
                                                                    "delivered_mwh": MWH},
                     optional={"drawn_mwh": MWH}))


@dataclass(frozen=True)
class Transaction:
    chain_id: str
    kind: str
    sender: str  # public key, hex
    nonce: int
    payload: Mapping[str, Any] = field(hash=False)

    def to_doc(self) -> dict:
        return {"chain_id": self.chain_id, "kind": self.kind, "nonce": self.nonce,
                "payload": dict(self.payload), "sender": self.sender}

    def signing_bytes(self) -> bytes:
        return canonical_bytes({"domain": TX_DOMAIN, **self.to_doc()})

    @property
    def spec(self) -> TxKind:
        return TX_KINDS[self.kind]

    def dedup_key(self) -> tuple | None:
        return self.spec.dedup_key(self.sender, self.payload)


@dataclass(frozen=True)
class SignedTx:
    """The envelope that travels, is pooled and is stored: the transaction and its signature."""

    tx: Transaction
    signature: bytes

    def to_doc(self) -> dict:
        return {"sig": self.signature.hex(), "tx": self.tx.to_doc()}

    @cached_property
    def encoded(self) -> bytes:
        return canonical_bytes(self.to_doc())

    @cached_property
    def tx_id(self) -> str:
        return sha256(self.encoded).hex()

    def signature_valid(self) -> bool:
        return verify_signature(bytes.fromhex(self.tx.sender), self.signature, self.tx.signing_bytes())

    @classmethod
    def from_doc(cls, doc: Any) -> "SignedTx":
        if not isinstance(doc, dict) or set(doc) != {"sig", "tx"}:
            raise MalformedTx("envelope must have exactly sig and tx")
        body, sig = doc["tx"], doc["sig"]
        if not isinstance(body, dict) or set(body) != {"chain_id", "kind", "nonce", "payload", "sender"}:
            raise MalformedTx("transaction fields are wrong")
        if not is_hex(sig, 64):
            raise MalformedTx("signature must be 64 bytes of lowercase hex")
        sender = body["sender"]
        if not is_hex(sender, 32):
            raise MalformedTx("sender must be a 32-byte public key in lowercase hex")
        if not (text(body["chain_id"]) and integer(0)(body["nonce"])):
            raise MalformedTx("chain_id or nonce invalid")
        kind = TX_KINDS.get(body["kind"])
        if kind is None:
            raise MalformedTx(f"unknown transaction kind {body['kind']!r}")
        kind.validate(body["payload"])
        tx = Transaction(body["chain_id"], body["kind"], sender, body["nonce"], body["payload"])
        return cls(tx, bytes.fromhex(sig))

    @classmethod
    def from_bytes(cls, data: bytes) -> "SignedTx":
        try:
            return cls.from_doc(parse_canonical(data))
        except NonCanonical as exc:
            raise MalformedTx(str(exc)) from exc


def sign_transaction(identity: Identity, chain_id: str, kind: str, nonce: int,
                     payload: Mapping[str, Any]) -> SignedTx:
    """Build, check and sign a transaction; a malformed payload fails here, at its author."""
    spec = TX_KINDS.get(kind)
    if spec is None:
        raise MalformedTx(f"unknown transaction kind {kind!r}")
    spec.validate(dict(payload))
    tx = Transaction(chain_id, kind, identity.public_hex, nonce, dict(payload))
    return SignedTx(tx, identity.sign(tx.signing_bytes()))
