"""A simulated day as DNOs grow: in process, through the command line, with the report's share.

Targets (issue 19): a paper-4dn day in process <= 0.3 s (oracle) and <= 1.0 s (rolling); `make run`
(`storagemarket run paper-4dn`, imports and report included) <= 3 s; 100 DNOs <= 8 s (oracle) and
<= 30 s (rolling) in process, the report <= 20 % of the run; 1 000 DNOs, oracle, <= 3 min within
3 GB with the planning on 2 local processes. Each line prints its figure and its target.
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

from batch_runs.run_one import scenario_for
from ledger.identity import clear_signature_cache
from model.job import simulate
from model.report import render
from model.scenario import load, to_yaml

CLI = str(Path(sys.executable).parent / "storagemarket")


def with_mode(scenario, mode: str):
    return scenario.model_copy(update={"scheduling": scenario.scheduling.model_copy(update={"intraday_mode": mode})})


def day_seconds(scenario, repeats: int) -> float:
    times = []
    for seed in range(repeats):
        clear_signature_cache()
        start = time.perf_counter()
        simulate(scenario, seed)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def line(what: str, seconds: float, target: float, unit: str = "s") -> None:
    print(f"{what:<58}{seconds:>9.2f} {unit}  target {target:g} {unit}  ({seconds / target:.2f} of it)", flush=True)


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
        line(f"paper-4dn day in process, {mode}", day_seconds(with_mode(paper, mode), 3), target)
    with tempfile.TemporaryDirectory() as tmp:
        seconds = statistics.median(cli_run(["run", "paper-4dn", "--out", f"{tmp}/p{k}"])[0] for k in range(3))
        line("storagemarket run paper-4dn (make run after installation)", seconds, 3.0)
        hundred = scenario_for({"n_dnos": 100}, 0)
        for mode, target in (("oracle", 8.0), ("rolling", 30.0)):
            if mode == "rolling" and not args.rolling_100:
                continue
            clear_signature_cache()
            start = time.perf_counter()
            result = simulate(with_mode(hundred, mode), 0)
            run_s = time.perf_counter() - start
            line(f"100 DNOs day in process, {mode}", run_s, target)
            start = time.perf_counter()
            render(result)
            report_s = time.perf_counter() - start
            print(f"{'  report.html of it':<58}{report_s:>9.2f} s  {report_s / (run_s + report_s):.0%} of run + "
                  "report, target 20 %", flush=True)
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
