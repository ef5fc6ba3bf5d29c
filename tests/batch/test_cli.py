"""`storagemarket sweep` and `analyze`: progress, resume, reports, and one-line errors (exit 2)."""

import pandas as pd
import pytest
from citations import unresolved
import yaml
from batch_helpers import TINY

from experiments.cli import main


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    design = root / "tiny.yaml"
    design.write_text(yaml.safe_dump(TINY))
    out = root / "out"
    assert main(["sweep", str(design), "--out", str(out), "--processes", "1"]) == 0
    return design, out


def test_sweep_prints_progress_and_refuses_to_overwrite(swept, capsys):
    design, out = swept
    assert main(["sweep", str(design), "--out", str(out), "--processes", "1"]) == 2
    assert "already holds a sweep; pass --resume" in capsys.readouterr().err
    assert main(["sweep", str(design), "--out", str(out), "--resume", "--processes", "1"]) == 0
    captured = capsys.readouterr()
    assert "0 runs done" in captured.out and "4 already there" in captured.out
    assert "4/4" in captured.err, "the progress bar counts resumed runs as done"


def test_analyze_writes_html_and_summary(swept, capsys):
    _, out = swept
    assert main(["analyze", str(out)]) == 0
    page = (out / "analysis.html").read_text()
    assert unresolved(page) == []
    assert page.count("data:image/png;base64,") >= 4
    assert "Effect of each parameter" in page and "Distributions per DNO" in page
    err = capsys.readouterr().err
    assert "heatmaps need two varied parameters" in err
    assert "note: n = 2 at the fewest: fewer than 5 values per interval" in err and "fewer than 5 values" in page
    summary = pd.read_csv(out / "summary.csv")
    assert {"measure", "mean", "ci95_low", "ci95_high", "ci95_cut", "n", "failed"} <= set(summary.columns)
    assert set(summary.measure) >= {"social_welfare_rmb", "trade_share"} and (summary.n == 2).all()
    assert (summary.ci95_low <= summary["mean"]).all() and (summary["mean"] <= summary.ci95_high).all()
    bounded = summary[summary.measure.isin(["trade_share", "p2p_volume_mwh", "valley_p2p_volume_mwh"])]
    assert (bounded.ci95_low >= 0).all() and (bounded[bounded.measure == "trade_share"].ci95_high <= 1).all()


def test_analyze_takes_measures_and_pairs(swept):
    _, out = swept
    args = ["analyze", str(out), "--measure", "p2p_volume_mwh", "--heatmap", "mechanism.seller_concession", "n_dnos"]
    assert main(args) == 0
    assert set(pd.read_csv(out / "summary.csv").measure) == {"p2p_volume_mwh"}
    page = (out / "analysis.html").read_text()
    assert "<h2>Heatmaps</h2><p><img" in page and "<h2>Effect of each parameter</h2>" in page


@pytest.mark.parametrize(
    "args, message",
    [
        (["analyze", "{out}", "--measure", "nope"], "no measure nope; the runs report:"),
        (["analyze", "{tmp}"], "not a sweep output directory"),
        (["analyze", "{out}", "--heatmap", "n_dnos", "dnos.DN1.pv_mw"], "--heatmap dnos.DN1.pv_mw: not a parameter"),
        (["sweep", "{bad}", "--out", "{tmp}/x"], "parameters.mechanism.seller_concession=2: "),
        (["sweep", "{design}", "--out", "{tmp}/y", "--workers", "0"], "expected a whole number >= 1"),
    ],
)
def test_mistakes_are_one_line_exit_2(swept, tmp_path, capsys, args, message):
    design, out = swept
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({**TINY, "parameters": {"mechanism.seller_concession": [0.1, 2]}}))
    args = [a.format(out=out, tmp=tmp_path, bad=bad, design=design) for a in args]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("error: ") and err.count("\n") == 1


@pytest.mark.parametrize("flags, starts", [([], True), (["--processes", "2"], True), (["--processes", "1"], False),
                                           (["--workers", "2"], False)])
def test_local_workers_start_before_the_design_is_read(tmp_path, monkeypatch, flags, starts):
    """Their fork server's imports (seconds) then overlap the design's loading and checks."""
    from batch_runs import design as designs
    from batch_runs.executors import ProcessExecutor

    calls = []
    monkeypatch.setattr(ProcessExecutor, "start_server", staticmethod(lambda: calls.append("start")))

    def load(path):
        calls.append("load")
        raise designs.ScenarioError(f"{path}: stop here")

    monkeypatch.setattr(designs, "load", load)
    assert main(["sweep", str(tmp_path / "d.yaml"), "--out", str(tmp_path / "o"), *flags]) == 2
    assert calls == (["start", "load"] if starts else ["load"])
