"""The Python API (`import storagemarket`): the same outputs as the command line, the agent frames
docs/agents.md documents, and the version the installed package carries."""

import importlib.metadata
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import storagemarket as sm
from experiments.cli import main
from model import job
from model.out_dir import OutDirError
from model.outputs import tidy
from model.scenario import ScenarioError, load

DOCS = Path(__file__).resolve().parent.parent / "docs" / "agents.md"


@pytest.fixture(scope="module")
def simulated():
    return sm.simulate(sm.load_scenario("paper-4dn"), seed=0)


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli")
    assert main(["run", "paper-4dn", "--seed", "0", "--out", str(out)]) == 0
    return out


def test_simulate_gives_the_tables_and_summary_the_command_line_writes(simulated, cli_run):
    written = sm.read_run(cli_run)
    assert set(written.tables) == set(simulated.tables) == {"hourly", "bids", "trades", "settlement"}
    for name, frame in simulated.tables.items():
        pd.testing.assert_frame_equal(tidy(frame).reset_index(drop=True), written.tables[name], check_dtype=False)
    assert written.summary["social_welfare_rmb"] == round(simulated.summary["social_welfare_rmb"], 6)
    assert written.summary["chain"]["tip_hash"] == simulated.summary["chain"]["tip_hash"]
    assert written.summary["outcomes"].keys() == simulated.summary["outcomes"].keys()


def test_run_writes_what_the_command_line_writes(cli_run, tmp_path):
    outputs = sm.run("paper-4dn", seed=0, out=tmp_path / "api")
    assert sorted(p.name for p in (tmp_path / "api").iterdir()) == sorted(p.name for p in cli_run.iterdir())
    for path in cli_run.iterdir():
        if path.name != "timings.json":  # wall clock
            assert (tmp_path / "api" / path.name).read_bytes() == path.read_bytes(), path.name
    assert outputs.path == tmp_path / "api" and outputs.summary["seed"] == 0


def test_run_refuses_the_folders_the_command_line_refuses_unless_forced(cli_run, tmp_path, monkeypatch):
    """Before simulating: another scenario's outputs, files no run writes, a file for a folder;
    `force=True` writes there anyway, as --force does."""
    earlier = tmp_path / "earlier"
    shutil.copytree(cli_run, earlier)
    before = {p.name: p.read_bytes() for p in earlier.iterdir()}
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("mine\n")
    other = sm.load_scenario("paper-4dn").model_copy(update={"name": "other"})
    with monkeypatch.context() as patched:
        patched.setattr(job, "run", lambda *a, **k: pytest.fail("simulated before checking the folder"))
        for out, message in [(earlier, "holds the outputs of scenario 'paper-4dn', not 'other'"),
                             (tmp_path / "notes", r"holds files no run writes \(todo.txt\)"),
                             (tmp_path / "notes" / "todo.txt" / "run", "is a file, not a directory")]:
            with pytest.raises(OutDirError, match=message):
                sm.run(other, out=out)
    assert {p.name: p.read_bytes() for p in earlier.iterdir()} == before
    assert (tmp_path / "notes" / "todo.txt").read_text() == "mine\n"
    assert sm.run(other, out=earlier, force=True).summary["scenario"] == "other"


def test_overrides_as_a_mapping_or_as_set_strings():
    given = {"mechanism.seller_concession": 0.1, "dnos.DN2.pv_mw": 30}
    assert sm.load_scenario("paper-4dn", given) == load("paper-4dn", ["mechanism.seller_concession=0.1",
                                                                       "dnos.DN2.pv_mw=30"])
    with pytest.raises(ScenarioError, match="seller_concession"):
        sm.load_scenario("paper-4dn", {"mechanism.seller_concession": "a lot"})
    with pytest.raises(ScenarioError, match="not a run's output folder"):
        sm.read_run(Path(__file__).parent)


@pytest.mark.parametrize("seed", [1.5, 2.0, True, "3", -1, 2**63, None])
def test_a_seed_is_a_whole_number_never_converted(seed, tmp_path, monkeypatch):
    """1.5, True or "3" would run seed 1, 1 or 3 and give outputs nobody asked for; -1 is no seed."""
    monkeypatch.setattr(job, "simulate", lambda *a, **k: pytest.fail(f"ran for seed={seed!r}"))
    monkeypatch.setattr(job, "run", lambda *a, **k: pytest.fail(f"ran for seed={seed!r}"))
    expected = r"^seed: expected a whole number from 0 to 2\*\*63 - 1, got "
    with pytest.raises(ScenarioError, match=expected):
        sm.simulate("paper-4dn", seed=seed)
    with pytest.raises(ScenarioError, match=expected):
        sm.run("paper-4dn", seed=seed, out=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_numpy_seed_is_taken_as_the_int_it_is(monkeypatch):
    seeds = []
    monkeypatch.setattr(job, "simulate", lambda scenario, seed, **k: seeds.append(seed))
    sm.simulate("paper-4dn", seed=np.int64(3))
    assert seeds == [3] and type(seeds[0]) is int


@pytest.mark.parametrize("name, data, reason", [
    ("summary.json", b"\xff\xfe{}", "'utf-8' codec can't decode"),
    ("summary.json", b"{not json", "Expecting property name"),
    ("summary.json", b"[1, 2]", "expected a JSON object, found list"),
    ("timings.json", b"\x80", "'utf-8' codec can't decode"),
    ("hourly.csv", b"\xff\xfe\x00day,hour\n", "'utf-8' codec can't decode"),
    ("trades.csv", b"", "No columns to parse from file"),
])
def test_read_run_of_files_a_run_did_not_write_says_which(cli_run, tmp_path, name, data, reason):
    folder = tmp_path / "run"
    shutil.copytree(cli_run, folder)
    (folder / name).write_bytes(data)
    with pytest.raises(ScenarioError) as raised:
        sm.read_run(folder)
    assert str(raised.value).startswith(f"{folder / name}: cannot be read as a run's output (")
    assert reason in str(raised.value) and "\n" not in str(raised.value)


def documented_columns() -> dict[str, list[str]]:
    """docs/agents.md: for each `## Kind: ...` section, the first column of its table."""
    out, kind = {}, None
    for line in DOCS.read_text().splitlines():
        if line.startswith("## "):
            kind = line[3:].split(":")[0]
            out[kind] = []
        elif kind and line.startswith("| `"):
            out[kind] += re.findall(r"`([a-z_]+)`", line.split("|")[1])
    return out


def test_agent_frames_are_the_documented_ones_hour_by_hour(simulated):
    frames = sm.agent_frames(simulated)
    documented = {kind: columns for kind, columns in documented_columns().items() if kind != "NetworkOperator"}
    assert {kind: list(frame.columns) for kind, frame in frames.items()} == documented  # no network here
    assert frames["DNO"].index.names == ["Step", "AgentID"] and frames["DNO"].index.get_level_values(0).max() == 24
    last = frames["DNO"].xs(24, level="Step").set_index("name")
    settled = simulated.tables["settlement"].set_index("dno")
    assert (last.revenue_rmb - settled.revenue_rmb).abs().max() < 1e-6
    hourly = simulated.tables["hourly"].set_index(["hour", "dno"])
    at_noon = frames["DNO"].xs(12, level="Step").set_index("name")
    assert (at_noon.supply_mwh - hourly.loc[12].supply_mwh).abs().max() < 1e-9
    assert frames["MainGrid"].net_rmb.iloc[-1] == pytest.approx(simulated.model.main_grid.net_rmb)
    assert list(frames["Validator"].xs(1, level="Step").node) == [0, 1, 2, 3]


def test_the_version_is_the_installed_packages_and_import_is_quick():
    assert sm.__version__ == importlib.metadata.version("storagemarket")
    heavy = subprocess.run([sys.executable, "-c", "import sys, storagemarket; "
                            "print(sorted(m for m in ('pandas', 'mesa', 'model.job') if m in sys.modules))"],
                           capture_output=True, text=True, check=True)
    assert heavy.stdout.strip() == "[]", "the model loads on first use, not on import"


def test_sweep_from_a_mapping_and_read_back(tmp_path):
    design = {"name": "api", "parameters": {"n_dnos": 2, "mechanism.seller_concession": [0.05, 0.3]}, "seeds": 1}
    rows = sm.sweep(design, tmp_path, processes=1, progress=False)
    assert len(rows) == 2 and (rows.status == "ok").all()
    pd.testing.assert_frame_equal(rows, sm.read_results(tmp_path))
    report = sm.analyze(tmp_path)
    assert report.html.exists() and report.summary_csv.exists()
