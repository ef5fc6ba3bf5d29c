"""Speed work must not move a byte: a three-day rolling run on Raft with double credit.

Pinned from the code before the columnar clearing and the copy-on-write chain state (issue 19),
so every output of a longer run, the ledger's state roots included, is what the straightforward
implementation wrote (tests/test_designs.py pins the one-day paper-4dn run the same way). Re-pin
deliberately only, saying why: `storagemarket run paper-4dn --seed 0 --set days=3 --set
ledger.engine=raft --set ledger.credit.enabled=true --out DIR`, then `sha256sum` the files listed.
"""

import hashlib
from pathlib import Path

from experiments.cli import main

FIXTURE = Path(__file__).parent / "fixtures" / "raft-credit-3day-seed0"


def test_three_day_rolling_raft_run_is_pinned_byte_for_byte(tmp_path):
    assert main(["run", "paper-4dn", "--seed", "0", "--set", "days=3", "--set", "ledger.engine=raft",
                 "--set", "ledger.credit.enabled=true", "--out", str(tmp_path)]) == 0
    for line in (FIXTURE / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split()
        assert hashlib.sha256((tmp_path / name).read_bytes()).hexdigest() == digest, name
    assert main(["ledger", "verify", str(tmp_path / "ledger.sqlite")]) == 0
