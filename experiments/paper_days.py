"""The paper experiment over many days: S0-S3 on N fresh days of the bundled day's recipe, each
measure with its 95 % interval over days, beside the bundled single day.

A single day's signs are fragile (ten fresh days of the recipe give 3 to 11 traded hours), so the
runs are a comparison of the sweep machinery (batch_runs.comparison): the same days for every
scenario, saved as they finish, resumable, on local processes or a Dask cluster.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from batch_runs.comparison import LABEL, ComparisonDesign
from batch_runs.executors import Executor
from batch_runs.stats import interval
from batch_runs.store import ResultStore
from batch_runs.sweep import sweep
from market.variants import VARIANTS

RECIPE = "paper-4dn"
# measure column -> (label, the paper's value or None)
MEASURES = {
    "active_hours": ("hours with supply or demand", 19),
    "single_dno_hours": ("hours with a single active DN", 7),
    "traded_hours": ("hours with P2P trades", 12),
    "valley_traded_hours": ("valley hours with P2P trades", None),
    "p2p_volume_mwh": ("P2P volume (MWh)", None),
    "valley_p2p_volume_mwh": ("valley P2P volume (MWh)", None),
    "grid_volume_mwh": ("volume with the grid (MWh)", None),
    "social_welfare_rmb": ("social welfare (RMB)", None),
    "platform.net_rmb": ("platform's net (RMB)", None),
    "outcomes.gain_rmb": ("DNOs' gain over S0, all DNOs (RMB)", None),
    "individual_rationality.trade_sides_worse_than_grid": ("trade sides worse than the grid", None),
    **{f"trade_share_by_dno.DN{i}": (f"trade share of DN{i}", share) for i, share in
       zip(range(1, 5), (0.28, 0.64, 0.37, 0.46))},
    **{f"gain_by_dno_rmb.DN{i}": (f"DN{i}'s gain over S0 (RMB)", None) for i in range(1, 5)},
}


def design(days: int) -> ComparisonDesign:
    """S0-S3 as a comparison on `days` fresh days of the recipe (seeds 0..days-1)."""
    return ComparisonDesign.model_validate({
        "kind": "comparison", "name": "paper-days", "days": {"recipe": RECIPE, "seeds": days}, "reference": "S0",
        "designs": {name: {f"mechanism.{k}": v for k, v in overrides.items()} for name, overrides in VARIANTS.items()}})


def run(days: int, out: Path, executor: Executor | None = None) -> pd.DataFrame:
    """Run (or finish) the days into `out` and summarise them (`summarise`)."""
    sweep(design(days), out, executor, resume=out.exists())
    return ResultStore(out).read()


def summarise(runs: pd.DataFrame, bundled: dict[str, dict]) -> pd.DataFrame:
    """One row per measure: the paper's value, the bundled day's under each scenario, and each
    scenario's mean and 95 % interval over the days."""
    rows = []
    for column, (label, paper) in MEASURES.items():
        if column not in runs:
            continue
        row = {"measure": label, "paper": paper}
        for name in VARIANTS:
            row[f"bundled_{name}"] = bundled[name].get(column)
        for name in VARIANTS:
            values = runs.loc[runs[LABEL] == name, column]
            i = interval(values, column)
            row[f"{name}_mean"], row[f"{name}_low"], row[f"{name}_high"], row["days"] = i.mean, i.low, i.high, i.n
        rows.append(row)
    return pd.DataFrame(rows)
