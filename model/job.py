"""The main job: run a scenario and write its outputs to a directory.

Until the Mesa model lands (issue 5) the job runs the scheduling and DAF-IDO deviation stage for
every DNO and writes its hourly table. Everything is computed before the first file is written,
so a run that fails leaves an existing output directory as it was.
"""

from __future__ import annotations

import statistics
from pathlib import Path

import numpy as np

from model.outputs import write_csv, write_json
from model.planning import activity_counts, hourly_table, plan_day
from model.scenario import Scenario


def run(scenario: Scenario, seed: int, out_dir: Path) -> list[Path]:
    """Plan the day, write hourly.csv, summary.json (deterministic) and timings.json (wall clock)."""
    plans = plan_day(scenario)
    table = hourly_table(plans)
    summary = {
        "scenario": scenario.name,
        "seed": seed,
        "stage": "scheduling and DAF-IDO deviation",
        "intraday_mode": scenario.scheduling.intraday_mode,
        "solver": plans[0].day_ahead.solver if plans else None,
        **activity_counts(plans),
        "dnos": {
            p.dno: {
                "day_ahead_cost_rmb": p.day_ahead.cost,
                "intraday_cost_rmb": p.intraday[-1].cost,
                "supply_mwh": float(np.sum(p.deviation.supply_mwh)),
                "demand_mwh": float(np.sum(p.deviation.demand_mwh)),
                "deviation_hours": int(np.count_nonzero(p.deviation.case)),
            }
            for p in plans
        },
    }
    seconds = [s for p in plans for s in p.solve_seconds]
    timings = {
        "milp_solves": len(seconds),
        "milp_median_seconds": statistics.median(seconds) if seconds else 0.0,
        "milp_total_seconds": sum(seconds),
    }
    paths = [out_dir / "hourly.csv", out_dir / "summary.json", out_dir / "timings.json"]
    write_csv(table, paths[0])
    write_json(summary, paths[1])
    write_json(timings, paths[2])
    return paths
