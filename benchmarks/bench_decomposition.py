"""Subgradient iterations and seconds of the dual decomposition at 4, 12 and 50 participants.

Participants are DNOs of the paper-4dn recipe, cycled to the size (seed 0's day); each solves its
own MILP on forecasts first, as in a run, and pays half the paper's 100 RMB/MWh service fee on
each side of a trade. Printed per form and size: iterations, whether the stopping rule was met,
seconds, seconds per iteration and per local solve, the central LP's seconds, and the gaps to it,
for the diminishing step (the default) and Polyak's.
The bilateral form has a price per pair (n(n-1)/2 of them), so it runs at the two smaller sizes.
Run: .venv/bin/python benchmarks/bench_decomposition.py [--iterations 1000] [--sizes 4 12 50]
"""

from __future__ import annotations

import argparse
import time

from batch_runs.run_one import scenario_for
from market.coordination.convex import DayData, central
from market.coordination.dual_decomposition import DualDecompositionParams, subgradient
from model.planning import DnoDay, make_scheduler


def participants(n: int) -> list[DayData]:
    scenario = scenario_for({"n_dnos": n}, 0)
    out = []
    for dno in scenario.dnos:
        scheduler, day = make_scheduler(dno, scenario), DnoDay.of(dno)
        own = scheduler.solve(day.pv_forecast_mw, day.wind_forecast_mw, day.load_forecast_mw)
        out.append(DayData.of(dno.name, scheduler, day.pv_forecast_mw, day.wind_forecast_mw, day.load_forecast_mw,
                              own.sell_mw, (50.0, 50.0)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=1000)
    parser.add_argument("--sizes", type=int, nargs="+", default=[4, 12, 50])
    args = parser.parse_args()
    print(f"{'form':>9}{'step':>12}{'n':>4}{'iter':>6}{'conv':>6}{'s':>8}{'ms/iter':>9}{'ms/solve':>10}{'central s':>10}"
          f"{'dual gap':>10}{'cost gap':>10}")
    for n in args.sizes:
        datas = participants(n)
        for form, step in (("pool", "diminishing"), ("pool", "polyak"), ("bilateral", "diminishing"),
                           ("bilateral", "polyak")):
            if form == "bilateral" and n > 12:
                continue
            params = DualDecompositionParams(form=form, step=step, max_iterations=args.iterations, reference=False)
            start = time.perf_counter()
            out = subgradient(datas, params)
            seconds = time.perf_counter() - start
            start = time.perf_counter()
            ref = central(datas, form)
            central_s = time.perf_counter() - start
            dual_gap = (ref.objective_rmb - out.report["dual_rmb"]) / abs(ref.objective_rmb)
            cost_gap = (out.report["agreed_cost_rmb"] - ref.objective_rmb) / abs(ref.objective_rmb)
            print(f"{form:>9}{step:>12}{n:>4}{out.iterations:>6}{str(out.converged):>6}{seconds:>8.1f}"
                  f"{1e3 * seconds / out.iterations:>9.1f}{1e3 * seconds / out.iterations / n:>10.2f}"
                  f"{central_s:>10.2f}{dual_gap:>10.3%}{cost_gap:>10.3%}", flush=True)


if __name__ == "__main__":
    main()
