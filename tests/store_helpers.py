"""Damaging a ledger store as an attacker with write access would, for the verify tests."""

import shutil
import sqlite3


def cut_last_blocks(src, dst, blocks):
    """Copy the store and delete its last `blocks` blocks with their transactions, as an attacker
    with write access would (dropping the append-only triggers first)."""
    shutil.copy(src, dst)
    db = sqlite3.connect(dst)
    for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        db.execute(f"DROP TRIGGER {name}")
    top = db.execute("SELECT max(height) FROM blocks").fetchone()[0]
    db.execute("DELETE FROM txs WHERE height > ?", (top - blocks,))
    db.execute("DELETE FROM blocks WHERE height > ?", (top - blocks,))
    db.commit()
    db.close()
    return top
