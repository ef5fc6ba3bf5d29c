"""The Mesa model end to end: outputs agree with each other and with the chain, conservation,
determinism, and a market outcome that faults and slow links change only as the rules say."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from agents.dno import DNO
from agents.main_grid import MainGrid
from agents.storage_owner import StorageOwner
from agents.validator import Validator
from ledger.block import BlockEntry
from ledger.store import read_rows
from ledger.verify import verify_store
from model.job import run, simulate
from model.market_model import ChainStalled, StorageMarketModel
from model.scenario import load

TOL = 1e-6
MARKET_COLUMNS = ["day", "hour", "round", "kind", "seller", "buyer", "quantity_mwh", "price_per_mwh"]


@pytest.fixture(scope="module")
def paper(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("paper")
    run(load("paper-4dn"), 1, out)
    return out


def _csv(out: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(out / f"{name}.csv")


def _chain_payloads(store: Path, kind: str) -> list[dict]:
    """Payloads of committed transactions of one kind, read straight from the SQLite store."""
    _, blocks = read_rows(str(store))
    found = []
    for height, _hash, _header, _cert, rows in blocks:
        for _h, _idx, tx_id, entry_bytes in rows:
            tx = BlockEntry.from_bytes(entry_bytes).tx
            if tx.tx.kind == kind:
                found.append({**tx.tx.payload, "block_height": height, "tx_id": tx_id})
    return found


def test_ledger_verifies_and_trades_csv_is_the_chain(paper):
    report = verify_store(str(paper / "ledger.sqlite"))
    assert report.ok, report.summary()
    trades = _csv(paper, "trades")
    p2p = trades[trades.kind == "p2p"]
    on_chain = _chain_payloads(paper / "ledger.sqlite", "trade")
    assert len(p2p) == len(on_chain) > 0
    for row, tx in zip(p2p.itertuples(), on_chain):
        assert (row.tx_id, row.block_height, row.day - 1, row.hour, row.round) == (
            tx["tx_id"], tx["block_height"], tx["day"], tx["hour"], tx["round"])
        assert (row.seller, row.buyer) == (tx["seller"], tx["buyer"])
        assert row.quantity_mwh == pytest.approx(tx["quantity_mwh"], abs=TOL)
        assert row.price_per_mwh == pytest.approx(tx["price_per_mwh"], abs=TOL)
    grid = trades[trades.kind == "grid"]
    assert sorted(grid.tx_id) == sorted(t["tx_id"] for t in _chain_payloads(paper / "ledger.sqlite", "grid_settlement"))
    bids = _csv(paper, "bids")
    first = bids[bids["round"] == 1]
    assert sorted(first.tx_id) == sorted(t["tx_id"] for t in _chain_payloads(paper / "ledger.sqlite", "bid"))


def test_energy_is_conserved_every_hour(paper):
    hourly, trades = _csv(paper, "hourly"), _csv(paper, "trades")
    for (day, hour), dev in hourly.groupby(["day", "hour"]):
        here = trades[(trades.day == day) & (trades.hour == hour)]
        for dno in dev.itertuples():
            sold = here[here.seller == dno.dno].quantity_mwh.sum()
            bought = here[here.buyer == dno.dno].quantity_mwh.sum()
            assert sold == pytest.approx(dno.supply_mwh, abs=1e-5), (day, hour, dno.dno)
            assert bought == pytest.approx(dno.demand_mwh, abs=1e-5), (day, hour, dno.dno)
    p2p = trades[trades.kind == "p2p"]
    assert (p2p.price_per_mwh > 0).all() and set(p2p.seller) & set(p2p.buyer) <= set(hourly.dno)


def test_money_balances_and_settlement_matches_trades(paper):
    import json

    settle, trades = _csv(paper, "settlement"), _csv(paper, "trades")
    summary = json.loads((paper / "summary.json").read_text())
    total = settle.revenue_rmb.sum() + summary["main_grid_net_rmb"] + summary["platform"]["net_rmb"]
    assert total == pytest.approx(0.0, abs=2e-3)
    value = trades.quantity_mwh * trades.price_per_mwh
    for row in settle.itertuples():
        p2p = trades.kind == "p2p"
        assert row.p2p_sales_rmb == pytest.approx(value[p2p & (trades.seller == row.dno)].sum(), abs=2e-3)
        assert row.p2p_purchases_rmb == pytest.approx(value[p2p & (trades.buyer == row.dno)].sum(), abs=2e-3)
        assert row.grid_sales_rmb == pytest.approx(value[~p2p & (trades.seller == row.dno)].sum(), abs=2e-3)
        assert row.grid_purchases_rmb == pytest.approx(value[~p2p & (trades.buyer == row.dno)].sum(), abs=2e-3)
        assert row.gain_rmb == pytest.approx(row.revenue_rmb - row.baseline_s0_rmb, abs=2e-3)
        assert row.storage_owner_payments_rmb + row.retained_rmb == pytest.approx(row.revenue_rmb, abs=2e-3)
    assert summary["social_welfare_rmb"] > 0 and summary["p2p_volume_mwh"] > 0


def test_valley_compensation_only_in_valley_hours(paper):
    trades, settle = _csv(paper, "trades"), _csv(paper, "settlement")
    valley_hours = {1, 2, 3, 4, 5, 6, 7, 24}
    assert (trades.valley == trades.hour.isin(valley_hours)).all()
    assert (trades[~trades.valley].compensation_per_mwh == 0).all()
    p2p_valley = trades[(trades.kind == "p2p") & trades.valley]
    assert len(p2p_valley) > 0, "the bundled day has valley P2P trades"
    assert (p2p_valley.compensation_per_mwh == 100.0).all()
    for row in settle.itertuples():
        mine = p2p_valley[(p2p_valley.seller == row.dno) | (p2p_valley.buyer == row.dno)]
        assert row.compensation_received_rmb == pytest.approx(100.0 * mine.quantity_mwh.sum(), abs=2e-3)


def test_same_seed_same_bytes(paper, tmp_path):
    run(load("paper-4dn"), 1, tmp_path)
    for path in sorted(paper.iterdir()):
        if path.name != "timings.json" and path.is_file():
            assert (tmp_path / path.name).read_bytes() == path.read_bytes(), path.name


def _market(result) -> pd.DataFrame:
    """The trades as a set: row order follows arrival at the proposer, which the network decides."""
    trades = result.tables["trades"][MARKET_COLUMNS].round(6)
    return trades.sort_values(MARKET_COLUMNS, kind="stable").reset_index(drop=True)


@pytest.fixture(scope="module")
def baseline():
    return simulate(load("paper-4dn"), 1)


@pytest.mark.parametrize(
    "overrides",
    [
        ["ledger.engine=raft"],
        ["ledger.engine=raft", "ledger.crashes=[{node: 1, at_hour: 0.3, restart_hour: 9.5}]"],
        ["ledger.engine=raft", "ledger.crashes=[{node: 0, at_hour: 5.5}]"],
        # the leader crashes just after its followers applied a block whose certificate it never
        # sent on: the successor must collect acks for that earlier-term block again
        ["ledger.engine=raft", "ledger.crashes=[{node: 0, at_hour: 6.2001}]"],
        ["ledger.byzantine={2: equivocating}"],
        # hops slower than the election timeout depose leader after leader; once it ends, all up
        ["ledger.engine=raft", "ledger.network.slowdowns=[{start_ms: 50000, end_ms: 90000, extra_ms: 250}]"],
        # a lossy spell: floods get holes, the pools' anti-entropy and the clients' re-sends fill them
        ["ledger.engine=raft", "ledger.network.losses=[{start_ms: 30000, end_ms: 120000, loss: 0.3}]"],
        ["ledger.network.losses=[{start_ms: 30000, end_ms: 120000, loss: 0.3}]"],
        # every validator crashes in turn, one at a time, the last for good: the run's ledger must
        # be written by a node that is up at the end (it once followed node 0 down and stalled)
        ["ledger.engine=raft", "ledger.crashes=[{node: 1, at_hour: 2.2, restart_hour: 3}, {node: 2, at_hour: 4.2, "
         "restart_hour: 5}, {node: 3, at_hour: 6.2, restart_hour: 7}, {node: 0, at_hour: 10.2}]"],
    ],
    ids=["raft", "raft-crash-restart", "raft-leader-crash", "raft-leader-crash-mid-block", "bft-byzantine",
         "raft-after-slowdown", "raft-lossy", "bft-lossy", "raft-every-node-crashes-in-turn"],
)
def test_faults_do_not_change_the_market_outcome(baseline, overrides):
    faulty = simulate(load("paper-4dn", overrides), 1)
    pd.testing.assert_frame_equal(_market(faulty), _market(baseline))
    pd.testing.assert_frame_equal(
        faulty.tables["settlement"].round(6), baseline.tables["settlement"].round(6)
    )


@pytest.mark.parametrize("fault", ["partition", "slow_link"])
def test_bid_held_past_gate_closure_goes_to_the_grid(baseline, fault):
    """Cut off or slow down DN4's entry validator (node 3) during an hour it bids in: its bid
    reaches the proposer after the gate, misses the auction and is settled with the grid (§A.7)."""
    bids = baseline.tables["bids"]
    hour = int(bids[(bids.dno == "DN4") & (bids["round"] == 1)].hour.iloc[0])
    hour_ms, gate_ms = 10_000.0, 2_000.0
    start = (hour - 1) * hour_ms
    window = f"start_ms: {start}, end_ms: {start + gate_ms + 3_000}"
    override = {
        "partition": f"ledger.network.partitions=[{{{window}, groups: [[0, 1, 2], [3]]}}]",
        "slow_link": f"ledger.network.slowdowns=[{{{window}, extra_ms: 4000, nodes: [3]}}]",
    }[fault]
    result = simulate(load("paper-4dn", [override]), 1)
    late = result.tables["bids"].query("dno == 'DN4' and hour == @hour")
    assert len(late) == 1 and not bool(late.included.iloc[0])
    trades = result.tables["trades"].query("hour == @hour")
    dn4 = trades[(trades.seller == "DN4") | (trades.buyer == "DN4")]
    assert (dn4.kind == "grid").all() and len(dn4) == 1
    side, qty = late.side.iloc[0], late.quantity_mwh.iloc[0]
    assert dn4.quantity_mwh.iloc[0] == pytest.approx(qty)
    tariff = load("paper-4dn").tariff
    grid_price = tariff.sell_per_mwh()[hour - 1] if side == "sell" else tariff.buy_per_mwh()[hour - 1]
    assert dn4.price_per_mwh.iloc[0] == pytest.approx(grid_price)
    # Its account books the hour as S0 would: the grid money is its baseline too, so its gain from
    # the market is what it made in the other hours.
    settle = result.tables["settlement"].set_index("dno")
    base = baseline.tables["settlement"].set_index("dno")
    assert settle.loc["DN4", "deviation_mwh"] == pytest.approx(base.loc["DN4", "deviation_mwh"])
    assert settle.loc["DN4", "baseline_s0_rmb"] == pytest.approx(base.loc["DN4", "baseline_s0_rmb"])
    assert settle.loc["DN4", "grid_volume_mwh"] >= qty
    # Every other hour is untouched.
    def other_hours(r):
        market = _market(r)
        return market[market.hour != hour].reset_index(drop=True)

    pd.testing.assert_frame_equal(other_hours(result), other_hours(baseline))


def test_mesa_model_agents_and_data(baseline):
    model = baseline.model
    assert {t.__name__ for t in model.agent_types} == {"DNO", "StorageOwner", "MainGrid", "Validator"}
    assert len(model.agents_by_type[DNO]) == 4 and len(model.agents_by_type[Validator]) == 4
    assert len(model.agents_by_type[MainGrid]) == 1 and len(model.agents_by_type[StorageOwner]) == 6
    frame = model.datacollector.get_model_vars_dataframe()
    assert list(frame.hour) == list(range(1, 25)) and frame.chain_height.is_monotonic_increasing
    priced = frame.p2p_price_per_mwh.dropna()
    assert len(priced) > 0 and ((priced >= 270) & (priced <= 1100)).all()  # inside the tariff band
    assert frame.welfare_rmb.iloc[-1] == pytest.approx(baseline.summary["social_welfare_rmb"])
    dnos = model.datacollector.get_agenttype_vars_dataframe(DNO)
    assert len(dnos) == 24 * 4
    for owner in model.agents_by_type[StorageOwner]:  # every unit back at its start SOC
        for unit, soc in zip(owner.units, owner.soc):
            assert soc == pytest.approx(unit.soc_start, abs=1e-6)


def test_rolling_multi_day(tmp_path):
    result = simulate(load("paper-4dn", ["days=2", "scheduling.intraday_mode=rolling"]), 4)
    hourly = result.tables["hourly"]
    assert len(hourly) == 2 * 24 * 4 and set(hourly.day) == {1, 2}
    one, two = (hourly[hourly.day == d].load_actual_mw.to_numpy() for d in (1, 2))
    assert (one != two).any(), "day 2 draws fresh actuals"
    assert result.summary["days"] == 2 and result.model.ledger.chain.state["days"].keys() == {"0", "1"}


def test_chain_that_loses_liveness_fails_loudly():
    scenario = load("paper-4dn", ["ledger.crashes=[{node: 0, at_hour: 0}, {node: 1, at_hour: 0}]"])
    model = StorageMarketModel(scenario, rng=0)
    with pytest.raises(ChainStalled, match="consensus lost liveness"):
        while model.running:
            model.step()


def test_a_stall_names_the_open_hours_in_time_order_as_the_outputs_do():
    """Raft with three of four validators down from the start of hour 3: the hours it never closed
    are named day 1-based and in time order (as text, '0:10' sorted before '0:3')."""
    crashes = "ledger.crashes=[{node: 1, at_hour: 2}, {node: 2, at_hour: 2}, {node: 3, at_hour: 2}]"
    model = StorageMarketModel(load("paper-4dn", ["ledger.engine=raft", crashes]), rng=0)
    with pytest.raises(ChainStalled) as stalled:
        while model.running:
            model.step()
    message = str(stalled.value)
    assert message.startswith("the chain never closed day 1 hour 3, day 1 hour 4, ")
    assert not re.search(r"\d:\d", message)  # no day:hour keys
    named = [int(h) for h in re.findall(r"day 1 hour (\d+)", message)]
    assert len(named) == 5 and named == sorted(named) and re.search(r" and \d+ more: consensus lost liveness$", message)


def test_the_model_never_shadows_a_name_mesa_owns():
    """Mesa 3.5 added `Model.scenario` (a property SolaraViz also passes on reset); a model
    attribute of the same name broke every run. Whatever Mesa is installed, our names stay ours."""
    import mesa

    from model.viz.live import LiveModel

    plain = mesa.Model(rng=0)
    owned = {n for n in dir(type(plain)) if not n.startswith("__")} | set(vars(plain))
    model = StorageMarketModel(load("paper-4dn"), rng=0)
    ours = set(vars(model)) - set(vars(plain))
    assert sorted(ours & owned) == []
    assert "scenario" not in vars(model) and model.config.name == "paper-4dn"
    for cls in (StorageMarketModel, LiveModel):  # SolaraViz's reset passes Mesa's own scenario=
        assert "scenario" not in cls.__init__.__code__.co_varnames[: cls.__init__.__code__.co_argcount]


# --- double credit on chain ----------------------------------------------------------------------

CREDIT_COLUMNS = ["day", "hour", "node_or_participant", "transaction_credit", "node_credit", "composite", "event"]


@pytest.fixture(scope="module")
def credit_run(tmp_path_factory) -> Path:
    """paper-4dn on Raft with double credit, DN1 starting below the trade-admission threshold."""
    out = tmp_path_factory.mktemp("credit")
    run(load("paper-4dn", ["ledger.engine=raft", "ledger.credit.enabled=true",
                           "ledger.credit.participants={DN1: 0.5}"]), 1, out)
    return out


def test_credit_is_written_only_when_the_chain_keeps_it(paper, credit_run):
    import json

    assert not (paper / "credit.csv").exists() and "credit" not in json.loads((paper / "summary.json").read_text())
    assert list(_csv(credit_run, "credit").columns) == CREDIT_COLUMNS
    assert verify_store(str(credit_run / "ledger.sqlite")).ok  # the verifier replays the credit contract


def test_transaction_credit_replays_from_the_bids(credit_run):
    """Each DNO's credit.csv rows are its round-1 bids in order: on time and admitted, settled (+a+);
    refused exactly while its credit is below theta_trade, settled with the grid (+a+ as well)."""
    import json

    credit, bids = _csv(credit_run, "credit"), _csv(credit_run, "bids")
    first = bids[bids["round"] == 1].sort_values(["day", "hour"])
    final = {}
    for dno, own in first.groupby("dno"):
        tc, expected = (0.5 if dno == "DN1" else 0.8), []
        for bid in own.itertuples():
            assert bool(bid.included) == (tc >= 0.6)
            tc = min(1.0, tc + 0.02)
            expected.append(("settled" if bid.included else "refused", round(tc, 6)))
        rows = credit[credit.node_or_participant == dno]
        assert list(zip(rows.event, rows.transaction_credit.round(6))) == expected
        assert rows.node_credit.isna().all() and rows.composite.isna().all()
        final[dno] = tc
    whole = json.loads((credit_run / "summary.json").read_text())
    summary = whole["credit"]
    assert summary["transaction_by_dno"] == pytest.approx(final)
    assert summary["bids_refused"] == int((~first.included.astype(bool)).sum()) > 0
    assert whole["chain"]["bids_missed_gate"] == 0  # refused in time is not late


def test_validators_earn_node_credit_by_voting(credit_run):
    credit = _csv(credit_run, "credit")
    validators = credit[credit.node_or_participant.str.startswith("validator")]
    assert set(validators.event) == {"vote"}  # no faults: every validator votes for every block
    assert validators.composite.to_numpy() == pytest.approx(
        (0.5 * validators.transaction_credit + 0.5 * validators.node_credit).to_numpy())
    last = validators.groupby("node_or_participant").node_credit.last()
    assert (last == 1.0).all() and len(last) == 4


def test_the_signed_gap_rule_trades_the_whole_change_of_the_action():
    """mechanism.deviation_rule=signed_gap: each hour's Q is intraday − day-ahead action; the chain
    is founded with the rule, while the default chain's genesis does not name it (its bytes stay)."""
    result = simulate(load("paper-4dn", ["mechanism.deviation_rule=signed_gap"]), 0)
    hourly = result.tables["hourly"]
    gap = hourly["intraday_action_mw"] - hourly["day_ahead_action_mw"]
    q = hourly["demand_mwh"] - hourly["supply_mwh"]
    active = gap.abs() >= 1e-6
    assert active.any() and (q[active] - gap[active]).abs().max() < 1e-9 and (q[~active] == 0).all()
    assert result.model.ledger.genesis.market["mechanism"]["deviation_rule"] == "signed_gap"
    assert "deviation_rule" not in load("paper-4dn").mechanism.document()
