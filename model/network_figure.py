"""The feeder in one hour: lines coloured by AC loading, DNOs at their buses in their colours, the
hour's P2P trades as arcs from seller to buyer (docs/network.md).

One drawing serves the run's report (the most loaded hour) and the live view (the hour just
stepped), so both read the feeder the same way. `FeederDrawing` draws once what never changes
(lines, buses, DNOs, colour bar, legend) and `show` moves one hour's data in, as the live view's
panels do. Inputs are the rows of network.csv, buses.csv and trades.csv, so a finished run and a
running model draw from the same tables.

The layout is the net's own geodata when every feeder bus has a point (pandapower 3: a GeoJSON
string in `net.bus.geo`; case33bw carries one), else a tree grown from the slack: a feeder is
read from the substation outwards, which a force layout would scramble.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from matplotlib.cm import ScalarMappable
from matplotlib.collections import LineCollection
from matplotlib.colors import LinearSegmentedColormap, TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch
from matplotlib.patheffects import withStroke

from market.network.feeder import Feeder
from model import htmlpage as hp
from model.colours import ROLE_MARKER, dno_colours

Hour = tuple[int, int]  # (day, hour) as the output tables count them: day 1.., hour 1..24

# A fixed scale, so hours and runs compare: blues up to the limit, reds beyond it (half the colour
# bar each), saturating at LOADING_MAX_PCT. Blue against red is told apart with every common form of
# colour blindness; the DNOs keep the palette of model.colours.
LOADING_MAX_PCT = 150.0
LOADING_CMAP = LinearSegmentedColormap.from_list(
    "loading", [(0.0, "#dfe8f1"), (0.5, "#1d4f7c"), (0.5, "#f6b26b"), (1.0, "#7f0000")],
).with_extremes(bad="#c8c8c8")  # grey: an hour with no AC result (not converged, or none yet)
LOADING_LABEL = "line loading, AC (% of limit)"
CONGESTED_EDGE = "#111111"
_BUS = "#7f7f7f"
_ROLE = {"sell": "supply (▼)", "buy": "demand (▲)"}
_WHITE_EDGE = withStroke(linewidth=2.5, foreground="white")  # labels stay legible over lines


# --- where the buses go --------------------------------------------------------------------------


def positions(network) -> dict[int, tuple[float, float]]:
    """Bus positions of a scenario's `network:` block (model.network_config.DistributionNetwork):
    the net's geodata when every feeder bus has a distinct point, else `tree_layout`."""
    from model.feeder import load_net  # pandapower: only for scenarios with a network

    return geodata(load_net(network.case, network.path), network.feeder) or tree_layout(network.feeder)


def geodata(net: Any, feeder: Feeder) -> dict[int, tuple[float, float]] | None:
    """Each feeder bus's point from pandapower 3's `net.bus.geo` (GeoJSON), or None if any lacks one."""
    if "geo" not in net.bus.columns:
        return None
    points = {}
    for bus in feeder.buses:
        raw = net.bus.at[bus, "geo"]
        if not isinstance(raw, str):
            return None
        coordinates = json.loads(raw).get("coordinates")
        if not isinstance(coordinates, list) or len(coordinates) < 2:
            return None
        points[bus] = (float(coordinates[0]), float(coordinates[1]))
    return points if len(set(points.values())) == len(points) else None


def tree_layout(feeder: Feeder) -> dict[int, tuple[float, float]]:
    """Depth from the slack across; leaves one row apart downwards, in depth-first order; each
    other bus level with the middle of its children. A meshed feeder is laid out on its BFS tree."""
    graph = nx.Graph()
    graph.add_nodes_from(feeder.buses)
    graph.add_edges_from(sorted(zip(feeder.from_bus, feeder.to_bus)))
    tree = nx.bfs_tree(graph, feeder.slack_bus, sort_neighbors=sorted)
    depth = nx.shortest_path_length(tree, feeder.slack_bus)
    row: dict[int, float] = {}
    leaves = (bus for bus in nx.dfs_preorder_nodes(tree, feeder.slack_bus) if tree.out_degree(bus) == 0)
    row.update((bus, float(i)) for i, bus in enumerate(leaves))
    for bus in nx.dfs_postorder_nodes(tree, feeder.slack_bus):
        if bus not in row:
            row[bus] = float(np.mean([row[child] for child in tree.successors(bus)]))
    return {bus: (float(depth[bus]), -row[bus]) for bus in feeder.buses}


# --- which hour ----------------------------------------------------------------------------------


def busiest_hour(lines: pd.DataFrame) -> Hour | None:
    """The (day, hour) whose most loaded line is the most loaded of the run (earliest on a tie;
    hours without an AC result skipped); None when there is no hour."""
    if lines.empty:
        return None
    worst = lines.groupby(["day", "hour"])["loading_pct"].max()
    key = worst.idxmax() if worst.notna().any() else worst.index[0]
    return int(key[0]), int(key[1])


def latest_hour(lines: pd.DataFrame) -> Hour | None:
    """The last (day, hour) in the rows, or None."""
    if lines.empty:
        return None
    day, hour = max(zip(lines["day"], lines["hour"]))
    return int(day), int(hour)


def hour_rows(frame: pd.DataFrame, when: Hour | None) -> pd.DataFrame:
    """The rows of one (day, hour); none when `when` is None."""
    if when is None:
        return frame.iloc[0:0]
    return frame[(frame["day"] == when[0]) & (frame["hour"] == when[1])]


# --- the drawing ---------------------------------------------------------------------------------


class FeederDrawing:
    """The feeder drawn once on `ax`, with `show` putting one hour's loadings, congestion, DNO
    roles and P2P trades on it. `dno_buses` maps every DNO to its bus."""

    def __init__(self, ax, feeder: Feeder, points: Mapping[int, tuple[float, float]],
                 dno_buses: Mapping[str, int], legend_columns: int = 3) -> None:
        self.ax, self.feeder = ax, feeder
        self.colours = dno_colours(dno_buses)
        norm = TwoSlopeNorm(100.0, 0.0, LOADING_MAX_PCT)
        segments = [(points[a], points[b]) for a, b in zip(feeder.from_bus, feeder.to_bus)]
        self.midpoints = [tuple(np.mean(s, axis=0)) for s in segments]
        self.halo = LineCollection(segments, colors=CONGESTED_EDGE, linewidths=0.0, capstyle="round", zorder=1)
        self.lines = LineCollection(segments, cmap=LOADING_CMAP, norm=norm, linewidths=3.0, capstyle="round", zorder=2)
        self.lines.set_array(np.full(len(segments), np.nan))
        ax.add_collection(self.halo)
        ax.add_collection(self.lines)
        xy = np.array([points[b] for b in feeder.buses])
        ax.scatter(xy[:, 0], xy[:, 1], s=9, color=_BUS, zorder=3)
        slack = points[feeder.slack_bus]
        ax.plot(*slack, marker="s", markersize=10, color="#333333", linestyle="", zorder=4)
        ax.annotate("substation", slack, xytext=(0, -12), textcoords="offset points", ha="center", va="top",
                    fontsize="small", color="#333333")
        self.at = _dno_points(points, dno_buses, list(self.colours), 0.025 * float(np.ptp(xy, axis=0).max() or 1.0))
        self.dnos: dict[str, Line2D] = {}
        for name, (x, y) in self.at.items():
            self.dnos[name], = ax.plot([x], [y], marker="o", markersize=11, color=self.colours[name],
                                       markeredgecolor="black", markeredgewidth=0.8, linestyle="", zorder=5)
            ax.annotate(name, (x, y), xytext=(7, 5), textcoords="offset points", color=self.colours[name],
                        fontweight="bold", zorder=6, path_effects=[_WHITE_EDGE])
        self.worst = ax.annotate("", (0, 0), xytext=(0, 8), textcoords="offset points", ha="center", visible=False,
                                 fontsize="small", fontweight="bold", zorder=7, path_effects=[_WHITE_EDGE])
        self.arcs: list[FancyArrowPatch] = []
        colorbar = ax.figure.colorbar(ScalarMappable(norm, LOADING_CMAP), ax=ax, extend="max", shrink=0.85, pad=0.02,
                                      label=LOADING_LABEL)
        colorbar.set_ticks([0, 25, 50, 75, 100, 125, 150])
        ax.legend(*_legend(), loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=legend_columns, frameon=False,
                  fontsize="small")
        ax.set_aspect("equal", adjustable="datalim")
        ax.margins(0.06)
        ax.axis("off")

    def show(self, lines: pd.DataFrame, buses: pd.DataFrame, trades: pd.DataFrame, when: Hour | None) -> None:
        """Hour `when`, from its own rows (`hour_rows`) of network.csv, buses.csv and trades.csv."""
        by_line = lines.set_index("line").reindex(list(self.feeder.lines))
        loading = by_line["loading_pct"].to_numpy(dtype=float)
        self.lines.set_array(loading)
        self.halo.set_linewidths(np.where(by_line["congested"].eq(True).to_numpy(), 7.5, 0.0))
        self._mark_worst(loading)
        self._roles(trades)
        self._trades(trades[trades["kind"] == "p2p"])
        self.ax.set_title(_title(when, by_line, buses, trades), loc="left")

    def _mark_worst(self, loading: np.ndarray) -> None:
        known = ~np.isnan(loading)
        self.worst.set_visible(bool(known.any()))
        if known.any():
            k = int(np.nanargmax(loading))
            self.worst.xy = self.midpoints[k]
            self.worst.set_text(f"line {self.feeder.lines[k]}: {loading[k]:.0f} %")

    def _roles(self, trades: pd.DataFrame) -> None:
        """Each DNO's marker by its role in the hour (trades of both kinds): ▼ supply, ▲ demand."""
        for name, marker in self.dnos.items():
            net = (trades.loc[trades["buyer"] == name, "quantity_mwh"].sum()
                   - trades.loc[trades["seller"] == name, "quantity_mwh"].sum())
            marker.set_marker(ROLE_MARKER["buy"] if net > 0 else ROLE_MARKER["sell"] if net < 0 else "o")

    def _trades(self, p2p: pd.DataFrame) -> None:
        """One arc per P2P trade, seller to buyer, in the seller's colour; width by quantity (the
        hour's largest trade widest). DNOs at one bus sit apart, so their trades show too."""
        for arc in self.arcs:
            arc.remove()
        self.arcs = []
        largest = float(p2p["quantity_mwh"].max()) if len(p2p) else 0.0
        for t in p2p.itertuples():
            width = 1.0 + 5.0 * float(t.quantity_mwh) / largest
            arc = FancyArrowPatch(self.at[t.seller], self.at[t.buyer], connectionstyle="arc3,rad=0.3",
                                  arrowstyle="-|>", mutation_scale=8 + 2 * width, linewidth=width,
                                  color=self.colours[t.seller], alpha=0.85, shrinkA=7, shrinkB=7, zorder=4)
            arc.set_gid(f"{t.seller}->{t.buyer}")
            self.ax.add_patch(arc)
            self.arcs.append(arc)


def _dno_points(points: Mapping[int, tuple[float, float]], dno_buses: Mapping[str, int], order: list[str],
                radius: float) -> dict[str, tuple[float, float]]:
    """Each DNO's point: its bus's, or, when DNOs share a bus, on a small circle around it (in `order`)."""
    sharing: dict[int, list[str]] = {}
    for name in order:
        sharing.setdefault(dno_buses[name], []).append(name)
    at = {}
    for bus, names in sharing.items():
        r = radius if len(names) > 1 else 0.0
        for k, name in enumerate(names):
            angle = 2 * np.pi * k / len(names)
            at[name] = (points[bus][0] + r * np.cos(angle), points[bus][1] + r * np.sin(angle))
    return at


def _legend() -> tuple[list, list[str]]:
    """Proxies in white and black: grey is a DNO's colour in model.colours."""
    role = {"color": "white", "markeredgecolor": "black", "linestyle": ""}
    handles = [
        Line2D([], [], marker=ROLE_MARKER["sell"], **role),
        Line2D([], [], marker=ROLE_MARKER["buy"], **role),
        Line2D([], [], marker="o", **role),
        (Line2D([], [], color=CONGESTED_EDGE, linewidth=7.5), Line2D([], [], color=LOADING_CMAP(0.75), linewidth=3)),
        Line2D([], [], color="#333333", linewidth=2.5),
        Line2D([], [], marker="s", color="#333333", linestyle=""),
    ]
    labels = [f"DNO in its colour: {_ROLE['sell']}", _ROLE["buy"], "no deviation", "line congested before management",
              "P2P trade, seller → buyer, in the seller's colour (width: MWh)", "substation (slack)"]
    return handles, labels


def _title(when: Hour | None, lines: pd.DataFrame, buses: pd.DataFrame, trades: pd.DataFrame) -> str:
    """Three lines: the hour and its worst line; congestion and voltage; the P2P trades."""
    if when is None:
        return "no hour yet"
    head, loading = f"Day {when[0]}, hour {when[1]}", lines["loading_pct"]
    if loading.notna().any():
        head += f": worst loading {loading.max():.0f} % (line {int(loading.idxmax())})"
    congested = int(lines["congested"].eq(True).sum())
    state = [f"{congested} line{_s(congested)} congested before management"]
    if buses["v_pu"].notna().any():
        low = buses.loc[buses["v_pu"].idxmin()]
        state.append(f"lowest voltage {low['v_pu']:.3f} pu (bus {int(low['bus'])})")
    p2p = trades[trades["kind"] == "p2p"]
    volume = f"P2P {p2p['quantity_mwh'].sum():.3f} MWh in {len(p2p)} trade{_s(len(p2p))}"
    return "\n".join([head, "; ".join(state), volume])


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def network_figure(network, lines: pd.DataFrame, buses: pd.DataFrame, trades: pd.DataFrame,
                   when: Hour | None = None, figsize: tuple[float, float] = (10.0, 6.4)) -> Figure:
    """The feeder of `network` (a scenario's `network:` block) in hour `when` (default: the
    most loaded one), from the run's network, buses and trades tables."""
    when = busiest_hour(lines) if when is None else when
    fig, axes = hp.new_figure(*figsize)
    drawing = FeederDrawing(axes[0, 0], network.feeder, positions(network), network.buses)
    drawing.show(hour_rows(lines, when), hour_rows(buses, when), hour_rows(trades, when), when)
    return fig
