"""A small grid gives the same rows serially, with local processes and on a local Dask cluster."""

import os

import pandas as pd
import pytest
from batch_helpers import comparable, tiny_design

from batch_runs.executors import DaskExecutor, ProcessExecutor, SerialExecutor
from batch_runs.sweep import sweep


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    out = tmp_path_factory.mktemp("serial")
    report = sweep(tiny_design(), out, SerialExecutor(), progress=False)
    return report, report.store.read()


def test_serial_sweep_stores_every_run(serial):
    report, rows = serial
    assert (report.total, report.ran, report.failed) == (4, 4, 0)
    assert list(rows.columns[:5]) == ["run_id", "point", "point_id", "seed", "iteration"]
    assert rows.run_id.is_unique and set(rows.seed) == {0, 1}
    assert set(rows["mechanism.seller_concession"]) == {0.05, 0.3}
    assert (rows.status == "ok").all() and rows.error.isna().all()
    # the market's measures come from the model, per DNO included
    assert {"social_welfare_rmb", "trade_share", "gain_by_dno_rmb.DN2"} <= set(rows.columns)
    assert (rows.seconds > 0).all()


@pytest.mark.parametrize("executor", [lambda: ProcessExecutor(2), lambda: DaskExecutor(workers=2)], ids=["processes", "dask"])
def test_same_rows_as_serial(serial, executor, tmp_path):
    report = sweep(tiny_design(), tmp_path, executor(), progress=False)
    rows = report.store.read()
    assert not rows.worker.str.endswith(f":{os.getpid()}").any(), "runs ran in worker processes"
    assert (rows.status == "ok").all()
    pd.testing.assert_frame_equal(comparable(rows), comparable(serial[1]))
