"""The main job: simulate a scenario, and write its outputs to a directory.

`simulate` is the one entry point for everything that runs the model (the CLI, sweeps, the
paper experiment): it runs `StorageMarketModel` to the end and returns the run's tables, its
deterministic summary, flat measures for sweeps and wall-clock timings. `run` writes them all,
computing everything first so that a failed run leaves an existing output directory as it was
(and a directory it created for the run gone); which directories it may write to is
model/out_dir.py's to say.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from ledger.contracts.clearing import CLEARING_SECONDS
from model import tables
from model.market_model import StorageMarketModel
from model.out_dir import remove_stale
from model.outputs import publish, write_csv, write_json
from model.plan_fanout import MapUnordered
from model.scenario import Scenario
from model.shedding import unserved_note


@dataclass
class RunResult:
    """A run's output tables, its deterministic summary, flat measures and wall-clock timings."""

    tables: dict[str, pd.DataFrame]
    summary: dict[str, Any]
    measures: dict[str, float | int | str]
    timings: dict[str, float] = field(default_factory=dict)
    model: StorageMarketModel | None = field(default=None, repr=False)


def simulate(scenario: Scenario, seed: int, store_path: str | Path | None = None,
             warn: Callable[[str], None] | None = None, planner: MapUnordered | None = None) -> RunResult:
    """Run the model for all its hours; `store_path` keeps the chain in a SQLite file. `warn` is
    told, before the first hour, of configured faults beyond what the consensus engine tolerates.
    `planner` (an executor's imap_unordered) plans the DNOs' days elsewhere, with the same results."""
    start = time.perf_counter()
    model = StorageMarketModel(scenario, rng=seed, store_path=store_path, planner=planner)
    for line in model.ledger.fault_warnings() if warn else ():
        warn(line)
    while model.running:
        model.step()
    model.ledger.close()
    frames = {
        "hourly": tables.hourly(model),
        "bids": tables.bids(model),
        "trades": tables.trades(model),
        "settlement": tables.settlement(model),
    }
    if scenario.ledger.credit.enabled:
        frames["credit"] = tables.credit(model)
    if scenario.design.delivery.settle:
        frames["delivery"] = tables.delivery(model)
    if model.real_time.negotiates:
        frames["best_response"] = tables.best_response(model)
    for name in model.coordination.tables:
        frames[name] = tables.record_table(model.coordination_tables.get(name, []))
    if model.real_time.rows_file:
        frames[model.real_time.rows_file] = tables.stage_table(model.stage_rows)
    if scenario.scheduling.uncertainty == "dro":
        frames["dro"] = pd.DataFrame(model.dro_rows)
    if model.dso is not None:
        frames["network"] = tables.network(model)
        frames["buses"] = tables.buses(model)
    summary = tables.summary(model, frames)
    slowest = max(CLEARING_SECONDS.pop(model.ledger.chain.state["genesis"], {}).items(), key=lambda kv: kv[1],
                  default=None)
    timings = {
        "total_seconds": time.perf_counter() - start,
        "milp_seconds": sum(d.solve_seconds for d in model.dnos),
        **{f"phase_{k}_seconds": v for k, v in sorted(model.phase_seconds.items())},
        **({} if slowest is None else {"clearing_max_seconds": slowest[1], "clearing_max_day": slowest[0][0] + 1,
                                       "clearing_max_hour": slowest[0][1]}),
    }
    return RunResult(frames, summary, tables.measures(summary), timings, model)


def window_note(result: RunResult) -> str | None:
    """The real-time window a stage must clear within (`window_s`, e.g. VCG's), if an hour missed it."""
    model = result.model
    window = getattr(model.real_time_params, "window_s", None)
    took = result.timings.get("clearing_max_seconds")
    if window is None or took is None or took <= window:
        return None
    day, hour = result.timings["clearing_max_day"], result.timings["clearing_max_hour"]
    return (f"the clearing of day {day} hour {hour} took {took:.3g} s, beyond the real-time window of {window:g} s "
            f"(design.real_time.window_s); timings.json has the figures")


def run(scenario: Scenario, seed: int, out_dir: Path, warn: Callable[[str], None] | None = None,
        notes: Callable[[str], None] | None = None, planner: MapUnordered | None = None) -> list[Path]:
    """Simulate and write every output to `out_dir`; returns the paths written. `warn` is told of
    faults before the first hour (as `simulate`), `notes` of unserved energy after the last;
    `planner` as `simulate`'s.

    The ledger is written to a temporary file beside its destination and moved into place with
    the other outputs, so an earlier run's files survive a failure.
    """
    created = not out_dir.exists()
    out_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp_store = tempfile.mkstemp(prefix=".ledger.", suffix=".sqlite", dir=out_dir)
    os.close(fd)
    os.unlink(tmp_store)
    try:
        result = simulate(scenario, seed, store_path=tmp_store, warn=warn, planner=planner)
        from model.report import write_report  # matplotlib and seaborn: only a run that writes needs them

        paths = [out_dir / "report.html"]
        write_report(result, paths[0])  # first: a report that fails to render writes nothing
        for name, frame in result.tables.items():
            paths.append(out_dir / f"{name}.csv")
            write_csv(frame, paths[-1])
        paths.append(out_dir / "summary.json")
        write_json(result.summary, paths[-1])
        paths.append(out_dir / "timings.json")
        write_json(result.timings, paths[-1])
        paths.append(out_dir / "ledger.sqlite")
        publish(tmp_store, paths[-1])
        remove_stale(out_dir, paths)
    except BaseException:
        Path(tmp_store).unlink(missing_ok=True)
        if created and not any(out_dir.iterdir()):
            out_dir.rmdir()
        raise
    for note in (unserved_note(result.tables["hourly"]), tables.network_note(result.summary),
                 window_note(result)):
        if note and notes:
            notes(note)
    return paths
