"""compare.html and compare.csv on synthetic runs: every design and measure, notes, same bytes."""

from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from batch_helpers import assert_on_canvas

from batch_runs import figures
from batch_runs.compare_report import SMALL_N_NOTE, write_report
from batch_runs.design import DesignError, parse
from batch_runs.executors import SerialExecutor
from batch_runs.store import ResultStore
from batch_runs.sweep import sweep
from market.measures import MEASURES
from model import htmlpage as hp

DESIGNS = {"S0": {"mechanism.p2p_enabled": False}, "auction": {}, "block": {"mechanism.matching": "block"}}
DNOS = ("DN1", "DN2", "DN10")
PER_DNO = {name for name, (unit, meaning, _) in MEASURES.items() if "by_dno" in name}


def synthetic(parameters, seed):
    """Outcomes of a made-up day: a seed-wide level shared by every design plus a design effect."""
    day = np.random.default_rng(seed).normal(0, 1, len(MEASURES))
    effect = {"S0": 0.0, "auction": 0.5, "block": 0.7}[parameters["design_name"]]
    noise = np.random.default_rng([seed, int(effect * 10)]).normal(0, 0.05, len(MEASURES))
    out = {}
    for (name, value) in zip(MEASURES, 1000 + 100 * day + 100 * effect + noise):
        if name in PER_DNO:
            out.update({f"outcomes.{name}.{dno}": value / (i + 1) for i, dno in enumerate(DNOS)})
        else:
            out[f"outcomes.{name}"] = value
    if parameters["design_name"] == "block" and seed == 1:
        raise RuntimeError("made-up failure")
    return out


def run(tmp_path, seeds: int, run=synthetic):
    design = parse({"kind": "comparison", "name": "synthetic", "days": {"recipe": "paper-4dn", "seeds": seeds},
                    "designs": DESIGNS}, "synthetic")
    sweep(design, tmp_path, SerialExecutor(), run=run, progress=False)
    return write_report(tmp_path)


class Text(HTMLParser):
    """The page's text and the nesting of its elements (a page that does not nest fails)."""

    VOID = {"meta", "img", "br", "hr", "link", "input"}

    def __init__(self, page: str):
        super().__init__()
        self.text, self.open = [], []
        self.feed(page)
        self.close()
        assert not self.open, f"unclosed {self.open}"

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag):
        assert self.open.pop() == tag

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture(scope="module")
def few(tmp_path_factory):
    out = tmp_path_factory.mktemp("few")
    return out, run(out, seeds=4)


def test_page_names_every_design_and_measure(few):
    out, report = few
    page = report.html.read_text()
    text = " ".join(Text(page).text)
    for name in DESIGNS:
        assert f"<td>{name}</td>" in page
    for name in MEASURES:
        assert name in text, name
    assert "gain_by_dno_rmb · DN10" in text and text.index("· DN2") < text.index("· DN10"), "natural DNO order"
    assert page.count("data:image/png;base64,") == 4 and len(report.figures) == 4
    assert f"Few days (n = 3): {SMALL_N_NOTE}." in text, "block failed on one of the four days"
    assert "n=3" in text and "n=4" in text, "n beside every paired interval"
    assert "block: 1 run(s) failed (seeds 1): RuntimeError: made-up failure" in text
    assert "mechanism.p2p_enabled=false" in text and "reference: <b>S0</b>" in page


def test_csv_has_every_measure_and_design_with_paired_differences(few):
    out, report = few
    table = pd.read_csv(report.csv)
    columns = len(MEASURES) - len(PER_DNO) + len(PER_DNO) * len(DNOS)
    assert len(table) == columns * len(DESIGNS) and set(table.design_name) == set(DESIGNS)
    assert {"unit", "better", "reference", "n", "ci95_low", "diff_boot_high", "p_value", "pairs"} <= set(table.columns)
    ref = table[table.design_name == "S0"]
    assert ref.diff_mean.isna().all() and ref.pairs.isna().all()
    block = table[(table.design_name == "block") & (table.measure == "outcomes.total_cost_rmb")].iloc[0]
    assert (block.n, block.pairs) == (3, 3) and block.diff_mean == pytest.approx(70, abs=1)
    assert block.diff_t_low > 0 and block.p_value < 0.01, "the shared day-to-day spread pairs away"


def test_same_rows_same_bytes(few):
    out, report = few
    before = {p.name: p.read_bytes() for p in [report.html, report.csv, *report.figures]}
    again = write_report(out)
    assert {p.name: p.read_bytes() for p in [again.html, again.csv, *again.figures]} == before


def test_enough_days_need_no_note_and_missing_measures_are_named(tmp_path):
    def fewer_measures(parameters, seed):
        return {k: v for k, v in synthetic(parameters, seed).items() if "fairness" not in k and "gain_by_dno" not in k}

    report = run(tmp_path, seeds=11, run=fewer_measures)
    text = " ".join(Text(report.html.read_text()).text)
    assert SMALL_N_NOTE not in text
    assert "the runs report no gain_by_dno_rmb, jain_fairness" in text
    assert "compare-fairness-gain.png left out: the runs report no gain or no fairness" in text
    assert [p.name for p in report.figures] == ["compare-cost-import.png", "compare-differences.png"]


def test_a_sweep_is_not_a_comparison(tmp_path):
    design = parse({"parameters": {"x": [1, 2]}}, "grid")
    sweep(design, tmp_path, SerialExecutor(), run=lambda p, s: {"y": 1.0}, progress=False)
    with pytest.raises(DesignError, match="holds a grid sweep, not a comparison"):
        write_report(tmp_path)


def test_figures_keep_every_label_on_the_canvas(few):
    out, report = few
    df, table = ResultStore(out).read(), pd.read_csv(report.csv)
    designs, colours = list(DESIGNS), figures.design_colours(list(DESIGNS))
    gain = [c for c in df.columns if c.startswith("outcomes.gain_by_dno_rmb.")]
    with hp.style():
        drawn = [figures.by_dno(df, "outcomes.gain_by_dno_rmb", gain, designs, colours, "gain (RMB)"),
                 figures.by_design(df, [("outcomes.total_cost_rmb", "total cost (RMB)"),
                                        ("outcomes.grid_import_mwh", "grid import (MWh)")], designs, colours),
                 figures.against(table, ("outcomes.gain_rmb", "gain"), ("outcomes.jain_fairness", "fairness"), designs,
                                 colours),
                 figures.differences(table, [("outcomes.gain_rmb", "gain (RMB)")], designs[1:], "S0", colours)]
    for fig in drawn:
        assert_on_canvas(fig)


def test_runs_on_a_network_also_compare_the_network_measures():
    from batch_runs.compare_report import outcome_measures
    from market.measures import NETWORK_MEASURES

    columns = [f"outcomes.{name}" for name in MEASURES if name not in PER_DNO] + [
        "network.curtailed_mwh", "network.ac_overloaded_line_hours", "network.uos_collected_rmb"]
    measures = {m.column: m for m in outcome_measures(columns)}
    assert measures["network.curtailed_mwh"].unit == NETWORK_MEASURES["curtailed_mwh"][0] == "MWh"
    assert measures["network.ac_overloaded_line_hours"].better == "lower"
    assert "network.uos_collected_rmb" not in measures  # the outcomes' network_charges_rmb already says it
    assert not any(c.startswith("network.") for c in (m.column for m in outcome_measures(columns[:-3])))
