"""Paired statistics of designs run on the same days: each design against a reference.

Plain functions on arrays and DataFrames. Per design: the mean over days with a Student-t 95 %
interval, cut to the measure's feasible range (batch_runs.stats.interval). Per design against the reference: the day-by-day differences (same seed, same day),
their mean, a 95 % interval by the paired t and by a percentile bootstrap of the mean, and the
paired t-test's two-sided p-value. Pairing removes the day-to-day variation both designs share,
so a difference can be clear while the designs' own intervals overlap.

The bootstrap draws from a fixed seed (the same page bytes every time) exactly as
scipy.stats.bootstrap does, so `scipy.stats.bootstrap(..., method='percentile', rng=seed)` gives
the same interval. With few days the t interval leans on roughly normal differences and the
percentile bootstrap is too narrow; both are shown so a reader can see when they disagree.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats as sp

from batch_runs.stats import ci95, interval

CONFIDENCE = 0.95  # ci95 is the t interval at this level
RESAMPLES = 9999  # scipy.stats.bootstrap's default
SMALL_N = 10  # below this many days a page says the intervals are rough
DIFFERENCE_COLUMNS = ["diff_mean", "diff_t_low", "diff_t_high", "diff_boot_low", "diff_boot_high", "p_value", "pairs"]


def _finite(values) -> np.ndarray:
    x = np.asarray(values, dtype=float)
    return x[~np.isnan(x)]


def t_interval(values) -> tuple[float, float, float]:
    """Mean and Student-t 95 % interval of the mean; NaN bounds below two values."""
    x = _finite(values)
    if len(x) < 2:
        return (float(x.mean()) if len(x) else np.nan), np.nan, np.nan
    low, high = ci95(pd.Series(x))
    return float(x.mean()), low, high


def bootstrap_interval(values, seed: int = 0, resamples: int = RESAMPLES) -> tuple[float, float]:
    """Percentile bootstrap 95 % interval of the mean: the 2.5 and 97.5 percentiles of the means
    of `resamples` resamples with replacement; NaN below two values."""
    x = _finite(values)
    if len(x) < 2:
        return np.nan, np.nan
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, len(x), (resamples, len(x)))].mean(axis=-1)
    alpha = (1 - CONFIDENCE) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    return float(low), float(high)


def paired_t_p(differences) -> float:
    """Two-sided p-value of the paired t-test that the mean difference is 0; NaN below two pairs
    or when every difference is 0 (as scipy.stats.ttest_rel)."""
    d = _finite(differences)
    if len(d) < 2:
        return np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        t = d.mean() / (d.std(ddof=1) / np.sqrt(len(d)))
    return float(2 * sp.t.sf(abs(t), len(d) - 1))


def paired_difference(values, reference, seed: int = 0, resamples: int = RESAMPLES) -> dict[str, float]:
    """`values` minus `reference`, pair by pair (a pair missing either side is dropped): mean,
    t and bootstrap 95 % intervals, p-value and the number of pairs."""
    d = _finite(np.asarray(values, dtype=float) - np.asarray(reference, dtype=float))
    mean, low, high = t_interval(d)
    boot_low, boot_high = bootstrap_interval(d, seed, resamples)
    return dict(zip(DIFFERENCE_COLUMNS, (mean, low, high, boot_low, boot_high, paired_t_p(d), len(d))))


def by_day(df: pd.DataFrame, measure: str, by: str, on: str = "seed") -> pd.DataFrame:
    """The measure of every successful run, one row per day (`on`) and one column per design."""
    ok = df[df.status == "ok"] if "status" in df else df
    return ok.pivot(index=on, columns=by, values=measure)


def compare(
    df: pd.DataFrame,
    measures: Sequence[str],
    designs: Sequence[str],
    reference: str,
    by: str = "design_name",
    on: str = "seed",
    seed: int = 0,
    resamples: int = RESAMPLES,
) -> pd.DataFrame:
    """One row per measure and design: days (n), mean, sd and t interval cut to the feasible
    range (`ci95_cut` names the ends cut); for every design but the reference, its paired
    difference to the reference (DIFFERENCE_COLUMNS, never cut: a difference may take any sign)."""
    rows = []
    for measure in measures:
        wide = by_day(df, measure, by, on).reindex(columns=list(designs))
        for name in designs:
            values = _finite(wide[name])
            ci = interval(values, measure)
            row = {"measure": measure, by: name, "n": ci.n, "mean": ci.mean,
                   "sd": float(values.std(ddof=1)) if len(values) > 1 else np.nan, "ci95_low": ci.low,
                   "ci95_high": ci.high, "ci95_cut": ci.cut}
            if name == reference:
                row.update(dict.fromkeys(DIFFERENCE_COLUMNS, np.nan))
            else:
                row.update(paired_difference(wide[name], wide[reference], seed, resamples))
            rows.append(row)
    table = pd.DataFrame(rows, columns=["measure", by, "n", "mean", "sd", "ci95_low", "ci95_high", "ci95_cut",
                                        *DIFFERENCE_COLUMNS])
    return table.astype({"n": "Int64", "pairs": "Int64"})
