"""A damaged result store: `analyze` and `sweep --resume` say so in one line, move the damaged file
aside (never delete it), work with what is intact, and the resumed store ends with exactly the rows
of an undamaged sweep. A readable file that is not the design's (another sweep's results, a file
without its columns) is damaged too: never merged into the analysis, never folded by --resume."""

import shutil
import warnings

import pandas as pd
import pytest
from batch_helpers import comparable, tiny_design

from batch_runs.executors import SerialExecutor
from batch_runs.store import RESULTS, DamagedStoreWarning, ResultStore
from batch_runs.sweep import sweep
from experiments.cli import main


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    out = tmp_path_factory.mktemp("whole")
    sweep(tiny_design(), out, SerialExecutor(), progress=False)
    return out


def truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def results_truncated(store: ResultStore, rows: pd.DataFrame):
    """A disk that filled while results.parquet was folded; two runs were still in a part."""
    store.append(rows.iloc[2:].to_dict("records"))
    path = store.dir / RESULTS
    path.write_bytes(truncated(path.read_bytes()))
    return path, 2


def stray_part_truncated(store: ResultStore, rows: pd.DataFrame):
    """results.parquet holds two runs; a part with the other two was cut short."""
    (store.dir / RESULTS).unlink()
    store.append(rows.iloc[:2].to_dict("records"))
    store.consolidate()
    store.append(rows.iloc[2:].to_dict("records"))
    (path,) = store.parts.glob("part-*.parquet")
    path.write_bytes(truncated(path.read_bytes()))
    return path, 2


def part_not_parquet(store: ResultStore, rows: pd.DataFrame):
    """Something else saved under a part's name: every run is intact in results.parquet."""
    path = store.parts / "part-00000000000000000001-0badf11e.parquet"
    path.write_text("run_id,status\nnot,parquet\n")
    return path, 4


def another_sweeps_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """The same measures as another design makes them: its own parameter and run ids."""
    other = tiny_design(parameters={"n_dnos": 2, "mechanism.valley_compensation_per_mwh": [50, 150]})
    ids = [r.run_id for r in other.runs()]
    return rows.drop(columns="mechanism.seller_concession").assign(run_id=ids, point_id=[i[:12] for i in ids])


def results_of_another_sweep(store: ResultStore, rows: pd.DataFrame):
    """Another sweep's results.parquet copied over this one's; two runs were still in a part."""
    store.append(rows.iloc[2:].to_dict("records"))
    path = store.dir / RESULTS
    another_sweeps_rows(rows).to_parquet(path)
    return path, 2


def stray_part_of_another_sweep(store: ResultStore, rows: pd.DataFrame):
    """A part of another sweep's runs dropped into runs/: read with the rest, it doubled every n."""
    path = store.parts / "part-00000000000000000002-0ther5ee.parquet"
    another_sweeps_rows(rows).to_parquet(path)
    return path, 4


def part_of_run_id_and_foo(store: ResultStore, rows: pd.DataFrame):
    """A readable Parquet part that is no sweep's: run ids of the design, but none of its columns."""
    path = store.parts / "part-00000000000000000003-00000f00.parquet"
    pd.DataFrame({"run_id": rows.run_id, "foo": 1.0}).to_parquet(path)
    return path, 4


def part_missing_a_parameter(store: ResultStore, rows: pd.DataFrame):
    """The design's run ids, but without a column of the design's parameters."""
    path = store.parts / "part-00000000000000000004-0c01umn5.parquet"
    rows.drop(columns="mechanism.seller_concession").to_parquet(path)
    return path, 4


DAMAGE = [results_truncated, stray_part_truncated, part_not_parquet, results_of_another_sweep,
          stray_part_of_another_sweep, part_of_run_id_and_foo, part_missing_a_parameter]


def damaged_copy(whole, tmp_path, damage):
    shutil.copytree(whole, tmp_path, dirs_exist_ok=True)
    store = ResultStore(tmp_path)
    path, intact = damage(store, store.read())
    return path, path.read_bytes(), intact


def one_warning(err: str, path) -> None:
    lines = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(lines) == 1 and str(path) in lines[0] and f"moved to {path.name}.damaged" in lines[0], err
    assert "Traceback" not in err and "ArrowInvalid" not in err


@pytest.mark.parametrize("damage", DAMAGE)
def test_analyze_warns_keeps_the_damaged_file_and_shows_what_is_intact(whole, tmp_path, capsys, damage):
    path, before, intact = damaged_copy(whole, tmp_path, damage)
    assert main(["analyze", str(tmp_path)]) == 0
    one_warning(capsys.readouterr().err, path)
    assert not path.exists() and path.with_name(path.name + ".damaged").read_bytes() == before, "moved, not lost"
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert summary.groupby("measure").n.sum().eq(intact).all(), "every intact run is analysed"
    page = (tmp_path / "analysis.html").read_text()
    assert f"{4 - intact} not run yet" in page and f"moved to {path.name}.damaged" in page
    assert main(["sweep", str(tmp_path / "design.yaml"), "--out", str(tmp_path), "--resume", "--processes", "1"]) == 0
    out = capsys.readouterr()
    assert f"{4 - intact} runs done" in out.out and f"{intact} already there" in out.out and "warning" not in out.err


@pytest.mark.parametrize("damage", DAMAGE)
def test_resume_warns_and_runs_the_lost_runs_again(whole, tmp_path, capsys, damage):
    path, before, intact = damaged_copy(whole, tmp_path, damage)
    assert main(["sweep", str(tmp_path / "design.yaml"), "--out", str(tmp_path), "--resume", "--processes", "1"]) == 0
    out = capsys.readouterr()
    one_warning(out.err, path)
    assert f"{4 - intact} runs done" in out.out and f"{intact} already there" in out.out
    assert path.with_name(path.name + ".damaged").read_bytes() == before
    rows = ResultStore(tmp_path).read()
    pd.testing.assert_frame_equal(comparable(rows), comparable(ResultStore(whole).read()))
    assert not list((tmp_path / "runs").glob("part-*.parquet")), "the parts were folded into results.parquet"


def test_analyze_of_nothing_but_another_sweeps_results_is_one_error_line(whole, tmp_path, capsys):
    shutil.copytree(whole, tmp_path, dirs_exist_ok=True)
    path = tmp_path / RESULTS
    another_sweeps_rows(ResultStore(whole).read()).to_parquet(path)
    assert main(["analyze", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    one_warning(err, path)
    assert "not a results file of this sweep (4 of its 4 run ids are not runs of design.yaml" in err
    assert err.splitlines()[-1] == f"error: {tmp_path}: no runs yet that can be read (see the warning above)"


def test_a_second_damaged_file_of_the_same_name_is_kept_beside_the_first(whole, tmp_path):
    shutil.copytree(whole, tmp_path, dirs_exist_ok=True)
    store = ResultStore(tmp_path)
    for k in range(2):
        (tmp_path / RESULTS).write_text(f"damage {k}")
        with pytest.warns(DamagedStoreWarning, match="not a readable results file"):
            assert store.read().empty
    assert (tmp_path / "results.parquet.damaged").read_text() == "damage 0"
    assert (tmp_path / "results.parquet.damaged-2").read_text() == "damage 1"
    assert len(store.damaged) == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert store.read().empty, "a quarantined file is never read again"
