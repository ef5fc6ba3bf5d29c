"""The paper's hour 2 end to end (docs/rules.md §A.11.1): replayed storage plans give the published
deviations, and deviation, bid prices, signing, gossip, consensus and the clearing contract give
the published trades, to the cent and the 0.01 MWh."""

from __future__ import annotations

import pandas as pd
import pytest

from experiments.cli import main
from ledger.verify import verify_store


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("hour2") / "run"
    assert main(["run", "paper-hour2", "--out", str(out)]) == 0
    return out


def test_hour2_holds_exactly_the_papers_three_trades(run):
    trades = pd.read_csv(run / "trades.csv")
    got = [(r.hour, None if pd.isna(r.round) else int(r.round), r.kind, r.seller, r.buyer,
            round(r.quantity_mwh, 2), round(r.price_per_mwh, 2)) for r in trades.itertuples()]
    assert got == [(2, 1, "p2p", "DN2", "DN4", 4866.80, 334.80),
                   (2, 2, "p2p", "DN3", "DN4", 105.26, 369.00),
                   (2, None, "grid", "main_grid", "DN4", 5027.94, 270.00)]


def test_the_deviations_are_the_papers(run):
    hourly = pd.read_csv(run / "hourly.csv")
    two = hourly[hourly.hour == 2].set_index("dno")
    assert two.supply_mwh.round(2).to_dict() == {"DN1": 0.0, "DN2": 4866.80, "DN3": 105.26, "DN4": 0.0}
    assert two.demand_mwh.round(2).to_dict() == {"DN1": 0.0, "DN2": 0.0, "DN3": 0.0, "DN4": 10000.0}
    assert two.deviation_case.to_dict() == {"DN1": 0, "DN2": 2, "DN3": 2, "DN4": 1}
    assert (hourly[hourly.hour != 2][["supply_mwh", "demand_mwh"]] == 0).all().all()  # only hour 2 moves


def test_the_bids_were_signed_and_the_ledger_verifies(run):
    bids = pd.read_csv(run / "bids.csv")
    first = bids[bids["round"] == 1].set_index("dno").price_per_mwh.round(2).to_dict()
    assert first == {"DN2": 202.50, "DN3": 256.50, "DN4": 467.10}
    assert verify_store(run / "ledger.sqlite").ok


ZEROS = ", ".join(["0"] * 22)


@pytest.mark.parametrize("override, message", [
    ("scheduling.intraday_mode=rolling", "scheduling.intraday_mode: replayed storage actions need oracle"),
    ("dnos.DN1.storage_actions=null", "dnos.DN1.storage_actions: scheduling.storage: replayed needs every DNO's"),
    ("scheduling.storage=optimised", "scheduling.storage: DNOs give storage_actions"),
    ("design.coordination.stage=dual_decomposition", "design.coordination.stage: replayed storage actions need "
     "independent"),
    (f"dnos.DN4.storage_actions.intraday=[0, 12000, {ZEROS}]",
     "dnos[3:DN4].storage_actions.intraday: hour 2: 12000 MW is beyond the storage's 10000 MW"),
    (f"dnos.DN2.storage_actions.day_ahead=[4866.8, 4866.8, {ZEROS}]",
     "dnos[1:DN2].storage_actions.day_ahead: hour 2: unit DN2-BESS's state of charge 1.2500 leaves [0.1, 0.9]"),
    ("dnos.DN3.storage_actions.day_ahead=[1, 2]", "dnos[2:DN3].storage_actions.day_ahead"),
])
def test_replayed_actions_that_cannot_be_are_one_line(override, message, capsys):
    assert main(["run", "paper-hour2", "--set", override, "--out", "/nonexistent/never"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
