"""Matplotlib panels of the live view, drawn from model.viz.data's tables.

Each panel builds its figure once per model and then only moves its artists' data: making axes,
ticks and legends again at every step cost most of the time a step took to show. Bare `Figure`
objects (Agg, no pyplot state) let each browser tab's thread draw its own.
"""

from __future__ import annotations

import io

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from market.scheduling import HOURS
from model.colours import ROLE_MARKER, SUPPLY_HATCH, dno_colours
from model.network_figure import FeederDrawing, Hour, positions
from model.viz.data import STATUS_COLOURS, NetworkState

WIDTH, HEIGHT, DPI = 6.4, 3.5, 80
FONT = 7
_PROPOSER = "#dd8452"
_TRAFFIC = "#55a868"
_HOURS = np.arange(1, HOURS + 1)


class Panel:
    """A figure drawn once and updated in place; `png()` renders its current state."""

    def __init__(self) -> None:
        self.fig = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI)

    def png(self) -> bytes:
        buffer = io.BytesIO()
        self.fig.savefig(buffer, format="png")
        return buffer.getvalue()


def _title(ax, text: str) -> None:
    ax.set_title(text, fontsize=FONT + 1, y=1.0, pad=3)  # a fixed y skips matplotlib's costly title placement


def _style(ax, xlabel: str = "", ylabel: str = "") -> None:
    ax.tick_params(labelsize=FONT)
    ax.set_xlabel(xlabel, fontsize=FONT)
    ax.set_ylabel(ylabel, fontsize=FONT)


class NetworkPanel(Panel):
    """Validators on a circle; link width and label: messages in the last step; proposer ringed."""

    def __init__(self, state: NetworkState) -> None:
        super().__init__()
        ax = self.ax = self.fig.add_axes((0, 0, 1, 1))
        nodes = self.nodes = sorted(state.graph.nodes)
        angle = {n: np.pi / 2 - 2 * np.pi * k / len(nodes) for k, n in enumerate(nodes)}
        self.pos = {n: (np.cos(a), np.sin(a)) for n, a in angle.items()}
        self.edges = {}
        for u, v in state.graph.edges:
            (x0, y0), (x1, y1) = self.pos[u], self.pos[v]
            line, = ax.plot([x0, x1], [y0, y1], zorder=1)
            label = ax.text((x0 + x1) / 2, (y0 + y1) / 2, "", fontsize=FONT, ha="center", va="center", zorder=2,
                            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none"})
            self.edges[(min(u, v), max(u, v))] = (line, label)
        xy = np.array([self.pos[n] for n in nodes])
        self.dots = ax.scatter(xy[:, 0], xy[:, 1], s=900, zorder=3)
        self.notes = {}
        for n in nodes:
            x, y = self.pos[n]
            ax.text(x, y, state.labels[n], ha="center", va="center", color="white", fontsize=FONT, zorder=4,
                    fontweight="bold")
            self.notes[n] = ax.text(x * 1.38, y * 1.3, "", ha="center", va="center", fontsize=FONT)
        ax.set_xlim(-2.0, 1.7)
        ax.set_ylim(-1.45, 1.45)
        ax.set_aspect("equal")
        ax.axis("off")
        handles = [Line2D([], [], marker="o", linestyle="", color=c, label=s) for s, c in STATUS_COLOURS.items()]
        handles += [Line2D([], [], marker="o", linestyle="", color="white", markeredgecolor=_PROPOSER,
                           markeredgewidth=2.5, label="proposer"),
                    Line2D([], [], color=_TRAFFIC, linewidth=3, label="messages, last hour")]
        ax.legend(handles=handles, loc="lower left", fontsize=FONT, frameon=False)
        self.update(state)

    def update(self, state: NetworkState) -> None:
        busiest = max(state.traffic.values(), default=0)
        for link, (line, label) in self.edges.items():
            sent = state.traffic.get(link, 0)
            line.set_color(_TRAFFIC if sent else "#dddddd")
            line.set_linewidth(1 + 5 * sent / busiest if busiest else 1)
            label.set_text(str(sent) if sent else "")
            label.set_visible(bool(sent))
        self.dots.set_facecolors([STATUS_COLOURS[state.status[n]] for n in self.nodes])
        self.dots.set_edgecolors([_PROPOSER if n in state.proposers else "white" for n in self.nodes])
        self.dots.set_linewidths([4 if n in state.proposers else 1 for n in self.nodes])
        for n, note in self.notes.items():
            words = ("proposer" if n in state.proposers else "", "archive" if n == state.archive else "",
                     "" if state.status[n] == "honest" else state.status[n])
            note.set_text(", ".join(w for w in words if w))


class FeederPanel(Panel):
    """The distribution feeder in the hour just stepped, drawn as the run's report draws it
    (model.network_figure): line loading, congested lines, the DNOs' roles and the P2P trades."""

    _FONTS = {"font.size": FONT, "axes.titlesize": FONT + 1, "legend.fontsize": FONT - 1}

    def __init__(self, network) -> None:
        super().__init__()
        self.fig.set_size_inches(WIDTH, 5.2)
        self.fig.set_layout_engine("constrained")  # the legend and colour bar sit outside the feeder
        with matplotlib.rc_context(self._FONTS):
            self.drawing = FeederDrawing(self.fig.add_subplot(), network.feeder, positions(network), network.buses,
                                         legend_columns=2)
            self.drawing.ax.set_title("\n\n", loc="left")  # room for the hours' three-line titles
            self.fig.draw_without_rendering()
        self.fig.set_layout_engine("none")  # laid out once: the layout took half of each step's drawing

    def update(self, when: Hour | None, lines: pd.DataFrame, buses: pd.DataFrame, trades: pd.DataFrame) -> None:
        with matplotlib.rc_context(self._FONTS):
            self.drawing.show(lines, buses, trades, when)


class StoragePanel(Panel):
    """Day-ahead (dashed) vs intraday (solid) storage action and SOC per DNO, and the hour's net
    position from the DAF-IDO deviation, signed as the storage action: demand +, supply − (hatched)."""

    def __init__(self, dnos: list[str]) -> None:
        super().__init__()
        grid = self.fig.add_gridspec(2, 3, left=0.09, right=0.98, bottom=0.12, top=0.92, wspace=0.45, hspace=0.25)
        self.action, self.soc = self.fig.add_subplot(grid[0, :2]), self.fig.add_subplot(grid[1, :2])
        self.sides = self.fig.add_subplot(grid[:, 2])
        self.dnos = dnos
        colours = dno_colours(dnos)
        empty = np.full(HOURS, np.nan)
        self.lines = {}
        for name in dnos:
            c = colours[name]
            self.lines[name] = (
                self.action.plot(_HOURS, empty, linestyle="--", color=c, linewidth=0.9)[0],
                self.action.plot(_HOURS, empty, color=c, linewidth=1.6)[0],
                self.soc.plot(_HOURS, empty, linestyle="--", color=c, linewidth=0.9)[0],
                self.soc.plot(_HOURS, empty, color=c, linewidth=1.6)[0],
            )
        self.now = [ax.axvline(1, color="#999999", linewidth=0.8) for ax in (self.action, self.soc)]
        for ax, label in ((self.action, "storage MW (+charge)"), (self.soc, "SOC")):
            ax.set_xlim(1, HOURS)
            _style(ax, ylabel=label)
        self.soc.set_ylim(0, 1)
        self.soc.set_xlabel("hour", fontsize=FONT)
        self.action.tick_params(labelbottom=False)
        _title(self.action, "day-ahead (dashed) vs intraday (solid)")
        y = np.arange(len(dnos))
        fill = [colours[name] for name in dnos]  # the role by hatch, never by colour
        self.supply = self.sides.barh(y, np.zeros(len(dnos)), color=fill, hatch=SUPPLY_HATCH, edgecolor="white",
                                      label="supply (−)")
        self.demand = self.sides.barh(y, np.zeros(len(dnos)), color=fill, label="demand (+)")
        self.sides.set_yticks(y, dnos)
        for label in self.sides.get_yticklabels():  # the DNO names double as the lines' colour key
            label.set_color(colours[label.get_text()])
            label.set_fontweight("bold")
        self.sides.invert_yaxis()
        self.sides.axvline(0, color="#333333", linewidth=0.6)
        _style(self.sides, xlabel="supply − | + demand, MWh")
        self.sides.legend(handles=[Patch(facecolor="#999999", hatch=SUPPLY_HATCH, edgecolor="white", label="supply"),
                                   Patch(facecolor="#999999", label="demand")], fontsize=FONT - 1, frameon=False,
                          loc="lower right")
        self.sides_title = self.sides.set_title("", fontsize=FONT + 1, y=1.0, pad=3)

    def update(self, plans: pd.DataFrame, positions: pd.DataFrame, hour: int) -> None:
        for name, rows in plans.groupby("dno", sort=False):
            for line, column in zip(self.lines[name], ("day_ahead_mw", "intraday_mw", "day_ahead_soc", "intraday_soc")):
                line.set_ydata(rows[column].to_numpy())
        for line in self.now:
            line.set_xdata([hour, hour])
        self.action.relim()
        self.action.autoscale_view(scalex=False)
        side = positions.set_index("dno").reindex(self.dnos)[["supply_mwh", "demand_mwh"]].astype(float).fillna(0.0)
        for bar, value in zip(self.supply, side["supply_mwh"]):
            bar.set_width(-value)
        for bar, value in zip(self.demand, side["demand_mwh"]):
            bar.set_width(value)
        reach = max(float(side[["supply_mwh", "demand_mwh"]].to_numpy().max(initial=0.0)), 1.0) * 1.1
        self.sides.set_xlim(-reach, reach)
        self.sides_title.set_text(f"hour {hour}")


class AuctionPanel(Panel):
    """Left: the latest auction's asks (▼) and bids (▲) round by round, each DNO in its colour
    (prices converge by concession), trades starred. Right: P2P and grid volumes per hour of the day."""

    def __init__(self, dnos: list[str]) -> None:
        super().__init__()
        self.colours = dno_colours(dnos)
        self.book, self.volume = self.fig.subplots(1, 2, gridspec_kw={"left": 0.1, "right": 0.98, "bottom": 0.13,
                                                                       "top": 0.92, "wspace": 0.3})
        _style(self.book, "round", "RMB/MWh")
        self.book_title = self.book.set_title("", fontsize=FONT + 1, y=1.0, pad=3)
        self.empty = self.book.text(0.5, 0.5, "no auction yet", ha="center", va="center", transform=self.book.transAxes)
        zeros = np.zeros(HOURS)
        self.p2p = self.volume.bar(_HOURS, zeros, color="#444444", label="P2P")  # greys: colours belong to the DNOs
        self.grid = self.volume.bar(_HOURS, zeros, bottom=zeros, color="#bbbbbb", label="grid")
        self.now = self.volume.axvline(1, color=_PROPOSER, linewidth=0.8)
        self.volume.set_xlim(0.5, HOURS + 0.5)
        _style(self.volume, "hour", "MWh")
        _title(self.volume, "traded: P2P vs grid")
        self.volume.legend(fontsize=FONT - 1, frameon=False, loc="upper left")

    def update(self, key: tuple[int, int] | None, book: pd.DataFrame, trades: pd.DataFrame,
               volumes: pd.DataFrame, hour: int) -> None:
        ax = self.book
        for artist in [*ax.lines, *ax.collections]:
            artist.remove()
        if ax.get_legend():
            ax.get_legend().remove()
        self.empty.set_visible(key is None)
        if key is not None:
            for (bidder, side), rows in book.groupby(["bidder", "side"], sort=True):
                ax.plot(rows["round"], rows["price_per_mwh"], marker=ROLE_MARKER[side],
                        color=self.colours.get(bidder, "#333333"), linestyle="-" if side == "sell" else ":",
                        label=f"{bidder} {'ask' if side == 'sell' else 'bid'}")
            if len(trades):
                ax.scatter(trades["round"], trades["price_per_mwh"], marker="*", s=120, color="black", zorder=5,
                           label="trade")
            rounds = sorted(book["round"].unique())
            ax.set_xticks(rounds)
            ax.set_xlim(rounds[0] - 0.3, rounds[-1] + 0.3)
            ax.relim()
            ax.autoscale_view(scalex=False)
            ax.legend(fontsize=FONT - 1, frameon=False)
            self.book_title.set_text(f"order book, day {key[0] + 1} hour {key[1]}")
        for p2p, grid, (mwh_p2p, mwh_grid) in zip(self.p2p, self.grid, volumes[["p2p", "grid"]].to_numpy()):
            p2p.set_height(mwh_p2p)
            grid.set_y(mwh_p2p)
            grid.set_height(mwh_grid)
        self.volume.set_ylim(0, max(float((volumes["p2p"] + volumes["grid"]).max()), 1.0) * 1.1)
        self.now.set_xdata([hour, hour])


class MoneyPanel(Panel):
    """Left: cumulative welfare and the platform's fees, compensation and net (closed days).
    Right: each DNO's revenue settled on chain (solid, in its colour) and its gain over trading
    only with the grid (light)."""

    SERIES = (("welfare_rmb", "welfare"), ("fees_rmb", "platform fees"), ("compensation_rmb", "valley compensation"),
              ("platform_net_rmb", "platform net (closed days)"))
    LOOKS = (("#222222", "-"), ("#666666", "--"), ("#666666", ":"), ("#999999", "-."))

    def __init__(self, dnos: list[str]) -> None:
        super().__init__()
        self.cumulative, self.dno = self.fig.subplots(1, 2, gridspec_kw={"left": 0.1, "right": 0.98, "bottom": 0.13,
                                                                          "top": 0.92, "wspace": 0.3})
        # black and greys by line style: colours belong to the DNOs
        self.lines = [self.cumulative.plot([], [], label=label, linewidth=1.4, color=colour, linestyle=style)[0]
                      for (_, label), (colour, style) in zip(self.SERIES, self.LOOKS)]
        _style(self.cumulative, "hour of the run", "RMB")
        _title(self.cumulative, "cumulative")
        self.cumulative.legend(fontsize=FONT - 1, frameon=False, loc="upper left")
        x = np.arange(len(dnos))
        fill = [dno_colours(dnos)[name] for name in dnos]
        self.revenue = self.dno.bar(x - 0.2, np.zeros(len(dnos)), width=0.4, color=fill)
        self.gain = self.dno.bar(x + 0.2, np.zeros(len(dnos)), width=0.4, color=fill, alpha=0.4, edgecolor=fill)
        self.dno.axhline(0, color="#333333", linewidth=0.6)
        self.dno.set_xticks(x, dnos)
        _style(self.dno)
        _title(self.dno, "settlement per DNO, RMB")
        self.dno.legend(handles=[Patch(facecolor="#777777", label="revenue"),
                                 Patch(facecolor="#777777", alpha=0.4, label="gain vs grid only")],
                        fontsize=FONT - 1, frameon=False)
        self.dnos = dnos

    def update(self, money: pd.DataFrame, settlement: pd.DataFrame) -> None:
        for line, (column, _) in zip(self.lines, self.SERIES):
            line.set_data(money["step"], money[column])
        self.cumulative.set_xlim(0, max(len(money), 1) + 0.5)
        values = money[[c for c, _ in self.SERIES]].to_numpy()
        low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 1.0)
        pad = max(high - low, 1.0) * 0.08
        self.cumulative.set_ylim(min(low, 0.0) - pad, high + pad)
        rows = settlement.set_index("dno").reindex(self.dnos).fillna(0.0)
        for bar, value in zip(self.revenue, rows["revenue_rmb"]):
            bar.set_height(value)
        for bar, value in zip(self.gain, rows["gain_rmb"]):
            bar.set_height(value)
        self.dno.relim()
        self.dno.autoscale_view(scalex=False)
