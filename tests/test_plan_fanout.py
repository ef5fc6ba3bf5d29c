"""Planning the DNOs' days elsewhere (model.plan_fanout) writes the bytes of planning here."""

import hashlib

import pytest

from batch_runs.executors import ProcessExecutor
from batch_runs.run_one import scenario_for
from experiments.cli import main
from model.job import simulate
from model.plan_fanout import ReplanJob

OUTPUTS = ("hourly.csv", "bids.csv", "trades.csv", "settlement.csv", "summary.json", "report.html", "ledger.sqlite")


def _digests(folder):
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in OUTPUTS}


def reversed_map(fn, tasks):
    """An executor that finishes the tasks in the opposite order: plans must still land by DNO."""
    return [fn(task) for task in reversed(list(tasks))]


def test_plans_made_in_any_order_elsewhere_give_the_same_run(monkeypatch):
    scenario = scenario_for({"n_dnos": 7, "days": 2}, 0)
    monkeypatch.setattr("model.plan_fanout.CHUNK_DNOS", 2)  # several chunks
    here, there = simulate(scenario, 3), simulate(scenario, 3, planner=reversed_map)
    for name, frame in here.tables.items():
        assert frame.equals(there.tables[name]), name
    assert here.summary == there.summary


@pytest.mark.parametrize("coordination", ["independent", "dual_decomposition"])
def test_rolling_replans_made_elsewhere_give_the_same_run(monkeypatch, coordination):
    """Every hour's re-plans (and, after day-ahead trades, the no-trade baseline's) solved by the
    planner, on MILPs a worker keeps from hour to hour, in reverse chunk order."""
    overrides = {"n_dnos": 4, "scheduling.intraday_mode": "rolling", "design.coordination.stage": coordination}
    if coordination == "dual_decomposition":
        overrides.update({"design.coordination.max_iterations": 15, "design.coordination.reference": False})
    scenario = scenario_for(overrides, 0)
    monkeypatch.setattr("model.plan_fanout.CHUNK_DNOS", 3)
    monkeypatch.setattr("model.plan_fanout._SCHEDULERS", {})
    solves = []

    def planner(fn, tasks):
        tasks = list(tasks)
        solves.extend(len(job.solves) for task in tasks for job in task.jobs if isinstance(job, ReplanJob))
        return reversed_map(fn, tasks)

    here, there = simulate(scenario, 1), simulate(scenario, 1, planner=planner)
    assert len(solves) == 24 * 4 and max(solves) == (2 if coordination == "dual_decomposition" else 1)
    for name, frame in here.tables.items():
        assert frame.equals(there.tables[name]), name
    assert here.summary == there.summary


def test_a_run_planned_on_local_processes_writes_the_same_bytes(tmp_path):
    args = ["run", "paper-4dn", "--seed", "1", "--set", "days=2"]
    assert main([*args, "--out", str(tmp_path / "here")]) == 0
    assert main([*args, "--processes", "2", "--out", str(tmp_path / "there")]) == 0
    assert _digests(tmp_path / "here") == _digests(tmp_path / "there")


def test_process_executor_plans_match_the_model_s_own():
    scenario = scenario_for({"n_dnos": 3}, 0)
    with ProcessExecutor(2) as executor:
        there = simulate(scenario, 0, planner=executor.imap_unordered)
    here = simulate(scenario, 0)
    assert here.summary == there.summary and here.tables["hourly"].equals(there.tables["hourly"])


def test_a_model_whose_plans_are_made_elsewhere_never_builds_its_milps():
    """Building a DNO's MathOpt model costs about 24 ms: a parent that plans nothing (oracle mode,
    plans from the planner) must not build a thousand of them."""
    from model.market_model import StorageMarketModel

    scenario = scenario_for({"n_dnos": 3}, 0)
    assert scenario.scheduling.intraday_mode == "oracle"
    model = StorageMarketModel(scenario, rng=0, planner=reversed_map)
    for _ in range(24):
        model.step()
    assert all(d.scheduler._model is None for d in model.dnos)
    alone = StorageMarketModel(scenario, rng=0)
    alone.step()
    assert all(d.scheduler._model is not None for d in alone.dnos)
