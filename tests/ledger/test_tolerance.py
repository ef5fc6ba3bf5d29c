"""Faults beyond what an engine tolerates are allowed, and named in one line before the run."""

import json

import pytest

from experiments.cli import main
from ledger.consensus.cluster import Crash
from ledger.tolerance import fault_warnings

HOUR = 10_000.0


@pytest.mark.parametrize("byzantine, crashes, warned", [
    ([], [], False),
    ([3], [], False),  # f = 1 < 4/3
    ([2, 3], [], True),
    ([3], [Crash(1, 5 * HOUR, 6 * HOUR)], True),  # a Byzantine node and a crashed one together
    ([], [Crash(1, 1 * HOUR, 2 * HOUR), Crash(2, 3 * HOUR, 4 * HOUR)], False),  # never two at once
])
def test_bft_warns_when_the_faulty_hold_a_third_of_the_power(byzantine, crashes, warned):
    lines = fault_warnings("bft", [1, 1, 1, 1], byzantine, crashes, HOUR)
    assert bool(lines) == warned and len(lines) <= 1


def test_bft_counts_voting_power_not_nodes():
    assert fault_warnings("bft", [5, 1, 1, 1, 1], [0], [], HOUR)  # one node, 5 of 9 power
    assert not fault_warnings("bft", [1, 1, 1, 1, 5], [0], [], HOUR)


@pytest.mark.parametrize("crashes, warned", [
    ([Crash(0, 3 * HOUR)], False),
    ([Crash(0, 3 * HOUR), Crash(1, 5 * HOUR, 8 * HOUR)], True),
    ([Crash(0, 3 * HOUR, 4 * HOUR), Crash(1, 5 * HOUR, 8 * HOUR)], False),
])
def test_raft_warns_when_no_majority_is_up(crashes, warned):
    lines = fault_warnings("raft", [1, 1, 1, 1], [], crashes, HOUR)
    assert bool(lines) == warned
    if warned:
        assert "2 of 4 validators are down from hour 5" in lines[0]


def test_run_names_the_excess_fault_first_and_keeps_it_in_summary_and_report(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["run", "paper-4dn", "--out", str(out), "--set", "ledger.engine=raft",
            "--set", "ledger.crashes=[{node: 0, at_hour: 3, restart_hour: 7}, {node: 1, at_hour: 5, restart_hour: 8}]"]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert err.count("warning: raft: 2 of 4 validators are down from hour 5") == 1
    summary = json.loads((out / "summary.json").read_text())
    assert len(summary["warnings"]) == 1 and summary["chain"]["conflicting_commits"] == 0
    assert summary["chain"]["lowest_honest_height"] >= 24
    assert "no live majority" in (out / "report.html").read_text()
