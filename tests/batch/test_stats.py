"""Statistics over rows: t intervals across seeds, effects, per-DNO groups, default measures."""

import pandas as pd
import pytest

from batch_runs.stats import ci95, default_measures, effect, levels, per_dno_groups, summary_table


def rows(values):
    """Rows of a 2 x 2 design (a, b) over seeds; values[(a, b, seed)] -> welfare."""
    return pd.DataFrame(
        [
            {"run_id": f"{a}{b}{s}", "point": 2 * a + b, "seed": s, "a": a, "b": b, "status": "ok", "welfare_rmb": v,
             "seconds": 0.1 * s, "timing.milp_seconds": 1.0}
            for (a, b, s), v in values.items()
        ]
    )


def test_ci95_is_the_student_t_interval():
    low, high = ci95(pd.Series([1.0, 2.0, 3.0]))
    assert (low, high) == pytest.approx((2 - 2.4842, 2 + 2.4842), abs=1e-4)  # t(0.975, 2) = 4.3027
    assert ci95(pd.Series([5.0])) == (5.0, 5.0)


def test_effect_averages_other_parameters_per_seed_then_spans_seeds():
    # welfare = 10 a + b + seed: per seed, the mean over b at a = 1 is 10.5 + seed
    df = rows({(a, b, s): 10 * a + b + s for a in (0, 1) for b in (0, 1) for s in (0, 1, 2)})
    table = effect(df, "a", "welfare_rmb").set_index("a")
    assert table["mean"].tolist() == [1.5, 11.5] and (table.seeds == 3).all()
    assert table.ci95_high[1] - table["mean"][1] == pytest.approx(4.3027 * 1 / 3**0.5, abs=1e-3)


def test_failed_runs_are_counted_not_averaged():
    df = rows({(a, b, s): 1.0 for a in (0, 1) for b in (0, 1) for s in (0, 1)})
    df.loc[0, ["status", "welfare_rmb"]] = ["failed", None]
    table = summary_table(df, ["a", "b"], ["welfare_rmb"])
    first = table.iloc[0]
    assert (first.runs, first.failed, first.n, first["mean"]) == (2, 1, 1, 1.0)


def test_per_dno_groups_and_default_measures():
    columns = ["supply_mwh", "supply_mwh.DN1", "supply_mwh.DN2", "demand_mwh.DN1", "demand_mwh.DN2",
               "platform.net_rmb", "platform.fees_rmb", "chain.blocks", "gain_by_dno_rmb.X"]
    assert set(per_dno_groups(columns)) == {"supply_mwh", "demand_mwh", "gain_by_dno_rmb"}
    df = pd.DataFrame({c: [1.0] for c in columns} | {"a": [1], "run_id": ["r"], "status": ["ok"], "seconds": [1.0]})
    assert default_measures(df, ["a"]) == ["platform.net_rmb"]
    assert default_measures(df.drop(columns="platform.net_rmb"), ["a"]) == ["supply_mwh", "platform.fees_rmb", "chain.blocks"]


def test_many_values_are_binned_into_quantiles():
    binned = levels(pd.Series([i / 100 for i in range(100)]))
    assert binned.nunique() == 5 and binned.is_monotonic_increasing
    assert levels(pd.Series([0.1, 0.2, 0.1])).tolist() == [0.1, 0.2, 0.1]
