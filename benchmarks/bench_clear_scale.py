"""`clear_hour` on large books: the columnar clearing against the round loop, a numpy floor and,
when it is installed, ASSUME's pay-as-clear, all on the same book in the same run.

Targets (issue 19): at 10 000 bids per side <= 20 ms, at 100 000 <= 300 ms, with the round loop's
results bit for bit (tests/market/test_columnar_clearing.py). Columns:
- `clear ms`: `clear_hour` (default rules, three rounds, results read lazily);
- `+records ms`: the same, then every trade, round book and residual built as records;
- `loop ms`: the round loop every other mode runs (what `clear_hour` did before);
- `floor ms`: one numpy sort-and-cumsum clearing of the book, the least any clearing can do;
- `ASSUME ms`: ASSUME's PayAsClearRole on the same orders, up to 10 000 bids a side (pip install
  assume-framework to see it; it is not a dependency).
Run: .venv/bin/python benchmarks/bench_clear_scale.py  (--quick: up to 10 000 bids per side)
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import numpy as np
from bench_auction import book, median_seconds  # the same seeded books as the per-mode table

from market.auction import Bid, Rules, _round_loop, clear_hour

TARGET_MS = {10_000: 20.0, 100_000: 300.0}
ASSUME_MAX = 10_000  # its pay-as-clear pops the head of a list per order: ~1 min at 10 000, hours at 100 000


def median_ms(run: Callable[[], object], repeats: int) -> float:
    return median_seconds(run, repeats) * 1e3


def numpy_floor(offers: tuple[Bid, ...], bids: tuple[Bid, ...]) -> float:
    """Volume of one sort-and-cumsum clearing: the merit orders, their cumulative quantities, and
    the traded segments of the merged breakpoints (asks at most bids)."""
    ask = np.fromiter((b.price_per_mwh for b in offers), float, len(offers))
    supply = np.fromiter((b.quantity_mwh for b in offers), float, len(offers))
    bid = np.fromiter((b.price_per_mwh for b in bids), float, len(bids))
    demand = np.fromiter((b.quantity_mwh for b in bids), float, len(bids))
    s, d = np.argsort(ask, kind="stable"), np.argsort(-bid, kind="stable")
    cum_s, cum_d = np.cumsum(supply[s]), np.cumsum(demand[d])
    edges = np.union1d(cum_s, cum_d)
    starts = np.concatenate(([0.0], edges[:-1]))
    i = np.minimum(np.searchsorted(cum_s, starts, side="right"), len(s) - 1)
    j = np.minimum(np.searchsorted(cum_d, starts, side="right"), len(d) - 1)
    trades = (ask[s][i] <= bid[d][j]) & (edges <= min(cum_s[-1], cum_d[-1]))
    return float(np.sum((edges - starts)[trades]))


def assume_clearing() -> Callable[[tuple[Bid, ...], tuple[Bid, ...]], object] | None:
    """ASSUME's pay-as-clear on the same orders, or None if ASSUME is not installed."""
    try:
        from datetime import datetime, timedelta

        from assume.common.market_objects import MarketConfig, MarketProduct
        from assume.markets.clearing_algorithms import PayAsClearRole
        from dateutil import rrule
    except ImportError:
        return None
    start, end = datetime(2026, 1, 1, 2), datetime(2026, 1, 1, 3)
    hourly = rrule.rrule(rrule.HOURLY, dtstart=datetime(2026, 1, 1), until=datetime(2026, 1, 2))
    role = PayAsClearRole(MarketConfig(opening_hours=hourly, market_products=[MarketProduct(timedelta(hours=1), 1)],
                                       maximum_bid_price=None, minimum_bid_price=-1e9, maximum_bid_volume=None))

    def clear(offers: tuple[Bid, ...], bids: tuple[Bid, ...]) -> object:
        orders = [{"bid_id": b.bidder, "agent_addr": b.bidder, "start_time": start, "end_time": end, "only_hours": None,
                   "price": float(b.price_per_mwh), "volume": sign * float(b.quantity_mwh)}
                  for side, sign in ((offers, 1.0), (bids, -1.0)) for b in side]
        return role.clear(orders, [(start, end, None)])

    return clear


def main() -> None:
    rules = Rules(tou_buy_per_mwh=650.0, is_valley=False)
    sizes = (100, 1_000, 10_000) if "--quick" in sys.argv else (100, 1_000, 10_000, 100_000)
    assume = assume_clearing()
    print(f"{'bids/side':>10}{'clear ms':>10}{'target':>8}{'+records ms':>13}{'loop ms':>10}{'loop/clear':>11}"
          f"{'floor ms':>10}{'clear/floor':>12}{'ASSUME ms':>11}{'ASSUME/clear':>13}{'trades':>8}")
    for n in sizes:
        offers, bids = map(tuple, book(n, rules))
        repeats = 3 if n >= 100_000 else 7 if n >= 10_000 else 25
        result = clear_hour(offers, bids, rules)
        reference = _round_loop(offers, bids, rules, None, None)
        assert result == reference  # the benchmark times the same clearing, not a different one
        clear = median_ms(lambda: clear_hour(offers, bids, rules), repeats)

        def with_records() -> None:
            cleared = clear_hour(offers, bids, rules)
            tuple(cleared.trades), tuple(cleared.rounds), dict(cleared.residual_by_hour)

        records = median_ms(with_records, repeats)
        loop = median_ms(lambda: _round_loop(offers, bids, rules, None, None), 1 if n >= 100_000 else repeats)
        floor = median_ms(lambda: numpy_floor(offers, bids), repeats)
        line = (f"{n:>10}{clear:>10.2f}{TARGET_MS.get(n, float('nan')):>8.0f}{records:>13.2f}{loop:>10.2f}"
                f"{loop / clear:>11.1f}{floor:>10.2f}{clear / floor:>12.1f}")
        if assume is not None and n <= ASSUME_MAX:
            theirs = median_ms(lambda: assume(offers, bids), 1 if n >= 10_000 else 3)
            line += f"{theirs:>11.2f}{theirs / clear:>13.1f}"
        else:
            line += f"{'-':>11}{'-':>13}"
        print(line + f"{len(result.trades):>8}", flush=True)
    if assume is None:
        print("ASSUME is not installed (pip install assume-framework to compare; it is not a dependency)")


if __name__ == "__main__":
    main()
