"""report.html: every section and figure is there, and the same run gives the same bytes."""

import base64
import re

import pytest
from citations import unresolved
from matplotlib.colors import to_hex

from market.variants import variant
from model.colours import SUPPLY_HATCH, dno_colours
from model.job import simulate
from model.report import _deviation_figure, _network_figure, _storage_figure, write_report
from model.scenario import load

SECTIONS = [
    "Storage action: day-ahead plan vs intraday",
    "Supply and demand by hour",
    "Trades by round, with prices",
    "Settlement per DNO",
    "Network propagation and the chain",
]


@pytest.fixture(scope="module")
def paper():
    return load("paper-4dn")


@pytest.fixture(scope="module")
def report(paper, tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "report.html"
    result = simulate(paper, 0)
    write_report(result, path)
    return result, path


def _images(text: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'<img alt="[^"]+" src="data:image/png;base64,([^"]+)"', text)]


def test_every_citation_resolves_in_the_repository(report):
    assert unresolved(report[1].read_text()) == []


def test_every_section_has_its_figure(report):
    result, path = report
    text = path.read_text()
    assert re.findall(r"<h2>([^<]+)</h2>", text) == SECTIONS
    assert text.count("<img ") == len(SECTIONS)
    for png in _images(text):
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5_000
        assert b"Software" not in png and b"tIME" not in png  # nothing that varies between identical runs
    s = result.summary
    assert f"scenario: <b>{s['scenario']}</b>" in text and f"seed: <b>{s['seed']}</b>" in text
    assert f"{s['social_welfare_rmb']:,.3f}" in text and f"<td>{s['traded_hours']}</td>" in text
    assert '<a href="ledger.sqlite">' in text
    for dno in result.tables["settlement"].dno:
        assert f"<td>{dno}</td>" in text


def test_same_run_same_bytes_other_seed_other_bytes(paper, report, tmp_path):
    _, first = report
    write_report(simulate(paper, 0), tmp_path / "again.html")
    assert (tmp_path / "again.html").read_bytes() == first.read_bytes()
    write_report(simulate(paper, 1), tmp_path / "seed1.html")
    other = (tmp_path / "seed1.html").read_text()
    assert other != first.read_text() and "seed: <b>1</b>" in other


def test_run_without_p2p_trades_says_so(paper, tmp_path):
    s0 = paper.model_copy(update={"mechanism": variant(paper.mechanism, "S0")})
    write_report(simulate(s0, 0), tmp_path / "report.html")
    text = (tmp_path / "report.html").read_text()
    assert "No P2P trade cleared in this run" in text
    assert text.count("<img ") == len(SECTIONS)


def test_settlement_figure_covers_every_money_term(report):
    """A money term added to settlement.csv must also be drawn (with its sign) in the report."""
    from model.report import _MONEY_TERMS

    result, _ = report
    settle = result.tables["settlement"]
    totals = {"revenue_rmb", "baseline_s0_rmb", "gain_rmb", "storage_owner_payments_rmb", "retained_rmb"}
    assert {c for c in settle.columns if c.endswith("_rmb")} - totals == set(_MONEY_TERMS)
    signed = sum(sign * settle[column] for column, (_, sign) in _MONEY_TERMS.items())
    assert ((signed - settle.revenue_rmb).abs() < 1e-6).all()


def test_report_needs_the_model(report, tmp_path):
    result, _ = report
    bare = type(result)(result.tables, result.summary, result.measures)
    with pytest.raises(ValueError, match="finished model"):
        write_report(bare, tmp_path / "report.html")


def test_one_sign_one_colour_per_dno_and_roles_by_hatch(report):
    """Net position signed as the storage action (demand +, supply −), each DNO in its colour of
    model.colours in every figure, supply told from demand by its hatch, not by red and green."""
    result, _ = report
    hourly = result.tables["hourly"]
    colours = dno_colours(hourly.dno)
    ax = _deviation_figure(hourly, result.model.config.tariff).axes[0]
    assert len(ax.containers) == len(colours)
    for bars, dno in zip(ax.containers, colours):
        rows = hourly[hourly.dno == dno].sort_values("hour")
        assert [bar.get_height() for bar in bars] == pytest.approx(list(rows.demand_mwh - rows.supply_mwh))
        for bar in bars:
            assert to_hex(bar.get_facecolor()) == colours[dno]
            assert (bar.get_hatch() == SUPPLY_HATCH) == (bar.get_height() < 0)
    storage = _storage_figure(hourly, result.model.config.tariff)
    for ax, dno in zip(storage.axes, colours):
        assert ax.get_title() == dno and {to_hex(line.get_color()) for line in ax.lines[:2]} == {colours[dno]}


def test_validators_are_named_as_the_scenario_numbers_them(report):
    result, _ = report
    labels = {t.get_text() for t in _network_figure(result.model).axes[2].texts}
    assert {"v0", "v1", "v2", "v3"} <= labels and "validator1" not in labels
