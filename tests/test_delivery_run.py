"""Forecast errors settled after delivery (design.delivery), on the chain and through the model.

On a bare chain: a seller short of its P2P sale pays the replacement and the penalty exactly as
the hand calculation says, a reading that arrives before its hour clears waits for the gate, a
second reading is refused, and a bid that misses the gate is settled as metered, not twice. Through
the model (rolling re-plans, so bids made before the hour's actuals miss them): the ledger
verifies, money sums to zero with the grid, the market operator (fees and penalties) and the DSO,
the no-trading baseline is what was delivered, and cutting the blocks that settled the last
deliveries fails `ledger verify`.
"""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from experiments.cli import main
from ledger.service import MarketLedger
from market.design import Design
from market.settlement import DnoAccount
from store_helpers import cut_last_blocks

DELIVERY = Design.model_validate({"delivery": {"settle": True}})
PEAK_HOUR = 10  # paper tariff: TOU 1100, feed-in 400 RMB/MWh


def _ledger(**kw) -> MarketLedger:
    return MarketLedger(run_seed=4, dnos=["DN1", "DN2"], design=DELIVERY, **kw)


def _settlements(ledger) -> dict[str, dict]:
    return {p["dno"]: p for p in ledger.committed("delivery_settlement")}


def test_a_short_seller_pays_the_replacement_and_the_penalty_beyond_the_band():
    ledger = _ledger()
    start = ledger.hour_start_ms(0, PEAK_HOUR)
    ledger.submit_bid("DN1", 0, PEAK_HOUR, "sell", 10.0, 600.0, start)
    ledger.submit_bid("DN2", 0, PEAK_HOUR, "buy", 10.0, 800.0, start)
    ledger.run_until(start + ledger.genesis.hour_ms)
    [trade] = ledger.committed("trade")
    assert trade["quantity_mwh"] == 10.0
    end = start + ledger.genesis.hour_ms
    ledger.submit_meter_reading("DN1", 0, PEAK_HOUR, 8.0, 0.0, end)  # 2 MWh short
    ledger.submit_meter_reading("DN2", 0, PEAK_HOUR, 0.0, 10.0, end)  # drew what it bought
    ledger.submit_meter_reading("DN1", 0, PEAK_HOUR, 8.0, 0.0, end)  # a second reading
    ledger.run_until(end + 5_000.0)
    settled = _settlements(ledger)
    assert set(settled) == {"DN1"}  # the buyer took exactly its contract: nothing to settle
    s = settled["DN1"]
    assert s["shortfall_mwh"] == 2.0 and s["grid_sold_mwh"] == 2.0 and s["grid_rmb"] == pytest.approx(2 * 1100.0)
    assert s["penalty_rmb"] == pytest.approx(0.1 * 1100.0 * (2.0 - 0.05 * 10.0))
    account = DnoAccount(**ledger.chain.state["accounts"]["DN1"])
    assert account.imbalance_rmb == pytest.approx(2200.0) and account.penalty_rmb == pytest.approx(165.0)
    # the seller was paid for 10 MWh by its buyer and pays the grid for the 2 it did not deliver
    assert ledger.chain.state["delivery"]["penalties_rmb"] == pytest.approx(165.0)
    refused = [e for c in ledger.chain.blocks for e in c.events if e.get("event") == "meter_reading" and "refused" in e]
    assert len(refused) == 1 and "already metered" in refused[0]["refused"]


def test_a_reading_before_its_hour_clears_waits_for_the_gate_and_a_late_bid_is_settled_as_metered():
    ledger = _ledger()
    start = ledger.hour_start_ms(0, PEAK_HOUR)
    gate = ledger.gate_closure_ms(0, PEAK_HOUR)
    ledger.submit_meter_reading("DN2", 0, PEAK_HOUR, 0.0, 3.0, start)  # early: the hour is still open
    ledger.submit_bid("DN1", 0, PEAK_HOUR, "sell", 4.0, 600.0, gate + 10.0)  # misses the gate
    ledger.run_until(start + ledger.genesis.hour_ms)
    ledger.submit_meter_reading("DN1", 0, PEAK_HOUR, 4.0, 0.0, start + ledger.genesis.hour_ms)
    ledger.run_until(start + ledger.genesis.hour_ms + 5_000.0)
    assert ledger.committed("grid_settlement") == []  # the late bid is not settled at once ...
    settled = _settlements(ledger)
    assert settled["DN1"]["grid_bought_mwh"] == 4.0 and settled["DN1"]["grid_rmb"] == pytest.approx(-4 * 400.0)
    assert settled["DN2"]["grid_sold_mwh"] == 3.0  # ... and the early reading was settled at the gate
    assert not ledger.chain.state["delivery"]["pending"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("delivery") / "run"
    assert main(["run", "feeder-33bus", "--seed", "1", "--out", str(out), "--set", "design.delivery.settle=true",
                 "--set", "scheduling.intraday_mode=rolling", "--set", "design.real_time.stage=bilateral_rounds"]) == 0
    return out


def test_the_run_verifies_and_money_sums_to_zero(run):
    assert main(["ledger", "verify", str(run / "ledger.sqlite")]) == 0
    summary = json.loads((run / "summary.json").read_text())
    settle = pd.read_csv(run / "settlement.csv")
    delivery = pd.read_csv(run / "delivery.csv")
    assert len(delivery) == summary["delivery"]["settlements"] > 0
    assert summary["delivery"]["shortfall_mwh"] > 0 and summary["delivery"]["penalties_rmb"] > 0  # every path taken
    assert settle.penalty_rmb.sum() == pytest.approx(summary["delivery"]["penalties_rmb"], abs=1e-6)
    assert settle.imbalance_rmb.sum() == pytest.approx(delivery.grid_rmb.sum(), abs=1e-6)
    total = math.fsum([settle.revenue_rmb.sum(), summary["main_grid_net_rmb"], summary["platform"]["net_rmb"],
                       summary["delivery"]["penalties_rmb"], summary["network"]["uos_collected_rmb"]])
    assert total == pytest.approx(0.0, abs=1e-3)
    # the baseline is what each DNO delivered, settled with the grid: the outcome measure's gain
    gains = summary["outcomes"]["gain_by_dno_rmb"]
    for row in settle.itertuples():
        assert row.gain_rmb == pytest.approx(gains[row.dno], abs=1e-3)


def test_bids_are_placed_on_the_expected_deviation(run):
    hourly = pd.read_csv(run / "hourly.csv")
    bids = pd.read_csv(run / "bids.csv")
    first = bids[bids["round"] == 1].set_index(["day", "hour", "dno"])
    expected = hourly.set_index(["day", "hour", "dno"])
    for key, bid in first.iterrows():
        column = "bid_supply_mwh" if bid.side == "sell" else "bid_demand_mwh"
        assert bid.quantity_mwh == pytest.approx(expected.loc[key, column], abs=1e-6), key
    # rolling re-plans meet the hour's actuals only after gate closure, so some bids miss them
    off = (hourly.bid_supply_mwh - hourly.supply_mwh).abs() + (hourly.bid_demand_mwh - hourly.demand_mwh).abs()
    assert (off > 1e-6).any()


def test_cutting_the_blocks_that_settled_the_last_deliveries_fails_verify(run, tmp_path, capsys):
    path = tmp_path / "cut.sqlite"
    cut_last_blocks(run / "ledger.sqlite", path, 1)
    assert main(["ledger", "verify", str(path)]) == 1
    assert "its last blocks are missing" in capsys.readouterr().err
