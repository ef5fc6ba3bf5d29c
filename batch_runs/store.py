"""The result store of a sweep: one row per run, appended to Parquet as runs finish.

Layout of the output directory:
    design.yaml       the design as run (a resume must match it)
    runs/part-*.parquet   rows appended during a sweep, each part written atomically (temporary
                      file, then rename), so a kill leaves no half part
    results.parquet   all rows, sorted; parts are folded into it when a sweep ends or stops

A run id is written once: reading drops repeated ids (a kill between folding and deleting
parts), and a resume runs only ids not yet present. A file that cannot be read (truncated by a
full disk, overwritten, not Parquet at all) is moved aside as `NAME.damaged` (never deleted, so
nothing is lost silently), a DamagedStoreWarning says so in one line, and reading goes on with
the intact files: its runs count as not run, so --resume runs them again. Wall-clock and host columns (ENV_COLUMNS and
`timing.*`) are the only ones that differ between identical sweeps.
"""

from __future__ import annotations

import fcntl
import time
import uuid
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from batch_runs.design import DesignBase, DesignError, parse
from model.outputs import write_atomic
from model.scenario import read_yaml

ID_COLUMNS = ["run_id", "point", "point_id", "seed", "iteration"]
STATUS_COLUMNS = ["status", "error"]
ENV_COLUMNS = ["seconds", "worker", "traceback"]
RESERVED = set(ID_COLUMNS) | set(STATUS_COLUMNS) | set(ENV_COLUMNS)
RESULTS = "results.parquet"
DAMAGED = ".damaged"


class DamagedStoreWarning(UserWarning):
    """A results file could not be read and was moved aside; its runs count as not run."""


def environment_columns(columns) -> list[str]:
    """Columns that vary between identical sweeps: wall clock, host, traceback paths."""
    return [c for c in columns if c in ENV_COLUMNS or str(c).startswith("timing.")]


class ResultStore:
    """A sweep's output directory."""

    def __init__(self, out: str | Path):
        self.dir = Path(out)
        self.parts = self.dir / "runs"
        self.damaged: list[str] = []  # one line per file moved aside, as warned

    # -- the design -----------------------------------------------------------------------------

    @property
    def design_path(self) -> Path:
        return self.dir / "design.yaml"

    def design(self) -> DesignBase:
        if not self.design_path.exists():
            raise DesignError(f"{self.dir}: not a sweep output directory (no design.yaml)")
        return parse(read_yaml(self.design_path), source=str(self.design_path))

    def begin(self, design: DesignBase, resume: bool) -> set[str]:
        """Claim the directory for `design` (one sweep at a time: a lock held until `close`);
        the run ids already done (empty unless resuming)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        self._lock = open(self.dir / ".lock", "w")
        try:
            return self._claim(design, resume)
        except BaseException:
            self.close()
            raise

    def _claim(self, design: DesignBase, resume: bool) -> set[str]:
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DesignError(f"{self.dir}: another sweep is running into this directory") from None
        has_rows = (self.dir / RESULTS).exists() or any(self.parts.glob("part-*.parquet"))
        if has_rows and not resume:
            raise DesignError(f"{self.dir}: already holds a sweep; pass --resume to finish it, or choose a new --out")
        if has_rows and (not self.design_path.exists() or self.design().runs_key() != design.runs_key()):
            raise DesignError(f"{self.dir}: holds a different design; resume needs the same one (or a new --out)")
        self.parts.mkdir(parents=True, exist_ok=True)
        write_atomic(self.design_path, design.to_yaml())
        return set(self.read()["run_id"]) if resume else set()  # every column: damage anywhere shows

    def close(self) -> None:
        """Release the directory for the next sweep."""
        lock, self._lock = getattr(self, "_lock", None), None
        if lock is not None:
            lock.close()

    # -- rows -----------------------------------------------------------------------------------

    def append(self, rows: list[dict[str, Any]]) -> None:
        """Write rows as one new part (atomically)."""
        if rows:
            name = f"part-{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.parquet"
            _write_parquet(pd.DataFrame(rows), self.parts / name)

    def read(self, columns: list[str] | None = None) -> pd.DataFrame:
        """All rows so far, one per run id, in design order (point, then seed)."""
        frames = [f for f in (self._load(path, columns) for path in self._files()) if f is not None]
        if not frames:
            return pd.DataFrame(columns=columns or ID_COLUMNS + STATUS_COLUMNS)
        df = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) else frames[0]
        df = df.drop_duplicates("run_id", keep="first")
        if "point" in df and "seed" in df:
            df = df.sort_values(["point", "seed"], kind="stable")
        return df[self._order(df.columns)].reset_index(drop=True)

    def consolidate(self) -> int:
        """Fold every part into results.parquet; the number of rows."""
        parts = sorted(self.parts.glob("part-*.parquet"))
        if not parts:
            return len(self.read(columns=["run_id"]))
        df = self.read()
        _write_parquet(df, self.dir / RESULTS)
        for part in parts:
            part.unlink()
        return len(df)

    def _load(self, path: Path, columns: list[str] | None) -> pd.DataFrame | None:
        """One file's rows; None when it is gone (folded by a sweep meanwhile) or damaged."""
        try:
            names = pq.read_schema(path).names
            if "run_id" not in names:
                raise ValueError("no run_id column")
            present = None if columns is None else [c for c in columns if c in names]
            return pq.read_table(path, columns=present).to_pandas()
        except FileNotFoundError:
            return None
        except PermissionError as exc:  # unreadable for us, not damaged: leave it where it is
            raise DesignError(f"{path}: cannot be read ({exc.strerror})") from None
        except (pa.ArrowException, OSError, ValueError) as exc:
            self._quarantine(path, exc)
            return None

    def _quarantine(self, path: Path, exc: Exception) -> None:
        """Move a damaged file aside as NAME.damaged (NAME.damaged-2, ... if taken) and say so."""
        target, k = path.with_name(path.name + DAMAGED), 1
        while target.exists():
            k += 1
            target = path.with_name(f"{path.name}{DAMAGED}-{k}")
        try:
            path.replace(target)
        except FileNotFoundError:  # moved aside meanwhile by another reader
            return
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        reason = reason.split("': ", 1)[-1] if reason.startswith("Could not open") else reason
        line = (f"{path}: not a readable results file ({reason}); moved to {target.name}, "
                f"its runs count as not run (--resume runs them again)")
        self.damaged.append(line)
        warnings.warn(line, DamagedStoreWarning, stacklevel=4)

    def _files(self) -> list[Path]:
        results = [self.dir / RESULTS] if (self.dir / RESULTS).exists() else []
        return results + sorted(self.parts.glob("part-*.parquet"))

    def _order(self, columns) -> list[str]:
        """Ids, parameters (design order), status, measures (sorted), then environment columns."""
        columns = list(columns)
        params = list(self.design().parameters) if self.design_path.exists() else []
        head = [c for c in ID_COLUMNS + params + STATUS_COLUMNS if c in columns]
        env = environment_columns(columns)
        rest = sorted(c for c in columns if c not in head and c not in env)
        return head + rest + sorted(env)


class Writer:
    """Buffers finished rows and appends them as a part at most every `flush_seconds` (and on
    close), so an interrupted sweep keeps every run it finished."""

    def __init__(self, store: ResultStore, flush_seconds: float = 1.0):
        self.store, self.flush_seconds = store, flush_seconds
        self.rows: list[dict[str, Any]] = []
        self.last = time.monotonic()

    def add(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        if time.monotonic() - self.last >= self.flush_seconds:
            self.flush()

    def flush(self) -> None:
        self.store.append(self.rows)
        self.rows, self.last = [], time.monotonic()

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, *exc) -> None:
        self.flush()


def _write_parquet(df: pd.DataFrame, path: Path) -> None:
    table = pa.Table.from_pandas(_arrow_safe(df), preserve_index=False)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    write_atomic(path, sink.getvalue().to_pybytes())


def _arrow_safe(df: pd.DataFrame) -> pd.DataFrame:
    """Object columns that mix types (a measure that is sometimes text) become text."""
    df = df.copy()
    for column in df.columns[df.dtypes == object]:
        kinds = {type(v) for v in df[column] if v is not None and v == v}
        if len(kinds) > 1:
            df[column] = df[column].map(lambda v: None if v is None or v != v else str(v))
    return df


