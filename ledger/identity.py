"""Who is who on the permissioned chain: Ed25519 keys derived from the run seed, and the registry.

Keys come from HKDF-SHA256 over the run seed with the organisation and role as context, so a run
is reproducible byte for byte, and adding an organisation never changes anyone else's key.
The registry is the alliance's membership list (public key -> organisation -> role); it lives in
the genesis document, and a key absent from it cannot have a transaction admitted.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

KEY_DERIVATION_SALT = b"storagemarket/ed25519/v1"


class Role(str, Enum):
    DNO = "dno"
    STORAGE_OWNER = "storage_owner"
    MAIN_GRID = "main_grid"
    VALIDATOR = "validator"


def derive_private_key(run_seed: int, organisation: str, role: Role | str) -> Ed25519PrivateKey:
    """The Ed25519 secret for (organisation, role) under this run's seed."""
    if run_seed < 0:
        raise ValueError("run seed must be non-negative")
    ikm = run_seed.to_bytes(max(1, (run_seed.bit_length() + 7) // 8), "big")
    info = f"{organisation}\x00{Role(role).value}".encode()
    secret = HKDF(algorithm=hashes.SHA256(), length=32, salt=KEY_DERIVATION_SALT, info=info).derive(ikm)
    return Ed25519PrivateKey.from_private_bytes(secret)


@dataclass(frozen=True)
class Identity:
    """A signing key with the organisation and role it speaks for."""

    organisation: str
    role: Role
    private_key: Ed25519PrivateKey = field(repr=False, compare=False)
    public_key: bytes = field(default=b"")

    @classmethod
    def derive(cls, run_seed: int, organisation: str, role: Role | str) -> "Identity":
        key = derive_private_key(run_seed, organisation, role)
        public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return cls(organisation, Role(role), key, public)

    @property
    def public_hex(self) -> str:
        return self.public_key.hex()

    def sign(self, message: bytes) -> bytes:
        return self.private_key.sign(message)


@lru_cache(maxsize=4096)
def _public_key(raw: bytes) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(raw)


# Signatures already found valid, as Bitcoin Core's sigcache: every validator of the simulated
# network checks each transaction at admission and again in each block, all in one process.
# Only successes are kept, keyed by the exact key, signature and message digest, so any changed
# byte is verified afresh; the cache changes wall time, never a result.
_VERIFIED: OrderedDict[tuple[bytes, bytes, bytes], None] = OrderedDict()
_VERIFIED_MAX = 65_536


def clear_signature_cache() -> None:
    """Forget every cached verification (benchmarks measure a fresh process this way)."""
    _VERIFIED.clear()


def take_verified() -> list[tuple[bytes, bytes, bytes]]:
    """Empty the cache and return its keys, (public key, signature, SHA-256 of the message): what a
    process that checks signatures for another (ledger.signature_prefetch) hands over."""
    keys = list(_VERIFIED)
    _VERIFIED.clear()
    return keys


def remember_verified(keys: Iterable[tuple[bytes, bytes, bytes]]) -> None:
    """Cache keys another process found valid with `verify_signature` (see `take_verified`)."""
    for key in keys:
        _VERIFIED[key] = None
        _VERIFIED.move_to_end(key)
    while len(_VERIFIED) > _VERIFIED_MAX:
        _VERIFIED.popitem(last=False)


def verify_signature(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """Ed25519 verification (RFC 8032); any malformed key or signature is simply invalid."""
    if len(public_key) != 32 or len(signature) != 64:
        return False
    key = (bytes(public_key), bytes(signature), hashlib.sha256(message).digest())
    if key in _VERIFIED:
        _VERIFIED.move_to_end(key)
        return True
    try:
        _public_key(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    _VERIFIED[key] = None
    if len(_VERIFIED) > _VERIFIED_MAX:
        _VERIFIED.popitem(last=False)
    return True


@dataclass(frozen=True)
class Member:
    organisation: str
    role: Role
    public_key: str  # hex

    def to_doc(self) -> dict:
        return {"organisation": self.organisation, "role": self.role.value, "public_key": self.public_key}


class Registry:
    """Membership of the alliance: public key -> (organisation, role), one key per pair."""

    def __init__(self, members: list[Member] | tuple[Member, ...] = ()):
        self._by_key: dict[str, Member] = {}
        self._by_name: dict[tuple[str, Role], Member] = {}
        for member in members:
            self.add(member)

    def add(self, member: Member) -> None:
        if member.public_key in self._by_key:
            raise ValueError(f"public key already registered to {self._by_key[member.public_key]}")
        if (member.organisation, member.role) in self._by_name:
            raise ValueError(f"{member.organisation} already holds a {member.role.value} key")
        self._by_key[member.public_key] = member
        self._by_name[(member.organisation, member.role)] = member

    def lookup(self, public_key_hex: str) -> Member | None:
        return self._by_key.get(public_key_hex)

    def members(self) -> list[Member]:
        return sorted(self._by_key.values(), key=lambda m: (m.role.value, m.organisation))

    def to_doc(self) -> list[dict]:
        return [m.to_doc() for m in self.members()]

    @classmethod
    def from_doc(cls, doc: list[dict]) -> "Registry":
        return cls([Member(d["organisation"], Role(d["role"]), d["public_key"]) for d in doc])

    @classmethod
    def of(cls, identities: list[Identity]) -> "Registry":
        return cls([Member(i.organisation, i.role, i.public_hex) for i in identities])
