"""A simulated day as DNOs grow: in process, through the command line, with the report's share.

Targets (issue 19): a paper-4dn day in process <= 0.3 s (oracle) and <= 1.0 s (rolling); `make run`
(`storagemarket run paper-4dn`, imports and report included) <= 3 s; 100 DNOs <= 8 s (oracle) and
<= 30 s (rolling) in process, the report <= 20 % of the run; 1 000 DNOs, oracle, <= 3 min within
3 GB with the planning on 2 local processes. Each line prints its figure and its target; each day
is followed by what the MILP solver alone took (the floor while the plans, and so every output,
stay the same). The 100-DNO oracle day is also run from Python with its planning on 2 local
processes, first while the workers start (their imports included), then on warm workers.
Run: .venv/bin/python benchmarks/bench_scale.py [--rolling-100] [--thousand]
(--rolling-100 adds 100 DNOs rolling, several minutes; --thousand the 1 000-DNO day, about 5 minutes)
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from batch_runs.executors import executor_for
from batch_runs.run_one import scenario_for
from ledger.identity import clear_signature_cache
from model.job import simulate
from model.report import render
from model.scenario import load, to_yaml

CLI = str(Path(sys.executable).parent / "storagemarket")


def with_mode(scenario, mode: str):
    return scenario.model_copy(update={"scheduling": scenario.scheduling.model_copy(update={"intraday_mode": mode})})


def day_seconds(scenario, repeats: int, planner=None) -> tuple[float, float, object]:
    """Median seconds of a day, median seconds its MILPs took (wherever they were solved), a result."""
    times, milps, result = [], [], None
    for seed in range(repeats):
        clear_signature_cache()
        start = time.perf_counter()
        result = simulate(scenario, seed, planner=planner)
        times.append(time.perf_counter() - start)
        milps.append(result.timings["milp_seconds"])
    return statistics.median(times), statistics.median(milps), result


def line(what: str, seconds: float, target: float, unit: str = "s") -> None:
    print(f"{what:<58}{seconds:>9.2f} {unit}  target {target:g} {unit}  ({seconds / target:.2f} of it)", flush=True)


def milp_line(seconds: float, milp_seconds: float, where: str = "") -> None:
    """What the MILP solver alone took: the floor of a day whose plans must stay the same."""
    print(f"{'  solving the MILPs' + where:<58}{milp_seconds:>9.2f} s  {milp_seconds / seconds:.0%} of it", flush=True)


def cli_run(args: list[str]) -> tuple[float, float]:
    """Wall seconds of a `storagemarket` command and the peak RSS (GB) of its largest process."""
    start = time.perf_counter()
    subprocess.run([CLI, *args], check=True, capture_output=True)
    return time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rolling-100", action="store_true")
    parser.add_argument("--thousand", action="store_true")
    args = parser.parse_args()
    paper = load("paper-4dn")
    simulate(paper, 0)  # warm imports
    for mode, target in (("oracle", 0.3), ("rolling", 1.0)):
        seconds, milp_seconds, _ = day_seconds(with_mode(paper, mode), 3)
        line(f"paper-4dn day in process, {mode}", seconds, target)
        milp_line(seconds, milp_seconds)
    with tempfile.TemporaryDirectory() as tmp:
        seconds = statistics.median(cli_run(["run", "paper-4dn", "--out", f"{tmp}/p{k}"])[0] for k in range(3))
        line("storagemarket run paper-4dn (make run after installation)", seconds, 3.0)
        hundred = scenario_for({"n_dnos": 100}, 0)
        for mode, target in (("oracle", 8.0), ("rolling", 30.0)):
            if mode == "rolling" and not args.rolling_100:
                continue
            run_s, milp_seconds, result = day_seconds(with_mode(hundred, mode), 1)
            line(f"100 DNOs day in process, {mode}", run_s, target)
            milp_line(run_s, milp_seconds)
            start = time.perf_counter()
            render(result)
            report_s = time.perf_counter() - start
            print(f"{'  report.html of it':<58}{report_s:>9.2f} s  {report_s / (run_s + report_s):.0%} of run + "
                  "report, target 20 %", flush=True)
        with executor_for(processes=2) as executor:
            for label in ("starting", "warm"):
                run_s, milp_seconds, _ = day_seconds(with_mode(hundred, "oracle"), 1, executor.imap_unordered)
                line(f"100 DNOs oracle, planning on 2 processes ({label})", run_s, 8.0)
                milp_line(run_s, milp_seconds, ", summed over both")
        if args.rolling_100:
            path = Path(tmp) / "dn100-rolling.yaml"
            path.write_text(to_yaml(with_mode(hundred, "rolling")), encoding="utf-8")
            seconds, _ = cli_run(["run", str(path), "--processes", "2", "--out", f"{tmp}/dn100r"])
            line("100 DNOs rolling, planning on 2 processes (CLI, report in)", seconds, 30.0)
        if args.thousand:
            path = Path(tmp) / "dn1000.yaml"
            path.write_text(to_yaml(scenario_for({"n_dnos": 1000}, 0)), encoding="utf-8")
            seconds, peak_gb = cli_run(["run", str(path), "--processes", "2", "--out", f"{tmp}/dn1000"])
            line("1 000 DNOs, oracle, planning on 2 processes (CLI)", seconds, 180.0)
            line("  peak memory of its largest process", peak_gb, 3.0, "GB")


if __name__ == "__main__":
    main()
