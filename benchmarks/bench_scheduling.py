"""Median solve time of one DNO's day-ahead MILP and of a rolling intraday re-solve (paper-4dn).

Run: .venv/bin/python benchmarks/bench_scheduling.py [--repeats N] [--solver highs|scip]
The model is built once per DNO (as in a run) and re-solved after updating its data.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from market.scheduling import rolling_intraday
from model.planning import DnoDay, make_scheduler
from model.scenario import load


def median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--solver", default="highs", choices=["highs", "scip"])
    args = parser.parse_args()
    scenario = load("paper-4dn", [f"scheduling.solver={args.solver}"])
    print(f"solver {args.solver}, {args.repeats} repeats, median wall time per solve")
    print(f"{'DNO':<5}{'units':>6}{'build ms':>10}{'day-ahead ms':>14}{'rolling re-solve ms':>21}{'rolling day s':>15}")
    for dno in scenario.dnos:
        day = DnoDay.of(dno)
        start = time.perf_counter()
        sched = make_scheduler(dno, scenario)
        build_ms = 1000 * (time.perf_counter() - start)
        da = lambda: sched.solve(day.pv_forecast_mw, day.wind_forecast_mw, day.load_forecast_mw)  # noqa: E731
        plan = da()
        known = np.arange(24) < 12  # hour 12: actuals up to it, forecasts after, hours 1-11 fixed
        mixed = [np.where(known, a, f) for a, f in (
            (day.pv_actual_mw, day.pv_forecast_mw),
            (day.wind_actual_mw, day.wind_forecast_mw),
            (day.load_actual_mw, day.load_forecast_mw),
        )]
        rolling = lambda: sched.solve(*mixed, from_hour=12, fixed_charge_mw=plan.charge_mw, fixed_discharge_mw=plan.discharge_mw)  # noqa: E731
        start = time.perf_counter()
        rolling_intraday(sched, day.pv_forecast_mw, day.wind_forecast_mw, day.load_forecast_mw,
                         day.pv_actual_mw, day.wind_actual_mw, day.load_actual_mw)
        day_s = time.perf_counter() - start
        print(f"{dno.name:<5}{len(sched.units):>6}{build_ms:>10.1f}{median_ms(da, args.repeats):>14.1f}"
              f"{median_ms(rolling, args.repeats):>21.1f}{day_s:>15.2f}")


if __name__ == "__main__":
    main()
