"""A ledger whose last blocks were cut off fails `ledger verify`; `--head` pins the tip."""

import json
import sqlite3

import pytest

from experiments.cli import main
from store_helpers import cut_last_blocks


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert main(["run", "paper-4dn", "--seed", "2", "--out", str(out)]) == 0
    return out


@pytest.mark.parametrize("blocks", [1, 2, 7, "all"])
def test_cutting_off_the_last_blocks_fails_verify(run_dir, tmp_path, blocks, capsys):
    path = tmp_path / "cut.sqlite"
    top = sqlite3.connect(run_dir / "ledger.sqlite").execute("SELECT max(height) FROM blocks").fetchone()[0]
    cut_last_blocks(run_dir / "ledger.sqlite", path, top if blocks == "all" else blocks)
    assert main(["ledger", "verify", str(path)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "its last blocks are missing" in err, err


def test_head_pins_the_tip(run_dir, tmp_path, capsys):
    store = str(run_dir / "ledger.sqlite")
    chain = json.loads((run_dir / "summary.json").read_text())["chain"]
    assert main(["ledger", "verify", store, "--head", chain["tip_hash"]]) == 0
    assert main(["ledger", "verify", store, "--head", chain["tip_hash"][:16].upper()]) == 0
    assert f"tip {chain['tip_hash'][:16]}" in capsys.readouterr().out
    assert main(["ledger", "verify", store, "--head", "ab" * 32]) == 1
    assert capsys.readouterr().err.count("is not the expected head") == 1
    assert main(["ledger", "verify", store, "--head", chain["tip_hash"][:8]]) == 2  # too short to mean much: bad input
    assert capsys.readouterr().err.startswith("error: storagemarket ledger verify: argument --head: ")
