"""The model-facing service: a short day through the chain, read back hour by hour."""

from ledger.network import NetworkParams
from ledger.service import MarketLedger
from ledger.verify import verify_store


def test_a_short_day_through_the_service(tmp_path):
    path = tmp_path / "ledger.sqlite"
    ledger = MarketLedger(run_seed=3, dnos=["dno1", "dno2", "dno3"], engine="raft", store_path=str(path),
                          network=NetworkParams(n_validators=5, topology="small_world"))
    ledger.register_all()
    ledger.submit_bid("dno1", 0, 1, "sell", 4.0, 320.0)
    ledger.submit_bid("dno2", 0, 1, "buy", 3.0, 380.0)
    ledger.submit_bid("dno3", 0, 2, "buy", 2.0, 700.0)  # alone in its hour: all from the grid
    ledger.run_hour(0, 1)
    first = ledger.hour_outcome(0, 1)
    assert [(t["seller"], t["buyer"], t["quantity_mwh"]) for t in first["trades"]] == [("dno1", "dno2", 3.0)]
    assert [(g["dno"], g["side"], g["quantity_mwh"]) for g in first["grid"]] == [("dno1", "sell", 1.0)]
    assert first["clearing"] is not None and first["closed_at_height"] is not None
    ledger.run_hour(0, 2)
    second = ledger.hour_outcome(0, 2)
    assert second["trades"] == [] and [(g["dno"], g["quantity_mwh"]) for g in second["grid"]] == [("dno3", 2.0)]
    assert len(ledger.committed("register")) == 4  # three DNOs and the main grid
    assert ledger.metrics()["blocks"] >= 2
    ledger.close()
    assert verify_store(str(path)).ok
