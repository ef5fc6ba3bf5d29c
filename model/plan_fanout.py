"""The day-ahead planning of many DNOs in other processes, with the bytes of a serial run.

A DNO's own plans (agents.dno.own_plans: day-ahead on forecasts, and in oracle mode the day on
actuals) depend only on its MILP and its day's data, so the model can hand them, in chunks, to any
`imap_unordered(fn, tasks)` that runs a function elsewhere (the executors sweeps use: local
processes, a Dask cluster) and put them back in DNO order. Each chunk builds its DNOs' MILPs from
their specs: a scheduler carries nothing from one solve to the next that changes a result, which
tests/test_plan_fanout.py checks by comparing every byte of runs made both ways.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from agents.dno import own_plans
from market.scheduling import Schedule
from model.planning import DnoDay, SchedulerSpec

# (function, tasks) -> the function's results, in any order (Executor.imap_unordered)
MapUnordered = Callable[[Callable[[Any], Any], Iterable[Any]], Iterable[Any]]
CHUNK_DNOS = 25  # DNOs a task plans: a task of ~2 s keeps the executor's overhead near nothing


@dataclass(frozen=True)
class PlanJob:
    """One DNO's day-start planning: its MILP's spec, its day, any replayed storage, the mode."""

    spec: SchedulerSpec
    inputs: DnoDay
    replay: tuple | None
    intraday_mode: str


@dataclass(frozen=True)
class PlanTask:
    index: int
    jobs: tuple[PlanJob, ...]


def plan_chunk(task: PlanTask) -> tuple[int, list[tuple[Schedule, Schedule | None]]]:
    """The own plans of a chunk of DNOs, each on a MILP built here."""
    return task.index, [own_plans(job.spec.build(), job.inputs, None, job.replay, job.intraday_mode)
                        for job in task.jobs]


def fan_out(map_unordered: MapUnordered, jobs: Sequence[PlanJob]) -> list[tuple[Schedule, Schedule | None]]:
    """Every job's own plans, in the order of `jobs`, computed wherever `map_unordered` runs them."""
    chunk = CHUNK_DNOS
    tasks = [PlanTask(i, tuple(jobs[k:k + chunk])) for i, k in enumerate(range(0, len(jobs), chunk))]
    done: list[list | None] = [None] * len(tasks)
    for result in map_unordered(plan_chunk, tasks):
        if not isinstance(result, tuple):  # an executor's Lost: the cluster gave up on a chunk
            raise RuntimeError(f"planning fan-out: a chunk of DNOs was lost ({getattr(result, 'error', result)})")
        index, plans = result
        done[index] = plans
    return [plan for plans in done for plan in plans]
