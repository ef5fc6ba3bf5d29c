"""Gathers what the outcome measures (market.measures) read, from the model and the chain.

Day-ahead money comes from the plans the DNOs committed and the agreements the chain accepted;
real-time money from the DNOs' accounts on chain; grid energy from the committed plans plus the
real-time grid trades on chain. Nothing here decides anything: it only collects.
"""

from __future__ import annotations

import math

from typing import Any

import numpy as np
import pandas as pd

from market.measures import Outcomes, ParticipantBill, outcome_measures
from model.heat_outputs import gas_fired_mwh
from model.market_model import HOURS


def outcomes(model, frames: dict[str, pd.DataFrame], chain: dict[str, Any]) -> dict[str, object]:
    """The outcome measures of a finished run (summary.json's `outcomes`)."""
    names = [d.name for d in model.dnos]
    row = {name: i for i, name in enumerate(names)}
    hours = HOURS * model.config.days
    net_import = np.zeros((len(names), hours))
    energy = dict.fromkeys(names, 0.0)
    own_energy = dict.fromkeys(names, 0.0)
    # carbon (docs/rules.md §B.2.3) is charged on the committed day-ahead plans' grid purchases, a
    # daily quantity; the baseline pays it on the plan made alone
    carbon = dict.fromkeys(names, 0.0)
    own_carbon = dict.fromkeys(names, 0.0)
    # heat (§B.2.1) is bought as the committed plans buy it, gas and heat network alike, and the
    # gas-fired output of those plans emits beside the grid's energy
    heat = dict.fromkeys(names, 0.0)
    own_heat = dict.fromkeys(names, 0.0)
    gas_fired = 0.0
    for r in model.plan_rows:
        span = slice(r["day"] * HOURS, (r["day"] + 1) * HOURS)
        net_import[row[r["dno"]], span] += r["plan"].buy_mw - r["plan"].sell_mw
        energy[r["dno"]] += r["plan"].cost
        own_energy[r["dno"]] += r["own_plan"].cost
        carbon[r["dno"]] += r["plan"].carbon_rmb
        own_carbon[r["dno"]] += r["own_plan"].carbon_rmb
        if r["plan"].heat is not None:
            heat[r["dno"]] += r["plan"].heat.cost_rmb
            own_heat[r["dno"]] += r["own_plan"].heat.cost_rmb
            gas_fired += gas_fired_mwh(r["plan"])
    grid = frames["trades"][frames["trades"].kind == "grid"]
    for g in grid.itertuples():
        t = (g.day - 1) * HOURS + g.hour - 1
        if g.buyer in row:  # the DNO bought from the grid
            net_import[row[g.buyer], t] += g.quantity_mwh
        else:
            net_import[row[g.seller], t] -= g.quantity_mwh
    for d in model.delivery_rows:  # forecast errors settled after delivery: more or less grid energy
        net_import[row[d["dno"]], (d["day"] - 1) * HOURS + d["hour"] - 1] += d["grid_sold_mwh"] - d["grid_bought_mwh"]
    agreed = model.ledger.chain.state.get("agreements", {})
    day_ahead = {name: math.fsum(a["accounts"][name]["net_rmb"] for a in agreed.values()) for name in names}
    bills = [
        ParticipantBill(
            name=name,
            day_ahead_energy_rmb=energy[name],
            day_ahead_net_rmb=day_ahead[name],
            real_time_revenue_rmb=model.accounts[name].revenue_rmb,
            baseline_cost_rmb=own_energy[name] - model.own_grid_rmb[name] + own_carbon[name] + own_heat[name],
            carbon_cost_rmb=carbon[name],
            heat_cost_rmb=heat[name],
        )
        for name in names
    ]
    day_ahead_p2p = math.fsum(a["p2p_volume_mwh"] for day in agreed.values() for a in day["accounts"].values()) / 2
    return outcome_measures(Outcomes(
        bills=bills,
        net_import_mw=net_import,
        p2p_volume_mwh=model.p2p_volume_mwh + day_ahead_p2p,
        operator_balance_rmb=math.fsum((model.platform.get("net_rmb", 0.0), *(a["fees_rmb"] for a in agreed.values()),
                                        model.ledger.chain.state.get("delivery", {}).get("penalties_rmb", 0.0))),
        network_charges_collected_rmb=0.0 if model.dso is None else model.dso.uos_rmb,
        grid_emission_t_per_mwh=model.config.carbon.grid_emission_t_per_mwh,
        gas_emission_t=model.config.carbon.gas_emission_t_per_mwh * gas_fired,
        unserved_mwh=float(frames["hourly"].unserved_mw.sum()),
        chain=chain,
        coordination=dict(model.coordination_metrics),
    ))
