"""Median time of `clear_hour` per matching mode, and of the GLOP LPs that check merit_order.

The book is a flat hour (TOU 650, feed-in 400 RMB/MWh) priced by the default band rule from
seeded random quantities, so the three concession rounds do real work. Speed targets live here,
never in timed tests. Run: .venv/bin/python benchmarks/bench_auction.py
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np

from market.auction import Rules, clear_hour
from market.bidding import Position, price_bids
from market.welfare import optimal_welfare_lp

SIZES = {
    "merit_order": (10, 100, 1_000, 10_000),
    "pairwise_rounds": (10, 100, 1_000, 10_000),
    "block": (10, 30, 100),
}


def book(n_per_side: int, rules: Rules, seed: int = 0):
    """n sellers and n buyers with seeded quantities, scales and upload times."""
    rng = np.random.default_rng(seed)

    def positions(prefix: str) -> list[Position]:
        q = rng.uniform(0.5, 20.0, n_per_side)
        scale = rng.uniform(10.0, 60.0, n_per_side)
        t = rng.uniform(0.0, 1.0, n_per_side)
        return [Position(f"{prefix}{k}", q[k], scale[k], t[k]) for k in range(n_per_side)]

    return price_bids(positions("s"), positions("b"), rules)


def median_seconds(run: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    print(f"{'mode':<16}{'bids/side':>10}{'clear_hour ms':>15}{'trades':>8}{'LP ms':>10}{'LP/clear':>10}")
    for mode, sizes in SIZES.items():
        rules = Rules(matching=mode, tou_buy_per_mwh=650.0, is_valley=False)
        for n in sizes:
            offers, bids = book(n, rules)
            repeats = 3 if n >= 1_000 or mode == "block" else 15
            result = clear_hour(offers, bids, rules)
            clear_s = median_seconds(lambda: clear_hour(offers, bids, rules), repeats)
            line = f"{mode:<16}{n:>10}{clear_s * 1e3:>15.2f}{len(result.trades):>8}"
            if mode == "merit_order":
                # the check the tests run: one LP per round's book
                lp_s = median_seconds(
                    lambda: [optimal_welfare_lp(r.offers, r.bids) for r in result.rounds], repeats
                )
                line += f"{lp_s * 1e3:>10.2f}{lp_s / clear_s:>10.1f}"
            print(line, flush=True)


if __name__ == "__main__":
    main()
