"""Seaborn figures of a sweep or a comparison, each returned as a base64 PNG for the HTML report.

Figures are matplotlib `Figure` objects made without pyplot, so no global backend or state is
touched (the analysis can run inside a notebook or a server). Every interval follows the rule of
batch_runs.stats (t, cut to the feasible range): its n is written beside it (once in the title
when every interval has the same n) and an end cut to the range carries a triangle. DNOs have
their colours of model.colours; titles and labels are wrapped to the figure, so nothing is cut.
"""

from __future__ import annotations

import base64
import re
import warnings

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib import MatplotlibDeprecationWarning
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from batch_runs.stats import Interval, dno_long, effect, interval, levels
from model.colours import dno_colours
from model.htmlpage import new_figure, png_bytes

MAX_HUE_LEVELS = 6
CUT_MARK = {"low": "v", "high": "^"}  # a triangle at an interval's end cut to the feasible range
CUT_NOTE = "▼▲ end cut at the feasible range"


def png(fig: Figure) -> str:
    """The figure as base64 PNG without software metadata, so the page's bytes depend on the data."""
    return base64.b64encode(png_bytes(fig)).decode()


def wrap(text: str, width_in: float, fontsize: float = 10.0) -> str:
    """`text` broken after '.', '_' or ' ' into lines that fit `width_in` inches at `fontsize` pt
    (DejaVu Sans averages about 0.6 em a character)."""
    chars = max(10, int(width_in * 72 / (0.62 * fontsize)))
    lines, line = [], ""
    for token in re.findall(r"[^._ ]+[._ ]?|[._ ]", text):
        if line and len(line) + len(token.rstrip()) > chars:
            lines.append(line.rstrip())
            line = ""
        line += token
    return "\n".join(lines + [line.rstrip()])


def draw_intervals(ax, x, cis: list[Interval], colour, label_n: bool = True, **marker) -> None:
    """Means (points) with their 95 % intervals at positions `x`; `label_n` writes n beside each,
    and an end cut to the feasible range gets CUT_MARK instead of a cap."""
    for pos, ci in zip(x, cis):
        if not np.isnan(ci.low):
            ax.plot([pos, pos], [ci.low, ci.high], color=colour, lw=1.3, solid_capstyle="butt")
            for end, value in (("low", ci.low), ("high", ci.high)):
                cut = end in ci.cut
                ax.plot(pos, value, marker=CUT_MARK[end] if cut else "_", color=colour, ms=6 if cut else 8, mew=1.3)
        ax.plot(pos, ci.mean, color=colour, **{"marker": "o", "ms": 5, **marker})
        if label_n and not np.isnan(ci.mean):
            top = ci.mean if np.isnan(ci.high) else ci.high
            ax.annotate(f"n={ci.n}", (pos, top), xytext=(3, 1), textcoords="offset points", fontsize=7, color="#444")


def n_title(cis: list[Interval]) -> tuple[str, bool]:
    """What a title says of n, and whether each interval must be labelled: one n for all is
    named once; different n are written beside each interval."""
    ns = {ci.n for ci in cis}
    if len(ns) == 1:
        n = ns.pop()
        return f"n = {n} each" + ("; fewer than 2: no interval" if n < 2 else ""), False
    return "n beside each", True


def cut_note(cis: list[Interval]) -> str:
    return f"; {CUT_NOTE}" if any(ci.cut for ci in cis) else ""


def heatmap(df: pd.DataFrame, x: str, y: str, measure: str) -> Figure:
    """Mean of the measure over two parameters, averaged over seeds and every other parameter."""
    ok = df[df.status == "ok"].assign(**{x: lambda d: levels(d[x]), y: lambda d: levels(d[y])})
    table = ok.pivot_table(index=y, columns=x, values=measure, aggfunc="mean").sort_index(ascending=False)
    width, height = 2.5 + 1.0 * max(3, table.shape[1]), 1.5 + 0.6 * max(3, table.shape[0])
    fig = Figure(figsize=(width, height), layout="constrained")
    ax = fig.subplots()
    fmt = ".0f" if table.abs().max().max() >= 100 else ".3g"  # 4220, not 4.22e+03
    sns.heatmap(table, annot=True, fmt=fmt, cmap="viridis", ax=ax, cbar_kws={"label": wrap(measure, height - 0.4)})
    ax.set_xlabel(wrap(x, width - 1.5))
    ax.set_ylabel(wrap(y, height - 0.8))
    fig.suptitle(wrap(f"{measure}: mean over seeds and other parameters", width - 0.2, 11))
    return fig


def effects(df: pd.DataFrame, parameters: list[str], measure: str) -> Figure:
    """One panel per parameter: the measure's mean at each level with its 95 % interval across seeds."""
    width = 3.6 * len(parameters)
    fig = Figure(figsize=(width, 3.4), layout="constrained")
    axes = fig.subplots(1, len(parameters), squeeze=False)[0]
    every = []
    for ax, parameter in zip(axes, parameters):
        table = effect(df, parameter, measure)
        cis = [Interval(r.mean, r.ci95_low, r.ci95_high, r.seeds, r.ci95_cut) for r in table.itertuples()]
        every += cis
        x = np.arange(len(table))
        ax.plot(x, table["mean"], color="#0173b2", lw=1.2)
        draw_intervals(ax, x, cis, "#0173b2", label_n=len({ci.n for ci in cis}) > 1)
        ax.set_xticks(x, [f"{v:g}" if isinstance(v, (int, float, np.number)) else str(v) for v in table[parameter]])
        ax.set_xlim(-0.5, len(table) - 0.5)
        ax.set_xlabel(wrap(parameter, 2.6))
        ax.tick_params(axis="x", labelrotation=30)
    axes[0].set_ylabel(wrap(measure, 2.6))
    said, _ = n_title(every)
    fig.suptitle(wrap(f"effect on {measure}", width - 0.2, 11))
    detail = f"mean and 95 % t interval across seeds; {said}{cut_note(every)}"
    axes[len(axes) // 2].set_title(wrap(detail, 2.6, 8), fontsize=8)  # over one panel: about 2.6 in
    return fig


def dno_distributions(df: pd.DataFrame, group: str, columns: list[str], hue: str | None) -> Figure:
    """Box plots of a per-DNO measure over all runs, each DNO in its colour; split by one parameter
    (shades of grey, light to dark) when it has few levels."""
    long = dno_long(df, group, columns)
    use_hue = hue is not None and long[hue].nunique() <= MAX_HUE_LEVELS
    colours = dno_colours(long["dno"])
    dnos = list(colours)
    width = max(5.0, 1.1 * len(dnos) * (2 if use_hue else 1))
    fig = Figure(figsize=(width, 3.6), layout="constrained")
    ax = fig.subplots()
    with warnings.catch_warnings():  # seaborn 0.13 passes matplotlib 3.11's deprecated `vert`
        warnings.simplefilter("ignore", MatplotlibDeprecationWarning)
        if use_hue:
            long[hue] = long[hue].astype(str)  # categorical levels, not a numeric ramp
            shades = sns.color_palette("Greys", long[hue].nunique() + 1)[1:]
            sns.boxplot(data=long, x="dno", y=group, order=dnos, hue=hue, palette=shades, ax=ax, fliersize=2)
            sns.move_legend(ax, "upper left", bbox_to_anchor=(1.01, 1.0), title=wrap(hue, 1.6, 8), frameon=False)
        else:
            sns.boxplot(data=long, x="dno", y=group, order=dnos, hue="dno", hue_order=dnos, palette=colours,
                        saturation=1, legend=False, ax=ax, fliersize=2)
    for label in ax.get_xticklabels():  # the DNO names in their colours, as in every figure
        label.set_color(colours.get(label.get_text(), "black"))
        label.set_fontweight("bold")
    ax.set_xlabel("")
    ax.set_ylabel(wrap(group, 2.8))
    fig.suptitle(wrap(f"{group} per DNO over all runs", width - 0.3, 11))
    return fig


def sobol_bars(indices: pd.DataFrame) -> Figure:
    """First- and total-order indices with their 95 % intervals."""
    long = pd.concat(
        [
            indices.assign(order="first (S1)", index=indices.S1, conf=indices.S1_conf95),
            indices.assign(order="total (ST)", index=indices.ST, conf=indices.ST_conf95),
        ]
    )
    fig = Figure(figsize=(1.6 + 1.4 * len(indices), 3.2), layout="constrained")
    ax = fig.subplots()
    sns.barplot(data=long, x="parameter", y="index", hue="order", ax=ax, errorbar=None)
    for bar, (_, row) in zip(ax.patches, long.iterrows()):
        ax.errorbar(bar.get_x() + bar.get_width() / 2, row["index"], yerr=row["conf"], color="black", capsize=3)
    fig.suptitle(wrap(f"Sobol indices of {indices.measure.iloc[0]}", 1.4 + 1.4 * len(indices), 11))
    ax.set_xticks(ax.get_xticks(), [wrap(t.get_text(), 1.4, 9) for t in ax.get_xticklabels()])
    ax.tick_params(axis="x", labelrotation=30)
    return fig


# -- comparisons (batch_runs.compare_report): drawn under model.htmlpage.style() ------------------


def design_colours(designs: list[str]) -> dict[str, tuple]:
    """One colour per design, the same in every figure of a comparison."""
    return dict(zip(designs, sns.color_palette("tab10", len(designs))))


def _design_intervals(df: pd.DataFrame, measure: str, designs: list[str]) -> list[Interval]:
    ok = df[df.status == "ok"]
    return [interval(ok.loc[ok.design_name == name, measure], measure) for name in designs]


def by_dno(df: pd.DataFrame, group: str, columns: list[str], designs: list[str], colours: dict, label: str) -> Figure:
    """A per-DNO measure by design: the mean over days per DNO (bars) with its 95 % interval."""
    long = dno_long(df, group, columns)
    dnos = list(dno_colours(long["dno"]))
    fig, axes = new_figure(max(6.0, 0.35 * len(designs) * len(dnos) + 2.5), 3.6)
    ax, width = axes[0, 0], 0.8 / len(designs)
    groups = []
    for name in designs:
        mine = long[long.design_name == name]
        groups.append([interval(mine.loc[mine.dno == dno, group], group) for dno in dnos])
    every = [ci for cis in groups for ci in cis]
    said, each = n_title(every)
    for k, (name, cis) in enumerate(zip(designs, groups)):
        x = np.arange(len(dnos)) - 0.4 + width * (k + 0.5)
        ax.bar(x, [ci.mean for ci in cis], width, color=colours[name], label=name)
        draw_intervals(ax, x, cis, "#222", label_n=each, ms=0)
    _dno_ticks(ax, dnos)
    ax.axhline(0, color="#444", lw=0.8)
    ax.set(xlabel="", ylabel=label, title=f"mean over days, 95 % t interval; {said}{cut_note(every)}")
    ax.legend(title=None, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def _dno_ticks(ax, dnos: list[str]) -> None:
    """DNO names on the x axis, each in its colour."""
    colours = dno_colours(dnos)
    ax.set_xticks(np.arange(len(dnos)), dnos)
    for tick, dno in zip(ax.get_xticklabels(), dnos):
        tick.set_color(colours[dno])
        tick.set_fontweight("bold")


def by_design(df: pd.DataFrame, panels: list[tuple[str, str]], designs: list[str], colours: dict) -> Figure:
    """One panel per (measure, label): its mean over days by design, with 95 % intervals."""
    fig, axes = new_figure(0.6 + max(3.2, 0.5 * len(designs)) * len(panels), 3.8, 1, len(panels))
    for ax, (measure, label) in zip(axes.flat, panels):
        cis = _design_intervals(df, measure, designs)
        said, each = n_title(cis)
        for k, (name, ci) in enumerate(zip(designs, cis)):
            draw_intervals(ax, [k], [ci], colours[name], label_n=each)
        ax.set_xticks(range(len(designs)), designs)
        ax.set_xlim(-0.5, len(designs) - 0.5)
        ax.set(xlabel="", ylabel=label, title=f"{said}{cut_note(cis)}")
        ax.tick_params(axis="x", labelrotation=30)
    return fig


def against(table: pd.DataFrame, x: tuple[str, str], y: tuple[str, str], designs: list[str], colours: dict) -> Figure:
    """One point per design: mean of y against mean of x over the days, with 95 % intervals
    (`table`: batch_runs.paired.compare's rows; x and y are (measure, label))."""
    rows = table.set_index(["measure", "design_name"])
    fig, axes = new_figure(5.6, 4.0)
    ax = axes[0, 0]
    every = []
    for name in designs:
        cx, cy = (Interval(*rows.loc[(m, name), ["mean", "ci95_low", "ci95_high", "n", "ci95_cut"]]) for m in (x[0], y[0]))
        every += [cx, cy]
        ax.errorbar(cx.mean, cy.mean, xerr=_bar(cx.mean, cx.low, cx.high), yerr=_bar(cy.mean, cy.low, cy.high), fmt="o",
                    color=colours[name], capsize=3, label=f"{name} (n={cy.n})")
    ax.set(xlabel=x[1], ylabel=y[1], title=f"mean over days, 95 % t intervals{cut_note(every)}")
    ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def differences(table: pd.DataFrame, panels: list[tuple[str, str]], others: list[str], reference: str, colours: dict) -> Figure:
    """Per (measure, label): each design minus the reference, day by day, averaged; thick the
    paired-t 95 % interval, thin (below) the bootstrap one; n (pairs) beside each."""
    fig, axes = new_figure(1.2 + 3.2 * len(panels), 1.6 + 0.45 * len(others), 1, len(panels), sharey=True)
    for ax, (measure, label) in zip(axes.flat, panels):
        rows = table[table.measure == measure].set_index("design_name")
        for i, name in enumerate(others):
            row = rows.loc[name]
            ax.plot([row.diff_t_low, row.diff_t_high], [i, i], color=colours[name], lw=4, solid_capstyle="butt")
            ax.plot([row.diff_boot_low, row.diff_boot_high], [i + 0.25] * 2, color=colours[name], lw=1)
            ax.plot(row.diff_mean, i, "o", color="black", ms=4)
            right = row.diff_mean if pd.isna(row.diff_t_high) else row.diff_t_high
            ax.annotate(f"n={row.pairs}", (right, i), xytext=(4, -1), textcoords="offset points", fontsize=7,
                        va="center", color="#444")
        ax.axvline(0, color="#444", lw=0.8)
        ax.margins(x=0.15)
        ax.set(xlabel=wrap(f"{label}: design − {reference}", 3.0, 9), ylim=(len(others) - 0.5, -0.5))
        ax.xaxis.set_major_locator(MaxNLocator(5))
        ax.set_yticks(range(len(others)), others)
    return fig


def _bar(mean: float, low: float, high: float) -> list[list[float]] | None:
    """An asymmetric error bar, or none when the interval is undefined (one day)."""
    return None if pd.isna(low) else [[mean - low], [high - mean]]
