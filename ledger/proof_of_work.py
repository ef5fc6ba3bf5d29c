"""Proof of work's seal: a nonce that puts the SHA-256 of a block header below the chain's target.

The target is a count of leading zero bits, recorded in the genesis document (`pow_target_bits`),
so anyone holding the chain checks a header with one hash while finding its nonce took about
2**bits. The simulation draws *when* a miner wins from its hash rate (`ledger/consensus/pow.py`);
the nonce found here is the real, checkable proof that goes into the header. A low target keeps
tests fast, and also means a tamperer can re-seal a changed block cheaply: the chain's later
blocks, the state roots and `ledger verify --head` are what catch that.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from itertools import count

from ledger.block import BlockHeader
from ledger.genesis import Genesis


def meets_target(block_hash: str, bits: int) -> bool:
    """Whether a hex SHA-256 digest starts with `bits` zero bits."""
    return int(block_hash, 16) >> (256 - bits) == 0


def search_nonce(header: BlockHeader, bits: int) -> tuple[BlockHeader, int]:
    """`header` with the first nonce (0, 1, ...) whose hash meets the target, and the hashes tried.

    Hashes the header's canonical bytes with the nonce's digits spliced in, as a miner re-hashes
    a fixed template, rather than re-encoding the whole header on every try.
    """
    encoded = replace(header, nonce=0).encoded
    marker = b'"nonce":'
    at = encoded.index(marker + b"0") + len(marker)  # the key occurs once: JSON escapes quotes in values
    head = hashlib.sha256(encoded[:at])
    tail = encoded[at + 1:]
    # digest < 2**(256 - bits), compared as 32 big-endian bytes (every digest passes at 0 bits)
    bound = (1 << (256 - bits)).to_bytes(33, "big")[1:] if bits else None
    for nonce in count():
        h = head.copy()
        h.update(str(nonce).encode("ascii") + tail)
        digest = h.digest()
        if bound is None or digest < bound:
            sealed = replace(header, nonce=nonce)
            if sealed.hash != digest.hex():  # the template must be the header's own encoding
                raise AssertionError("nonce template differs from the header encoding")
            return sealed, nonce + 1
    raise AssertionError("unreachable")


def work_problem(header: BlockHeader, genesis: Genesis) -> str | None:
    """Why `header` is not sealed by proof of work under `genesis`'s target, or None."""
    bits = genesis.pow_target_bits
    if bits is None:
        return "the genesis document sets no proof-of-work target"
    if header.nonce is None:
        return "proof-of-work header has no nonce"
    if not meets_target(header.hash, bits):
        return f"header hash does not meet the proof-of-work target ({bits} leading zero bits)"
    return None
