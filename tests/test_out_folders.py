"""Every command that writes an output folder checks --out the one way (model/out_dir.py): a path
under a file, a folder that cannot be created or written, or one holding another kind's outputs
is one line and exit 2, before anything runs, with no folder left behind and nothing there changed.
A sweep or comparison refused after it began (a --scheduler with no cluster) leaves no trace either.

Nothing here simulates: the jobs are made to fail loudly if a refused command reaches them.
"""

from __future__ import annotations

import errno
import json
import tempfile
from pathlib import Path

import pytest
import yaml

from batch_runs.design import parse
from batch_runs.store import RESULTS, ResultStore
from batch_runs.sweep import lost_row
from experiments import paper
from experiments.cli import main
from model import job

SWEEP = {"kind": "grid", "name": "tiny", "parameters": {"n_dnos": 2, "mechanism.seller_concession": [0.05, 0.3]},
         "seeds": 1}
COMPARISON = {"days": {"recipe": "paper-4dn", "seeds": 1}, "designs": {"S0": {"mechanism.p2p_enabled": False}, "cc": {}},
              "fixed": {"n_dnos": 2}}
COMMANDS = {
    "run": ["run", "paper-4dn", "--out", "{out}"],
    "sweep": ["sweep", "{inputs}/sweep.yaml", "--out", "{out}", "--processes", "1"],
    "compare": ["compare", "{inputs}/comparison.yaml", "--out", "{out}", "--processes", "1"],
    "experiment paper": ["experiment", "paper", "--out", "{out}"],
}
# A folder of each kind of output, as its command leaves it (contents only; never read as data).
KINDS = {
    "run": {"report.html": "<html>", "hourly.csv": "hour\n1\n", "summary.json": json.dumps({"scenario": "paper-4dn"})},
    "sweep": {"design.yaml": yaml.safe_dump(SWEEP), RESULTS: "parquet", "analysis.html": "<html>", "runs/": ""},
    "experiment paper": {"comparison.csv": "scenario\nS0\n", "paper.html": "<html>", "comparison.png": "png"},
}


@pytest.fixture
def inputs(tmp_path_factory, monkeypatch):
    """The design and comparison files, in a folder of their own; every job refuses to run."""
    folder = tmp_path_factory.mktemp("inputs")
    (folder / "sweep.yaml").write_text(yaml.safe_dump(SWEEP))
    (folder / "comparison.yaml").write_text(yaml.safe_dump(COMPARISON))

    def refuse(*args, **kwargs):
        raise AssertionError("a refused command reached a job")

    for module, name in ((job, "run"), (paper, "run_experiment"), (job, "simulate")):
        monkeypatch.setattr(module, name, refuse)
    return folder


def _run(command: str, out: Path, inputs: Path, capsys) -> str:
    argv = [a.format(out=out, inputs=inputs) for a in COMMANDS[command]]
    assert main(argv) == 2, argv
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and captured.err.count("\n") == 1, captured.err
    return captured.err


def read_only(*args, **kwargs):
    """tempfile.TemporaryFile on a read-only file system."""
    raise OSError(errno.EROFS, "Read-only file system")


def _tree(folder: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None for p in sorted(folder.rglob("*"))}


@pytest.mark.parametrize("command", COMMANDS)
def test_a_path_under_a_file_is_one_line(command, inputs, tmp_path, capsys):
    (tmp_path / "FILE").write_text("mine\n")
    err = _run(command, tmp_path / "FILE" / "x", inputs, capsys)
    assert err.startswith(f"error: --out {tmp_path}/FILE/x: {tmp_path}/FILE is a file, not a directory")
    assert _tree(tmp_path) == {"FILE": b"mine\n"}


@pytest.mark.parametrize("command", COMMANDS)
def test_a_folder_that_cannot_be_created_is_one_line_and_none_is_left(command, inputs, tmp_path, capsys, monkeypatch):
    """Denied (as on a folder of someone else's, or a read-only file system): mkdir's error, in one line."""
    mkdir = Path.mkdir

    def denied(self, *args, **kwargs):
        if self.is_relative_to(tmp_path / "locked"):
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", denied)
    err = _run(command, tmp_path / "locked" / "out", inputs, capsys)
    assert err.startswith(f"error: --out {tmp_path}/locked/out: cannot create it (Permission denied)")
    assert _tree(tmp_path) == {}


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
@pytest.mark.parametrize("command", COMMANDS)
def test_a_folder_in_proc_is_one_line(command, inputs, capsys):
    """/proc takes no new folder, whoever asks: a check of permissions alone would pass it."""
    err = _run(command, Path("/proc/storagemarket-out"), inputs, capsys)
    assert err.startswith("error: --out /proc/storagemarket-out: cannot create it (")


@pytest.mark.parametrize("command", COMMANDS)
def test_a_folder_that_cannot_be_written_is_one_line(command, inputs, tmp_path, capsys, monkeypatch):
    out = tmp_path / "readonly"
    out.mkdir()
    monkeypatch.setattr(tempfile, "TemporaryFile", read_only)
    err = _run(command, out, inputs, capsys)
    assert err.startswith(f"error: --out {out}: cannot write into it (Read-only file system)")
    assert _tree(tmp_path) == {"readonly": None}


def test_analyze_of_a_sweep_it_cannot_write_into_is_one_line(tmp_path, capsys, monkeypatch):
    out = tmp_path / "swept"
    out.mkdir()
    (out / "design.yaml").write_text(yaml.safe_dump(SWEEP))
    monkeypatch.setattr(tempfile, "TemporaryFile", read_only)
    assert main(["analyze", str(out)]) == 2
    assert capsys.readouterr().err == f"error: {out}: cannot write into it (Read-only file system)\n"


# A sweep and a comparison share a folder's kind (compare is a sweep); every other pairing mixes files.
MIXES = [(c, k) for c in COMMANDS for k in KINDS if c != k and {c, k} != {"compare", "sweep"}]


@pytest.mark.parametrize("command, kind", MIXES)
def test_another_kinds_outputs_are_refused_and_kept(command, kind, inputs, tmp_path, capsys):
    out = tmp_path / kind.replace(" ", "-")
    out.mkdir()
    for name, text in KINDS[kind].items():
        if name.endswith("/"):
            (out / name).mkdir()
        else:
            (out / name).write_text(text)
    before = _tree(out)
    err = _run(command, out, inputs, capsys)
    writer = "run" if command == "run" else "sweep" if command in ("sweep", "compare") else "paper experiment"
    assert err.startswith(f"error: --out {out}: holds files no {writer} writes (")
    assert "choose another --out" in err
    assert _tree(out) == before


# -- refused after the store began: a --scheduler with no cluster behind it -----------------------


@pytest.mark.parametrize("command", ["sweep", "compare"])
def test_a_refused_scheduler_leaves_no_new_folder(command, inputs, tmp_path, capsys):
    out = tmp_path / "new" / "deeper"
    argv = [a.format(out=out, inputs=inputs) for a in COMMANDS[command]][:-2] + ["--scheduler", "notanaddress"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "error: --scheduler notanaddress: no Dask scheduler there" in err and "Traceback" not in err
    assert not (tmp_path / "new").exists()


def test_a_refused_scheduler_leaves_an_existing_folder_as_it_was(inputs, tmp_path, capsys):
    """An empty folder stays empty; a sweep half done keeps its rows and its design.yaml byte for byte
    (the resumed design here renames it, which a sweep that ran would write)."""
    empty = tmp_path / "empty"
    empty.mkdir()
    half = tmp_path / "half"
    design = parse(SWEEP, "sweep.yaml")
    store = ResultStore(half)
    store.begin(design, resume=False)
    store.append([lost_row(design.runs()[0], "the first run, recorded")])
    store.consolidate()
    store.close()
    before = _tree(half)
    (inputs / "renamed.yaml").write_text(yaml.safe_dump({**SWEEP, "name": "renamed"}))
    for out, resume in ((empty, []), (half, ["--resume"])):
        argv = ["sweep", str(inputs / "renamed.yaml"), "--out", str(out), "--scheduler", "notanaddress", *resume]
        assert main(argv) == 2
        assert "no Dask scheduler there" in capsys.readouterr().err
    assert _tree(empty) == {}
    assert _tree(half) == before


def test_the_announcement_reads_naturally_in_this_process(inputs, tmp_path, capsys, monkeypatch):
    """`--processes 1` runs here: "2 runs in this process", not "on serial"."""
    monkeypatch.setattr("batch_runs.sweep.sweep", lambda *a, **k: 130)  # stop right after the announcement
    assert main(["sweep", str(inputs / "sweep.yaml"), "--out", str(tmp_path / "o"), "--processes", "1"]) == 130
    assert "tiny: 2 runs in this process -> " in capsys.readouterr().err
