"""The result store of a sweep: one row per run, appended to Parquet as runs finish.

Layout of the output directory:
    design.yaml       the design as run (a resume must match it)
    runs/part-*.parquet   rows appended during a sweep, each part written atomically (temporary
                      file, then rename), so a kill leaves no half part
    results.parquet   all rows, sorted; parts are folded into it when a sweep ends or stops

A run id is written once: reading drops repeated ids (a kill between folding and deleting
parts), and a resume runs only ids not yet present. A file that cannot be read (truncated by a
full disk, overwritten, not Parquet at all), or that is not this design's (another sweep's results
copied in: run ids design.yaml does not make, or its columns missing) is moved aside as
`NAME.damaged` (never deleted, so nothing is lost silently), a DamagedStoreWarning says so in one
line, and reading goes on with the intact files: its runs count as not run, so --resume runs them
again, and no foreign row is ever folded into results.parquet. Wall-clock and host columns
(ENV_COLUMNS and `timing.*`) are the only ones that differ between identical sweeps.

The folder holds nothing else but what `analyze` and `compare` write beside the store (SWEEP_FILES),
so a sweep refuses a folder of another kind of output (a run's) before writing anything, and a
sweep refused after `begin` (a --scheduler with no cluster) leaves the folder as it found it.
"""

from __future__ import annotations

import fcntl
import itertools
import time
import uuid
import warnings
from contextlib import suppress
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from batch_runs.design import DesignBase, DesignError, RunSpec, parse
from model.out_dir import check_files, check_place, is_temporary
from model.outputs import write_atomic
from model.scenario import read_yaml

ID_COLUMNS = ["run_id", "point", "point_id", "seed", "iteration"]
STATUS_COLUMNS = ["status", "error"]
ENV_COLUMNS = ["seconds", "worker", "traceback"]
RESERVED = set(ID_COLUMNS) | set(STATUS_COLUMNS) | set(ENV_COLUMNS)
RESULTS = "results.parquet"
DAMAGED = ".damaged"
LOCK = ".lock"
# A sweep's folder: the store, and what `analyze` (analysis.html, summary.csv, sobol.csv) and
# `compare` (compare.html, compare.csv, compare-*.png) write beside it.
SWEEP_FILES = frozenset({"design.yaml", "runs", RESULTS, LOCK, "analysis.html", "summary.csv", "sobol.csv",
                         "compare.html", "compare.csv"})


class DamagedStoreWarning(UserWarning):
    """A results file could not be read and was moved aside; its runs count as not run."""


class _NotThisDesign(ValueError):
    """A readable Parquet file whose rows are not this design's runs (or no sweep's at all)."""


def is_sweep_file(name: str) -> bool:
    """A file of a sweep's folder: SWEEP_FILES, compare's figures, a damaged file moved aside, or a
    temporary file written before one of them."""
    return (name in SWEEP_FILES or name.startswith(RESULTS + DAMAGED) or is_temporary(name, SWEEP_FILES)
            or (name.startswith("compare-") and name.endswith(".png")))


def check_out(out: str | Path) -> None:
    """Raise OutDirError unless a sweep may write to `out`: a folder that is, or can be made, writable
    (model.out_dir), holding nothing but a sweep's files."""
    check_place(Path(out))
    check_files(Path(out), is_sweep_file, "sweep")


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
        the run ids already done (empty unless resuming). A refusal here, or `abandon` after
        one before any run, leaves the directory as it was (or not there)."""
        check_out(self.dir)
        missing = list(itertools.takewhile(lambda p: not p.exists(), (self.dir, *self.dir.parents)))
        added = [p for p in (self.design_path, self.parts, self.dir / LOCK) if not p.exists()]
        self.dir.mkdir(parents=True, exist_ok=True)
        self._lock = open(self.dir / LOCK, "w")
        self._undo: list[Path] | None = None  # nothing to undo until the lock is ours
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.close()
            raise DesignError(f"{self.dir}: another sweep is running into this directory") from None
        self._undo, self._design_was = added + missing, self._design_bytes()
        try:
            return self._claim(design, resume)
        except BaseException:
            self.abandon()
            raise

    def _claim(self, design: DesignBase, resume: bool) -> set[str]:
        has_rows = (self.dir / RESULTS).exists() or any(self.parts.glob("part-*.parquet"))
        if has_rows and not resume:
            raise DesignError(f"{self.dir}: already holds a sweep; pass --resume to finish it, or choose a new --out")
        if has_rows and (not self.design_path.exists() or self.design().runs_key() != design.runs_key()):
            raise DesignError(f"{self.dir}: holds a different design; resume needs the same one (or a new --out)")
        self.parts.mkdir(parents=True, exist_ok=True)
        write_atomic(self.design_path, design.to_yaml())
        return set(self.read()["run_id"]) if resume else set()  # every column: damage anywhere shows

    def abandon(self) -> None:
        """Undo `begin` after a refusal before any run: remove what it added (design.yaml, an empty
        runs/, the lock file, the folders it made) and put back the design.yaml it replaced."""
        undo, self._undo = getattr(self, "_undo", None), None
        self.close()
        if undo is None:
            return
        if self._design_was is not None and self._design_bytes() != self._design_was:
            write_atomic(self.design_path, self._design_was)
        for path in undo:  # files, then folders deepest first: a folder that is not empty stays
            with suppress(OSError):
                if path.is_dir():
                    path.rmdir()
                else:
                    path.unlink()

    def _design_bytes(self) -> bytes | None:
        return self.design_path.read_bytes() if self.design_path.exists() else None

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
        runs = {r.run_id: r for r in self.design().runs()} if self.design_path.exists() else None
        frames = [f for f in (self._load(path, columns, runs) for path in self._files()) if f is not None]
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

    def _load(self, path: Path, columns: list[str] | None, runs: dict[str, RunSpec] | None) -> pd.DataFrame | None:
        """One file's rows; None when it is gone (folded by a sweep meanwhile), damaged, or not
        the design's (`runs`: the design's runs by id; None without a design.yaml)."""
        try:
            names = pq.read_schema(path).names
            missing = [c for c in ID_COLUMNS + STATUS_COLUMNS if c not in names]
            if missing:
                raise _NotThisDesign(f"no {', '.join(missing)} column{'s' * (len(missing) > 1)}")
            present = None if columns is None else [c for c in dict.fromkeys(["run_id", *columns]) if c in names]
            df = pq.read_table(path, columns=present).to_pandas()
            if runs is not None:
                _belongs(df.run_id, names, runs)
            return df
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
        what = "not a results file of this sweep" if isinstance(exc, _NotThisDesign) else "not a readable results file"
        line = (f"{path}: {what} ({reason}); moved to {target.name}, "
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


def _belongs(ids: pd.Series, names: list[str], runs: dict[str, RunSpec]) -> None:
    """Raise _NotThisDesign unless every row is one of the design's runs, with the columns of its
    point's parameters (another sweep's results have other run ids, or other parameters)."""
    foreign = [i for i in ids if i not in runs]
    if foreign:
        raise _NotThisDesign(f"{len(foreign)} of its {len(ids)} run ids are not runs of design.yaml, "
                             f"such as {foreign[0]!r}")
    absent = sorted({p for i in ids for p in runs[i].parameters} - set(names))
    if absent:
        raise _NotThisDesign(f"no column for the design's parameter{'s' * (len(absent) > 1)} {', '.join(absent)}")


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


