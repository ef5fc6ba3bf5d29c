"""Wall time of one simulated day, in process, broken down by phase; and how it grows with DNOs.

Run: .venv/bin/python benchmarks/bench_model.py [--repeats N] [--sizes 10 50]

The breakdown profiles one paper-4dn day and reports the inclusive time of the functions at each
component's boundary (the MILP solve, Ed25519 signing and verification, the clearing and settlement
rules, the consensus cluster's event loop, Mesa's data collection) plus Mesa's own time.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import time
from collections import defaultdict

from batch_runs.run_one import scenario_for
from ledger.identity import clear_signature_cache
from model.job import simulate
from model.scenario import load

# Inclusive time of the functions at each component's boundary: (file suffix, function name).
BOUNDARIES = {
    "solver (MILP solves)": [("market/scheduling.py", "solve")],
    "crypto (Ed25519 sign + verify)": [("ledger/identity.py", "sign"), ("ledger/identity.py", "verify_signature")],
    "auction (clearing, settlement rules)": [
        ("market/auction.py", "clear_hour"), ("market/settlement.py", "settle_hour"),
        ("market/settlement.py", "close_day")],
    "chain (consensus, gossip, contracts, incl. verify and auction)": [("ledger/consensus/cluster.py", "run")],
    "Mesa data collection": [("mesa/datacollection.py", "collect")],
}


def inclusive(stats: pstats.Stats) -> dict[str, float]:
    """Cumulative seconds per component; they overlap where one calls another (see the names)."""
    seconds: dict[str, float] = defaultdict(float)
    for (path, _line, func), (_cc, _nc, _own, cum, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        for name, points in BOUNDARIES.items():
            if any(path.endswith(f) and func == fn for f, fn in points):
                seconds[name] += cum
    mesa_own = sum(own for (path, _l, _f), (_c, _n, own, _cum, _r) in stats.stats.items() if "/mesa/" in path)  # type: ignore[attr-defined]
    seconds["Mesa framework (own time)"] = mesa_own
    return dict(seconds)


def cold() -> None:
    """Forget verified signatures, as a fresh process would: a warm cache would flatter crypto."""
    clear_signature_cache()


def timed_day(scenario, seed: int) -> float:
    cold()
    start = time.perf_counter()
    simulate(scenario, seed)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="*", default=[10, 50])
    args = parser.parse_args()

    paper = load("paper-4dn")
    simulate(paper, 0)  # warm imports and caches
    times = [timed_day(paper, seed) for seed in range(args.repeats)]
    print(f"paper-4dn, one day in process: median {statistics.median(times):.2f} s over {args.repeats} seeds")

    cold()
    result = simulate(paper, 0)
    phases = {k.replace("phase_", "").replace("_seconds", ""): v for k, v in result.timings.items() if k.startswith("phase_")}
    print("  by model phase: " + ", ".join(f"{k} {v:.2f} s" for k, v in sorted(phases.items(), key=lambda kv: -kv[1])))

    cold()
    profile = cProfile.Profile()
    profile.enable()
    simulate(paper, 0)
    profile.disable()
    stats = pstats.Stats(profile)
    total = max(cum for (_p, _l, f), (_c, _n, _o, cum, _r) in stats.stats.items() if f == "simulate")  # type: ignore[attr-defined]
    print("  by component (profiled; inclusive, so the chain's figure contains verification and the contracts' auction):")
    for name, value in inclusive(stats).items():
        print(f"    {name:<66}{value:7.2f} s  {100 * value / total:5.1f} %")
    print(f"    {'whole day under the profiler':<66}{total:7.2f} s")

    for n in args.sizes:
        scenario = scenario_for({"n_dnos": n}, 0)
        elapsed = timed_day(scenario, 0)
        print(f"{n} DNOs (paper-4dn recipe cycled), one day: {elapsed:.2f} s")


if __name__ == "__main__":
    main()
