"""The paper's published figures beside the simulated ones (docs/rules.md §A.11.1).

Each row: the figure, its published value, the simulated value, the difference and why they
differ: the unpublished appendix (the bundled day is synthetic), scale (the paper's DNs trade
GWh an hour, the bundled DNOs tens of MW), a reconstruction choice, or the paper's own arithmetic,
shown where the paper contradicts itself. Hour 2's figures are simulated on `paper-hour2`, which
replays storage plans at the paper's scale; the rest on the experiment's day.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from experiments.paper import PaperExperiment

HOUR_COUNTS = {"active_hours": ("hours with supply or demand", 19),
               "single_dno_hours": ("hours with a single active DN", 7),
               "traded_hours": ("hours with P2P trades between DNs", 12)}
SINGLE_DN_HOURS = (1, 3, 4, 5, 7, 15, 18)
HOUR2_TRADES = (("DN2", "DN4", 1, 4866.80, 334.80), ("DN3", "DN4", 2, 105.26, 369.00))
HOUR2_GRID = ("DN4", 5027.94, 270.0)
# Table 2, hour 2, gross of the service fee (a cost is minus a profit), RMB
TABLE2 = {("DN2", "S1"): 2_178_780.0, ("DN2", "S2"): 1_692_100.0, ("DN2", "S3"): 1_946_720.0,
          ("DN4", "S1"): -2_591_180.0, ("DN4", "S2"): -3_088_390.0, ("DN4", "S3"): -2_700_000.0}
TABLE3 = {"DN2": 4866.80, "DN3": 105.26, "DN4": 4972.06}  # hour-2 P2P volumes, MWh
TABLE4 = {"DN1": 774_840.0, "DN3": 2_687_570.0}  # revenue increases over S0, RMB: the smallest and the largest
TRADE_SHARES = {"DN1": 0.28, "DN2": 0.64, "DN3": 0.37, "DN4": 0.46}
ROLES = {1: "buy: DN3 (large)", 11: "sell: DN2, DN3 (small); buy: DN4 (small)", 12: "sell: DN2, DN3; buy: DN1, DN4"}

APPENDIX = ("the paper's appendix (profiles, storage, tariffs) is unpublished: this day is synthetic "
            "(docs/rules.md §A.11.2)")
SCALE = ("scale: the paper's DNs trade GWh in an hour (docs/rules.md §A.11.1), the bundled DNOs tens of MW "
         "(§A.13.8), so money is thousands of RMB, not millions")
REPLAYED = "reproduced end to end by paper-hour2: replayed storage plans at the paper's scale"
COLUMNS = ["figure", "published", "simulated", "difference", "simulated_on", "reason"]


def _price_implied() -> tuple[float, float]:
    """The round-1 price Table 2 implies: from DN2's S2 profit, and from DN4's S2 cost less its
    other purchases (DN3's energy at 369.00 and the grid's at 270)."""
    (_, _, _, q1, _), (_, _, _, q2, p2) = HOUR2_TRADES
    _, grid_q, grid_p = HOUR2_GRID
    return TABLE2[("DN2", "S2")] / q1, (-TABLE2[("DN4", "S2")] - q2 * p2 - grid_q * grid_p) / q1


def _arithmetic() -> str:
    (_, _, _, q1, p1), (_, _, _, q2, p2) = HOUR2_TRADES
    _, grid_q, grid_p = HOUR2_GRID
    from_dn2, from_dn4 = _price_implied()
    return (f"the paper's own arithmetic: at its price {p1:.2f}, DN2's energy is worth {q1:,.2f} x {p1:.2f} = "
            f"{q1 * p1:,.2f} RMB, while its S2 profit {TABLE2[('DN2', 'S2')]:,.0f} implies {from_dn2:.2f} RMB/MWh, and "
            f"DN4's S2 cost {-TABLE2[('DN4', 'S2')]:,.0f} less {q2:.2f} x {p2:.2f} and {grid_q:,.2f} x {grid_p:.0f} "
            f"implies {from_dn4:.2f}; S1 - S2 is the compensation (100 x volume) in both tables")


def _number_row(figure: str, published: float, simulated: float, on: str, reason: str, digits: int = 2) -> dict:
    return {"figure": figure, "published": round(published, digits), "simulated": round(simulated, digits),
            "difference": round(simulated - published, digits), "simulated_on": on,
            "reason": "reproduced" if round(simulated - published, digits) == 0 else reason}


NOT_REPORTED = "not reported"


def _text_row(figure: str, published: str, simulated: str, on: str, reason: str) -> dict:
    """A figure given in words; one the paper does not report is shown with why it matters."""
    same = published == simulated
    difference = "not in the paper" if published == NOT_REPORTED else "none" if same else "differs"
    return {"figure": figure, "published": published, "simulated": simulated, "difference": difference,
            "simulated_on": on, "reason": "reproduced" if same else reason}


def _roles(hourly: pd.DataFrame, hour: int) -> str:
    rows = hourly[(hourly.day == 1) & (hourly.hour == hour)]
    sellers = [r.dno for r in rows.itertuples() if r.supply_mwh > 0]
    buyers = [r.dno for r in rows.itertuples() if r.demand_mwh > 0]
    parts = [f"{side}: {', '.join(who)}" for side, who in (("sell", sellers), ("buy", buyers)) if who]
    return "; ".join(parts) or "nobody active"


def _hour2(hour2: PaperExperiment) -> list[dict]:
    on = hour2.scenario.name
    trades = hour2.results["S1"].tables["trades"]
    two = trades[(trades.day == 1) & (trades.hour == 2)]
    rows = []
    for seller, buyer, rnd, q, p in HOUR2_TRADES:
        got = two[(two.kind == "p2p") & (two.seller == seller) & (two.buyer == buyer) & (two["round"] == rnd)]
        rows.append(_number_row(f"hour 2, round {rnd}: {seller} -> {buyer} (MWh)", q, float(got.quantity_mwh.sum()),
                                on, REPLAYED))
        price = float(got.price_per_mwh.iloc[0]) if len(got) else float("nan")
        rows.append(_number_row(f"hour 2, round {rnd}: price (RMB/MWh)", p, price, on, REPLAYED))
    dno, q, p = HOUR2_GRID
    grid = two[(two.kind == "grid") & (two.buyer == dno)]
    rows.append(_number_row(f"hour 2: {dno} from the grid (MWh)", q, float(grid.quantity_mwh.sum()), on, REPLAYED))
    profit = hour2.valley_revenue[hour2.valley_revenue.hour == 2].groupby(["dno", "scenario"]).profit_gross_rmb.sum()
    for (who, scenario), value in TABLE2.items():
        label = "profit" if value > 0 else "profit (minus its cost)"
        reason = "reproduced" if scenario == "S3" else _arithmetic()
        rows.append(_number_row(f"Table 2: {who}'s hour-2 {label} under {scenario} (RMB)", value,
                                float(profit.get((who, scenario), 0.0)), on, reason))
    volumes = two[two.kind == "p2p"]
    for who, value in TABLE3.items():
        mine = volumes[(volumes.seller == who) | (volumes.buyer == who)].quantity_mwh.sum()
        rows.append(_number_row(f"Table 3: {who}'s hour-2 P2P volume (MWh)", value, float(mine), on, REPLAYED))
    return rows


def _day(day: PaperExperiment) -> list[dict]:
    on = day.scenario.name
    s1 = day.results["S1"]
    summary, hourly = s1.summary, s1.tables["hourly"]
    rows = [_number_row(f"{label} (day 1)", published, summary[key], on,
                        APPENDIX + "; seed 2017 was chosen among 2015-2030 as the day closest to these counts", 0)
            for key, (label, published) in HOUR_COUNTS.items()]
    active = hourly[(hourly.day == 1) & ((hourly.supply_mwh > 0) | (hourly.demand_mwh > 0))].groupby("hour").dno.count()
    single = ", ".join(str(h) for h in active[active == 1].index)
    rows.append(_text_row("hours with a single active DN", ", ".join(map(str, SINGLE_DN_HOURS)), single, on, APPENDIX))
    gains = day.comparison[day.comparison.scenario == "S1"].set_index("dno").gain_vs_s0_rmb
    for who, value in TABLE4.items():
        if who in gains:
            rows.append(_number_row(f"Table 4: {who}'s revenue increase over S0 (RMB)", value, float(gains[who]), on,
                                    SCALE))
    rows.append(_text_row("Table 4: largest revenue increase", max(TABLE4, key=TABLE4.get),
                          str(gains.idxmax()) if len(gains) else "-", on, APPENDIX))
    rows.append(_text_row("Table 4: every DN gains over S0", "yes", "yes" if (gains > 0).all() else "no", on, APPENDIX))
    revenue = day.totals.set_index("scenario").dno_revenue_rmb
    rows.append(_text_row("the DNs' day: revenue under S1 above S3 (compensation pays)", "yes",
                          "yes" if revenue["S1"] > revenue["S3"] else "no", on,
                          "net of the service fee a valley trade earns a side less than the grid does (Table 2 is "
                          "gross of it); the day's valley trades decide the sign, and fresh days differ (--days N)"))
    shares = summary["trade_share_by_dno"]
    for who, value in TRADE_SHARES.items():
        if who in shares:
            rows.append(_number_row(f"trade share of {who}", value, float(shares[who]), on, APPENDIX))
    for hour, published in ROLES.items():
        rows.append(_text_row(f"roles in hour {hour}", published, _roles(hourly, hour), on, APPENDIX))
    t2 = day.table2
    if len(t2):
        gross, net = int(t2.s1_gt_s3_gt_s2.sum()), int(t2.s1_net_of_fee_gt_s3.sum())
        rows.append(_text_row("Table 2: S1 > S3 > S2 in valley trades (gross of the fee)", "every one",
                              "every one" if gross == len(t2) else f"{gross} of {len(t2)}", on, APPENDIX))
        rows.append(_text_row("S1 > S3 net of each side's service fee", NOT_REPORTED,
                              f"{net} of {len(t2)}", on, "the paper's Table 2 is gross of the 100 RMB/MWh fee; a side "
                              "pays 50 of it, which with 100 of compensation can turn S1 below S3"))
    return rows


def beside(day: PaperExperiment, hour2: PaperExperiment) -> pd.DataFrame:
    """Every published figure with the simulated one, the difference and the reason."""
    return pd.DataFrame(_hour2(hour2) + _day(day), columns=COLUMNS)


def headline(table: pd.DataFrame) -> list[str]:
    """The comparison in a few lines for the terminal."""
    reproduced = table[table.reason == "reproduced"]
    lines = [f"beside the paper: {len(reproduced)} of {len(table)} published figures reproduced "
             f"(paper.html and beside_the_paper.csv give each, with the reason for any difference)"]
    for row in table.itertuples():
        if row.figure.startswith(("hours with", "Table 4: every", "Table 2: S1 > S3", "S1 > S3 net")) or (
                row.figure.startswith("hour 2") and "price" in row.figure):
            lines.append(f"  {row.figure}: published {_shown(row.published)}, simulated {_shown(row.simulated)}"
                         f" ({row.simulated_on})")
    return lines


def _shown(value: Any) -> str:
    return f"{value:,.2f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)
