"""What the design seam costs a paper-4dn day: the stages' dispatch, the coordination step and
the outcome measures, as a share of the day's time (target: at most 5 %).

Run: .venv/bin/python benchmarks/bench_designs.py [--repeats N]

A profiled day sums the time of the seam's own functions: inclusive time of the work it added
(the coordination stage with its channel, the outcome measures) and the own time of the thin
wrappers around rules that existed before (the real-time stage's `clear` and `price_bids`, the
design read from the genesis document). Unprofiled days give the day's median wall time.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import time

from ledger.identity import clear_signature_cache
from model.job import simulate
from model.scenario import load

ADDED = [("model/outcomes.py", "outcomes"), ("market/coordination/independent.py", "coordinate"),
         ("ledger/service.py", "offchain_channel")]
WRAPPERS = [("market/realtime/concession_auction.py", "clear"), ("market/realtime/base.py", "price_bids"),
            ("ledger/contracts/clearing.py", "market_of"), ("market/design.py", "stage_params")]


def seam_seconds(stats: pstats.Stats) -> float:
    total = 0.0
    for (path, _line, func), (_cc, _nc, own, cum, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if any(path.endswith(f) and func == fn for f, fn in ADDED):
            total += cum
        if any(path.endswith(f) and func == fn for f, fn in WRAPPERS):
            total += own
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    scenario = load("paper-4dn")
    simulate(scenario, 0)  # warm imports and solver libraries
    days = []
    for seed in range(args.repeats):
        clear_signature_cache()
        start = time.perf_counter()
        simulate(scenario, seed)
        days.append(time.perf_counter() - start)
    shares = []
    for seed in range(args.repeats):
        clear_signature_cache()
        profiler = cProfile.Profile()
        start = time.perf_counter()
        profiler.runcall(simulate, scenario, seed)
        profiled = time.perf_counter() - start
        shares.append(seam_seconds(pstats.Stats(profiler)) / profiled)
    day = statistics.median(days)
    share = statistics.median(shares)
    print(f"paper-4dn day: median {day:.3f} s over {args.repeats} days (min {min(days):.3f}, max {max(days):.3f})")
    print(f"design seam: {100 * share:.2f} % of the day (median of {args.repeats} profiled days; target <= 5 %)")


if __name__ == "__main__":
    main()
