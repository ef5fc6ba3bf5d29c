"""Ledger benchmark: signature rates, and consensus cost against the number of validators.

Prints (1) Ed25519 verifications per second through the ledger's own path (parse the canonical
envelope, check the signature) against the raw `cryptography` rate, and signing; (2) for Raft and
BFT (one block due per simulated second) and proof of work (a block every 500 ms on average, final
after 6 confirmations) with 4, 7, 16 and 31 validators on a small-world graph: simulated block
commit time, messages and bytes per block, transaction propagation p50/p95 and wall-clock blocks
per second.
Run: .venv/bin/python benchmarks/bench_ledger.py  (add --quick for 4 and 16 validators only)
"""

from __future__ import annotations

import sys
import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.alliance import Alliance
from ledger.consensus import ENGINES
from ledger.consensus.base import BlockSchedule
from ledger.consensus.cluster import Cluster
from ledger.identity import Identity, Role, clear_signature_cache
from ledger.merkle import merkle_root
from ledger.network import Network, NetworkParams
from ledger.service import QUORUM_OF_ENGINE
from ledger.tolerance import round_trip_ms, timing_warnings
from ledger.transactions import SignedTx, sign_transaction

DNOS = [f"dno{i}" for i in range(1, 11)]


def rate(fn, seconds: float = 1.0) -> float:
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        n += 1
    return n / (time.perf_counter() - start)


def bid(identity: Identity, nonce: int, hour: int = 1) -> SignedTx:
    return sign_transaction(identity, "storagemarket-1", "bid", nonce,
                            {"day": 0, "hour": hour, "round": 1, "side": "sell", "quantity_mwh": 2.5,
                             "price_per_mwh": 333.0})


def crypto_rates() -> None:
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    public, message = key.public_key(), b"x" * 200
    signature = key.sign(message)
    raw_verify = rate(lambda: public.verify(signature, message))
    raw_sign = rate(lambda: key.sign(message))
    dno = Identity.derive(0, "dno1", Role.DNO)
    stx = bid(dno, 1)
    encoded = stx.encoded

    def ledger_verify() -> None:
        clear_signature_cache()  # measure a first verification, not a cache hit
        assert SignedTx.from_bytes(encoded).signature_valid()

    ledger_path = rate(ledger_verify)
    ledger_sign = rate(lambda: bid(dno, 1))
    leaves = [bid(dno, i).encoded for i in range(1, 1001)]
    t0 = time.perf_counter()
    merkle_root(leaves)
    merkle_ms = (time.perf_counter() - t0) * 1000
    print("signatures (Ed25519, one core)")
    print(f"  raw library verify        {raw_verify:10,.0f} /s")
    print(f"  ledger path verify        {ledger_path:10,.0f} /s  ({ledger_path / raw_verify:.0%} of raw: parse + canonical re-encode + verify)")
    print(f"  raw library sign          {raw_sign:10,.0f} /s")
    print(f"  ledger sign bid tx        {ledger_sign:10,.0f} /s")
    print(f"  RFC 6962 root, 1000 txs   {merkle_ms:10.1f} ms")


def consensus_row(engine: str, n: int, blocks: int = 12) -> dict[str, float]:
    names = [f"v{i}" for i in range(1, n + 1)]
    target_bits = getattr(ENGINES[engine].default_params(), "target_bits", None)  # proof of work's
    a = Alliance.create(1, dnos=DNOS, validators=names, quorum=QUORUM_OF_ENGINE[engine], pow_target_bits=target_bits)
    net = NetworkParams(n_validators=n, topology="small_world", degree=4, jitter_ms=2.0)
    rtt = round_trip_ms(Network(net, 1))
    params = ENGINES[engine].default_params()
    if engine == "raft" and params.election_min_ms <= 2 * rtt:  # keep clear of the round trip, as Raft asks
        params = params.model_copy(update={"election_min_ms": 2 * rtt, "election_max_ms": 4 * rtt})
    c = Cluster(a, engine, network=net, seed=1, params=params,
                schedule=BlockSchedule(first_ms=0.0, interval_ms=1000.0))
    for k, dno in enumerate(DNOS):  # ten bids per block
        ident = a.identity(dno, "dno")
        for h in range(blocks):
            c.submit(bid(ident, h + 1, hour=h + 1), dno, k % n, at_ms=h * 1000.0 + 37.0 * k)
    t0 = time.perf_counter()
    c.run(height=blocks, until_ms=blocks * 1000.0 + 60_000)
    wall = time.perf_counter() - t0
    m = c.metrics()
    m["wall_s"], m["blocks_per_wall_s"] = wall, m["blocks"] / wall
    m["bytes_per_block"] = m["bytes"] / max(1.0, m["blocks"])
    m["rtt_ms"] = rtt
    m["warned"] = bool(timing_warnings(engine, params, c.network))
    c.close()
    return m


def consensus_table(sizes: list[int]) -> None:
    print("\nconsensus (small-world graph, degree 4, median hop 20 ms, 10 bids/block; raft, bft: a block due per "
          "simulated second; pow: one per 500 ms on average, commit = 6 confirmations)")
    print("  (rtt: slowest validator round trip; raft's election timeout is raised to 2-4 rtt where the default "
          "150-300 ms is within 2 rtt)")
    print(f"  {'engine':6} {'n':>3} {'rtt ms':>7} {'commit ms':>10} {'msgs/block':>11} {'kB/block':>9} "
          f"{'tx p50 ms':>10} {'tx p95 ms':>10} {'finality p50':>13} {'blocks/s wall':>14}")
    for engine in ("raft", "bft", "pow"):
        for n in sizes:
            m = consensus_row(engine, n)
            print(f"  {engine:6} {n:>3} {m['rtt_ms']:>7.0f} {m['block_commit_ms_mean']:>10.1f} {m['messages_per_block']:>11.0f} "
                  f"{m['bytes_per_block'] / 1000:>9.1f} {m['tx_propagation_p50_ms']:>10.1f} "
                  f"{m['tx_propagation_p95_ms']:>10.1f} {m['finality_p50_ms']:>13.1f} {m['blocks_per_wall_s']:>14.1f}"
                  + ("  (timeouts within the round trip)" if m["warned"] else ""))


if __name__ == "__main__":
    crypto_rates()
    consensus_table([4, 16] if "--quick" in sys.argv else [4, 7, 16, 31])
