"""The paper experiment: S0-S3 on one day, tables that agree with each run's settlement, and the
valley-hour ordering S1 > S3 > S2 of the paper's Table 2 on a crafted two-DNO day."""

import numpy as np
import pandas as pd
import pytest
from citations import unresolved
import yaml

from experiments.cli import main
from experiments.paper import SCENARIOS, hourly_money, run_experiment
from model.scenario import load, validate

VALLEY_HOUR = 2
NO_VALLEY_NOTE = "No P2P trade happened in a valley hour of this day"


def two_dno_day(buyer_peak_actual_mw: float = 10.0) -> dict:
    """Two storage-only DNOs (no renewables, no grid export) with one valley hour (2) and one peak
    hour (20). SELLER's peak load comes in below forecast and BUYER's above, so intraday SELLER
    needs less valley charging than planned (case 2: supply) and BUYER more (case 1: demand)."""
    zeros = [0.0] * 24  # copied at each use: a shared list dumps as a YAML alias, which scenario files refuse
    periods = ["flat"] * 24
    periods[VALLEY_HOUR - 1], periods[19] = "valley", "peak"

    def dno(name, peak_forecast, peak_actual):
        def load_mw(peak):
            return [5.0] * 19 + [peak] + [5.0] * 4
        return {"name": name, "pv_mw": 0, "wind_mw": 0, "sell_max_mw": 0,
                "pv_ratio": {"forecast": [*zeros], "actual": [*zeros]},
                "wind_ratio": {"forecast": [*zeros], "actual": [*zeros]},
                "load_mw": {"forecast": load_mw(peak_forecast), "actual": load_mw(peak_actual)},
                "storage_owners": [{"name": f"{name}-owner",
                                    "units": [{"name": f"{name}-es", "energy_mwh": 40, "power_mw": 20}]}]}

    # Flat at 280 RMB/MWh: charging in the valley (270) and discharging in flat hours never pays
    # after losses, so the only storage cycle is valley -> peak and the plans are unique.
    return {"name": "two-dno-valley", "scheduling": {"intraday_mode": "oracle"},
            "tariff": {"periods": periods, "prices": {"valley_per_mwh": 270, "flat_per_mwh": 280, "peak_per_mwh": 1100}},
            "dnos": [dno("SELLER", 10.0, 6.0), dno("BUYER", 6.0, buyer_peak_actual_mw)]}


@pytest.fixture(scope="module")
def paper():
    return run_experiment(load("paper-4dn"), 0)


@pytest.fixture(scope="module")
def two_dno():
    return run_experiment(validate(two_dno_day(), source="two_dno_day"), 0)


def test_four_scenarios_and_s0_is_the_baseline(paper):
    assert list(paper.results) == list(SCENARIOS)
    assert list(paper.comparison.scenario.unique()) == list(SCENARIOS)
    assert list(paper.totals.scenario) == list(SCENARIOS)
    s0 = paper.results["S0"].tables
    assert (s0["trades"].kind == "grid").all() and paper.totals.set_index("scenario").p2p_volume_mwh["S0"] == 0
    settle = s0["settlement"]
    assert np.allclose(settle.revenue_rmb, settle.baseline_s0_rmb) and np.allclose(settle.p2p_volume_mwh, 0)
    rows = paper.comparison[paper.comparison.scenario == "S0"]
    assert np.allclose(rows.gain_vs_s0_rmb, 0) and np.allclose(rows.p2p_volume_mwh, 0)
    assert paper.totals.set_index("scenario").p2p_volume_mwh["S1"] > 0, "the mechanism trades on this day"


def test_columns_agree_with_each_runs_settlement(paper):
    for name in SCENARIOS:
        settle = paper.results[name].tables["settlement"].set_index("dno")
        rows = paper.comparison[paper.comparison.scenario == name].set_index("dno").loc[settle.index]
        for column in ("revenue_rmb", "grid_volume_mwh", "p2p_volume_mwh", "service_fee_rmb", "scheduling_fee_rmb"):
            assert np.allclose(rows[column], settle[column]), (name, column)
        assert np.allclose(rows.gain_vs_s0_rmb, settle.gain_rmb), name  # the S0 run is the baseline of §A.9
        # Hourly money rebuilt from trades.csv sums to the chain's accounts for the day.
        money = hourly_money(paper.results, [name]).groupby("dno").sum(numeric_only=True).reindex(settle.index, fill_value=0)
        for column in ("p2p_sales_rmb", "p2p_purchases_rmb", "grid_sales_rmb", "grid_purchases_rmb",
                       "compensation_received_rmb", "service_fee_rmb", "grid_volume_mwh", "p2p_volume_mwh"):
            assert np.allclose(money[column], settle[column], atol=1e-6), (name, column)
        day_end = settle.scheduling_fee_rmb - settle.compensation_funded_rmb
        assert np.allclose(money.profit_rmb + day_end, settle.revenue_rmb, atol=1e-6), name


def test_valley_analysis_of_the_paper_day(paper):
    """Whatever the bundled day holds, S2 trades as S1 (compensation does not move bids) and S3
    never trades in a valley hour; with valley trades, compensation is 2 x 100 RMB per MWh."""
    s1, s2, s3 = (paper.valley_hours[paper.valley_hours.scenario == name] for name in ("S1", "S2", "S3"))
    assert list(s1.hour) == list(s2.hour) == list(s3.hour)
    assert np.allclose(s3.p2p_volume_mwh, 0)
    assert np.allclose(s1.p2p_volume_mwh, s2.p2p_volume_mwh) and list(s1.p2p_trades) == list(s2.p2p_trades)
    assert np.allclose(s1.compensation_rmb, 200 * s1.p2p_volume_mwh) and np.allclose(s2.compensation_rmb, 0)
    s1_valley = paper.comparison.query("scenario == 'S1'").valley_p2p_volume_mwh.sum()
    assert np.isclose(2 * paper.valley_p2p_mwh, s1_valley)  # each traded MWh counts for both sides there


def test_valley_seller_earns_most_with_compensation(two_dno):
    """§A.8: with compensation a valley trade beats the grid for the seller (S1 > S3), and
    without it the trade is worse than the grid (S3 > S2), gross of fees as the paper's Table 2."""
    hour = two_dno.valley_hours.query("scenario == 'S1' and hour == @VALLEY_HOUR").iloc[0]
    assert hour.sellers.startswith("SELLER") and hour.buyers.startswith("BUYER")
    assert hour.p2p_volume_mwh > 0 and 270 < hour.price_mean_per_mwh < 400
    seller = two_dno.valley_revenue.query("dno == 'SELLER' and hour == @VALLEY_HOUR").set_index("scenario")
    assert (seller.role == "seller").all()
    gross = seller.profit_gross_rmb
    assert gross["S1"] > gross["S3"] > gross["S2"]
    assert np.isclose(gross["S3"], 400 * seller.quantity_mwh["S3"])  # S3: all of it sold to the grid
    row = two_dno.table2.set_index(["hour", "dno"]).loc[(VALLEY_HOUR, "SELLER")]
    assert row.s1_gt_s3_gt_s2 and np.isclose(row.S1, gross["S1"])


def test_cli_writes_tables_figures_and_page(tmp_path):
    scenario = tmp_path / "two-dno.yaml"
    scenario.write_text(yaml.safe_dump(two_dno_day()))
    out = tmp_path / "out"
    assert main(["experiment", "paper", "--scenario", str(scenario), "--seed", "0", "--out", str(out)]) == 0
    names = {p.name for p in out.iterdir()}
    assert {"comparison.csv", "totals.csv", "valley_hours.csv", "valley_revenue.csv", "table2.csv",
            "comparison.png", "valley.png", "paper.html"} <= names
    comparison = pd.read_csv(out / "comparison.csv")
    assert sorted(comparison.scenario.unique()) == list(SCENARIOS) and set(comparison.dno) == {"SELLER", "BUYER"}
    page = (out / "paper.html").read_text()
    assert unresolved(page) == []  # every citation is a section of docs/rules.md or a file here
    assert page.count("<img ") == 2 and NO_VALLEY_NOTE not in page and "holds for 2 of the 2" in page
    again = tmp_path / "again"
    assert main(["experiment", "paper", "--scenario", str(scenario), "--seed", "0", "--out", str(again)]) == 0
    for name in names:
        assert (again / name).read_bytes() == (out / name).read_bytes(), name


def test_day_without_valley_trade_says_so(tmp_path):
    """BUYER's peak as forecast: it has no deviation, so SELLER's valley supply goes to the grid."""
    scenario = tmp_path / "one-sided.yaml"
    scenario.write_text(yaml.safe_dump(two_dno_day(buyer_peak_actual_mw=6.0)))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "valley.png").write_bytes(b"an earlier day's valley figure")
    assert main(["experiment", "paper", "--scenario", str(scenario), "--out", str(tmp_path / "out")]) == 0
    page = (tmp_path / "out" / "paper.html").read_text()
    assert NO_VALLEY_NOTE in page and page.count("<img ") == 1
    assert not (tmp_path / "out" / "valley.png").exists(), "an earlier experiment's figure never stays beside this one's"
    assert pd.read_csv(tmp_path / "out" / "table2.csv").empty


def test_every_file_the_page_renders_is_one_the_experiment_owns(paper):
    from experiments import paper_page
    from experiments.paper import FILES

    assert set(paper_page.render(paper)) <= FILES and {f"{t}.csv" for t in ("comparison", "table2")} <= FILES


@pytest.mark.parametrize("overrides, expected", [
    (["scheduling.value_of_lost_load_per_mwh=null", "dnos.DN4.buy_max_mw=0"], "DNO 'DN4', hour 1: "),
    (["ledger.crashes=[{node: 2, at_hour: 0}, {node: 3, at_hour: 0}]"], "consensus lost liveness"),
])
def test_a_run_that_fails_on_its_input_ends_in_one_line(overrides, expected, tmp_path, capsys):
    """As `storagemarket run`: a DNO that cannot serve its load, or a chain the faults stall, is
    one line naming the scenario and overrides (exit 2), and earlier outputs stay as they were."""
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    (earlier / "comparison.csv").write_text("an earlier experiment's table\n")
    for out in (earlier, tmp_path / "fresh"):
        argv = ["experiment", "paper", "--out", str(out)] + [a for item in overrides for a in ("--set", item)]
        assert main(argv) == 2
        captured = capsys.readouterr()
        assert captured.out == "" and "Traceback" not in captured.err and captured.err.count("\n") == 1
        assert captured.err.startswith(f"error: paper-4dn --set {overrides[0]}") and expected in captured.err
    assert [p.name for p in earlier.iterdir()] == ["comparison.csv"]
    assert (earlier / "comparison.csv").read_text() == "an earlier experiment's table\n"
    assert not (tmp_path / "fresh").exists()
