"""Interrupted sweeps resume to exactly the rows of an uninterrupted one; failures are recorded."""

import functools
import shutil

import pandas as pd
import pytest
from batch_helpers import InterruptAfter, comparable, interrupt_in_worker, kill_worker_once, tiny_design

from batch_runs.design import DesignError
from batch_runs.executors import ExecutorLost, ProcessExecutor, SerialExecutor
from batch_runs.store import ResultStore
from batch_runs.sweep import sweep


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    out = tmp_path_factory.mktemp("whole")
    sweep(tiny_design(), out, SerialExecutor(), progress=False)
    return out


@pytest.fixture
def uninterrupted(whole):
    return comparable(ResultStore(whole).read())


def copy_of(whole, tmp_path) -> ResultStore:
    shutil.copytree(whole, tmp_path, dirs_exist_ok=True)
    return ResultStore(tmp_path)


def test_ctrl_c_then_resume(uninterrupted, tmp_path):
    with pytest.raises(KeyboardInterrupt):
        sweep(tiny_design(), tmp_path, SerialExecutor(), run=InterruptAfter(3), progress=False)
    kept = ResultStore(tmp_path).read()
    assert len(kept) == 3, "the runs finished before Ctrl-C are saved"
    report = sweep(tiny_design(), tmp_path, SerialExecutor(), resume=True, progress=False)
    assert (report.resumed, report.ran) == (3, 1), "only the missing run runs"
    pd.testing.assert_frame_equal(comparable(report.store.read()), uninterrupted)


def test_ctrl_c_with_processes_keeps_the_runs_under_way(uninterrupted, tmp_path):
    with pytest.raises(KeyboardInterrupt):
        sweep(tiny_design(), tmp_path, ProcessExecutor(2), run=interrupt_in_worker, progress=False)
    kept = ResultStore(tmp_path).read()
    assert len(kept) == 3, "the run that met Ctrl-C is missing; the one under way beside it is kept"
    assert not ((kept.seed == 1) & (kept["mechanism.seller_concession"] == 0.3)).any()
    report = sweep(tiny_design(), tmp_path, ProcessExecutor(2), resume=True, progress=False)
    assert (report.resumed, report.ran) == (3, 1)
    pd.testing.assert_frame_equal(comparable(report.store.read()), uninterrupted)


def test_killed_worker_then_resume(uninterrupted, tmp_path):
    run = functools.partial(kill_worker_once, str(tmp_path / "killed"))
    with pytest.raises(ExecutorLost):
        sweep(tiny_design(), tmp_path / "out", ProcessExecutor(2), run=run, progress=False)
    before = set(ResultStore(tmp_path / "out").read().run_id)
    assert len(before) < 4
    report = sweep(tiny_design(), tmp_path / "out", ProcessExecutor(2), resume=True, progress=False)
    assert report.ran == 4 - len(before)
    pd.testing.assert_frame_equal(comparable(report.store.read()), uninterrupted)


def test_lost_rows_are_rerun_and_none_twice(whole, uninterrupted, tmp_path):
    """A store that lost rows (e.g. a part never written) gets exactly those back."""
    store = copy_of(whole, tmp_path)
    rows = store.read()
    (tmp_path / "results.parquet").unlink()
    store.append(rows.iloc[[0, 3]].to_dict("records"))
    report = sweep(tiny_design(), tmp_path, SerialExecutor(), resume=True, progress=False)
    assert (report.resumed, report.ran) == (2, 2)
    assert not list((tmp_path / "runs").glob("*.parquet")), "parts are folded into results.parquet"
    pd.testing.assert_frame_equal(comparable(report.store.read()), uninterrupted)


def test_repeated_rows_are_read_once(whole, tmp_path):
    """A kill between folding parts into results.parquet and deleting them leaves copies."""
    store = copy_of(whole, tmp_path)
    rows = store.read()
    store.append(rows.to_dict("records"))
    assert len(store.read()) == 4
    assert sweep(tiny_design(), tmp_path, SerialExecutor(), resume=True, progress=False).ran == 0


def test_failing_run_is_recorded_not_rerun(tmp_path):
    # With one DNO there is no DN2 to override: those runs raise in scenario validation.
    design = tiny_design(parameters={"n_dnos": [1, 2], "dnos.DN2.pv_mw": 10.0})
    report = sweep(design, tmp_path, SerialExecutor(), progress=False)
    rows = report.store.read()
    failed = rows[rows.status == "failed"]
    assert report.failed == len(failed) == 2 and set(failed.n_dnos) == {1}
    assert failed.error.str.contains("ScenarioError: .*no item 'DN2'", regex=True).all()
    assert failed.traceback.str.contains("apply_override").all()
    assert failed.social_welfare_rmb.isna().all()
    assert (rows[rows.n_dnos == 2].status == "ok").all()
    assert sweep(design, tmp_path, SerialExecutor(), resume=True, progress=False).ran == 0


def test_directory_guards(whole, tmp_path):
    copy_of(whole, tmp_path)
    with pytest.raises(DesignError, match="already holds a sweep; pass --resume"):
        sweep(tiny_design(), tmp_path, SerialExecutor(), progress=False)
    with pytest.raises(DesignError, match="holds a different design"):
        sweep(tiny_design(seeds=3), tmp_path, SerialExecutor(), resume=True, progress=False)
    running = ResultStore(tmp_path)
    running.begin(tiny_design(), resume=True)
    with pytest.raises(DesignError, match="another sweep is running into this directory"):
        sweep(tiny_design(), tmp_path, SerialExecutor(), resume=True, progress=False)
    running.close()
    assert sweep(tiny_design(), tmp_path, SerialExecutor(), resume=True, progress=False).ran == 0
