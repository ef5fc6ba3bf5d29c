"""Median time per hour of best-response dynamics (market/best_response.py, §B.3.5).

Half the participants sell, half buy, with seeded quantities of 1-10 MWh; limits are the grid
alternatives (sellers feed-in 400, buyers TOU 600 RMB/MWh) and every price grid is [400, 600] in
steps of 1 RMB/MWh. The clearing is `clear_hour` with one merit-order round and no network. Each
participant starts at its limit, then (a second table) at a seeded random grid price, where the
sellers undercut one another step by step as in the model's harder hours. One more
run times every clearing evaluation (`market_utilities`, memoised so once per distinct profile):
their mean, and their share of the hour, show where the time goes. An hour costs about
sweeps x participants x 201 clearings; from a random start the sellers undercut one another by
1 RMB/MWh a sweep, so expect up to ~200 sweeps there (and `not_converged` at the default 100).
Run: .venv/bin/python benchmarks/bench_best_response.py  (add --quick for 4 and 12 participants,
--start limits|random for one table)
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time
import timeit

import numpy as np

from market.auction import Rules, clear_hour
from market.best_response import Player, best_response_dynamics, market_utilities, price_grid

FEED_IN, TOU = 400.0, 600.0
RULES = Rules(
    max_rounds=1, matching="merit_order", feed_in_per_mwh=FEED_IN, tou_buy_per_mwh=TOU, is_valley=False
)
GRID = price_grid(FEED_IN, TOU, 1.0)


def hour(n: int, seed: int, random_start: bool):
    """The players, their grids, start prices and utilities callable of one seeded hour."""
    rng = np.random.default_rng(seed)
    quantities = rng.uniform(1.0, 10.0, n)
    players = [
        Player(f"s{k}", "sell", float(q), FEED_IN) if k < n // 2 else Player(f"b{k}", "buy", float(q), TOU)
        for k, q in enumerate(quantities)
    ]
    start = {
        p.name: float(rng.choice(GRID)) if random_start else p.limit_per_mwh for p in players
    }
    clear = functools.partial(clear_hour, rules=RULES)
    utilities = functools.partial(
        market_utilities, players, clear=clear, feed_in_per_mwh=FEED_IN, tou_buy_per_mwh=TOU
    )
    return players, {p.name: GRID for p in players}, start, utilities


def timed_clearings(players, grids, start, utilities):
    """Seconds of one run, seconds of it spent in clearing evaluations, and the run's result."""
    spent = []

    def timed(profile):
        begin = time.perf_counter()
        value = utilities(profile)
        spent.append(time.perf_counter() - begin)
        return value

    begin = time.perf_counter()
    result = best_response_dynamics(players, grids, start, timed, np.random.default_rng(0))
    return time.perf_counter() - begin, sum(spent), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 and 12 participants only")
    parser.add_argument("--start", choices=("limits", "random", "both"), default="both",
                        help="start at the limits, at seeded random grid prices, or time both (default)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per size (median)")
    args = parser.parse_args()
    sizes = (4, 12) if args.quick else (4, 12, 50)
    print(
        f"{'start':>7}{'players':>8}{'supply':>8}{'demand':>8}{'s/hour':>9}{'sweeps':>7}{'outcome':>15}"
        f"{'evaluations':>12}{'eval ms':>9}{'clearing':>9}{'prices':>10}"
    )
    starts = {"limits": (False,), "random": (True,), "both": (False, True)}[args.start]
    for n, random_start in ((n, r) for r in starts for n in sizes):
        players, grids, start, utilities = hour(n, seed=0, random_start=random_start)

        def run():
            return best_response_dynamics(players, grids, start, utilities, np.random.default_rng(0))

        hour_s = statistics.median(timeit.repeat(run, repeat=args.repeats, number=1))
        run_s, clearing_s, result = timed_clearings(players, grids, start, utilities)
        eval_s = clearing_s / result.evaluations
        supply = sum(p.quantity_mwh for p in players if p.side == "sell")
        prices = result.profile.values()
        print(
            f"{'random' if random_start else 'limits':>7}{n:>8}{supply:>8.1f}{sum(p.quantity_mwh for p in players) - supply:>8.1f}"
            f"{hour_s:>9.2f}{result.sweeps:>7}{result.outcome:>15}{result.evaluations:>12}"
            f"{eval_s * 1e3:>9.3f}{clearing_s / run_s:>9.0%}"
            f"{min(prices):>5.0f}-{max(prices):<4.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
