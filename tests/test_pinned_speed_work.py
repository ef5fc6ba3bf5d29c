"""Speed work must not move a byte: a three-day rolling run on Raft with double credit.

Pinned from the code before the columnar clearing and the copy-on-write chain state (issue 19),
so every output of a longer run, the ledger's state roots included, is what the straightforward
implementation wrote (tests/test_designs.py pins the one-day paper-4dn run the same way). Re-pin
deliberately only, saying why: `storagemarket run paper-4dn --seed 0 --set days=3 --set
ledger.engine=raft --set ledger.credit.enabled=true --out DIR`, then `sha256sum` the files listed.
"""

import hashlib
from collections import Counter
from pathlib import Path

from experiments.cli import main
from ledger.contracts import clearing

FIXTURE = Path(__file__).parent / "fixtures" / "raft-credit-3day-seed0"


def test_three_day_rolling_raft_run_is_pinned_byte_for_byte(tmp_path, monkeypatch):
    cleared = Counter()  # a day's close takes its hours' clearings from their gate closures
    clear, clear_book = clearing._clear, clearing._clear_book

    def counted_clear(*args, again=False):
        cleared["again" if again else "gate"] += 1
        return clear(*args, again=again)

    def counted_book(*args):
        cleared["cleared"] += 1
        return clear_book(*args)

    monkeypatch.setattr(clearing, "_clear", counted_clear)
    monkeypatch.setattr(clearing, "_clear_book", counted_book)
    assert main(["run", "paper-4dn", "--seed", "0", "--set", "days=3", "--set", "ledger.engine=raft",
                 "--set", "ledger.credit.enabled=true", "--out", str(tmp_path)]) == 0
    for line in (FIXTURE / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split()
        assert hashlib.sha256((tmp_path / name).read_bytes()).hexdigest() == digest, name
    assert cleared["again"] > 0 and cleared["cleared"] == cleared["gate"]
    assert main(["ledger", "verify", str(tmp_path / "ledger.sqlite")]) == 0  # its signatures on a second core
