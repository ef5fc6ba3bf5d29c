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


def flip_bit(path, table, column, key, height, idx, position, mask):
    """XOR one byte of a stored blob in place (`position` modulo its length) with `mask`, after
    dropping the table's append-only trigger; `idx` picks the transaction in table txs."""
    db = sqlite3.connect(path)
    db.executescript(f"DROP TRIGGER {table}_no_update;")
    where = f"{key} = ?" + (" AND idx = ?" if table == "txs" else "")
    args = (height, idx) if table == "txs" else (height,)
    (blob,) = db.execute(f"SELECT {column} FROM {table} WHERE {where}", args).fetchone()
    blob = bytearray(blob)
    blob[position % len(blob)] ^= mask
    db.execute(f"UPDATE {table} SET {column} = ? WHERE {where}", (bytes(blob), *args))
    db.commit()
    db.close()
