"""The paper experiment (issue 5, item 4): one day under S0, S1, S2 and S3 (§A.10), compared.

Each variant runs the whole model (chain included) on the same scenario and seed, so the
DAF-IDO quantities are the same and only the market's rules differ. The tables follow the paper:
profit and gain per DNO per scenario (its Table 4), volume traded with the grid, and the valley
hours (its Tables 2-3): who sold and bought, P2P volume, prices, compensation and each DNO's
valley-hour profit, gross of the service fee as the paper's Table 2 is (§A.9).

Hourly money is read from the published trades table: its sum over the day plus the day-end
scheduling fee and compensation funding gives settlement.csv's revenue (a test checks it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from agents.main_grid import MainGrid
from experiments import paper_page, published
from market.fees import FEE_SHARES
from market.variants import variant
from model.job import RunResult, simulate
from model.out_dir import check_files, check_place, is_temporary, remove_stale
from model.outputs import write_atomic, write_csv
from model.scenario import Scenario, load
from model.tables import measures

SCENARIOS = ("S0", "S1", "S2", "S3")
VALLEY_SCENARIOS = ("S1", "S2", "S3")
_HOUR = ["day", "hour"]
_MONEY = ["p2p_sales_rmb", "p2p_purchases_rmb", "grid_sales_rmb", "grid_purchases_rmb", "compensation_received_rmb",
          "service_fee_rmb"]
_VOLUMES = ["p2p_volume_mwh", "grid_volume_mwh"]
TABLES = ("comparison", "totals", "valley_hours", "valley_revenue", "table2")  # PaperExperiment's, as CSVs
EXTRA_TABLES = ("beside_the_paper", "over_days")  # written when the experiment has them
FILES = frozenset({f"{t}.csv" for t in TABLES + EXTRA_TABLES} | set(paper_page.FILES))  # all the experiment writes
HOUR2 = "paper-hour2"  # the bundled scenario that replays the paper's hour 2 at its scale
_DAYS_DIR = re.compile(r"days-\d+")  # the runs of `--days N`, a sweep store of their own


@dataclass
class PaperExperiment:
    """The four runs of one day and the comparison tables built from them."""

    scenario: Scenario
    seed: int
    results: dict[str, RunResult]
    comparison: pd.DataFrame  # one row per (scenario, dno): Tables 2-4 material
    totals: pd.DataFrame  # one row per scenario: welfare, volumes, platform
    valley_hours: pd.DataFrame  # one row per (scenario, day, hour) of a valley hour with a deviation
    valley_revenue: pd.DataFrame  # one row per (scenario, day, hour, dno) active in a valley hour
    table2: pd.DataFrame  # one row per (day, hour, dno) that traded in a valley hour under S1
    beside_the_paper: pd.DataFrame | None = None  # every published figure beside the simulated one
    over_days: pd.DataFrame | None = None  # S0-S3 over N days of the recipe, with intervals
    days_dir: str | None = None  # where those runs are, relative to the experiment's folder

    @property
    def valley_p2p_mwh(self) -> float:
        """P2P volume traded in valley hours under S1 (0 when the day had no two-sided valley hour)."""
        s1 = self.valley_hours[self.valley_hours.scenario == "S1"]
        return float(s1.p2p_volume_mwh.sum())


def run_experiment(scenario: Scenario, seed: int) -> PaperExperiment:
    """Simulate `scenario` under each variant of §A.10 and build the comparison."""
    results = {}
    for name in SCENARIOS:
        mechanism = variant(scenario.mechanism, name)
        results[name] = simulate(scenario.model_copy(update={"mechanism": mechanism}), seed)
    valley = valley_revenue(results, hourly_money(results, VALLEY_SCENARIOS))
    return PaperExperiment(scenario, seed, results, comparison(results), totals(results),
                           valley_hours(results, VALLEY_SCENARIOS), valley, table2(valley))


def hourly_money(results: dict[str, RunResult], names=SCENARIOS) -> pd.DataFrame:
    """Each DNO's money and volumes per hour from the trades table (§A.7-A.9, before day-end terms).

    profit_gross_rmb is the hourly profit Pi_n,t of §A.9 without the service fee (the paper's
    Table 2); profit_rmb deducts the DNO's share of the fee.
    """
    frames = []
    for name in names:
        rows = _trade_sides(results[name]).reindex(columns=[*_HOUR, "dno", *_MONEY, *_VOLUMES])
        money = rows.fillna({c: 0.0 for c in _MONEY + _VOLUMES}).groupby([*_HOUR, "dno"], as_index=False).sum()
        frames.append(money.assign(scenario=name))
    money = pd.concat(frames, ignore_index=True)
    money["profit_gross_rmb"] = (money.p2p_sales_rmb - money.p2p_purchases_rmb + money.grid_sales_rmb
                                 - money.grid_purchases_rmb + money.compensation_received_rmb)
    money["profit_rmb"] = money.profit_gross_rmb - money.service_fee_rmb
    return money[["scenario", *_HOUR, "dno", *_MONEY, "profit_gross_rmb", "profit_rmb", *_VOLUMES]]


def _trade_sides(result: RunResult) -> pd.DataFrame:
    """Every trade once for each DNO side it has, with that side's money (§A.7-A.9)."""
    mech = result.model.config.mechanism
    t = result.tables["trades"]
    p2p, grid = t[t.kind == "p2p"], t[t.kind == "grid"]
    value = t.quantity_mwh * t.price_per_mwh

    def p2p_side(who: str, money: str, fee_share: float) -> pd.DataFrame:
        q = p2p.quantity_mwh
        return p2p.assign(dno=p2p[who], **{money: value}, p2p_volume_mwh=q,
                          compensation_received_rmb=p2p.compensation_per_mwh * q,
                          service_fee_rmb=fee_share * mech.service_fee_per_mwh * q)

    def grid_side(who: str, money: str) -> pd.DataFrame:
        rows = grid[grid[who] != MainGrid.name]
        return rows.assign(dno=rows[who], **{money: value}, grid_volume_mwh=rows.quantity_mwh)

    seller_share, buyer_share = FEE_SHARES[mech.fee_payer]
    return pd.concat([p2p_side("seller", "p2p_sales_rmb", seller_share),
                      p2p_side("buyer", "p2p_purchases_rmb", buyer_share),
                      grid_side("seller", "grid_sales_rmb"), grid_side("buyer", "grid_purchases_rmb")],
                     ignore_index=True)


def comparison(results: dict[str, RunResult]) -> pd.DataFrame:
    """Per scenario and DNO: net revenue, gain over S0, grid and P2P volumes (Tables 3-4)."""
    s0 = results["S0"].tables["settlement"].set_index("dno")
    rows = []
    for name in SCENARIOS:
        settle = results[name].tables["settlement"]
        rows.append(pd.DataFrame({
            "scenario": name,
            "dno": settle.dno,
            "revenue_rmb": settle.revenue_rmb,
            "gain_vs_s0_rmb": settle.revenue_rmb - settle.dno.map(s0.revenue_rmb),
            "grid_volume_mwh": settle.grid_volume_mwh,
            "grid_reduction_vs_s0_mwh": settle.dno.map(s0.grid_volume_mwh) - settle.grid_volume_mwh,
            "p2p_volume_mwh": settle.p2p_volume_mwh,
            "valley_p2p_volume_mwh": settle.valley_volume_mwh,
            "trade_share": settle.trade_share,
            **{c: settle[c] for c in ("compensation_received_rmb", "service_fee_rmb", "scheduling_fee_rmb",
                                      "baseline_s0_rmb")},
        }))
    return pd.concat(rows, ignore_index=True)


def totals(results: dict[str, RunResult]) -> pd.DataFrame:
    """Per scenario: welfare, volumes, activity counts, the platform's and the grid's accounts."""
    rows = []
    for name in SCENARIOS:
        s = results[name].summary
        platform = s["platform"]
        rows.append({"scenario": name, "social_welfare_rmb": s["social_welfare_rmb"],
                     "dno_revenue_rmb": float(results[name].tables["settlement"].revenue_rmb.sum()),
                     "p2p_volume_mwh": s["p2p_volume_mwh"], "grid_volume_mwh": s["grid_volume_mwh"],
                     "trade_share": s["trade_share"], "traded_hours": s["traded_hours"],
                     "platform_fees_rmb": platform.get("fees_rmb", 0.0),
                     "platform_compensation_rmb": platform.get("compensation_paid_rmb", 0.0),
                     "platform_net_rmb": platform.get("net_rmb", 0.0), "main_grid_net_rmb": s["main_grid_net_rmb"]})
    return pd.DataFrame(rows)


def _valley_active(result: RunResult) -> pd.DataFrame:
    """Hourly rows of DNOs with a deviation in a valley hour, with their role and quantity."""
    h = result.tables["hourly"]
    tariff = result.model.config.tariff
    rows = h[h.hour.map(tariff.is_valley) & ((h.supply_mwh > 0) | (h.demand_mwh > 0))]
    return rows.assign(role=(rows.supply_mwh > 0).map({True: "seller", False: "buyer"}),
                       quantity_mwh=rows.supply_mwh + rows.demand_mwh)[[*_HOUR, "dno", "role", "quantity_mwh"]]


def valley_hours(results: dict[str, RunResult], names=VALLEY_SCENARIOS) -> pd.DataFrame:
    """Per valley hour: who sold and bought, the P2P trades, volume, prices and compensation."""
    rows = []
    for name in names:
        result = results[name]
        active = _valley_active(result)
        trades = result.tables["trades"]
        for (day, hour), group in active.groupby(_HOUR, sort=True):
            p2p = trades[(trades.day == day) & (trades.hour == hour) & (trades.kind == "p2p")]
            grid = trades[(trades.day == day) & (trades.hour == hour) & (trades.kind == "grid")]
            volume = float(p2p.quantity_mwh.sum())
            rows.append({
                "scenario": name, "day": day, "hour": hour,
                "sellers": _roles(group, "seller"), "buyers": _roles(group, "buyer"),
                "p2p_trades": "; ".join(f"{t.seller}->{t.buyer} r{t.round} {t.quantity_mwh:.3f} MWh @ {t.price_per_mwh:.2f}"
                                        for t in p2p.itertuples()),
                "p2p_volume_mwh": volume,
                "price_min_per_mwh": p2p.price_per_mwh.min() if volume else None,
                "price_max_per_mwh": p2p.price_per_mwh.max() if volume else None,
                "price_mean_per_mwh": float((p2p.price_per_mwh * p2p.quantity_mwh).sum() / volume) if volume else None,
                "compensation_rmb": float(2 * (p2p.compensation_per_mwh * p2p.quantity_mwh).sum()),
                "grid_volume_mwh": float(grid.quantity_mwh.sum()),
            })
    return pd.DataFrame(rows, columns=["scenario", *_HOUR, "sellers", "buyers", "p2p_trades", "p2p_volume_mwh",
                                       "price_min_per_mwh", "price_max_per_mwh", "price_mean_per_mwh",
                                       "compensation_rmb", "grid_volume_mwh"])


def _roles(group: pd.DataFrame, role: str) -> str:
    return ", ".join(f"{r.dno} {r.quantity_mwh:.3f}" for r in group[group.role == role].itertuples())


def valley_revenue(results: dict[str, RunResult], money: pd.DataFrame) -> pd.DataFrame:
    """Each active DNO's money in each valley hour under each scenario (Table 2 per hour)."""
    frames = []
    for name in money.scenario.unique():
        active = _valley_active(results[name]).assign(scenario=name)
        frames.append(active.merge(money[money.scenario == name], on=["scenario", *_HOUR, "dno"], how="left"))
    out = pd.concat(frames, ignore_index=True)
    return out[["scenario", *_HOUR, "dno", "role", "quantity_mwh", *_VOLUMES, "compensation_received_rmb",
                "profit_gross_rmb", "service_fee_rmb", "profit_rmb"]]


def table2(valley_revenue_: pd.DataFrame) -> pd.DataFrame:
    """The paper's Table 2 for every valley hour and DNO that traded P2P under S1: gross profit
    under S1, S2 and S3 (a buyer's cost is minus its profit), whether S1 > S3 > S2 holds, and
    whether S1 still beats S3 once the DNO's service fee is paid."""
    traded = valley_revenue_[(valley_revenue_.scenario == "S1") & (valley_revenue_.p2p_volume_mwh > 0)]
    keys = pd.MultiIndex.from_frame(traded[[*_HOUR, "dno", "role"]])

    def wide(values: str) -> pd.DataFrame:
        table = valley_revenue_.pivot_table(index=[*_HOUR, "dno", "role"], columns="scenario", values=values,
                                            aggfunc="sum")
        return table.reindex(keys).reindex(columns=list(VALLEY_SCENARIOS))

    gross, net = wide("profit_gross_rmb"), wide("profit_rmb")
    out = gross.reset_index()
    out.columns.name = None
    out["s1_gt_s3_gt_s2"] = ((gross.S1 > gross.S3) & (gross.S3 > gross.S2)).to_numpy()
    out["s1_net_of_fee_gt_s3"] = (net.S1 > net.S3).to_numpy()
    return out


def write(experiment: PaperExperiment, out_dir: Path) -> list[Path]:
    """Write the tables (CSV), the figures (PNG) and paper.html to `out_dir`; returns the paths.

    Everything is rendered before the first file is written, so a failure leaves no half-set; an
    earlier experiment's file this one did not write (valley.png of a day with valley trades) goes.
    """
    files = paper_page.render(experiment)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in TABLES + EXTRA_TABLES:
        if getattr(experiment, name) is not None:
            paths.append(out_dir / f"{name}.csv")
            write_csv(getattr(experiment, name), paths[-1])
    for name, data in files.items():
        paths.append(out_dir / name)
        write_atomic(paths[-1], data)
    remove_stale(out_dir, paths, FILES)
    return paths


def is_paper_file(name: str) -> bool:
    """An output of the paper experiment, or the temporary file it writes before one."""
    return name in FILES or is_temporary(name, FILES) or _DAYS_DIR.fullmatch(name) is not None


def run(scenario: Scenario, seed: int, out_dir: Path, days: int = 0, executor=None) -> tuple[list[Path], list[str]]:
    """The `storagemarket experiment paper` job: check `out_dir` (model.out_dir), run the four
    scenarios, the paper's hour 2 (paper-hour2) and, with `days`, S0-S3 on that many fresh days
    of the recipe (into out_dir/days-N, resumable); write the comparison. Returns the paths written
    and the headline comparison with the paper, for the terminal."""
    check_place(out_dir)  # before four simulations, not after
    check_files(out_dir, is_paper_file, "paper experiment")
    experiment = run_experiment(scenario, seed)
    hour2 = experiment if scenario.name == HOUR2 else run_experiment(load(HOUR2), seed)
    experiment.beside_the_paper = published.beside(experiment, hour2)
    if days:
        from experiments import paper_days  # the sweep machinery, only when asked for

        runs = paper_days.run(days, out_dir / f"days-{days}", executor)
        bundled = {name: measures(result.summary) for name, result in experiment.results.items()}
        experiment.over_days, experiment.days_dir = paper_days.summarise(runs, bundled), f"days-{days}"
    return write(experiment, out_dir), published.headline(experiment.beside_the_paper)
