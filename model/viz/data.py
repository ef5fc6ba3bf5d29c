"""What the live view shows, read off a model as plain tables: no drawing here, so it is testable.

Everything comes from the model's agents, its booked tables and the chain's committed blocks,
the same sources as the run's output files; nothing is recomputed beside them.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandas as pd

from ledger.credit import may_stand
from market.design import SLOTS
from market.scheduling import HOURS
from model import tables
from model.colours import validator_label
from model.network_figure import Hour, hour_rows, latest_hour

STATUS_COLOURS = {"honest": "#4c72b0", "crashed": "#8c8c8c", "byzantine": "#c44e52"}


def design(model) -> list[tuple[str, str, str]]:
    """The model's market design: (slot, stage, the stage's summary) for each slot."""
    chosen = {slot: getattr(model.config.design, slot).stage for slot in SLOTS}
    return [(slot, chosen[slot], SLOTS[slot][chosen[slot]].summary) for slot in SLOTS]


@dataclass(frozen=True)
class NetworkState:
    graph: nx.Graph
    status: dict[int, str]  # node -> "honest", "crashed" (down now) or "byzantine"
    labels: dict[int, str]  # node -> "v0\nDN1" (as the scenario numbers validators)
    traffic: dict[tuple[int, int], int]  # link -> messages during the last step
    proposers: list[int]  # nodes that proposed the blocks committed during the last step
    archive: int  # the archival replica writing the ledger file


def network_state(model) -> NetworkState:
    """The validator graph with the last step's gossip, its proposers and the faulty nodes."""
    cluster = model.ledger.cluster
    index = {identity.public_hex: i for i, identity in enumerate(model.ledger.alliance.validators)}
    status = {}
    for v in model.validators:
        if v.index in cluster.network.down:
            status[v.index] = "crashed"
        elif v.index in cluster.byzantine:
            status[v.index] = "byzantine"
        else:
            status[v.index] = "honest"
    labels = {v.index: validator_label(v.index) + (f"\n{v.host}" if v.host else "") for v in model.validators}
    proposers = [index[c.block.header.proposer] for c in getattr(model, "step_blocks", [])]
    return NetworkState(cluster.network.graph, status, labels, dict(getattr(model, "step_links", {})),
                        proposers, cluster.store_node)


def storage_plans(model) -> pd.DataFrame:
    """Per DNO and hour of the current day: day-ahead and intraday storage action (MW, + charge)
    and state of charge (energy-weighted over its units), intraday only up to the current hour."""
    rows = []
    for dno in model.dnos:
        if dno.day_ahead is None:
            continue
        energy = np.array([u.energy_mwh for u in dno.scheduler.units], dtype=float)
        weights = energy / energy.sum() if energy.sum() > 0 else np.zeros_like(energy)
        da_soc = weights @ dno.day_ahead.soc
        id_soc = weights @ dno.intraday.soc if dno.intraday is not None else np.full(HOURS, np.nan)
        for t in range(HOURS):
            done = t < model.hour
            rows.append({
                "dno": dno.name, "hour": t + 1,
                "day_ahead_mw": float(dno.day_ahead.storage_action_mw[t]),
                "intraday_mw": dno.action_mw(t + 1) if done else np.nan,
                "day_ahead_soc": float(da_soc[t]),
                "intraday_soc": float(id_soc[t]) if done else np.nan,
            })
    return pd.DataFrame(rows, columns=["dno", "hour", "day_ahead_mw", "intraday_mw", "day_ahead_soc", "intraday_soc"])


def positions(model) -> pd.DataFrame:
    """Each DNO's DAF-IDO deviation in the current hour: case, supply and demand (MWh)."""
    rows = [{"dno": d.name, "case": d.deviation.case, "supply_mwh": d.deviation.supply_mwh,
             "demand_mwh": d.deviation.demand_mwh} for d in model.dnos if d.deviations]
    return pd.DataFrame(rows, columns=["dno", "case", "supply_mwh", "demand_mwh"])


def latest_auction(model) -> tuple[tuple[int, int] | None, pd.DataFrame, pd.DataFrame]:
    """The most recent cleared hour (day, hour) of the current day or before, its order book
    round by round (side, bidder, price, quantity) and its P2P trades."""
    done = [k for k, c in model.clearings.items() if c.rounds and k <= (model.day, model.hour)]
    if not done:
        return None, pd.DataFrame(columns=["round", "side", "bidder", "price_per_mwh", "quantity_mwh"]), \
            pd.DataFrame(columns=["round", "seller", "buyer", "price_per_mwh", "quantity_mwh"])
    key = max(done)
    result = model.clearings[key]
    book = [{"round": r.round, "side": side, "bidder": b.bidder, "price_per_mwh": b.price_per_mwh,
             "quantity_mwh": b.quantity_mwh}
            for r in result.rounds for side, bids in (("sell", r.offers), ("buy", r.bids)) for b in bids]
    trades = [{"round": t.round, "seller": t.seller, "buyer": t.buyer, "price_per_mwh": t.price_per_mwh,
               "quantity_mwh": t.quantity_mwh} for t in result.trades]
    return key, pd.DataFrame(book), pd.DataFrame(trades, columns=["round", "seller", "buyer", "price_per_mwh",
                                                                  "quantity_mwh"])


def feeder_hour(model) -> tuple[Hour | None, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The last hour the network operator observed, (day, hour) counted as the output files count
    them, with that hour's rows of network.csv, buses.csv and trades.csv (only with a network)."""
    lines = tables.network(model)
    when = latest_hour(lines)
    return when, hour_rows(lines, when), hour_rows(tables.buses(model), when), hour_rows(tables.trades(model), when)


def volumes(model) -> pd.DataFrame:
    """P2P and grid volume (MWh) per hour of the current day, from the committed trades."""
    frame = pd.DataFrame(0.0, index=pd.RangeIndex(1, HOURS + 1, name="hour"), columns=["p2p", "grid"])
    for row in model.trade_rows:
        if row["day"] == model.day + 1:
            frame.loc[row["hour"], row["kind"]] += row["quantity_mwh"]
    return frame


def money(model) -> pd.DataFrame:
    """Per hour stepped: cumulative welfare and the platform's takings so far (RMB): service fees
    and valley compensation from the chain's hourly results, and the net of closed days."""
    collected = model.datacollector.get_model_vars_dataframe()
    results = model.ledger.chain.state["results"]
    fees = np.zeros(len(collected))
    compensation = np.zeros(len(collected))
    for key, result in results.items():
        day, hour = (int(x) for x in key.split(":"))
        step = day * HOURS + hour - 1
        if step < len(collected):
            fees[step:] += result["fees_rmb"]
            compensation[step:] += result["compensation_rmb"]
    return pd.DataFrame({
        "step": np.arange(1, len(collected) + 1),
        "welfare_rmb": collected["welfare_rmb"].to_numpy(dtype=float) if len(collected) else [],
        "fees_rmb": fees,
        "compensation_rmb": compensation,
        "platform_net_rmb": collected["platform_net_rmb"].to_numpy(dtype=float) if len(collected) else [],
    })


def settlement(model) -> pd.DataFrame:
    """Each DNO's money as settled on chain so far (RMB; the parts of R^DN, §A.9), its gain
    over settling everything with the grid, and its P2P and grid volumes (MWh)."""
    rows = [{
        "dno": name,
        "p2p_rmb": a.p2p_sales_rmb - a.p2p_purchases_rmb,
        "grid_rmb": a.grid_sales_rmb - a.grid_purchases_rmb,
        "compensation_rmb": a.compensation_received_rmb - a.compensation_funded_rmb,
        "fees_rmb": a.scheduling_fee_rmb - a.service_fee_rmb,
        "revenue_rmb": a.revenue_rmb,
        "gain_rmb": a.gain_rmb,
        "p2p_mwh": a.p2p_volume_mwh,
        "grid_mwh": a.grid_volume_mwh,
    } for name, a in model.accounts.items()]
    return pd.DataFrame(rows, columns=["dno", "p2p_rmb", "grid_rmb", "compensation_rmb", "fees_rmb", "revenue_rmb",
                                       "gain_rmb", "p2p_mwh", "grid_mwh"])


def latest_blocks(model, n: int = 6) -> pd.DataFrame:
    """The last `n` committed blocks, newest first: height, proposer, transactions, hash, time."""
    names = {identity.public_hex: validator_label(i) for i, identity in enumerate(model.ledger.alliance.validators)}
    rows = [{"height": c.block.header.height, "proposer": names.get(c.block.header.proposer, "genesis"),
             "transactions": len(c.block.entries), "hash": c.block.header.hash,
             "time_s": c.block.header.time_ms / 1000.0}
            for c in reversed(model.ledger.chain.blocks[-n:])]
    return pd.DataFrame(rows, columns=["height", "proposer", "transactions", "hash", "time_s"])


def credit(model) -> pd.DataFrame:
    """Double credit as committed so far: each DNO's transaction credit and whether its bids are
    admitted, each validator's both credits, composite and whether it may stand for leader.
    Empty when the chain keeps no credit."""
    participants, validators = model.ledger.credits()
    rules = model.config.ledger.credit.rules
    rows = [{"name": dno, "transaction_credit": tc, "node_credit": np.nan, "composite": np.nan,
             "status": "bids admitted" if tc >= rules.theta_trade else "bids refused"}
            for dno, tc in sorted(participants.items())]
    keys = [identity.public_hex for identity in model.ledger.alliance.validators]
    for v in model.validators if validators else ():
        c = validators[keys[v.index]]
        rows.append({"name": validator_label(v.index), "transaction_credit": c.transaction, "node_credit": c.node,
                     "composite": c.composite(rules),
                     "status": "may stand" if may_stand(c, rules) else "may not stand"})
    return pd.DataFrame(rows, columns=["name", "transaction_credit", "node_credit", "composite", "status"])
