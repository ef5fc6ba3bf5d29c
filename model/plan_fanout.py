"""The DNOs' planning in other processes, with the bytes of a serial run.

A DNO's own plans (agents.dno.own_plans: day-ahead on forecasts, and in oracle mode the day on
actuals) and its rolling re-plans (agents.dno.rolling_plan, hour by hour) depend only on its MILP
and the data they are given, so the model can hand them, in chunks, to any
`imap_unordered(fn, tasks)` that runs a function elsewhere (the executors sweeps use: local
processes, a Dask cluster) and put them back in DNO order. A worker builds each DNO's MILP from
its spec once and keeps it for the next re-plans (`_scheduler`): a scheduler carries nothing from
one solve to the next that changes a result, which tests/test_plan_fanout.py checks by comparing
every byte of runs made both ways.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from agents.dno import own_plans, rolling_plan
from market.scheduling import DnoScheduler, Schedule
from model.planning import DnoDay, SchedulerSpec

# (function, tasks) -> the function's results, in any order (Executor.imap_unordered)
MapUnordered = Callable[[Callable[[Any], Any], Iterable[Any]], Iterable[Any]]
CHUNK_DNOS = 25  # DNOs a task plans at most: a task of ~2 s keeps the executor's overhead near nothing
MIN_TASKS = 8  # ... and at least this many tasks when there are DNOs enough, so the workers finish together
KEEP_SCHEDULERS = 2000  # MILPs a worker keeps built (a few hundred kB each)
_SCHEDULERS: dict[bytes, DnoScheduler] = {}


def _scheduler(spec: SchedulerSpec) -> DnoScheduler:
    """The MILP of `spec`, built once per process: a rolling day re-plans each DNO every hour, and
    building it costs about half a solve. Keyed by the spec's content, so equal specs share one."""
    key = hashlib.sha256(pickle.dumps(spec)).digest()
    scheduler = _SCHEDULERS.pop(key, None) or spec.build()
    _SCHEDULERS[key] = scheduler  # the most recently used last
    if len(_SCHEDULERS) > KEEP_SCHEDULERS:
        del _SCHEDULERS[next(iter(_SCHEDULERS))]
    return scheduler


@dataclass(frozen=True)
class PlanJob:
    """One DNO's day-start planning: its MILP's spec, its day, any replayed storage, the mode."""

    spec: SchedulerSpec
    inputs: DnoDay
    replay: tuple | None
    intraday_mode: str

    def run(self) -> tuple[Schedule, Schedule | None]:
        return own_plans(_scheduler(self.spec), self.inputs, None, self.replay, self.intraday_mode)


@dataclass(frozen=True)
class ReplanJob:
    """One DNO's rolling re-plans of an hour: its MILP's spec and each re-plan's arguments
    (DNO.rolling_solves: its own and any no-trade baseline's)."""

    spec: SchedulerSpec
    solves: tuple[tuple[DnoDay, int, np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None], ...]

    def run(self) -> list[Schedule]:
        return [rolling_plan(_scheduler(self.spec), *args) for args in self.solves]


@dataclass(frozen=True)
class PlanTask:
    index: int
    jobs: tuple[PlanJob | ReplanJob, ...]


def plan_chunk(task: PlanTask) -> tuple[int, list]:
    """The plans of a chunk of DNOs, each on its MILP as built in this process."""
    return task.index, [job.run() for job in task.jobs]


def fan_out(map_unordered: MapUnordered, jobs: Sequence[PlanJob | ReplanJob]) -> list:
    """Every job's plans (a PlanJob's own plans, a ReplanJob's re-plans), in the order of `jobs`,
    computed wherever `map_unordered` runs them."""
    chunk = max(1, min(CHUNK_DNOS, -(-len(jobs) // MIN_TASKS)))
    tasks = [PlanTask(i, tuple(jobs[k:k + chunk])) for i, k in enumerate(range(0, len(jobs), chunk))]
    done: list[list | None] = [None] * len(tasks)
    for result in map_unordered(plan_chunk, tasks):
        if not isinstance(result, tuple):  # an executor's Lost: the cluster gave up on a chunk
            raise RuntimeError(f"planning fan-out: a chunk of DNOs was lost ({getattr(result, 'error', result)})")
        index, plans = result
        done[index] = plans
    return [plan for plans in done for plan in plans]
