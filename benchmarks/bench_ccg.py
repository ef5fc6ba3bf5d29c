"""C&CG iterations and seconds per participant-day of the robust day-ahead plan, at K = 5 and 10
scenarios (clustered from M = 100 samples of each DNO's forecast errors), for the four DNOs of a
bundled day (paper-4dn, or heat-4dn: electric-heat DNOs under a carbon price), with the scenario's default radii (alpha_1 0.99, alpha_inf 0.5) and gap
(1e-4). Printed per K: each DNO's iterations and seconds, and the mean seconds per DNO-day, beside
its deterministic MILP on the forecast. Speed targets live here, never in timed tests.
Run: .venv/bin/python benchmarks/bench_ccg.py [--scenarios 5 10] [--samples 100] [--scenario heat-4dn]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from market.dro import ambiguity_radii
from market.robust_plan import robust_storage
from model.planning import DnoDay, forecast_scenarios, make_scheduler
from model.scenario import load


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenarios", type=int, nargs="+", default=[5, 10])
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--scenario", default="paper-4dn")
    args = parser.parse_args()
    scenario = load(args.scenario)
    dro = scenario.scheduling.dro
    print(f"{'K':>4}{'DNO':>6}{'iter':>6}{'conv':>6}{'C&CG s':>9}{'MILP s':>9}")
    for k in args.scenarios:
        rng = np.random.default_rng(0)
        theta_1, theta_inf = ambiguity_radii(k, args.samples, dro.alpha_1, dro.alpha_inf)
        seconds = []
        for spec in scenario.dnos:
            scheduler, day = make_scheduler(spec, scenario), DnoDay.of(spec)
            sc = forecast_scenarios(day, rng, args.samples, k)
            start = time.perf_counter()
            plan = robust_storage(scheduler, sc.pv_mw, sc.wind_mw, sc.load_mw, sc.probabilities, theta_1, theta_inf,
                                  dro.gap, dro.max_iterations, heat_mw=sc.heat_mw)
            seconds.append(time.perf_counter() - start)
            start = time.perf_counter()
            scheduler.solve(day.pv_forecast_mw, day.wind_forecast_mw, day.load_forecast_mw,
                            heat_load_mw=day.heat_forecast_mw)
            milp = time.perf_counter() - start
            print(f"{k:>4}{spec.name:>6}{plan.ccg.iterations:>6}{str(plan.ccg.converged):>6}{seconds[-1]:>9.2f}"
                  f"{milp:>9.3f}", flush=True)
        print(f"{k:>4}{'mean':>6}{'':>12}{np.mean(seconds):>9.2f}", flush=True)


if __name__ == "__main__":
    main()
