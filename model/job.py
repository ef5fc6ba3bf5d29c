"""The main job: simulate a scenario, and write its outputs to a directory.

`simulate` is the one entry point for everything that runs the model (the CLI, sweeps, the
paper experiment): it returns the run's tables and a flat dict of outcome measures. Until the Mesa
model lands (issue 5) it runs the scheduling and DAF-IDO deviation stage for every DNO.
Everything is computed before the first file is written, so a failed run leaves an existing
output directory as it was.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from model.outputs import write_csv, write_json
from model.planning import activity_counts, hourly_table, plan_day
from model.scenario import Scenario


@dataclass
class RunResult:
    """A run's output tables, its deterministic summary, flat measures and wall-clock timings."""

    tables: dict[str, pd.DataFrame]
    summary: dict[str, Any]
    measures: dict[str, float | int | str]
    timings: dict[str, float] = field(default_factory=dict)


def simulate(scenario: Scenario, seed: int) -> RunResult:
    plans = plan_day(scenario)
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
    measures: dict[str, float | int | str] = {
        **activity_counts(plans),
        "supply_mwh": float(sum(np.sum(p.deviation.supply_mwh) for p in plans)),
        "demand_mwh": float(sum(np.sum(p.deviation.demand_mwh) for p in plans)),
    }
    for p in plans:
        measures[f"supply_mwh.{p.dno}"] = float(np.sum(p.deviation.supply_mwh))
        measures[f"demand_mwh.{p.dno}"] = float(np.sum(p.deviation.demand_mwh))
    seconds = [s for p in plans for s in p.solve_seconds]
    timings = {
        "milp_solves": len(seconds),
        "milp_median_seconds": statistics.median(seconds) if seconds else 0.0,
        "milp_total_seconds": sum(seconds),
    }
    return RunResult({"hourly": hourly_table(plans)}, summary, measures, timings)


def write(result: RunResult, out_dir: Path) -> list[Path]:
    """Write every table as CSV, summary.json (deterministic) and timings.json (wall clock)."""
    paths = []
    for name, table in result.tables.items():
        paths.append(out_dir / f"{name}.csv")
        write_csv(table, paths[-1])
    paths += [out_dir / "summary.json", out_dir / "timings.json"]
    write_json(result.summary, paths[-2])
    write_json(result.timings, paths[-1])
    return paths


def run(scenario: Scenario, seed: int, out_dir: Path) -> list[Path]:
    """Simulate and write the outputs; returns the paths written."""
    return write(simulate(scenario, seed), out_dir)
