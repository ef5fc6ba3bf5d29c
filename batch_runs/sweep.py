"""Run a design: every missing (point, seed) through an executor into the result store.

`execute` is what workers run: it calls the run function, times it, and turns an exception into a
failed row, so a run that raised is recorded with its error and never retried by --resume.
Interrupts (Ctrl-C, a lost worker) are not failures: they stop the sweep, the rows finished so
far are kept, and --resume runs the rest.
"""

from __future__ import annotations

import functools
import os
import socket
import time
import traceback
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from batch_runs.design import DesignBase, RunSpec
from batch_runs.executors import Executor, Lost, SerialExecutor
from batch_runs.progress import Progress
from batch_runs.run_one import run_one
from batch_runs.store import RESERVED, ResultStore, Writer
from model.scenario import ScenarioError

RunFn = Callable[[dict[str, Any], int], dict[str, Any]]


@dataclass(frozen=True)
class SweepReport:
    """How many runs the design has, were already stored, ran now, and failed now."""

    total: int
    resumed: int
    ran: int
    failed: int
    store: ResultStore


def execute(run: RunFn, spec: RunSpec) -> dict[str, Any]:
    """One row: ids, parameters, status, measures, wall-clock columns."""
    start = time.perf_counter()
    try:
        outcome, status, error, trace = run(dict(spec.parameters), spec.seed), "ok", None, None
    except Exception as exc:  # a failed run is a result; KeyboardInterrupt is not caught
        outcome, status, error, trace = {}, "failed", f"{type(exc).__name__}: {exc}", traceback.format_exc()
    row = _ids(spec, status, error)
    for name, value in outcome.items():
        if name not in row and name not in RESERVED:
            row[name] = value
        elif row.get(name) != value:  # a measure named like a column: kept apart, unless it repeats it
            row[f"measure:{name}"] = value
    row.update(seconds=time.perf_counter() - start, worker=f"{socket.gethostname()}:{os.getpid()}", traceback=trace)
    return row


def lost_row(spec: RunSpec, error: str) -> dict[str, Any]:
    """The row of a run the cluster gave up on (its worker died every time it ran)."""
    return {**_ids(spec, "failed", error), "seconds": None, "worker": None, "traceback": None}


def _ids(spec: RunSpec, status: str, error: str | None) -> dict[str, Any]:
    return {
        "run_id": spec.run_id,
        "point": spec.point,
        "point_id": spec.point_id,
        "seed": spec.seed,
        "iteration": spec.iteration,
        **spec.parameters,
        "status": status,
        "error": error,
    }


def sweep(
    design: DesignBase,
    out: str | Path,
    executor: Executor | None = None,
    resume: bool = False,
    run: RunFn = run_one,
    progress: bool = True,
    flush_seconds: float = 1.0,
) -> SweepReport:
    """Run what `out` lacks of `design`; rows are saved as runs finish, also when interrupted."""
    store = ResultStore(out)
    done = store.begin(design, resume)
    runs = design.runs()
    todo = [r for r in runs if r.run_id not in done]
    try:
        with ExitStack() as stack:
            try:
                ex = stack.enter_context(executor if executor and todo else SerialExecutor())  # no cluster for nothing
            except ScenarioError:  # refused before any run (a --scheduler with no cluster): as if never begun
                store.abandon()
                raise
            writer = stack.enter_context(Writer(store, flush_seconds))
            bar = stack.enter_context(Progress(len(runs), len(runs) - len(todo), design.name, progress))
            try:
                for result in ex.imap_unordered(functools.partial(execute, run), todo):
                    _save(result, writer, bar)
            except KeyboardInterrupt:
                for result in ex.drain():  # runs under way when Ctrl-C came: finish and keep them
                    _save(result, writer, bar)
                raise
    finally:
        store.consolidate()
        store.close()
    return SweepReport(len(runs), len(runs) - len(todo), bar.ran, bar.failed, store)


def _save(result: dict[str, Any] | Lost, writer: Writer, bar: Progress) -> None:
    row = lost_row(result.task, result.error) if isinstance(result, Lost) else result
    writer.add(row)
    bar.update(row["status"])
