"""The feeder figure: laid out from the net's geodata or as a tree from the slack, lines coloured by
loading, DNOs in their colours and roles, the hour's trades as arcs, the most loaded hour by
default, nothing cut off; the bundled feeder scenario trades and congests; its report shows it."""

from __future__ import annotations

import json
import re
import warnings

import numpy as np
import pandapower as pp
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from model.colours import PALETTE, ROLE_MARKER, dno_colours
from model.feeder import load_net
from model.job import simulate
from model.network_config import DistributionNetwork
from model.network_figure import (
    FeederDrawing, busiest_hour, geodata, hour_rows, network_figure, positions, tree_layout,
)
from model.report import render
from model.scenario import load

# a small radial feeder: the trunk 0-1-2-3 and the lateral 1-4-5; pandapower numbers lines 0..4 in this order
EDGES = [(0, 1), (1, 2), (2, 3), (1, 4), (4, 5)]
GEO = {0: (0.0, 0.0), 1: (1.0, 0.0), 2: (2.0, 0.5), 3: (3.0, 0.5), 4: (1.5, -1.0), 5: (2.5, -1.5)}
# DN3 and DN10 share bus 2; DN10 comes after DN4 in the natural order, so it takes the fifth colour
DNOS = {"DN1": 3, "DN2": 5, "DN3": 2, "DN10": 2, "DN4": 4}


def _network(tmp_path, with_geodata: bool) -> DistributionNetwork:
    net = pp.create_empty_network()
    for bus in range(6):
        pp.create_bus(net, vn_kv=12.66, geodata=GEO[bus] if with_geodata else None)
    pp.create_ext_grid(net, 0)
    for a, b in EDGES:
        pp.create_line_from_parameters(net, a, b, length_km=1.0, r_ohm_per_km=0.3, x_ohm_per_km=0.2,
                                       c_nf_per_km=0.0, max_i_ka=1.0)
    for bus in range(1, 6):
        pp.create_load(net, bus, p_mw=0.1)
    path = tmp_path / "feeder.json"
    pp.to_json(net, str(path))
    return DistributionNetwork.model_validate({"file": str(path), "buses": DNOS, "line_limits": {"limit_mw": 0.5}})


@pytest.fixture(params=[True, False], ids=["geodata", "tree"])
def network(request, tmp_path):
    return _network(tmp_path, request.param)


def _frames() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Three hours as network.csv, buses.csv and trades.csv hold them: hour 2 is the most loaded
    (line 2 at 130 %, congested with line 1), hour 3 has no AC result (not converged)."""
    loading = {1: [60, 50, 40, 30, 20], 2: [90, 110, 130, 35, 25], 3: [np.nan] * 5}
    congested = {1: set(), 2: {1, 2}, 3: set()}
    lines = pd.DataFrame([{"day": 1, "hour": h, "line": k, "from_bus": a, "to_bus": b, "flow_mw": 0.1,
                           "limit_mw": 0.5, "loading_pct": loading[h][k], "congested": k in congested[h]}
                          for h in (1, 2, 3) for k, (a, b) in enumerate(EDGES)])
    buses = pd.DataFrame([{"day": 1, "hour": h, "bus": b, "p_mw": 0.0, "v_pu": 1.0 - 0.01 * b * h}
                          for h in (1, 2, 3) for b in range(6)])
    trades = pd.DataFrame([
        (1, 1, "p2p", "DN2", "DN1", 0.1),
        (1, 2, "p2p", "DN1", "DN2", 0.2),  # DN1 sells 0.2 and buys 0.05: a net seller
        (1, 2, "p2p", "DN3", "DN1", 0.05),
        (1, 2, "p2p", "DN3", "DN10", 0.1),  # between the two DNOs at bus 2
        (1, 2, "grid", "main_grid", "DN10", 0.3),
    ], columns=["day", "hour", "kind", "seller", "buyer", "quantity_mwh"])
    return lines, buses, trades


def _drawing(network, when=(1, 2)) -> FeederDrawing:
    ax = Figure().subplots()
    drawing = FeederDrawing(ax, network.feeder, positions(network), network.buses)
    drawing.show(*(hour_rows(frame, when) for frame in _frames()), when)
    return drawing


# --- layout ---------------------------------------------------------------------------------------


def test_the_nets_geodata_places_the_buses_when_every_bus_has_a_point(tmp_path):
    assert positions(_network(tmp_path, with_geodata=True)) == GEO
    net = load_net("case33bw")  # the bundled feeder's case carries GeoJSON points (pandapower 3)
    feeder = load("feeder-33bus").network.feeder
    points = geodata(net, feeder)
    assert points is not None and set(points) == set(feeder.buses)
    assert points[0] == tuple(json.loads(net.bus.at[0, "geo"])["coordinates"])
    net.bus.at[5, "geo"] = None  # one bus without a point: no geodata at all
    assert geodata(net, feeder) is None


def test_without_geodata_the_feeder_is_a_tree_grown_from_the_slack(tmp_path):
    network = _network(tmp_path, with_geodata=False)
    points = positions(network)
    assert points == tree_layout(network.feeder)
    assert {bus: x for bus, (x, _) in points.items()} == {0: 0, 1: 1, 2: 2, 3: 3, 4: 2, 5: 3}  # depth from the slack
    y = {bus: y for bus, (_, y) in points.items()}
    assert y[3] != y[5] and y[2] == y[3] and y[4] == y[5]  # each leaf its own row, a chain stays level
    assert y[1] == pytest.approx((y[2] + y[4]) / 2) and y[0] == y[1]  # a branching bus between its children


# --- the hour drawn ---------------------------------------------------------------------------------


def test_the_default_hour_is_the_most_loaded_and_hours_without_an_ac_result_are_skipped():
    lines, _, _ = _frames()
    assert busiest_hour(lines) == (1, 2)
    tie = lines.assign(loading_pct=np.where(lines["hour"] == 1, 130.0, lines["loading_pct"]))
    assert busiest_hour(tie) == (1, 1), "a tie goes to the earliest hour"
    assert busiest_hour(lines.iloc[0:0]) is None


def test_the_figure_shows_the_most_loaded_hour_by_default(network):
    fig = network_figure(network, *_frames())
    title = fig.axes[0].get_title(loc="left")
    assert title.startswith("Day 1, hour 2: worst loading 130 % (line 2)\n2 lines congested before management")
    assert "lowest voltage 0.900 pu (bus 5)" in title and "P2P 0.350 MWh in 3 trades" in title


def test_lines_take_their_loading_and_congested_lines_are_outlined(network):
    drawing = _drawing(network)
    assert list(drawing.lines.get_array()) == [90, 110, 130, 35, 25]
    assert [w > 0 for w in drawing.halo.get_linewidths()] == [False, True, True, False, False]
    drawing.lines.update_scalarmappable()
    red, green, blue, _ = drawing.lines.get_edgecolor().T
    assert list(blue > red) == [True, False, False, True, True], "blue within the limit, red beyond it"
    assert drawing.worst.get_text() == "line 2: 130 %" and drawing.worst.xy == drawing.midpoints[2]
    drawing.show(*(hour_rows(frame, (1, 3)) for frame in _frames()), (1, 3))  # no AC result: grey, no worst line
    drawing.lines.update_scalarmappable()
    assert {to_hex(c) for c in drawing.lines.get_edgecolor()} == {"#c8c8c8"} and not drawing.worst.get_visible()
    assert drawing.ax.get_title(loc="left").startswith("Day 1, hour 3\n0 lines congested")


def test_dnos_take_their_colours_from_model_colours_and_their_roles_by_shape(network):
    drawing = _drawing(network)
    colours = dno_colours(DNOS)
    assert colours["DN4"] == PALETTE[3] and colours["DN10"] == PALETTE[4]
    for name, marker in drawing.dnos.items():
        assert to_hex(marker.get_markerfacecolor()) == colours[name]
        assert to_hex(next(t for t in drawing.ax.texts if t.get_text() == name).get_color()) == colours[name]
    roles = {name: marker.get_marker() for name, marker in drawing.dnos.items()}
    assert roles == {"DN1": ROLE_MARKER["sell"], "DN2": ROLE_MARKER["buy"], "DN3": ROLE_MARKER["sell"],
                     "DN10": ROLE_MARKER["buy"], "DN4": "o"}
    assert drawing.at["DN3"] != drawing.at["DN10"], "DNOs at one bus sit apart"


def test_trades_are_arcs_from_seller_to_buyer_in_the_sellers_colour_and_width_by_quantity(network):
    drawing = _drawing(network)
    colours = dno_colours(DNOS)
    arcs = {arc.get_gid(): arc for arc in drawing.arcs}
    assert set(arcs) == {"DN1->DN2", "DN3->DN1", "DN3->DN10"}, "P2P trades only, also within a bus"
    for gid, arc in arcs.items():
        assert to_hex(arc.get_edgecolor()) == colours[gid.split("->")[0]]
    assert arcs["DN1->DN2"].get_linewidth() > arcs["DN3->DN10"].get_linewidth() > arcs["DN3->DN1"].get_linewidth()
    drawing.show(*(hour_rows(frame, (1, 1)) for frame in _frames()), (1, 1))  # the next hour replaces them
    assert [arc.get_gid() for arc in drawing.arcs] == ["DN2->DN1"]
    assert [p for p in drawing.ax.patches if p.get_gid()] == drawing.arcs


def fits(fig) -> bool:
    """Everything drawn (titles, labels, legend, colour bar) lies within the figure's page."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    drawn, page = fig.get_tightbbox(canvas.get_renderer()), fig.bbox_inches
    return (page.x0 - 0.01 <= drawn.x0 and drawn.x1 <= page.x1 + 0.01
            and page.y0 - 0.01 <= drawn.y0 and drawn.y1 <= page.y1 + 0.01)


def test_nothing_is_cut_off(network):
    fig = network_figure(network, *_frames())
    assert fits(fig)
    with warnings.catch_warnings():  # too small a page: constrained layout gives up, and says so
        warnings.simplefilter("ignore", UserWarning)
        assert not fits(network_figure(network, *_frames(), figsize=(4.0, 3.0))), "the check can fail"


# --- the bundled feeder scenario and its report ------------------------------------------------------


@pytest.fixture(scope="module")
def feeder_run():
    return simulate(load("feeder-33bus"), 0)


def test_the_bundled_feeder_scenario_trades_and_congestion_management_acts(feeder_run):
    scenario, s = feeder_run.model.config, feeder_run.summary
    assert 8 <= len(scenario.dnos) <= 12 and len(set(scenario.network.buses.values())) == len(scenario.dnos)
    p2p = feeder_run.tables["trades"].query("kind == 'p2p'")
    assert s["p2p_volume_mwh"] > 0.5 and p2p[["day", "hour"]].drop_duplicates().shape[0] >= 8
    net = s["network"]
    assert net["congested_line_hours_before"] > 0 and net["curtailed_mwh"] > 0 and net["congested_line_hours_after"] == 0
    congested_hours = feeder_run.tables["network"].query("congested")[["day", "hour"]].drop_duplicates()
    assert 2 <= len(congested_hours) < 24, "lines bind in some hours, not all"
    assert net["ac_not_converged_hours"] == 0


def test_the_report_of_a_run_with_a_network_shows_the_feeder_and_its_measures(feeder_run):
    text = render(feeder_run)
    titles = re.findall(r"<h2>([^<]+)</h2>", text)
    assert titles[-1] == "Distribution network: line loading, congestion and trades" and len(titles) == 6
    assert text.count("<img ") == 6
    section = text[text.index("<h2>Distribution network"):]
    when = busiest_hour(feeder_run.tables["network"])
    assert f"day {when[0]} hour {when[1]}" in section
    net = feeder_run.summary["network"]
    assert f"<td>{net['uos_collected_rmb']:,.3f}</td>" in section
    assert f"<td>{net['congested_line_hours_before']}</td>" in section
    assert f"<td>{net['min_v_pu']:.3f} – {net['max_v_pu']:.3f}</td>" in section
