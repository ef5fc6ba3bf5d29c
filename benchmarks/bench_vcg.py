"""Median time per hour of the VCG double auction (market/vcg.py), and its deficit.

Half the bidders sell, half buy, with seeded random quantities of 0.1-10 MWh and prices of
300-700 RMB/MWh. The deficit (what the market operator covers) is printed as a share of the
welfare: VCG's price for truthful bidding. Speed targets live here, never in timed tests.
Run: .venv/bin/python benchmarks/bench_vcg.py
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from market.book import Bid
from market.vcg import clear

SIZES = (10, 100, 1_000, 10_000)


def book(n_bidders: int, seed: int = 0) -> tuple[list[Bid], list[Bid]]:
    """n/2 sellers and n/2 buyers with seeded quantities and prices."""
    rng = np.random.default_rng(seed)
    quantities = rng.uniform(0.1, 10.0, n_bidders)
    prices = rng.uniform(300.0, 700.0, n_bidders)
    bids = [Bid(f"p{k}", float(quantities[k]), float(prices[k])) for k in range(n_bidders)]
    return bids[: n_bidders // 2], bids[n_bidders // 2 :]


def median_seconds(offers: list[Bid], bids: list[Bid], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        clear(offers, bids)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    print(f"{'bidders':>8}{'VCG ms':>10}{'traded MWh':>12}{'welfare RMB':>14}{'deficit RMB':>14}{'deficit/W':>11}")
    for n in SIZES:
        offers, bids = book(n)
        result = clear(offers, bids)
        seconds = median_seconds(offers, bids, repeats=3 if n >= 10_000 else 7)
        traded = sum(result.allocation_mwh[o.bidder] for o in offers)
        share = result.deficit_rmb / result.welfare_rmb
        print(
            f"{n:>8}{seconds * 1e3:>10.2f}{traded:>12.1f}{result.welfare_rmb:>14.0f}"
            f"{result.deficit_rmb:>14.0f}{share:>11.2%}",
            flush=True,
        )


if __name__ == "__main__":
    main()
