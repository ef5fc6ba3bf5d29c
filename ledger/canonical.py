"""Canonical bytes and hashes: everything signed or hashed on the chain goes through here.

Sorted-key compact JSON gives one byte string per value, so two validators that agree on a
value agree on its hash; `parse_canonical` refuses any other spelling so a verifier cannot be
fooled by re-encoded (e.g. whitespace-padded) data that still parses.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any


class NonCanonical(ValueError):
    """Bytes that parse but are not the one canonical encoding of their value."""


def canonical_bytes(value: Any) -> bytes:
    """Sorted keys, no whitespace, ASCII only, no NaN/Infinity (they have no JSON spelling)."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    ).encode("ascii")


def parse_canonical(data: bytes) -> Any:
    """Decode `data` and insist it is canonical, so a hash of the bytes is a hash of the value."""
    try:
        value = json.loads(data.decode("ascii"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NonCanonical(f"not JSON: {exc}") from exc
    if canonical_bytes(value) != data:
        raise NonCanonical("not in canonical form")
    return value


_LOWER_HEX = re.compile(r"[0-9a-f]*")


def is_hex(value: Any, nbytes: int) -> bool:
    """`nbytes` bytes written as lowercase hex: the one spelling keys, hashes and signatures have."""
    return isinstance(value, str) and len(value) == 2 * nbytes and _LOWER_HEX.fullmatch(value) is not None


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def hash_value(value: Any) -> str:
    """Hex SHA-256 of a value's canonical bytes: the id of headers, states and documents."""
    return hashlib.sha256(canonical_bytes(value)).hexdigest()
