"""report.html of a run with more DNOs than a panel each can hold: the most active DNOs, the whole
market in aggregate, every DNO in the table, and no money lost in the aggregation."""

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex

from batch_runs.run_one import scenario_for
from model.colours import dno_colours
from model.job import simulate
from model.report import (FOCUS_DNOS, _deviation_totals_figure, _largest_gains, _most_active, _settlement_figure,
                          _storage_figure, _with_total, render)

N = FOCUS_DNOS + 4


@pytest.fixture(scope="module")
def many():
    return simulate(scenario_for({"n_dnos": N}, 0), 0)


def test_the_figures_show_the_most_active_dnos_and_the_table_every_dno(many):
    hourly, settlement = many.tables["hourly"], many.tables["settlement"]
    focus = _most_active(hourly)
    deviation = (hourly.demand_mwh + hourly.supply_mwh).groupby(hourly.dno).sum()
    assert len(focus) == FOCUS_DNOS and min(deviation[focus]) >= max(deviation.drop(index=focus))
    text = render(many)
    assert text.count("<img ") == 5 and f"the first panel, in grey, sums the storage action of all {N}" in text
    for dno in settlement.dno:
        assert f"<td>{dno}</td>" in text
    colours = dno_colours(hourly.dno)
    storage = _storage_figure(_with_total(hourly, focus), many.model.config.tariff,
                              {**colours, f"all {N} DNOs": "#555555"})
    titles = [ax.get_title() for ax in storage.axes if ax.get_visible()]
    assert titles == [f"all {N} DNOs", *focus]
    for ax in storage.axes[1:len(titles)]:  # each DNO in the colour it has among all of them
        assert {to_hex(line.get_color()) for line in ax.lines[:2]} == {colours[ax.get_title()]}


def test_the_aggregates_keep_every_mwh_and_every_rmb(many):
    hourly, settlement = many.tables["hourly"], many.tables["settlement"]
    focus = _most_active(hourly)
    total = _with_total(hourly, focus)
    summed = total[total.dno == f"all {N} DNOs"]
    assert summed.intraday_action_mw.sum() == pytest.approx(hourly.intraday_action_mw.sum())
    shown = _largest_gains(settlement)
    assert len(shown) == FOCUS_DNOS + 1 and shown.dno.iloc[-1] == f"the other {N - FOCUS_DNOS} DNOs"
    for column in ("gain_rmb", "revenue_rmb", "service_fee_rmb", "p2p_sales_rmb"):
        assert shown[column].sum() == pytest.approx(settlement[column].sum(), abs=1e-6)
    kept = shown.dno.iloc[:-1]
    assert min(settlement.set_index("dno").gain_rmb.abs()[kept]) >= max(
        settlement[~settlement.dno.isin(kept)].gain_rmb.abs())
    ax = _deviation_totals_figure(hourly, many.model.config.tariff).axes[0]
    demand, supply = ax.containers
    assert sum(b.get_height() for b in demand) == pytest.approx(hourly.demand_mwh.sum())
    assert -sum(b.get_height() for b in supply) == pytest.approx(hourly.supply_mwh.sum())
    labels = [t.get_text() for t in _settlement_figure(shown, dno_colours(hourly.dno)).axes[0].get_yticklabels()]
    assert labels == list(shown.dno)


def test_up_to_the_limit_every_dno_keeps_its_panel():
    names = [f"DN{i}" for i in range(1, FOCUS_DNOS + 2)]
    hourly = pd.DataFrame({"dno": np.repeat(names, 2), "demand_mwh": np.arange(2 * len(names), dtype=float),
                           "supply_mwh": 0.0})
    assert _most_active(hourly[hourly.dno != names[-1]]) is None
    assert _most_active(hourly) == names[1:]  # DN1 deviates least
