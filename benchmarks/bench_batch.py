"""Sweep throughput: runs per minute serially and with 2 local processes (parallel efficiency),
and the per-run overhead of the Dask path against the local process pool.

Run: .venv/bin/python benchmarks/bench_batch.py [--runs N] [--tasks M]
Throughput uses real paper-4dn days: N runs on warm workers (start-up reported apart: it is paid
once per sweep).
The same runs as one `storagemarket sweep` command, start to finish, in 1 and on 2 processes.
Overhead maps a run function that does nothing over M tasks on 2 workers after start-up, so the
figure is what the executor adds to every run (scheduling, pickling, result transfer, storing).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from batch_runs.design import parse
from batch_runs.executors import DaskExecutor, ProcessExecutor, SerialExecutor
from batch_runs.sweep import sweep


def nothing(parameters, seed):
    """A run that returns at once: what is left of its time is the executor's overhead."""
    return {"x": parameters["x"]}


def design(runs: int, real: bool):
    parameters = {"mechanism.seller_concession": [round(0.05 + 0.4 * i / runs, 4) for i in range(runs)]}
    return parse({"name": "bench", "parameters": parameters if real else {"x": list(range(runs))}}, "bench")


def timed_sweep(d, executor, run=None) -> float:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        kwargs = {"run": run} if run else {}
        sweep(d, out, executor, progress=False, **kwargs)
        return time.perf_counter() - start


def warm(executor, runs: int) -> tuple[float, float]:
    """Start-up (pool start plus one real run per worker, which imports the model) and the wall
    time of `runs` real runs on the warm executor."""
    start = time.perf_counter()
    with executor as ex:
        timed_sweep(design(2, real=True), _Started(ex))
        startup = time.perf_counter() - start
        return startup, timed_sweep(design(runs, real=True), _Started(ex))


_HALF = """
import sys, time
from batch_runs.run_one import run_one
from benchmarks.bench_batch import design
specs = design(int(sys.argv[1]), real=True).runs()[int(sys.argv[2])::2]
run_one(dict(specs[0].parameters), specs[0].seed)  # imports and first-run costs, as a warm worker has paid
start = time.perf_counter()
for spec in specs:
    run_one(dict(spec.parameters), spec.seed)
print(time.perf_counter() - start)
"""


def independent(runs: int) -> float:
    """Wall seconds of the same runs split between 2 processes that share nothing (no executor),
    each timed after its own warm-up: what this machine itself gives two parallel runs, so the
    executor's efficiency can be read against it (a shared 2-core machine rarely gives 1.0)."""
    halves = [subprocess.Popen([sys.executable, "-c", _HALF, str(runs), str(k)], stdout=subprocess.PIPE, text=True,
                               cwd=Path(__file__).resolve().parent.parent) for k in range(2)]
    return max(float(p.communicate()[0]) for p in halves)


def command_line_sweep(runs: int, processes: int) -> float:
    """Wall seconds of `storagemarket sweep` over the benchmark's design, start to finish."""
    concessions = design(runs, real=True).parameters["mechanism.seller_concession"]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "design.yaml"
        path.write_text(yaml.safe_dump({"name": "bench", "kind": "grid",
                                        "parameters": {"mechanism.seller_concession": list(concessions)}}))
        start = time.perf_counter()
        subprocess.run([str(Path(sys.executable).parent / "storagemarket"), "sweep", str(path), "--out",
                        f"{tmp}/out", "--processes", str(processes)], check=True, capture_output=True)
        return time.perf_counter() - start


def overhead_ms(executor, tasks: int) -> float:
    """Per-task wall time of a no-op sweep on an already started executor."""
    with executor as ex:
        timed_sweep(design(4, real=False), _Started(ex), nothing)  # start the workers
        seconds = timed_sweep(design(tasks, real=False), _Started(ex), nothing)
    return 1000 * seconds / tasks


class _Started:
    """An executor already entered: the sweep uses it without starting or stopping it."""

    def __init__(self, ex):
        self.ex = ex

    def __enter__(self):
        return self.ex

    def __exit__(self, *exc):
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=16, help="paper-4dn runs per throughput measurement")
    parser.add_argument("--tasks", type=int, default=300, help="no-op tasks per overhead measurement")
    args = parser.parse_args()
    executors = {
        "serial": SerialExecutor(),
        "2 local processes": ProcessExecutor(2),
        "local Dask cluster, 2 workers": DaskExecutor(workers=2),
    }
    print(f"paper-4dn, {args.runs} runs on warm workers; start-up = pool start + first run per worker")
    print(f"{'executor':<32}{'start-up s':>11}{'wall s':>8}{'runs/min':>10}{'efficiency':>12}{'with start-up':>15}")
    serial = None
    for name, executor in executors.items():
        startup, seconds = warm(executor, args.runs)
        serial = serial or (seconds, startup + seconds)
        workers = 1 if name == "serial" else 2
        rate = 60 * args.runs / seconds
        print(f"{name:<32}{startup:>11.1f}{seconds:>8.1f}{rate:>10.1f}{serial[0] / (workers * seconds):>12.2f}"
              f"{serial[1] / (workers * (startup + seconds)):>15.2f}")
    both = independent(args.runs)
    print(f"{'2 processes, no executor':<32}{'':>11}{both:>8.1f}{60 * args.runs / both:>10.1f}"
          f"{serial[0] / (2 * both):>12.2f}   (the machine's own ceiling for two parallel runs)")
    print("target (issue 19): efficiency >= 0.9 on 2 processes with warm workers; 'with start-up' counts the "
          "pool's start and each worker's first run (its imports) in both times")
    cli = {n: command_line_sweep(args.runs, n) for n in (1, 2)}
    print(f"the same {args.runs} runs as one `storagemarket sweep` (imports, checks, store, everything): "
          f"{cli[1]:.1f} s in 1 process, {cli[2]:.1f} s on 2 ({cli[1] / (2 * cli[2]):.2f} efficiency)")
    local_ms = overhead_ms(ProcessExecutor(2), args.tasks)
    dask_ms = overhead_ms(DaskExecutor(workers=2), args.tasks)
    print(f"per-run overhead, no-op runs on 2 workers after start-up ({args.tasks} tasks):")
    print(f"  local processes {local_ms:.2f} ms, Dask {dask_ms:.2f} ms, Dask adds {dask_ms - local_ms:.2f} ms per run")


if __name__ == "__main__":
    main()
