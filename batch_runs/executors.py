"""Executors: where runs execute. Each maps a function over tasks and yields results as they
finish (any order). A new executor is one class plus its entry in `EXECUTORS`.

- serial: in this process, in order (tests, debugging, `--processes 1`).
- processes: a local ProcessPoolExecutor (all cores by default). Its workers start by
  'forkserver' (or 'spawn' where there is none), set on the pool only: the process-wide start
  method is never touched, unlike mesa.batch_run.
- dask: a Dask distributed cluster, an existing one (`scheduler` address) or a LocalCluster of
  `workers` single-threaded processes. Workers of an existing cluster need storagemarket
  installed, the design's scenario and recipe files at the same paths, and one thread each
  (`dask worker ADDRESS --nthreads 1`): a run keeps one core busy.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import gc
import multiprocessing
import os
import signal
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from model.scenario import ScenarioError


class ClusterUnreachable(ScenarioError):
    """A --scheduler address with no Dask scheduler behind it: a user's mistake, one line, exit 2."""


class ExecutorLost(RuntimeError):
    """The workers went away (a killed or crashed process); finished runs are already saved."""


@dataclass(frozen=True)
class Lost:
    """Yielded instead of a result when the cluster gave up on a task (its worker kept dying)."""

    task: Any
    error: str


class Executor(ABC):
    """A context manager whose `imap_unordered(fn, tasks)` yields fn(task) as each finishes."""

    name = ""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc) -> None:
        pass

    @abstractmethod
    def imap_unordered(self, fn: Callable[[Any], Any], tasks: Iterable[Any]) -> Iterator[Any]:
        """Yield fn(task) for every task, in the order they finish."""

    def drain(self) -> list[Any]:
        """After an interrupt: the results of tasks already under way, once they finish."""
        return []

    def describe(self) -> str:
        """Where the runs go, as the command line's announcement reads it ("8 runs in this process")."""
        return f"on the {self.name} executor"


class SerialExecutor(Executor):
    name = "serial"

    def describe(self) -> str:
        return "in this process"

    def imap_unordered(self, fn, tasks):
        return map(fn, tasks)


def _ignore_sigint() -> None:
    """Workers leave Ctrl-C to the parent, which stops handing out runs and saves what finished."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


# What every local worker imports to run a simulation (a run, a day's plans), and the main module
# (forkserver's default), so functions defined there still unpickle in the workers.
PRELOAD = ["__main__", "batch_runs.sweep", "model.job", "model.plan_fanout"]


def _context() -> multiprocessing.context.BaseContext:
    """'forkserver' with the model preloaded (imported once by the server, not once by each worker
    it forks), or 'spawn' where there is no fork server."""
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        context.set_forkserver_preload(PRELOAD)
    return context


class ProcessExecutor(Executor):
    name = "processes"

    def __init__(self, workers: int | None = None):
        self.workers = workers or os.cpu_count() or 1
        self.pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> ProcessExecutor:
        self.pool = ProcessPoolExecutor(self.workers, mp_context=_context(), initializer=_ignore_sigint)
        return self

    @staticmethod
    def start_server() -> None:
        """Start the fork server now, so its imports (seconds) overlap what the caller does before
        its first run: the command line calls it before it loads and checks a design."""
        if _context().get_start_method() == "forkserver":
            import multiprocessing.forkserver

            multiprocessing.forkserver.ensure_running()

    def __exit__(self, *exc) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def imap_unordered(self, fn, tasks):
        pending = {self.pool.submit(fn, task) for task in tasks}
        self.unreported = set(pending)
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
                    self.unreported.discard(future)
        except BrokenProcessPool as exc:
            raise ExecutorLost(f"a worker process died ({exc})") from None
        finally:
            for future in pending:
                future.cancel()

    def drain(self):
        running = [f for f in getattr(self, "unreported", ()) if not f.cancelled()]
        return [f.result() for f in wait(running).done if f.exception() is None]

    def describe(self) -> str:
        return f"on {self.workers} local process{'es' * (self.workers != 1)}"


class DaskExecutor(Executor):
    name = "dask"

    def __init__(self, scheduler: str | None = None, workers: int | None = None):
        self.scheduler, self.workers = scheduler, workers
        self.client = self.cluster = None

    def __enter__(self) -> DaskExecutor:
        import logging

        from distributed import Client, LocalCluster

        if self.scheduler:
            problem = None
            try:
                self.client = Client(self.scheduler, timeout="10s")
            except (OSError, ValueError) as exc:
                problem = str(exc)
            if problem is not None:
                # The half-built Client closes itself in __del__ once its traceback is garbage. Let
                # that happen now: left to a later collection, it can run inside the next Client's
                # start, whose loop lock it then waits for forever (a distributed deadlock).
                gc.collect()
                raise ClusterUnreachable(f"--scheduler {self.scheduler}: no Dask scheduler there ({problem})")
        else:
            self.cluster = LocalCluster(
                n_workers=self.workers or os.cpu_count() or 1,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,
            )
            self.client = Client(self.cluster)
        return self

    def __exit__(self, *exc) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    def imap_unordered(self, fn, tasks):
        from distributed import KilledWorker, as_completed
        from distributed.client import FutureCancelledError

        tasks = list(tasks)
        futures = self.client.map(fn, tasks, pure=False)
        task_of = {f.key: t for f, t in zip(futures, tasks)}
        try:
            for future in as_completed(futures):
                try:
                    yield future.result()
                except KilledWorker as exc:
                    yield Lost(task_of[future.key], f"KilledWorker: {exc}")
                except FutureCancelledError as exc:
                    raise ExecutorLost(f"the Dask cluster cancelled a run ({exc})") from None
        finally:
            self.client.cancel([f for f in futures if not f.done()])

    def describe(self) -> str:
        if self.scheduler:
            return f"on the Dask cluster at {self.scheduler}"
        n = self.workers or os.cpu_count()
        return f"on a local Dask cluster of {n} worker{'s' * (n != 1)}"


EXECUTORS: dict[str, type[Executor]] = {cls.name: cls for cls in (SerialExecutor, ProcessExecutor, DaskExecutor)}


def executor_for(processes: int | None = None, workers: int | None = None, scheduler: str | None = None) -> Executor:
    """The executor the command line's flags ask for: --scheduler, --workers, else local processes."""
    if scheduler:
        return EXECUTORS["dask"](scheduler=scheduler)
    if workers:
        return EXECUTORS["dask"](workers=workers)
    if processes == 1:
        return EXECUTORS["serial"]()
    return EXECUTORS["processes"](processes)
