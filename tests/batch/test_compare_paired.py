"""Paired statistics against scipy: t intervals, the paired t-test, the percentile bootstrap."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from scipy import stats as sp

from batch_runs import paired

values = st.lists(st.floats(-1e4, 1e4, allow_nan=False), min_size=2, max_size=30)


@given(values, st.integers(0, 2**32 - 1))
def test_paired_difference_matches_scipy(reference, seed):
    rng = np.random.default_rng(seed)
    reference = np.asarray(reference)
    values = reference + rng.normal(rng.uniform(-50, 50), rng.uniform(0.1, 100), len(reference))
    d = values - reference
    assume(np.std(d) > 1e-9 * max(1.0, np.abs(d).max()))  # scipy warns on nearly constant differences
    got = paired.paired_difference(values, reference, seed=seed, resamples=499)
    low, high = sp.t.interval(0.95, len(d) - 1, loc=d.mean(), scale=sp.sem(d))
    boot = sp.bootstrap((d,), np.mean, method="percentile", n_resamples=499, rng=np.random.default_rng(seed))
    assert got["pairs"] == len(d) and got["diff_mean"] == pytest.approx(d.mean(), rel=1e-12, abs=1e-9)
    assert (got["diff_t_low"], got["diff_t_high"]) == pytest.approx((low, high), rel=1e-9, abs=1e-9)
    assert got["p_value"] == pytest.approx(sp.ttest_rel(values, reference).pvalue, rel=1e-9, abs=1e-12)
    ci = boot.confidence_interval
    assert (got["diff_boot_low"], got["diff_boot_high"]) == pytest.approx((ci.low, ci.high), rel=1e-12, abs=1e-9)


@given(values)
def test_t_interval_matches_scipy(x):
    x = np.asarray(x)
    assume(np.std(x) > 1e-9 * max(1.0, np.abs(x).max()))
    mean, low, high = paired.t_interval(x)
    assert (low, high) == pytest.approx(sp.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=sp.sem(x)), rel=1e-9, abs=1e-9)
    assert low <= mean <= high


@given(values, st.integers(0, 1000))
def test_bootstrap_is_seeded_and_inside_the_data(x, seed):
    first = paired.bootstrap_interval(x, seed=seed, resamples=199)
    assert paired.bootstrap_interval(x, seed=seed, resamples=199) == first
    eps = 1e-12 * max(1.0, max(map(abs, x)))  # a mean of equal values can round past them
    assert min(x) - eps <= first[0] <= first[1] <= max(x) + eps


def test_bootstrap_default_matches_scipy_default_resamples():
    d = np.random.default_rng(3).normal(2.0, 1.0, 8)
    boot = sp.bootstrap((d,), np.mean, method="percentile", rng=np.random.default_rng(0))
    assert paired.bootstrap_interval(d) == pytest.approx(tuple(boot.confidence_interval), rel=1e-12)


@pytest.mark.filterwarnings("ignore:Precision loss occurred")  # scipy, on the constant differences
def test_degenerate_cases_follow_scipy():
    assert np.isnan(paired.paired_t_p([0.0, 0.0, 0.0]))  # ttest_rel of identical samples: NaN
    assert paired.paired_t_p([1.0, 1.0, 1.0]) == sp.ttest_rel([2, 3, 4], [1, 2, 3]).pvalue == 0.0
    one = paired.paired_difference([5.0, np.nan], [3.0, 1.0])
    assert one["pairs"] == 1 and one["diff_mean"] == 2.0
    assert all(np.isnan(one[k]) for k in ("diff_t_low", "diff_t_high", "diff_boot_low", "diff_boot_high", "p_value"))


def test_compare_pairs_by_seed_and_skips_failed_runs():
    rng = np.random.default_rng(7)
    day = rng.normal(1000, 300, 12)  # a large day-to-day spread that pairing removes
    rows = []
    for name, shift in (("ref", 0.0), ("better", -20.0), ("same", 0.0)):
        for seed in range(12):
            cost = day[seed] + shift + rng.normal(0, 5)
            failed = name == "better" and seed == 4
            rows.append({"design_name": name, "seed": seed, "status": "failed" if failed else "ok",
                         "cost": np.nan if failed else cost})
    df = pd.DataFrame(rows).sample(frac=1, random_state=1)  # order does not matter
    table = paired.compare(df, ["cost"], ["ref", "better", "same"], "ref").set_index("design_name")
    assert table.loc["ref", "n"] == 12 and table.loc["better", "n"] == 11 and table.loc["better", "pairs"] == 11
    assert pd.isna(table.loc["ref", "pairs"]) and np.isnan(table.loc["ref", "diff_mean"])
    better = table.loc["better"]
    assert better.diff_t_high < 0 and better.p_value < 1e-4, "the paired difference is clear"
    assert better.ci95_low < table.loc["ref", "mean"] < better.ci95_high, "though the designs' own intervals overlap"
    keep = df[df.status == "ok"].pivot(index="seed", columns="design_name", values="cost").dropna()
    expected = paired.paired_difference(keep["better"], keep["ref"])
    assert {k: better[k] for k in expected} == pytest.approx(expected)
    assert table.loc["same", "p_value"] > 0.01
