"""report.html: a one-page, byte-deterministic reading of one run (issue 5, item 3).

A pure function of the `RunResult`: the tables, the summary and the finished model (its tariff,
and the gossip and consensus timings of its chain). Figures are seaborn on pyplot-free figures
(see `model.htmlpage`), so the same run gives the same bytes.
"""

from __future__ import annotations

import html
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from agents.main_grid import MainGrid
from model import htmlpage as hp
from model.colours import POSITION_LABEL, SUPPLY_HATCH, dno_colours, validator_label
from model.network_figure import busiest_hour, network_figure
from model.outputs import tidy
from model.report_designs import bargaining_section, coordination_section, vcg_section
from model.shedding import shed_hours, unserved_note

HOURS = 24
_PLANS = ["day-ahead", "intraday"]
_GRID_COLOURS = {"grid: DNO buys (TOU)": "#555555", "grid: DNO sells (feed-in)": "#b0b0b0"}
_MONEY_TERMS = {  # settlement column -> (label, sign it enters R^DN_n with, §A.9)
    "p2p_sales_rmb": ("P2P sales", 1), "p2p_purchases_rmb": ("P2P purchases", -1),
    "grid_sales_rmb": ("grid sales", 1), "grid_purchases_rmb": ("grid purchases", -1),
    "compensation_received_rmb": ("valley compensation", 1), "compensation_funded_rmb": ("compensation funded", -1),
    "service_fee_rmb": ("service fee", -1), "scheduling_fee_rmb": ("scheduling fee", 1),
}
_SETTLEMENT_EXTRA = ["revenue_rmb", "baseline_s0_rmb", "gain_rmb", "p2p_volume_mwh", "grid_volume_mwh", "trade_share"]
# what the deviation figures show, by mechanism.deviation_rule (docs/rules.md §A.3)
_DEVIATION_WORDS = {
    "magnitude": {"rule": "The DAF-IDO quantity Q of the next figure is the change in the size of the action, "
                          "|intraday| − |day-ahead| (docs/rules.md §A.3.2), not the gap between the two lines: a "
                          "reversal of equal size gives none.",
                  "q": "|intraday action| − |day-ahead action|"},
    "signed_gap": {"rule": "The DAF-IDO quantity Q of the next figure is the gap between the two lines, intraday − "
                           "day-ahead (docs/rules.md §A.3.2): the energy the change takes (+) or gives (−).",
                   "q": "intraday action − day-ahead action"},
}
_TITLES = ["Storage action: day-ahead plan vs intraday", "Supply and demand by hour", "Trades by round, with prices",
           "Settlement per DNO", "Network propagation and the chain"]
_CAPTIONS = [
    "Storage action per DNO (MW, + charge / − discharge), each DNO in its colour; valley hours shaded. {rule}",
    "DAF-IDO quantity Q per DNO and hour, MWh, {q}: demand (+, buyer, plain) and supply (−, seller, hatched); valley "
    "hours shaded.",
    "Top: price of every trade (P2P by round; compulsory grid trades) against the TOU purchase tariff and the "
    "feed-in price; the band between them is shaded. Bottom: volume by hour, by kind of trade.",
    "Left: each money term of docs/rules.md §A.9 with the sign it enters revenue. Right: net revenue against the S0 baseline "
    "(all deviations settled with the grid); the gain is written beside the bars.",
    "Left: first-seen delay of every gossiped message at every validator it reached, by kind. Middle: finality of "
    "each transaction (submitted to committed). Right: the validator graph, edge labels one-hop latency in ms; "
    "v0 is the scenario's validator 0 (ledger.crashes, ledger.byzantine).",
]


# Above this many DNOs a panel or a bar per DNO is unreadable (and a 100-DNO report took 70 % of
# its run): the figures show the most active DNOs and the whole market in aggregate, the
# settlement table still lists every DNO.
FOCUS_DNOS = 12
_ALL = "all {n} DNOs"
_OTHERS = "the other {n} DNOs"
_MANY_STORAGE = (" Only the {k} DNOs with the largest deviation (|Q| summed over the run) of the {n} have a panel; "
                 "the first panel, in grey, sums the storage action of all {n}.")
_MANY_DEVIATION = ("DAF-IDO quantity Q summed over the {n} DNOs per hour, MWh, {q}: all demand (+, buyers, plain) and "
                   "all supply (−, sellers, hatched); valley hours shaded. The settlement table below lists every DNO.")
_MANY_SETTLEMENT = (" Bars for the {k} DNOs with the largest gain or loss of the {n}, and one bar summing the other "
                    "{n} minus {k}; the table lists every DNO.")


def write_report(result, path: Path) -> None:
    """Write the run's report.html to `path` (figures embedded, links relative to its folder)."""
    hp.write(render(result), Path(path))


def render(result) -> str:
    """The report as HTML text; needs `result.model` for the tariff and the chain's timings."""
    model = result.model
    if model is None:
        raise ValueError("the report needs the finished model (RunResult.model)")
    frames = {name: tidy(frame) for name, frame in result.tables.items()}
    s = result.summary
    title = f"storagemarket run: {s['scenario']} (seed {s['seed']})"
    tariff, days = model.config.tariff, model.config.days
    words = _DEVIATION_WORDS[model.config.mechanism.deviation_rule]
    hourly, settlement = frames["hourly"], frames["settlement"]
    focus = _most_active(hourly)  # None: few enough DNOs for a panel and a bar each
    with hp.style():
        if focus is None:
            storage = hp.figure(_storage_figure(hourly, tariff), "storage action", _CAPTIONS[0].format(**words))
            deviation = hp.figure(_deviation_figure(hourly, tariff), "supply and demand", _CAPTIONS[1].format(**words))
            money = hp.figure(_settlement_figure(settlement), "settlement", _CAPTIONS[3])
        else:
            n, shown = hourly["dno"].nunique(), len(focus)
            colours = {**dno_colours(hourly["dno"]), _ALL.format(n=n): "#555555"}  # every DNO keeps its colour
            storage = hp.figure(_storage_figure(_with_total(hourly, focus), tariff, colours), "storage action",
                                _CAPTIONS[0].format(**words) + _MANY_STORAGE.format(n=n, k=shown))
            deviation = hp.figure(_deviation_totals_figure(hourly, tariff), "supply and demand",
                                  _MANY_DEVIATION.format(n=n, **words))
            money = hp.figure(_settlement_figure(_largest_gains(settlement), colours), "settlement",
                              _CAPTIONS[3] + _MANY_SETTLEMENT.format(n=n, k=shown))
        sections = [
            hp.section(_TITLES[0], storage),
            hp.section(_TITLES[1], deviation),
            hp.section(_TITLES[2], hp.figure(_trades_figure(frames["trades"], tariff, days), "trades and prices",
                                             _CAPTIONS[2]),
                       _trades_note(frames["trades"])),
            hp.section(_TITLES[3], money, hp.table(settlement[["dno", *_MONEY_TERMS, *_SETTLEMENT_EXTRA]])),
            hp.section(_TITLES[4], hp.figure(_network_figure(model), "network propagation", _CAPTIONS[4]),
                       hp.table(_chain_table(s["chain"]))),
        ]
        if model.config.network is not None:  # only then: a run without a network keeps its page byte for byte
            sections.append(_feeder_section(model.config.network, frames, s.get("network", {})))
        if "coordination" in frames and len(frames["coordination"]):  # a decomposition's iterations
            sections.append(coordination_section(frames["coordination"], s["decomposition"]))
        if "bargaining" in frames and len(frames["bargaining"]):  # the cooperative design's ADMM and split
            sections.append(bargaining_section(frames["admm"], frames["bargaining"], s["bargaining"]))
        if "vcg" in frames and len(frames["vcg"]):
            sections.append(vcg_section(frames["vcg"]))
    return hp.page(title, _header(result), sections)


# --- header ---------------------------------------------------------------------------------------


def _header(result) -> str:
    s, scenario = result.summary, result.model.config
    platform = s.get("platform", {})
    facts = [
        ("scenario", s["scenario"]), ("seed", s["seed"]), ("days", s["days"]),
        ("matching", s["matching"]), ("intraday mode", s["intraday_mode"]), ("consensus", s["consensus"]),
        ("solver", s["solver"]),
    ]
    if s["design"]["real_time"]["stage"] != "concession_auction":  # the paper's pages say nothing new
        facts.insert(3, ("real-time market", s["design"]["real_time"]["stage"]))
    meta = " · ".join(f"{k}: <b>{html.escape(str(v))}</b>" for k, v in facts)
    headline = pd.DataFrame([
        ("social welfare (RMB)", s["social_welfare_rmb"]),
        ("P2P volume (MWh)", s["p2p_volume_mwh"]),
        ("grid volume (MWh)", s["grid_volume_mwh"]),
        ("deviation, all DNOs (MWh)", s["deviation_mwh"]),
        ("trade share", s["trade_share"]),
        ("hours with supply or demand", s["active_hours"]),
        ("hours with a single active DNO", s["single_dno_hours"]),
        ("hours with a P2P trade", s["traded_hours"]),
        *((f"platform {k.removesuffix('_rmb').replace('_', ' ')} (RMB)", v) for k, v in sorted(platform.items())),
        ("main grid net (RMB)", s["main_grid_net_rmb"]),
    ], columns=["measure", "value"])
    if s.get("unserved_mwh", 0) > 0:  # only then, so a run that serves all load keeps its page
        headline.loc[len(headline)] = ("unserved energy: load shed (MWh)", s["unserved_mwh"])
    if "negotiation" in s:  # a stage that negotiates bids off chain (docs/bidding.md)
        n = s["negotiation"]
        headline.loc[len(headline)] = ("negotiated hours: converged / cycling / not converged",
                                       f"{n['converged']} / {n['cycling']} / {n['not_converged']}")
    for key, label in (("shortfall_mwh", "P2P sales not delivered, replaced by the grid (MWh)"),
                       ("penalties_rmb", "delivery penalties to the market operator (RMB)"),
                       ("paid_to_grid_rmb", "paid to the grid for metered against cleared (RMB)")):
        if "delivery" in s:  # forecast errors settled after delivery
            headline.loc[len(headline)] = (label, s["delivery"][key])
    headline["value"] = headline["value"].map(_fmt)
    description = scenario.description.strip().splitlines()[0] if scenario.description.strip() else ""
    ledger = ('<p>Ledger of this run: <a href="ledger.sqlite">ledger.sqlite</a> '
              "(check it with <code>storagemarket ledger verify ledger.sqlite</code>).</p>")
    notes = [*s.get("warnings", []), *filter(None, [unserved_note(result.tables["hourly"])])]
    warnings = "".join(f'<p class="warning"><b>Warning:</b> {html.escape(w)}</p>' for w in notes)
    return "\n".join([f'<p class="meta">{meta}</p>', warnings, hp.paragraph(description) if description else "",
                      hp.table(headline), ledger])


# --- figures --------------------------------------------------------------------------------------


def _time(frame: pd.DataFrame) -> pd.Series:
    """Hours counted from the start of the run (1..24 on day 1, 25..48 on day 2, ...)."""
    return (frame["day"] - 1) * HOURS + frame["hour"]


def _shade_valleys(ax, tariff, n_hours: int, offset: float = 0.0) -> None:
    for t in range(1, n_hours + 1):
        if tariff.is_valley((t - 1) % HOURS + 1):
            ax.axvspan(t - 0.5 + offset, t + 0.5 + offset, color="#dbe9f6", zorder=0, lw=0)


def _most_active(hourly: pd.DataFrame) -> list[str] | None:
    """The FOCUS_DNOS DNOs with the largest deviation (|Q| summed over the run, ties by the order
    of the table), in table order, or None when there are no more DNOs than that."""
    deviation = (hourly["demand_mwh"] + hourly["supply_mwh"]).groupby(hourly["dno"], sort=False).sum()
    if len(deviation) <= FOCUS_DNOS:
        return None
    largest = set(sorted(deviation.index, key=lambda dno: -deviation[dno])[:FOCUS_DNOS])  # stable: ties by table order
    return [dno for dno in deviation.index if dno in largest]


def _with_total(hourly: pd.DataFrame, focus: list[str]) -> pd.DataFrame:
    """The focus DNOs' rows, after one row per hour summing every DNO (named "all N DNOs")."""
    columns = ["day_ahead_action_mw", "intraday_action_mw", "unserved_mw"]
    total = hourly.groupby(["day", "hour"], sort=True)[columns].sum().reset_index()
    total.insert(2, "dno", _ALL.format(n=hourly["dno"].nunique()))
    return pd.concat([total, hourly[hourly["dno"].isin(focus)][["day", "hour", "dno", *columns]]], ignore_index=True)


def _largest_gains(settlement: pd.DataFrame) -> pd.DataFrame:
    """The FOCUS_DNOS rows with the largest |gain| in table order, then one row summing the rest."""
    ranked = settlement.assign(_size=settlement["gain_rmb"].abs()).sort_values("_size", ascending=False, kind="stable")
    keep = settlement.loc[sorted(ranked.index[:FOCUS_DNOS])]
    rest = settlement.drop(index=keep.index)
    money = [*_MONEY_TERMS, "revenue_rmb", "baseline_s0_rmb", "gain_rmb"]
    other = pd.DataFrame([{"dno": _OTHERS.format(n=len(rest)), **rest[money].sum().to_dict()}])
    return pd.concat([keep[["dno", *money]], other], ignore_index=True)


def _deviation_totals_figure(hourly: pd.DataFrame, tariff):
    """All DNOs' demand (+) and supply (−) per hour, summed: the market's two sides over the run."""
    data = hourly.assign(t=_time(hourly)).groupby("t")[["demand_mwh", "supply_mwh"]].sum()
    fig, axes = hp.new_figure(10, 3.4)
    ax = axes[0, 0]
    _shade_valleys(ax, tariff, int(data.index.max()))
    ax.bar(data.index, data["demand_mwh"], width=0.8, color="#4c72b0", label="demand (+)")
    ax.bar(data.index, -data["supply_mwh"], width=0.8, color="#dd8452", hatch=SUPPLY_HATCH, edgecolor="white",
           label="supply (−)")
    ax.axhline(0, color="#444", lw=0.8)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.set(xlabel="hour (valley shaded)", ylabel=POSITION_LABEL, xlim=(0.5, data.index.max() + 0.5))
    _mark_shed(ax, hourly)
    return fig


def _storage_figure(hourly: pd.DataFrame, tariff, colours: dict[str, str] | None = None):
    dnos = list(dict.fromkeys(hourly["dno"]))
    ncols = 2 if len(dnos) <= 4 else 4
    nrows = -(-len(dnos) // ncols)
    fig, axes = hp.new_figure(10, 2.2 * nrows + 0.4, nrows, ncols, sharex=True)
    long = hourly.assign(t=_time(hourly)).melt(
        id_vars=["t", "dno"], value_vars=["day_ahead_action_mw", "intraday_action_mw"], var_name="plan", value_name="mw")
    long["plan"] = long["plan"].map({"day_ahead_action_mw": "day-ahead", "intraday_action_mw": "intraday"})
    colours = colours or dno_colours(dnos)
    for ax, dno in zip(axes.flat, dnos):
        _shade_valleys(ax, tariff, int(long["t"].max()))
        sns.lineplot(data=long[long.dno == dno], x="t", y="mw", hue="plan", hue_order=_PLANS, style="plan",
                     style_order=_PLANS, dashes={"day-ahead": (4, 2), "intraday": ""}, drawstyle="steps-mid",
                     palette={plan: colours[dno] for plan in _PLANS}, ax=ax, legend=False)
        ax.axhline(0, color="#888", lw=0.6)
        ax.set(xlabel="hour", ylabel="storage action (MW)")
        ax.set_title(dno, color=colours[dno], fontweight="bold")
    axes.flat[0].legend(handles=[Line2D([], [], color="#555555", dashes=(4, 2), label="day-ahead"),
                                 Line2D([], [], color="#555555", label="intraday")], title="plan")
    for ax, dno in zip(axes.flat, dnos):
        _mark_shed(ax, hourly[hourly.dno == dno])
    for ax in list(axes.flat)[len(dnos):]:
        ax.set_visible(False)
    return fig


def _deviation_figure(hourly: pd.DataFrame, tariff):
    data = hourly.assign(t=_time(hourly), q_mwh=hourly["demand_mwh"] - hourly["supply_mwh"])
    fig, axes = hp.new_figure(10, 3.4)
    ax = axes[0, 0]
    n_hours = int(data["t"].max())
    _shade_valleys(ax, tariff, n_hours, offset=-1.0)  # categorical axis: hour t sits at position t-1
    colours = dno_colours(data["dno"])
    sns.barplot(data=data, x="t", y="q_mwh", hue="dno", hue_order=list(colours), palette=colours, saturation=1,
                errorbar=None, ax=ax, order=range(1, n_hours + 1))
    for bar in (bar for bars in ax.containers for bar in bars):  # the role by hatch, not colour: supply hatched
        if bar.get_height() < 0:
            bar.set_hatch(SUPPLY_HATCH)
            bar.set_edgecolor("white")
    ax.legend(handles=[*ax.get_legend_handles_labels()[0], Patch(facecolor="#bbbbbb", label="demand (+)"),
                       Patch(facecolor="#bbbbbb", hatch=SUPPLY_HATCH, edgecolor="white", label="supply (−)")],
              loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.axhline(0, color="#444", lw=0.8)
    ax.set(xlabel="hour (valley shaded)", ylabel=POSITION_LABEL)
    _mark_shed(ax, hourly, offset=-1.0)
    ax.tick_params(axis="x", labelsize=7)
    if n_hours > HOURS:  # several days: label every sixth hour
        ax.set_xticks([t - 1 for t in range(6, n_hours + 1, 6)], labels=[str(t) for t in range(6, n_hours + 1, 6)])
    return fig


def _mark_shed(ax, hourly: pd.DataFrame, offset: float = 0.0) -> None:
    """Red triangles along the top of `ax` at the hours in which load was shed (nothing if none)."""
    shed = shed_hours(hourly)
    if shed.empty:
        return
    t = np.array(sorted(set(_time(shed)))) + offset
    top = ax.get_xaxis_transform()  # x in hours, y as a fraction of the axes' height
    ax.scatter(t, np.full(len(t), 0.97), transform=top, marker="v", s=36, color="#d62728", zorder=5, clip_on=False)
    ax.annotate("load shed", (t[-1], 0.97), xycoords=top, xytext=(7, 0), textcoords="offset points",
                va="center", fontsize=7, color="#d62728")  # labelled in place: the figure's legend stays its own


def _trade_label(row) -> str:
    if row["kind"] == "p2p":
        return f"P2P round {int(row['round'])}"
    return "grid: DNO sells (feed-in)" if row["buyer"] == MainGrid.name else "grid: DNO buys (TOU)"


def _trades_figure(trades: pd.DataFrame, tariff, days: int):
    fig, axes = hp.new_figure(10, 6.0, 2, 1, sharex=True)
    top, bottom = axes[:, 0]
    t = np.arange(1, days * HOURS + 1)
    buy = np.tile(tariff.buy_per_mwh(), days)
    sell = np.tile(tariff.sell_per_mwh(), days)
    top.fill_between(t, np.minimum(buy, sell), np.maximum(buy, sell), step="mid", color="#eeeeee", label="tariff band")
    top.step(t, buy, where="mid", color="black", lw=1, label="TOU purchase price")
    top.step(t, sell, where="mid", color="black", lw=1, ls="--", label="feed-in price")
    if len(trades):
        data = trades.assign(t=_time(trades), trade=trades.apply(_trade_label, axis=1))
        order = sorted(data["trade"].unique())
        rounds = [label for label in order if label not in _GRID_COLOURS]
        palette = {**dict(zip(rounds, sns.color_palette("tab10", len(rounds)))), **_GRID_COLOURS}
        sns.scatterplot(data=data, x="t", y="price_per_mwh", hue="trade", hue_order=order, palette=palette,
                        size="quantity_mwh", sizes=(15, 160), ax=top, zorder=3)
        sns.histplot(data=data, x="t", weights="quantity_mwh", hue="trade", hue_order=order, palette=palette,
                     multiple="stack", discrete=True, ax=bottom, legend=False)
    top.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    top.set(ylabel="price (RMB/MWh)")
    bottom.set(xlabel="hour", ylabel="traded volume (MWh)")
    bottom.set_xlim(0.5, days * HOURS + 0.5)
    return fig


def _trades_note(trades: pd.DataFrame) -> str:
    p2p = trades[trades["kind"] == "p2p"]
    if p2p.empty:
        return hp.paragraph("No P2P trade cleared in this run: every deviation was settled with the grid.", "note")
    rounds = p2p.groupby("round")["quantity_mwh"].agg(["count", "sum"])
    parts = [f"round {int(r)}: {int(row['count'])} trades, {row['sum']:.3f} MWh" for r, row in rounds.iterrows()]
    return hp.paragraph("P2P trades by round: " + "; ".join(parts) + ".")


def _settlement_figure(settlement: pd.DataFrame, colours: dict[str, str] | None = None):
    fig, axes = hp.new_figure(10, 3.2 + 0.25 * len(settlement), 1, 2)
    terms = settlement.melt(id_vars="dno", value_vars=list(_MONEY_TERMS), var_name="term", value_name="rmb")
    terms["rmb"] = terms["rmb"] * terms["term"].map({k: v[1] for k, v in _MONEY_TERMS.items()})
    terms["term"] = terms["term"].map({k: v[0] for k, v in _MONEY_TERMS.items()})
    sns.barplot(data=terms, y="dno", x="rmb", hue="term", errorbar=None, ax=axes[0, 0], orient="h")
    colours = colours or dno_colours(settlement["dno"])
    _colour_ticks(axes[0, 0].get_yticklabels(), colours)  # the DNO names in their colours, as in every figure
    axes[0, 0].axvline(0, color="#444", lw=0.8)
    axes[0, 0].set(xlabel="RMB (signed as it enters revenue)", ylabel="")
    sns.move_legend(axes[0, 0], "upper center", bbox_to_anchor=(0.5, -0.15), ncol=4, title=None, frameon=False)
    versus = settlement.melt(id_vars="dno", value_vars=["baseline_s0_rmb", "revenue_rmb"], var_name="case", value_name="rmb")
    versus["case"] = versus["case"].map({"baseline_s0_rmb": "S0 baseline", "revenue_rmb": "with the mechanism"})
    ax = axes[0, 1]
    sns.barplot(data=versus, y="dno", x="rmb", hue="case", errorbar=None, ax=ax, orient="h")
    _colour_ticks(ax.get_yticklabels(), colours)
    for i, row in enumerate(settlement.itertuples()):
        ax.annotate(f"gain {row.gain_rmb:+,.0f}", (max(row.revenue_rmb, row.baseline_s0_rmb, 0), i),
                    xytext=(4, 0), textcoords="offset points", va="center", fontsize=7)
    ax.axvline(0, color="#444", lw=0.8)
    ax.set(xlabel="net revenue (RMB)", ylabel="")
    sns.move_legend(ax, "upper center", bbox_to_anchor=(0.5, -0.15), ncol=2, title=None, frameon=False)
    return fig


def _network_figure(model):
    cluster = model.ledger.cluster
    fig, axes = hp.new_figure(10, 3.2, 1, 3)
    delays = pd.DataFrame([(kind, d) for kind, values in sorted(cluster.gossip.delays_ms.items()) for d in values],
                          columns=["message", "delay_ms"])
    if len(delays):
        sns.histplot(data=delays, x="delay_ms", hue="message", element="step", stat="density", common_norm=False,
                     bins=30, ax=axes[0, 0])
    axes[0, 0].set(title="gossip propagation", xlabel="first-seen delay (ms)")
    finality = [cluster.tx_final[tx] - cluster.tx_submitted[tx] for tx in sorted(cluster.tx_final)
                if tx in cluster.tx_submitted]
    if finality:
        sns.ecdfplot(x=np.round(finality, 6), ax=axes[0, 1])
    axes[0, 1].set(title="transaction finality", xlabel="submitted to committed (ms)", ylabel="share of transactions")
    graph = cluster.network.graph
    pos = nx.circular_layout(sorted(graph.nodes))
    ax = axes[0, 2]
    nx.draw_networkx(graph, pos, ax=ax, node_color="#4c72b0", font_color="white", node_size=300, font_size=8,
                     labels={n: validator_label(n) for n in graph.nodes})
    nx.draw_networkx_edge_labels(graph, pos, ax=ax, font_size=6,
                                 edge_labels={(u, v): f"{d['latency_ms']:.0f}" for u, v, d in sorted(graph.edges(data=True))})
    ax.set(title=f"validators ({cluster.engine})")
    ax.axis("off")
    return fig


_FEEDER_TITLE = "Distribution network: line loading, congestion and trades"
_FEEDER_MEASURES = [  # summary.json's `network` key -> its row in the table
    ("uos_collected_rmb", "use-of-system charges collected (RMB)"),
    ("congested_line_hours_before", "congested line-hours, linear check, before management"),
    ("congested_line_hours_after", "congested line-hours, linear check, after management"),
    ("curtailed_mwh", "P2P volume cut by congestion management (MWh)"),
    ("worst_loading_pct", "worst line loading, AC (% of limit)"),
    ("ac_overloaded_line_hours", "line-hours over their limit, AC"),
    ("losses_mwh", "line losses, AC (MWh)"),
]


def _feeder_section(network, frames: dict[str, pd.DataFrame], measures: dict) -> str:
    """The feeder in the run's most loaded hour and the network measures of summary.json."""
    when = busiest_hour(frames["network"])
    fig = network_figure(network, frames["network"], frames["buses"], frames["trades"], when)
    caption = (f"The feeder ({network.source}, congestion management: {network.congestion}) in the hour whose most "
               f"loaded line is the run's most loaded, day {when[0]} hour {when[1]}: each line coloured by its AC loading "
               "(blue within its limit, red beyond), outlined in black where the linear check of the trades found it "
               "over its limit before management; each DNO at its bus in its colour, ▼ supplying and ▲ demanding in "
               "the hour; the hour's P2P trades as arcs from seller to buyer, width by quantity. The AC power flow "
               "carries every deviation, also those settled with the grid; the linear check sees the trades.")
    rows = [(label, _fmt(measures.get(key))) for key, label in _FEEDER_MEASURES]
    low, high = measures.get("min_v_pu"), measures.get("max_v_pu")
    rows.append(("voltage range, AC (pu)", "–" if low is None or high is None else f"{low:.3f} – {high:.3f}"))
    table = pd.DataFrame(rows, columns=["network measure", "value"])
    return hp.section(_FEEDER_TITLE, hp.figure(fig, "the distribution feeder", caption), hp.table(table))


def _colour_ticks(labels, colours: dict[str, str]) -> None:
    for label in labels:
        if label.get_text() in colours:
            label.set_color(colours[label.get_text()])
            label.set_fontweight("bold")


def _chain_table(chain: dict) -> pd.DataFrame:
    return pd.DataFrame([(k, _fmt(v)) for k, v in sorted(chain.items())], columns=["chain metric", "value"])


def _fmt(value) -> str:
    """Counts as integers, money and volumes to three decimals, missing values as a dash."""
    if value is None:
        return "–"
    if isinstance(value, str):  # e.g. the tip's hash
        return value
    if isinstance(value, (int, np.integer)) or (isinstance(value, float) and value.is_integer() and abs(value) < 1e12):
        return f"{int(value):,}"
    return f"{float(value):,.3f}"
