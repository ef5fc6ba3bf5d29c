"""Which replica writes the run's ledger (ledger.consensus.cluster.archival_node), and that the
chain metrics report that ledger's height, not the lowest honest one."""

from ledger.consensus.cluster import Crash, archival_node


def test_a_node_that_never_crashes_writes_the_ledger():
    assert archival_node([0, 1, 2, 3], (Crash(0, 10.0, None), Crash(2, 5.0, 8.0))) == 1


def test_when_every_node_crashes_the_writer_is_up_at_the_end_and_down_the_least():
    crashes = (Crash(1, 100.0, 900.0), Crash(2, 200.0, 400.0), Crash(3, 300.0, 1300.0), Crash(0, 500.0, None))
    assert archival_node([0, 1, 2, 3], crashes) == 2


def test_when_every_node_is_down_for_good_the_last_to_go_writes():
    assert archival_node([0, 1, 2], (Crash(0, 100.0, None), Crash(1, 700.0, None), Crash(2, 300.0, None))) == 1


def test_byzantine_nodes_never_write():
    assert archival_node([2, 3], ()) == 2


def test_the_block_count_is_the_ledgers_height_even_with_a_validator_down_for_good():
    from ledger.service import MarketLedger

    ledger = MarketLedger(run_seed=1, dnos=["dno1"], engine="raft", crashes=[Crash(0, 2_500.0, None)])
    for hour in range(1, 5):
        ledger.submit_bid("dno1", 0, hour, "sell", 1.0, 300.0)
        ledger.run_hour(0, hour)
    metrics = ledger.metrics()
    assert metrics["blocks"] == ledger.chain.height > ledger.cluster.honest_height()
    # Raft's consensus goes point to point: no flood, so no propagation figure (null, not 0)
    assert metrics["consensus_propagation_p95_ms"] != metrics["consensus_propagation_p95_ms"]
