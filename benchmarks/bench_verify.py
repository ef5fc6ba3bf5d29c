"""`ledger verify` on 1-, 7- and 30-day paper-4dn ledgers: signature rate and cost per block.

Targets (issue 19): verify checks signatures at >= 80 % of the raw Ed25519 rate (signatures it
checks per second of verify time, in process, on the 7-day ledger), and its cost per block on the
30-day ledger is within 10 % of that on the 1-day one. Prints, per ledger: verify seconds in
process (signature cache cleared first), ms per block, transactions and signatures (one per
transaction plus each commit certificate's votes) per second, the signature rate over the raw
`cryptography` Ed25519 rate measured in the same run, the cost per block over the 1-day ledger's,
and the CLI's transactions per second (`storagemarket ledger verify`, imports included). Verify
checks the signatures in a forked child on the second core while it re-executes the blocks
(ledger.signature_prefetch), as it does by default. "other s" is the same verify without the child
and with every signature already cached: the work besides Ed25519 (parsing, the contracts'
re-execution, state roots). "ceiling" is the share of the raw rate verify would reach if every
signature were checked on another core at the raw rate while that work ran: raw-rate signature
time over the larger of the two. The raw rate is measured beside each ledger's verify.
The ledgers are written first by `storagemarket run paper-4dn --set days=N` (about 3 s a day).
Run: .venv/bin/python benchmarks/bench_verify.py  (--quick: 1 and 7 days)
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from experiments.cli import main as cli
from ledger.block import CommitCertificate
from ledger.identity import clear_signature_cache
from ledger.store import read_rows
from ledger.verify import verify_store


def raw_ed25519_per_s(seconds: float = 1.0) -> float:
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    public, message = key.public_key(), b"x" * 200
    signature = key.sign(message)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        public.verify(signature, message)
        n += 1
    return n / (time.perf_counter() - start)


def signatures_in(path: Path) -> int:
    """Signatures a full verify checks: every transaction's and every certificate vote's."""
    _genesis, rows = read_rows(str(path))
    return sum(len(txs) + (len(CommitCertificate.from_bytes(cert).signatures) if cert else 0)
               for _height, _hash, _header, cert, txs in rows)


def verify_seconds(path: Path, repeats: int) -> tuple[float, float, object]:
    """Median seconds of a full verify, and of the same verify with every signature already in the
    cache: the work besides Ed25519 (parsing, re-executing the contracts, state roots)."""
    times, others, report = [], [], None
    for _ in range(repeats):
        clear_signature_cache()
        start = time.perf_counter()
        report = verify_store(str(path))
        times.append(time.perf_counter() - start)
        assert report.ok, report.summary()
        start = time.perf_counter()
        verify_store(str(path), prefetch=False)  # no child: every signature is cached already
        others.append(time.perf_counter() - start)
    return statistics.median(times), statistics.median(others), report


def main() -> None:
    days = (1, 7) if "--quick" in sys.argv else (1, 7, 30)
    print(f"{'days':>5}{'blocks':>8}{'txs':>7}{'sigs':>7}{'verify s':>10}{'ms/block':>10}{'vs 1-day':>9}"
          f"{'tx/s':>8}{'sig/s':>8}{'raw/s':>8}{'of raw':>8}{'other s':>9}{'ceiling':>9}{'CLI tx/s':>10}")
    first_per_block = None
    with tempfile.TemporaryDirectory() as tmp:
        for n in days:
            out = Path(tmp) / f"days{n}"
            assert cli(["run", "paper-4dn", "--seed", "0", "--set", f"days={n}", "--out", str(out)]) in (0, None)
            ledger = out / "ledger.sqlite"
            raw = raw_ed25519_per_s()  # beside each ledger's verify: the machine's speed drifts
            seconds, other, report = verify_seconds(ledger, 5 if n < 30 else 2)
            per_block = seconds / report.blocks * 1e3
            first_per_block = first_per_block or per_block
            sigs = signatures_in(ledger)
            ed25519 = sigs / raw  # the signatures alone, at the raw rate
            ceiling = ed25519 / max(ed25519, other)  # even with every signature checked on another core
            start = time.perf_counter()
            subprocess.run([str(Path(sys.executable).parent / "storagemarket"), "ledger", "verify", str(ledger)],
                           check=True, capture_output=True)
            cli_seconds = time.perf_counter() - start
            print(f"{n:>5}{report.blocks:>8}{report.transactions:>7}{sigs:>7}{seconds:>10.3f}{per_block:>10.2f}"
                  f"{per_block / first_per_block:>9.2f}{report.transactions / seconds:>8.0f}{sigs / seconds:>8.0f}"
                  f"{raw:>8.0f}{sigs / seconds / raw:>8.0%}{other:>9.3f}{ceiling:>9.0%}{report.transactions / cli_seconds:>10.0f}",
                  flush=True)


if __name__ == "__main__":
    main()
