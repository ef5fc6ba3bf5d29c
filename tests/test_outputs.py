"""Outputs that never overwrite the wrong run: scenarios named after their file, `run` refusing
another scenario's folder (unless --force), unserved energy said aloud, and the seeds documented."""

from __future__ import annotations

import contextlib
import html
import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from experiments.cli import build_parser, main
from model import job
from model.out_dir import RUN_FILES, check, remove_stale
from model.scenario import ScenarioError, bundled, load, validate
from model.synthetic import with_fresh_actuals

ROOT = Path(__file__).resolve().parent.parent
RECIPE = ROOT / "experiments" / "recipes" / "paper-4dn.yaml"


@pytest.fixture(scope="module")
def paper_run(tmp_path_factory):
    """A real run of paper-4dn (oracle mode: all load served) and what it printed."""
    out = tmp_path_factory.mktemp("paper")
    capture = tmp_path_factory.mktemp("stdout") / "out.txt"
    with open(capture, "w") as handle, contextlib.redirect_stdout(handle):
        assert main(["run", "paper-4dn", "--out", str(out)]) == 0
    return out, capture.read_text()


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _generate(tmp_path, *extra) -> dict:
    out = tmp_path / "my-day.yaml"
    assert main(["scenario", "generate", str(RECIPE), "--out", str(out), *extra]) == 0
    return yaml.safe_load(out.read_text())


def test_generated_scenario_is_named_after_its_file(tmp_path, capsys):
    assert _generate(tmp_path)["name"] == "my-day"
    assert _generate(tmp_path, "--name", "april-day")["name"] == "april-day"
    capsys.readouterr()
    assert main(["scenario", "generate", str(RECIPE)]) == 0  # to standard output: the recipe's name
    assert yaml.safe_load(capsys.readouterr().out)["name"] == "paper-4dn"


def test_generate_n_dnos(tmp_path):
    data = _generate(tmp_path, "--n-dnos", "6", "--seed", "3")
    assert [d["name"] for d in data["dnos"]] == [f"DN{i}" for i in range(1, 7)]
    units = [u["name"] for d in data["dnos"] for o in d["storage_owners"] for u in o["units"]]
    assert len(units) == len(set(units))


def test_run_refuses_another_scenarios_outputs_unless_forced(paper_run, tmp_path, capsys, monkeypatch):
    out, _ = paper_run
    before = _snapshot(out)
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump({**yaml.safe_load(bundled()["paper-4dn"].read_text()), "name": "other"}))
    monkeypatch.setattr(job, "simulate", lambda *a, **k: pytest.fail("a refused run must not simulate"))
    assert main(["run", str(other), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "holds the outputs of scenario 'paper-4dn', not 'other'" in err and "--force" in err
    assert _snapshot(out) == before


def test_run_refuses_a_folder_of_other_files(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(job, "simulate", lambda *a, **k: pytest.fail("a refused run must not simulate"))
    mine = tmp_path / "thesis"
    mine.mkdir()
    (mine / "chapter1.tex").write_text("precious\n")
    assert main(["run", "paper-4dn", "--out", str(mine)]) == 2
    assert "holds files no run writes (chapter1.tex)" in capsys.readouterr().err
    assert (mine / "chapter1.tex").read_text() == "precious\n"


def test_run_defaults_to_out_slash_scenario_name(tmp_path, capsys, monkeypatch):
    """`run FILE` writes to out/<its name>: shown by the refusal, before anything runs."""
    monkeypatch.setattr(job, "simulate", lambda *a, **k: pytest.fail("a refused run must not simulate"))
    monkeypatch.chdir(tmp_path)
    _generate(tmp_path)
    (tmp_path / "out" / "my-day").mkdir(parents=True)
    (tmp_path / "out" / "my-day" / "notes.txt").write_text("x")
    assert main(["run", "my-day.yaml"]) == 2
    assert "--out out/my-day: holds files no run writes" in capsys.readouterr().err


def test_forced_run_replaces_and_leaves_no_stale_output(paper_run, tmp_path, capsys):
    """--force writes another scenario's run over this one; outputs the new run does not write go."""
    out = tmp_path / "forced"
    out.mkdir()
    for name, data in _snapshot(paper_run[0]).items():
        (out / name).write_bytes(data)
    (out / "credit.csv").write_text("stale,from,a,credit,run\n")
    (out / "keep.txt").write_text("mine\n")
    assert main(["run", "paper-4dn", "--out", str(out), "--set", "name=renamed", "--force"]) == 0
    assert json.loads((out / "summary.json").read_text())["scenario"] == "renamed"
    assert not (out / "credit.csv").exists() and (out / "keep.txt").read_text() == "mine\n"
    written = {p.name for p in out.iterdir()} - {"keep.txt"}
    assert written <= RUN_FILES, "out_dir.RUN_FILES must name every output a run writes"
    (out / "keep.txt").unlink()
    check(out, "renamed")  # now the same scenario again needs no --force; paper-4dn would
    with pytest.raises(ScenarioError, match="outputs of scenario 'renamed'"):
        check(out, "paper-4dn")


def test_remove_stale_touches_only_run_outputs(tmp_path):
    for name in ("credit.csv", "hourly.csv", "notes.txt"):
        (tmp_path / name).write_text("x")
    remove_stale(tmp_path, [tmp_path / "hourly.csv"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hourly.csv", "notes.txt"]


def test_unserved_energy_is_warned_and_reported(paper_run, tmp_path, capsys):
    _, printed = paper_run
    assert "unserved" not in printed and "unserved energy" not in (paper_run[0] / "report.html").read_text()
    out = tmp_path / "rolling"
    assert main(["run", "paper-4dn", "--out", str(out), "--set", "scheduling.intraday_mode=rolling"]) == 0
    stdout = capsys.readouterr().out
    hourly = pd.read_csv(out / "hourly.csv")
    shed = hourly[hourly.unserved_mw > 1e-6]
    assert len(shed) > 0, "rolling mode sheds load in paper-4dn"
    line = next(line for line in stdout.splitlines() if "unserved" in line)
    assert line.startswith("warning: ") and f"{shed.unserved_mw.sum():.3f} MWh" in line
    for dno in set(shed.dno):
        assert dno in line
    for hour in set(shed.hour):
        assert str(hour) in line.split("hours ", 1)[1]
    report = (out / "report.html").read_text()
    assert "unserved energy: load shed (MWh)" in report
    assert "Warning:</b> " + html.escape(line.removeprefix("warning: ")) in report


def test_day_seed_redraws_only_actuals():
    s = load("paper-4dn")
    a, again, b = with_fresh_actuals(s, 5), with_fresh_actuals(s, 5), with_fresh_actuals(s, 6)
    assert a == again and a != b
    for old, new in zip(s.dnos, a.dnos):
        assert new.model_dump(exclude={"pv_ratio", "wind_ratio", "load_mw"}) == old.model_dump(
            exclude={"pv_ratio", "wind_ratio", "load_mw"})
        for key in ("pv_ratio", "wind_ratio", "load_mw"):
            assert getattr(new, key).forecast == getattr(old, key).forecast
        assert new.load_mw.actual != old.load_mw.actual
        night = [a for f, a in zip(new.pv_ratio.forecast, new.pv_ratio.actual) if f == 0]
        assert night == [0.0] * len(night), "PV errors are relative: no sun, no PV"
    # one seed child per DNO: a scenario with a DNO fewer keeps the others' actuals
    data = s.model_dump(mode="json")
    data["dnos"], data["ledger"]["validator_hosts"] = data["dnos"][:3], data["ledger"]["validator_hosts"][:3]
    fewer = validate(data, "paper-4dn without DN4")
    assert [d.load_mw for d in with_fresh_actuals(fewer, 5).dnos] == [d.load_mw for d in a.dnos[:3]]


def test_help_says_what_the_seeds_draw_and_that_set_repeats(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "run seed (default 0)" in text and "--day-seed" in text and "repeat" in text and "--force" in text
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["--version"])
    assert exited.value.code == 0 and capsys.readouterr().out.startswith("storagemarket ")
