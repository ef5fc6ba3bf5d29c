"""`storagemarket analyze DIR`: analysis.html (figures embedded) and summary.csv of a sweep,
plus sobol.csv for a Sobol design.

Measures and heatmap pairs come from the arguments, else the design's `analysis:` block, else
defaults picked from what the runs report (stats.default_measures; the first two varied
parameters).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from batch_runs import figures
from batch_runs.design import DesignBase, DesignError, SobolDesign
from batch_runs.sensitivity import SensitivityError, sobol_indices
from batch_runs.stats import MIN_N, SMALL_N_NOTE, default_measures, measure_columns, per_dno_groups, summary_table
from batch_runs.store import ResultStore
from model import htmlpage as hp
from model.out_dir import check_place

MAX_DNO_GROUPS = 3


@dataclass
class Report:
    """What analyze wrote, and what it could not show and why."""

    html: Path
    summary_csv: Path
    sobol_csv: Path | None = None
    measures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    damaged: list[str] = field(default_factory=list)  # files moved aside (warned already; shown in the page)


def analyze(out: str | Path, measures: list[str] | None = None, heatmaps: list[tuple[str, str]] | None = None) -> Report:
    store = ResultStore(out)
    design = store.design()
    check_place(store.dir, option="")  # a sweep's folder it cannot write into (read-only): one line, first
    df = store.read()
    if df.empty:
        raise DesignError(f"{store.dir}: no runs yet" + (" that can be read (see the warning above)" if store.damaged else ""))
    parameters = list(design.parameters)
    available = measure_columns(df, parameters)
    measures = measures or design.analysis.measures or default_measures(df, parameters)
    unknown = [m for m in measures if m not in available]
    if unknown:
        raise DesignError(f"{store.dir}: no measure {', '.join(unknown)}; the runs report: {', '.join(available)}")
    report = Report(store.dir / "analysis.html", store.dir / "summary.csv", measures=measures, damaged=store.damaged)
    if not measures:
        report.notes.append("no numeric measures in the runs (did every run fail?)")
    summary = summary_table(df, parameters, measures)
    summary.to_csv(report.summary_csv, index=False)
    if len(summary) and summary.n.min() < MIN_N:
        report.notes.append(f"n = {summary.n.min()} at the fewest: {SMALL_N_NOTE}")
    with hp.style():
        sections = [_overview(design, df), _heatmaps(design, df, measures, heatmaps, report),
                    _effects(design, df, measures), _per_dno(design, df, available, report)]
        if isinstance(design, SobolDesign):
            sections.append(_sobol(design, df, measures, report))
    sections.append(_notes(report))
    report.html.write_text(_page(design.name, "\n".join(s for s in sections if s)))
    return report


def _overview(design: DesignBase, df: pd.DataFrame) -> str:
    failed = df[df.status != "ok"]
    text = (
        f"<p>{html.escape(design.description)}</p><p>{design.KIND} design: {df.point.nunique()} points × "
        f"{len(design.seeds)} seeds; {len(df)} runs stored, {len(failed)} failed, "
        f"{len(design.runs()) - len(df)} not run yet.</p>"
    )
    fixed = design.fixed()
    if fixed:
        text += "<p>Fixed: " + ", ".join(f"<code>{html.escape(k)}={html.escape(str(v))}</code>" for k, v in fixed.items()) + "</p>"
    if len(failed):
        errors = failed.groupby("error").size().rename("runs").reset_index().head(10)
        text += "<h3>Failures</h3>" + errors.to_html(index=False)
    return "<h2>Overview</h2>" + text


def _heatmaps(design, df, measures, pairs, report) -> str:
    varied = design.varied()
    pairs = pairs or design.analysis.heatmaps or ([tuple(varied[:2])] if len(varied) >= 2 else [])
    unknown = sorted({n for pair in pairs for n in pair} - set(design.parameters))
    if unknown:
        raise DesignError(f"--heatmap {', '.join(unknown)}: not a parameter of the design ({', '.join(design.parameters)})")
    if not pairs:
        report.notes.append("heatmaps need two varied parameters")
        return ""
    figs = [_img(figures.heatmap(df, x, y, m)) for x, y in pairs for m in measures]
    return "<h2>Heatmaps</h2>" + "".join(figs)


def _effects(design, df, measures) -> str:
    varied = design.varied()
    if not varied:
        return ""
    return "<h2>Effect of each parameter</h2>" + "".join(_img(figures.effects(df, varied, m)) for m in measures)


def _per_dno(design, df, available, report) -> str:
    groups = list(per_dno_groups(available).items())[:MAX_DNO_GROUPS]
    if not groups:
        report.notes.append("no per-DNO measures in the runs")
        return ""
    hue = design.varied()[0] if design.varied() else None
    return "<h2>Distributions per DNO</h2>" + "".join(_img(figures.dno_distributions(df, g, cols, hue)) for g, cols in groups)


def _sobol(design, df, measures, report) -> str:
    tables = []
    for m in measures:
        try:
            tables.append(sobol_indices(design, df, m))
        except SensitivityError as exc:
            report.notes.append(f"Sobol indices: {exc}")
    if not tables:
        return ""
    report.sobol_csv = report.html.with_name("sobol.csv")
    pd.concat(tables).to_csv(report.sobol_csv, index=False)
    body = "".join(t.to_html(index=False, float_format="%.3f") + _img(figures.sobol_bars(t)) for t in tables)
    return "<h2>Sobol sensitivity indices (95 % CI)</h2>" + body


def _notes(report: Report) -> str:
    notes = report.damaged + report.notes
    return "<h2>Notes</h2><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>" if notes else ""


def _img(fig) -> str:
    return f'<p><img alt="figure" src="data:image/png;base64,{figures.png(fig)}"></p>'


def _page(title: str, body: str) -> str:
    style = "body{font-family:sans-serif;max-width:1200px;margin:auto}table{border-collapse:collapse}td,th{padding:2px 8px}"
    return f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>{style}</style></head><body><h1>Sweep {html.escape(title)}</h1>{body}</body></html>\n"
