"""The robust day-ahead plan through model and chain (scheduling.uncertainty: dro, docs/rules.md
§B.2.2): each DNO's plan is found by C&CG over scenarios of its own forecast errors, recorded in
dro.csv, priced on the day's actuals against the deterministic plan; same seed, same bytes."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from experiments.cli import main

ARGS = ["run", "paper-4dn", "--set", "scheduling.uncertainty=dro", "--set", "scheduling.dro.samples=20",
        "--set", "scheduling.dro.scenarios=3"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("dro") / "run"
    assert main([*ARGS, "--out", str(out)]) == 0
    return out


def test_every_dno_plans_robustly_and_the_record_is_whole(run):
    rows = pd.read_csv(run / "dro.csv")
    assert list(rows.dno) == ["DN1", "DN2", "DN3", "DN4"] and rows.converged.all()
    p0 = rows[["p0_1", "p0_2", "p0_3"]].to_numpy()
    p = rows[["p_1", "p_2", "p_3"]].to_numpy()
    assert np.allclose(p0.sum(1), 1.0) and np.allclose(p.sum(1), 1.0) and (p >= -1e-12).all()
    assert (np.abs(p - p0).sum(1) <= rows.theta_1 + 1e-6).all() and (np.abs(p - p0).max(1) <= rows.theta_inf + 1e-6).all()
    costs = rows[["cost_1_rmb", "cost_2_rmb", "cost_3_rmb"]].to_numpy()
    worst = (p * costs).sum(1)  # the plan's worst expectation is at least the empirical one
    assert (worst >= (p0 * costs).sum(1) - 1e-6).all()
    assert ((rows.upper_rmb - rows.lower_rmb) <= 1e-4 * rows.upper_rmb.abs() + 1e-6).all()
    summary = json.loads((run / "summary.json").read_text())["dro"]
    assert summary["plans"] == 4 and summary["converged"] == 4
    assert summary["price_of_robustness_rmb"] == pytest.approx(
        rows.realised_robust_rmb.sum() - rows.realised_deterministic_rmb.sum(), abs=1e-3)


def test_same_seed_same_bytes(run, tmp_path):
    assert main([*ARGS, "--out", str(tmp_path / "again")]) == 0
    for name in ("dro.csv", "summary.json", "hourly.csv", "trades.csv", "ledger.sqlite"):
        assert (tmp_path / "again" / name).read_bytes() == (run / name).read_bytes(), name


@pytest.mark.parametrize("override, message", [
    ("scheduling.dro={samples: 3, scenarios: 5}", "scheduling.dro.scenarios: 5 scenarios cannot be clustered from 3"),
    ("scheduling.dro.alpha_1=1.0", "scheduling.dro.alpha_1"),
    ("scheduling.dro.alpha_inf=0", "scheduling.dro.alpha_inf"),
    ("scheduling.uncertainty=robust", "scheduling.uncertainty"),
])
def test_bad_input_names_the_field(override, message, capsys):
    assert main(["run", "paper-4dn", "--set", override, "--out", "/nonexistent/never"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
