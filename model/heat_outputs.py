"""What a run reports of heat and emissions (docs/rules.md §B.2.1, §B.2.3): hourly columns and the summary.

Heat is planned and settled locally, so it is read from each DNO's plans: hourly.csv shows the
realised intraday heat dispatch; the bill and the emissions measure use the committed day-ahead
plans, as they do for grid energy and carbon.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from market.carbon import CarbonLadder
from market.scheduling import Schedule

# hourly.csv's heat columns, from the realised intraday plan (0 for a DNO without heat devices)
HEAT_COLUMNS = ("heat_load_forecast_mw", "heat_load_actual_mw", "chp_mw", "chp_heat_mw", "gas_boiler_mw",
                "electric_boiler_mw", "heat_storage_action_mw", "heat_soc", "heat_bought_mw", "heat_unserved_mw",
                "heat_vented_mw", "gas_mwh")


def planned_emission_t(plan: Schedule, ladder: CarbonLadder, t: int) -> float:
    """What a plan emits in hour t (index from 0): its grid purchase and any gas-fired output, t."""
    h = plan.heat
    if h is None:
        return ladder.emission_t(float(plan.buy_mw[t]))
    return ladder.emission_t(float(plan.buy_mw[t]), float(h.chp_mw[t]), float(h.chp_heat_mw[t]),
                             float(h.gas_boiler_mw[t]))


def gas_fired_mwh(plan: Schedule) -> float:
    """The day's gas-fired output of a plan (CHP power and heat, gas-boiler heat), MWh."""
    h = plan.heat
    return 0.0 if h is None else float(h.chp_mw.sum() + h.chp_heat_mw.sum() + h.gas_boiler_mw.sum())


def heat_columns(inputs, plan: Schedule, t: int) -> dict[str, float]:
    """Hour t's heat record of a DNO from its realised plan and its day's heat load."""
    h = plan.heat
    if h is None:
        return dict.fromkeys(HEAT_COLUMNS, 0.0)
    return {"heat_load_forecast_mw": float(inputs.heat_forecast_mw[t]),
            "heat_load_actual_mw": float(inputs.heat_actual_mw[t]),
            "chp_mw": float(h.chp_mw[t]), "chp_heat_mw": float(h.chp_heat_mw[t]),
            "gas_boiler_mw": float(h.gas_boiler_mw[t]), "electric_boiler_mw": float(h.electric_boiler_mw[t]),
            "heat_storage_action_mw": float(h.heat_charge_mw[t] - h.heat_discharge_mw[t]),
            "heat_soc": float(h.heat_soc[t]), "heat_bought_mw": float(h.heat_bought_mw[t]),
            "heat_unserved_mw": float(h.heat_unserved_mw[t]), "heat_vented_mw": float(h.vented_mw[t]),
            "gas_mwh": float(h.gas_mwh[t])}


def heat_summary(hourly: pd.DataFrame, scenario, plan_rows: list[dict]) -> dict[str, Any]:
    """summary.json's `heat`: per DNO with heat devices and in total, the realised heat dispatch
    (MWh, from hourly.csv) and its gas and heat-purchase cost, and the committed plans' heat cost,
    which the bills carry."""
    planned: dict[str, float] = {}
    for r in plan_rows:
        if r["plan"].heat is not None:
            planned[r["dno"]] = planned.get(r["dno"], 0.0) + r["plan"].heat.cost_rmb
    by_dno = {}
    for dno in scenario.dnos:
        if dno.heat is None:
            continue
        rows = hourly[hourly.dno == dno.name]
        mwh = {c.removesuffix("_mw") + "_mwh": float(rows[c].sum())
               for c in ("heat_load_actual_mw", "chp_mw", "chp_heat_mw", "gas_boiler_mw", "electric_boiler_mw",
                         "heat_bought_mw", "heat_unserved_mw", "heat_vented_mw")}
        gas = float(rows.gas_mwh.sum())
        gas_rmb = (dno.heat.gas_price_per_mwh or 0.0) * gas
        bought_rmb = (dno.heat.heat_price_per_mwh or 0.0) * mwh["heat_bought_mwh"]
        by_dno[dno.name] = {**mwh, "gas_mwh": gas, "gas_rmb": gas_rmb, "heat_bought_rmb": bought_rmb,
                            "realised_cost_rmb": gas_rmb + bought_rmb, "planned_cost_rmb": planned.get(dno.name, 0.0)}
    keys = next(iter(by_dno.values())).keys() if by_dno else ()
    return {"total": {k: math.fsum(v[k] for v in by_dno.values()) for k in keys}, "by_dno": by_dno}
