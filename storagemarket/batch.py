"""Many runs from Python: sweeps, comparisons of market designs, and their analysis."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # heavy modules load on first use
    import pandas as pd

    from batch_runs.design import DesignBase
    from batch_runs.report import Report


def sweep(design: DesignBase | Mapping[str, Any] | str | Path, out: str | Path, *, resume: bool = False,
          processes: int | None = None, workers: int | None = None, scheduler: str | None = None,
          progress: bool = True) -> pd.DataFrame:
    """Run a sweep design (a YAML file, a mapping as the file holds it, or a parsed design) into
    the result store `out`, as `storagemarket sweep` does; every stored row (read_results).
    Runs go to local processes (all cores), `processes=1` this process, `workers=N` a local Dask
    cluster, `scheduler=ADDRESS` an existing one."""
    from batch_runs import design as designs

    source = str(design) if isinstance(design, (str, Path)) else "the design given"
    if isinstance(design, Mapping):
        design = designs.parse(dict(design), source)
    elif isinstance(design, (str, Path)):
        design = designs.load(design)
    designs.check(design, source)
    _run(design, out, resume, processes, workers, scheduler, progress)
    return read_results(out)


def compare(comparison: Mapping[str, Any] | str | Path, out: str | Path, *, seeds: int | None = None,
            resume: bool = False, processes: int | None = None, workers: int | None = None,
            scheduler: str | None = None, progress: bool = True) -> pd.DataFrame:
    """Run named market designs on the same days (a comparison file, a bundled one's name such
    as "designs", or a mapping as the file holds it) and write compare.html, compare.csv and its
    figures to `out`, as `storagemarket compare` does; compare.csv's table (one row per measure
    and design: mean, 95 % interval, n, and the paired difference to the reference)."""
    import pandas as pd

    from batch_runs import comparison as comparisons
    from batch_runs.compare_report import write_report
    from batch_runs.design import parse

    if isinstance(comparison, Mapping):
        data = dict(comparison)
        if seeds is not None:
            data["days"] = {**data.get("days", {}), "seeds": seeds}
        design, source = parse({"kind": "comparison", **data}, "the comparison given"), "the comparison given"
    else:
        design, source = comparisons.load(comparison, seeds=seeds), str(comparison)
    comparisons.check(design, source)
    _run(design, out, resume, processes, workers, scheduler, progress)
    return pd.read_csv(write_report(out).csv)


def _run(design, out, resume, processes, workers, scheduler, progress) -> None:
    from batch_runs.executors import executor_for
    from batch_runs.sweep import sweep as sweep_job

    executor = executor_for(processes=processes, workers=workers, scheduler=scheduler)
    sweep_job(design, out, executor, resume=resume, progress=progress)


def analyze(out: str | Path, measures: list[str] | None = None,
            heatmaps: list[tuple[str, str]] | None = None) -> Report:
    """analysis.html and summary.csv (sobol.csv for a Sobol design) of a sweep, as
    `storagemarket analyze` writes them; what was written and the notes."""
    from batch_runs.report import analyze as analyze_job

    return analyze_job(out, measures=measures, heatmaps=heatmaps)


def read_results(out: str | Path) -> pd.DataFrame:
    """Every run a sweep or comparison stored in `out`: ids, parameters, status and measures."""
    from batch_runs.store import ResultStore

    return ResultStore(out).read()
