"""Seaborn figures of a sweep or a comparison, each returned as a base64 PNG for the HTML report.

Figures are matplotlib `Figure` objects made without pyplot, so no global backend or state is
touched (the analysis can run inside a notebook or a server).
"""

from __future__ import annotations

import base64
import warnings

import pandas as pd
import seaborn as sns
from matplotlib import MatplotlibDeprecationWarning
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from batch_runs.stats import ci95, dno_long, levels, per_seed_means
from model.htmlpage import new_figure, png_bytes

MAX_HUE_LEVELS = 6


def png(fig: Figure) -> str:
    """The figure as base64 PNG without software metadata, so the page's bytes depend on the data."""
    return base64.b64encode(png_bytes(fig)).decode()


def heatmap(df: pd.DataFrame, x: str, y: str, measure: str) -> Figure:
    """Mean of the measure over two parameters, averaged over seeds and every other parameter."""
    ok = df[df.status == "ok"].assign(**{x: lambda d: levels(d[x]), y: lambda d: levels(d[y])})
    table = ok.pivot_table(index=y, columns=x, values=measure, aggfunc="mean").sort_index(ascending=False)
    fig = Figure(figsize=(2.5 + 1.0 * max(3, table.shape[1]), 1.5 + 0.6 * max(3, table.shape[0])), layout="constrained")
    ax = fig.subplots()
    fmt = ".0f" if table.abs().max().max() >= 100 else ".3g"  # 4220, not 4.22e+03
    sns.heatmap(table, annot=True, fmt=fmt, cmap="viridis", ax=ax, cbar_kws={"label": measure})
    ax.set_title(f"{measure}: mean over seeds and other parameters", pad=10)
    return fig


def effects(df: pd.DataFrame, parameters: list[str], measure: str) -> Figure:
    """One panel per parameter: the measure's mean at each level with a 95 % CI across seeds."""
    fig = Figure(figsize=(3.6 * len(parameters), 3.2), layout="constrained")
    axes = fig.subplots(1, len(parameters), squeeze=False)[0]
    for ax, parameter in zip(axes, parameters):
        means = per_seed_means(df, parameter, measure)
        sns.pointplot(data=means, x="level", y=measure, errorbar=ci95, capsize=0.15, ax=ax)
        ax.set_xlabel(parameter)
        ax.tick_params(axis="x", labelrotation=30)
    axes[0].set_ylabel(measure)
    fig.suptitle(f"effect on {measure} (95 % CI across seeds)")
    return fig


def dno_distributions(df: pd.DataFrame, group: str, columns: list[str], hue: str | None) -> Figure:
    """Box plots of a per-DNO measure over all runs, split by one parameter when it has few levels."""
    long = dno_long(df, group, columns)
    use_hue = hue is not None and long[hue].nunique() <= MAX_HUE_LEVELS
    if use_hue:
        long[hue] = long[hue].astype(str)  # categorical colours, not a numeric ramp
    dnos = long["dno"].nunique()
    fig = Figure(figsize=(max(5.0, 1.1 * dnos * (2 if use_hue else 1)), 3.4), layout="constrained")
    ax = fig.subplots()
    with warnings.catch_warnings():  # seaborn 0.13 passes matplotlib 3.11's deprecated `vert`
        warnings.simplefilter("ignore", MatplotlibDeprecationWarning)
        sns.boxplot(data=long, x="dno", y=group, hue=hue if use_hue else None, ax=ax, fliersize=2)
    ax.set_title(f"{group} per DNO over all runs")
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
    ax.set_title(f"Sobol indices of {indices.measure.iloc[0]}")
    ax.tick_params(axis="x", labelrotation=30)
    return fig


# -- comparisons (batch_runs.compare_report): drawn under model.htmlpage.style() ------------------


def design_colours(designs: list[str]) -> dict[str, tuple]:
    """One colour per design, the same in every figure of a comparison."""
    return dict(zip(designs, sns.color_palette("tab10", len(designs))))


def by_dno(df: pd.DataFrame, group: str, columns: list[str], designs: list[str], colours: dict, label: str) -> Figure:
    """A per-DNO measure by design: the mean over days per DNO with its 95 % t interval."""
    long = dno_long(df, group, columns)
    fig, axes = new_figure(max(6.0, 0.35 * len(designs) * long["dno"].nunique() + 2.5), 3.6)
    ax = axes[0, 0]
    sns.barplot(data=long, x="dno", y=group, hue="design_name", hue_order=designs, palette=colours, errorbar=ci95,
                capsize=0.1, err_kws={"linewidth": 1}, ax=ax)
    ax.axhline(0, color="#444", lw=0.8)
    ax.set(xlabel="", ylabel=label)
    ax.legend(title=None, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def by_design(df: pd.DataFrame, panels: list[tuple[str, str]], designs: list[str], colours: dict) -> Figure:
    """One panel per (measure, label): its mean over days by design, with 95 % t intervals."""
    ok = df[df.status == "ok"]
    fig, axes = new_figure(0.6 + max(3.2, 0.5 * len(designs)) * len(panels), 3.6, 1, len(panels))
    for ax, (measure, label) in zip(axes.flat, panels):
        sns.pointplot(data=ok, x="design_name", y=measure, order=designs, hue="design_name", hue_order=designs,
                      palette=colours, errorbar=ci95, capsize=0.2, linestyle="none", legend=False, ax=ax)
        ax.set(xlabel="", ylabel=label)
        ax.tick_params(axis="x", labelrotation=30)
    return fig


def against(table: pd.DataFrame, x: tuple[str, str], y: tuple[str, str], designs: list[str], colours: dict) -> Figure:
    """One point per design: mean of y against mean of x over the days, with 95 % t intervals
    (`table`: batch_runs.paired.compare's rows; x and y are (measure, label))."""
    rows = table.set_index(["measure", "design_name"])
    fig, axes = new_figure(5.6, 4.0)
    ax = axes[0, 0]
    for name in designs:
        (xm, xl, xh), (ym, yl, yh) = (rows.loc[(m, name), ["mean", "ci95_low", "ci95_high"]] for m in (x[0], y[0]))
        ax.errorbar(xm, ym, xerr=_bar(xm, xl, xh), yerr=_bar(ym, yl, yh), fmt="o", color=colours[name], capsize=3,
                    label=name)
    ax.set(xlabel=x[1], ylabel=y[1])
    ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def differences(table: pd.DataFrame, panels: list[tuple[str, str]], others: list[str], reference: str, colours: dict) -> Figure:
    """Per (measure, label): each design minus the reference, day by day, averaged; thick the
    paired-t 95 % interval, thin (below) the bootstrap one."""
    fig, axes = new_figure(0.8 + 3.0 * len(panels), 1.4 + 0.45 * len(others), 1, len(panels), sharey=True)
    for ax, (measure, label) in zip(axes.flat, panels):
        rows = table[table.measure == measure].set_index("design_name")
        for i, name in enumerate(others):
            row = rows.loc[name]
            ax.plot([row.diff_t_low, row.diff_t_high], [i, i], color=colours[name], lw=4, solid_capstyle="butt")
            ax.plot([row.diff_boot_low, row.diff_boot_high], [i + 0.25] * 2, color=colours[name], lw=1)
            ax.plot(row.diff_mean, i, "o", color="black", ms=4)
        ax.axvline(0, color="#444", lw=0.8)
        ax.set(xlabel=f"{label}: design − {reference}", ylim=(len(others) - 0.5, -0.5))
        ax.xaxis.set_major_locator(MaxNLocator(5))
        ax.set_yticks(range(len(others)), others)
    return fig


def _bar(mean: float, low: float, high: float) -> list[list[float]] | None:
    """An asymmetric error bar, or none when the interval is undefined (one day)."""
    return None if pd.isna(low) else [[mean - low], [high - mean]]
