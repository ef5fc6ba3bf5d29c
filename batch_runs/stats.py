"""Statistics over a sweep's rows: which columns are measures, summaries with 95 % confidence
intervals across seeds, and the effect of one parameter. Plain DataFrames in and out, so they work
on any results Parquet file (`pd.read_parquet`) as well as through `storagemarket analyze`.

The interval rule: a Student-t 95 % interval of the mean, cut to the measure's feasible range
(volumes, hours, counts and money paid or collected are never negative; shares and fairness lie in
[0, 1]; nets, balances and gains are signed: `feasible_range`) and marked where it was cut, always
shown with its n. Sweeps run few seeds of skewed quantities near a
bound, where the t interval alone reaches impossible values (with 2 seeds of an exponential
volume its lower end is below 0 nine times in ten) and a percentile bootstrap is far too narrow
(about 47 % coverage at n = 2, against the t interval's 91 %); cutting at the bound keeps the t
interval's coverage, since the mean itself is feasible. Below MIN_N values every page says the
intervals are rough.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sp

from batch_runs.store import ENV_COLUMNS, ID_COLUMNS, STATUS_COLUMNS, environment_columns
from model.colours import natural_key

# The measures a power-market researcher looks at first, when the model reports them.
PREFERRED = (
    "social_welfare_rmb",
    "welfare_rmb",
    "trade_share",
    "p2p_volume_mwh",
    "grid_volume_mwh",
    "valley_volume_mwh",
    "platform.compensation_paid_rmb",
    "platform.net_rmb",
)
MIN_N = 5  # fewer values than this per interval: a page notes that its intervals are rough
SMALL_N_NOTE = (f"fewer than {MIN_N} values per interval (n is shown beside each): 95 % intervals from so few "
                "values are rough, and a skewed measure's true coverage is lower")
# Feasible ranges, read off the words of a measure's name (the model's naming convention: units and
# what is counted in names; words split at "_" and "."; the entity after `..._by_dno.` is no word).
ENTITIES = ("dno", "validator")  # `NAME_by_dno.DN1`: one column per entity
# A signed word wins over the others: a net, a balance or a gain may be negative whatever its unit.
SIGNED = {"net", "balance", "gain", "welfare", "profit", "revenue", "tokens", "difference"}
UNIT_INTERVAL = {"share", "fairness", "rate"}  # fractions in [0, 1] (orphan_rate: orphans per block)
NON_NEGATIVE = {
    # energy, power, time, mass, size, loading and voltage magnitudes
    "mwh", "mw", "ms", "seconds", "t", "bytes", "pct", "pu",
    # counts: of hours (line-hours, bus-hours), losing DNOs, messages, blocks, bids, ...
    "hours", "losers", "messages", "blocks", "transactions", "iterations", "height", "commits", "bids",
    "refused", "confirmations",
    # money that only flows one way: paid, received, collected, charges, fees, losses (their sizes), carbon
    "paid", "received", "collected", "charges", "fees", "losses", "carbon",
    # double credit: scores clipped to [0, 1], and refused bids
    "credit",
}
MAX_FALLBACK = 6
MAX_LEVELS = 8  # more distinct values than this (sampled designs) are binned into quantiles
BINS = 5


def measure_columns(df: pd.DataFrame, parameters: list[str]) -> list[str]:
    """Numeric outcome columns: not ids, parameters, status or wall clock."""
    skip = set(ID_COLUMNS) | set(STATUS_COLUMNS) | set(ENV_COLUMNS) | set(parameters)
    skip |= set(environment_columns(df.columns))
    return [c for c in df.columns if c not in skip and pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])]


def per_dno_groups(columns: list[str]) -> dict[str, list[str]]:
    """Per-DNO measures `name.DNO` grouped by name: a group is per-DNO when its name says
    `by_dno` or its suffixes (entity names) recur in another group."""
    groups: dict[str, list[str]] = defaultdict(list)
    for column in columns:
        if "." in column:
            groups[column.rsplit(".", 1)[0]].append(column)
    suffixes = {g: {c.rsplit(".", 1)[1] for c in cols} for g, cols in groups.items()}
    return {
        g: cols
        for g, cols in groups.items()
        if "by_dno" in g or any(suffixes[g] & suffixes[o] for o in groups if o != g)
    }


def default_measures(df: pd.DataFrame, parameters: list[str]) -> list[str]:
    """The preferred measures that exist (plus any `valley` one); otherwise the first aggregate ones."""
    measures = measure_columns(df, parameters)
    chosen = [m for m in PREFERRED if m in measures]
    chosen += [m for m in measures if "valley" in m and m not in chosen and "." not in m]
    if chosen:
        return chosen
    per_dno = {c for cols in per_dno_groups(measures).values() for c in cols}
    return [m for m in measures if m not in per_dno][:MAX_FALLBACK]


def ci95(values: pd.Series) -> tuple[float, float]:
    """Student-t 95 % interval of the mean (a point when fewer than two values), uncut."""
    values = pd.Series(values).dropna()
    mean = float(values.mean()) if len(values) else np.nan
    if len(values) < 2:
        return mean, mean
    half = float(sp.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values)))
    return mean - half, mean + half


def feasible_range(measure: str) -> tuple[float, float]:
    """The values a measure can take, from the words of its name: anything when a word says it is
    signed (net, balance, gain, ...), [0, 1] for shares and fairness, [0, inf) for energy, power,
    time, counts and one-way money (paid, collected, fees), anything for the rest (costs, welfare)."""
    words = name_words(measure)
    if words & SIGNED:
        return -np.inf, np.inf
    if words & UNIT_INTERVAL:
        return 0.0, 1.0
    if words & NON_NEGATIVE:
        return 0.0, np.inf
    return -np.inf, np.inf


def name_words(measure: str) -> set[str]:
    """The words of a measure's name, without the entity a per-DNO (`..._by_dno.DN1`) or per-validator
    measure ends with: a DNO named `hours` says nothing of the measure's range."""
    parts = str(measure).lower().split(".")
    if len(parts) > 1 and any(f"by_{kind}" in parts[-2] for kind in ENTITIES):
        parts = parts[:-1]
    return {word for part in parts for word in part.split("_")}


@dataclass(frozen=True)
class Interval:
    """A mean with its 95 % interval over n values; `cut` names the ends cut to the feasible range
    ("low", "high", "low+high" or "")."""

    mean: float
    low: float
    high: float
    n: int
    cut: str = ""


def interval(values, measure: str | None = None) -> Interval:
    """The interval rule (module docstring): the t interval cut to `measure`'s feasible range.
    Values outside that range mean the name misleads, and the interval is left uncut. Below two
    values the ends are NaN: one value has no spread to show."""
    x = pd.Series(values, dtype=float).dropna()
    mean = float(x.mean()) if len(x) else np.nan
    if len(x) < 2:
        return Interval(mean, np.nan, np.nan, len(x))
    low, high = ci95(x)
    lowest, highest = feasible_range(measure) if measure is not None else (-np.inf, np.inf)
    if x.min() < lowest or x.max() > highest:
        lowest, highest = -np.inf, np.inf
    cut = "+".join(end for end, beyond in (("low", low < lowest), ("high", high > highest)) if beyond)
    return Interval(mean, max(low, lowest), min(high, highest), len(x), cut)


def summary_table(df: pd.DataFrame, parameters: list[str], measures: list[str]) -> pd.DataFrame:
    """Per design point and measure: runs, failures, n, mean, sd and the 95 % interval across
    seeds (`ci95_cut`: which ends the feasible range cut)."""
    rows = []
    for _, group in df.groupby("point", sort=True):
        ok = group[group.status == "ok"]
        head = {p: group[p].iloc[0] for p in parameters if p in group}
        for m in measures:
            values = ok[m].dropna() if m in ok else pd.Series(dtype=float)
            ci = interval(values, m)
            rows.append(
                {**head, "measure": m, "runs": len(group), "failed": int((group.status != "ok").sum()),
                 "n": ci.n, "mean": ci.mean, "sd": values.std(ddof=1), "ci95_low": ci.low, "ci95_high": ci.high,
                 "ci95_cut": ci.cut}
            )
    return pd.DataFrame(rows)


def levels(series: pd.Series) -> pd.Series:
    """A parameter's values as plot levels: as they are, or quantile bins when there are many."""
    if series.nunique() <= MAX_LEVELS or not pd.api.types.is_numeric_dtype(series):
        return series
    bins = pd.qcut(series, BINS, duplicates="drop")
    return bins.map(lambda b: float(f"{b.mid:.4g}")).astype(float)


def per_seed_means(df: pd.DataFrame, parameter: str, measure: str) -> pd.DataFrame:
    """The measure averaged over every other parameter, per level of `parameter` and seed: the
    seed-to-seed spread of these is what the effect's confidence interval reflects."""
    ok = df[df.status == "ok"].assign(level=lambda d: levels(d[parameter]))
    return ok.groupby(["level", "seed"], as_index=False)[measure].mean()


def effect(df: pd.DataFrame, parameter: str, measure: str) -> pd.DataFrame:
    """Mean and 95 % interval across seeds (the interval rule) of the measure at each level of
    one parameter; `seeds` is the interval's n."""
    means = per_seed_means(df, parameter, measure)
    rows = []
    for level, group in means.groupby("level", sort=True):
        ci = interval(group[measure], measure)
        rows.append({parameter: level, "mean": ci.mean, "ci95_low": ci.low, "ci95_high": ci.high, "ci95_cut": ci.cut,
                     "seeds": ci.n})
    return pd.DataFrame(rows, columns=[parameter, "mean", "ci95_low", "ci95_high", "ci95_cut", "seeds"])


def dno_long(df: pd.DataFrame, group: str, columns: list[str]) -> pd.DataFrame:
    """One per-DNO measure in long form: a row per run and DNO."""
    ok = df[df.status == "ok"]
    long = ok.melt(id_vars=[c for c in ok.columns if c not in columns], value_vars=columns, var_name="dno", value_name=group)
    long["dno"] = long["dno"].str.slice(len(group) + 1)
    return long.dropna(subset=[group]).sort_values("dno", key=lambda s: s.map(natural_key), kind="stable")
