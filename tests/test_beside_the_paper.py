"""`experiment paper` beside the paper: every published figure with the simulated one and why they
differ, the paper's hour 2 reproduced end to end, and S0-S3 over several days with intervals."""

from __future__ import annotations

import contextlib
import io

import pandas as pd
import pytest
from citations import unresolved

from experiments.cli import main
from experiments.published import TABLE2, _price_implied


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("paper") / "out"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["experiment", "paper", "--out", str(folder), "--days", "2", "--processes", "1"]) == 0
    return folder, printed.getvalue()


@pytest.fixture(scope="module")
def out(run):
    return run[0]


def test_every_published_figure_has_a_simulated_value_and_a_reason(out):
    table = pd.read_csv(out / "beside_the_paper.csv")
    assert len(table) >= 25 and table.reason.notna().all() and table.simulated.notna().all()
    reproduced = table[table.reason == "reproduced"]
    assert set(reproduced.difference.astype(str)) <= {"0.0", "0", "none"}
    hour2 = table[table.simulated_on == "paper-hour2"].set_index("figure")
    for figure in ("hour 2, round 1: price (RMB/MWh)", "hour 2, round 2: price (RMB/MWh)",
                   "hour 2: DN4 from the grid (MWh)", "Table 3: DN4's hour-2 P2P volume (MWh)",
                   "Table 2: DN2's hour-2 profit under S3 (RMB)"):
        assert hour2.loc[figure, "reason"] == "reproduced", figure


def test_where_the_paper_contradicts_itself_the_arithmetic_is_shown(out):
    """Table 2's S2 profit of DN2 needs 347.68 RMB/MWh for the 4 866.80 MWh the paper says sold at
    334.80: the simulated profit is the paper's price times the paper's volume."""
    table = pd.read_csv(out / "beside_the_paper.csv").set_index("figure")
    s2 = table.loc["Table 2: DN2's hour-2 profit under S2 (RMB)"]
    assert float(s2.simulated) == pytest.approx(4866.80 * 334.80, abs=0.01)
    assert "1,629,404.64" in s2.reason and "347.68" in s2.reason
    from_dn2, from_dn4 = _price_implied()
    assert from_dn2 == pytest.approx(TABLE2[("DN2", "S2")] / 4866.80) and abs(from_dn2 - from_dn4) < 0.05


def test_over_days_gives_intervals_beside_the_bundled_day(out):
    days = pd.read_csv(out / "over_days.csv").set_index("measure")
    assert (days["days"] == 2).all()
    p2p = days.loc["P2P volume (MWh)"]
    assert p2p.S0_mean == 0 and p2p.bundled_S0 == 0 and p2p.S1_mean > 0  # S0 trades nothing, on any day
    assert days.loc["hours with supply or demand", "paper"] == 19
    runs = pd.read_parquet(out / "days-2" / "results.parquet")
    assert len(runs) == 8 and set(runs.design_name) == {"S0", "S1", "S2", "S3"}


def test_the_page_says_how_the_day_was_chosen_and_cites_only_the_repository(out):
    page = (out / "paper.html").read_text()
    assert "Beside the paper" in page and "Over 2 days of the recipe" in page
    assert "How the bundled day was chosen" in page and "2015-2030" in page
    assert unresolved(page) == []


def test_the_terminal_gets_the_headline(run):
    printed = run[1]
    assert "beside the paper:" in printed and "hour 2, round 1: price (RMB/MWh): published 334.8, simulated 334.8" in printed
