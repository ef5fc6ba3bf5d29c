"""The main job: outputs, byte-determinism, and bad input that leaves earlier outputs intact."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from experiments.cli import main

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def paper_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert main(["run", "paper-4dn", "--seed", "3", "--out", str(out)]) == 0
    return out


def test_hourly_table(paper_run):
    table = pd.read_csv(paper_run / "hourly.csv")
    assert len(table) == 24 * 4 and set(table.hour) == set(range(1, 25))
    assert list(table.columns[:3]) == ["day", "hour", "dno"]
    # Supply/demand follow the unified rule Q = |intraday| - |day-ahead| (§A.3.2).
    q = table.intraday_action_mw.abs() - table.day_ahead_action_mw.abs()
    signed = table.demand_mwh - table.supply_mwh
    assert ((signed - q).abs() < 1e-5).all()
    assert ((table.supply_mwh == 0) | (table.demand_mwh == 0)).all()
    assert table.deviation_case.between(0, 8).all()
    assert (table.deviation_case > 0).sum() > 10, "the paper scenario has deviations to trade"
    summary = json.loads((paper_run / "summary.json").read_text())
    assert summary["seed"] == 3 and summary["active_hours"] >= 10
    assert set(summary["gain_by_dno_rmb"]) == {"DN1", "DN2", "DN3", "DN4"}


def test_same_seed_same_bytes(paper_run, tmp_path):
    assert main(["run", "paper-4dn", "--seed", "3", "--out", str(tmp_path)]) == 0
    for name in ("hourly.csv", "bids.csv", "trades.csv", "settlement.csv", "summary.json", "ledger.sqlite"):
        assert (tmp_path / name).read_bytes() == (paper_run / name).read_bytes()


def test_rolling_mode_and_overrides(tmp_path):
    args = ["run", "paper-4dn", "--out", str(tmp_path), "--set", "scheduling.intraday_mode=rolling"]
    assert main(args + ["--set", "dnos.DN1.wind_mw=20"]) == 0
    table = pd.read_csv(tmp_path / "hourly.csv")
    dn1 = table[table.dno == "DN1"]
    assert dn1.wind_actual_mw.max() <= 20.0 + 1e-9
    assert json.loads((tmp_path / "summary.json").read_text())["intraday_mode"] == "rolling"


def test_bad_override_keeps_earlier_outputs(paper_run, capsys):
    before = {p.name: p.read_bytes() for p in paper_run.iterdir()}
    code = main(["run", "paper-4dn", "--out", str(paper_run), "--set", "mechanism.no_such_option=1"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--set mechanism.no_such_option=1: mechanism.no_such_option: unknown field" in err
    assert {p.name: p.read_bytes() for p in paper_run.iterdir()} == before


def test_console_script_exit_code(tmp_path):
    """The installed command itself: exit 2 and a single stderr line, no traceback."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ndnos: []\n")
    exe = Path(sys.executable).with_name("storagemarket")
    proc = subprocess.run([str(exe), "scenario", "show", str(bad)], capture_output=True, text=True, env={**os.environ})
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "dnos" in proc.stderr and "Traceback" not in proc.stderr
