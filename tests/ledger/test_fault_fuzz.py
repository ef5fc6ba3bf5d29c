"""Liveness and safety under seeded fault schedules (crashes with restarts, partitions, slowdowns,
lossy spells, leader kills), 300 per engine, always within the engine's fault bound: once the
faults heal every node commits every submitted transaction and no two nodes commit different
blocks. The negative control goes one fault beyond the bound: it is named up front and the
chain does not commit while a quorum is missing (Raft and BFT only: proof of work has no quorum)."""

import pytest

from ledger.consensus.cluster import Cluster
from ledger.fault_fuzz import random_case, run_case

SCHEDULES = 300
CHUNK = 25


@pytest.mark.parametrize("engine", ["raft", "bft", "pow"])
@pytest.mark.parametrize("first", range(0, SCHEDULES, CHUNK))
def test_every_transaction_commits_once_faults_within_the_bound_heal(engine, first):
    failures = []
    for seed in range(first, first + CHUNK):
        result = run_case(random_case(engine, seed))
        assert not result.warnings, result.describe()  # within the bound: nothing to warn about
        if not result.ok:
            failures.append(result.describe())
    assert not failures, "\n".join(failures)


# not pow: it has no quorum, the miners left keep finalising, and no crash short of all of them is warned of
@pytest.mark.parametrize("engine", ["raft", "bft"])
@pytest.mark.parametrize("seed", range(6))
def test_beyond_the_bound_the_faults_are_named_and_nothing_commits_without_a_quorum(engine, seed, monkeypatch):
    case = random_case(engine, seed, beyond_bound=True)
    together = case.crashes  # beyond the bound: the faulty set crashes together
    start = max(c.at_ms for c in together)
    end = min(c.restart_ms for c in together)
    heights = {}
    real_run = Cluster.run

    def watch(self, until_ms=None, height=None, max_events=None):  # note the height across the window
        if until_ms is not None and until_ms > start and "start" not in heights:
            real_run(self, until_ms=start + 1.0)
            heights["start"] = max(n.chain.height for n in self.nodes)
            real_run(self, until_ms=end - 1.0)
            heights["end"] = max(n.chain.height for n in self.nodes)
        real_run(self, until_ms=until_ms, height=height, max_events=max_events)

    monkeypatch.setattr(Cluster, "run", watch)
    result = run_case(case, settle_ms=2000.0)
    assert result.warnings and engine in result.warnings[0], result.describe()
    # at most the block already in flight when the quorum was lost can still commit
    assert heights["end"] <= heights["start"] + 1, (heights, result.describe())
