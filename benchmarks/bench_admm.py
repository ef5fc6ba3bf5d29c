"""ADMM iterations and seconds to converge at 4, 12 and 50 participants, and the central solve's.

Participants are DNOs of the paper-4dn recipe, cycled to the size (seed 0's day), each after its
own MILP on forecasts, paying half the paper's 100 RMB/MWh service fee on each side of a trade;
they share a storage station of 10 MWh and 2.5 MW per participant (5 RMB/MWh). ADMM runs with the
stage's defaults (rho 0.1, adaptive, tolerances 1e-3, PDLP at 1e-6) up to the cap. Printed:
iterations, converged, seconds, milliseconds per local step, the central LP's seconds and ADMM's
cost gap to it. Speed targets live here, never in timed tests.
Run: .venv/bin/python benchmarks/bench_admm.py [--sizes 4 12 50] [--cap 500]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

from bench_decomposition import participants  # the same participants, from this folder
from market.coordination.admm import admm
from market.coordination.convex import central
from market.shared_storage import SharedStorage


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[4, 12, 50])
    parser.add_argument("--cap", type=int, default=500)
    args = parser.parse_args()
    print(f"{'n':>4}{'iter':>6}{'conv':>6}{'ADMM s':>9}{'ms/step':>9}{'central s':>11}{'cost gap':>10}")
    for n in args.sizes:
        station = SharedStorage("Shared Co", 10.0 * n, 2.5 * n, fee_per_mwh=5.0)
        datas = [replace(d, ses_power_mw=station.power_mw, ses_fee_per_mwh=5.0) for d in participants(n)]
        start = time.perf_counter()
        out = admm(datas, station, max_iterations=args.cap)
        seconds = time.perf_counter() - start
        start = time.perf_counter()
        ref = central(datas, "bilateral", ses=station)
        central_s = time.perf_counter() - start
        gap = (sum(out.costs_rmb.values()) - ref.cost_rmb) / abs(ref.cost_rmb)
        steps = out.iterations * (n + 1)  # the participants' and the operator's
        print(f"{n:>4}{out.iterations:>6}{str(out.converged):>6}{seconds:>9.1f}{1e3 * seconds / steps:>9.1f}"
              f"{central_s:>11.2f}{gap:>10.4%}", flush=True)


if __name__ == "__main__":
    main()
