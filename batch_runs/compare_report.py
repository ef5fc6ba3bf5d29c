"""compare.html, compare.csv and the figures of a comparison (`storagemarket compare`).

For every outcome measure of market.measures.MEASURES the runs report (`outcomes.NAME`, and
`outcomes.NAME.DNO` for per-DNO ones): per design the mean over days with its 95 % t interval
(cut to the measure's feasible range and marked, batch_runs.stats), and each design's paired difference to the reference (batch_runs.paired). Byte-deterministic
like analysis.html: the same rows give the same page, table and PNGs (model.htmlpage).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from batch_runs import figures, paired
from batch_runs.comparison import LABEL, ComparisonDesign
from batch_runs.design import DesignError
from batch_runs.run_one import override_text
from batch_runs.store import ResultStore
from market.measures import MEASURES, SECTION_MEASURES
from model import htmlpage as hp
from model.colours import natural_key
from model.outputs import write_atomic, write_csv

OUTCOMES = "outcomes."
BOOTSTRAP_SEED = 0
SMALL_N_NOTE = "intervals are wide and the t interval assumes roughly normal differences"
# The measures (column, axis label) of the figures; a figure is left out when the runs lack them.
GAIN_BY_DNO = "outcomes.gain_by_dno_rmb"
COST_AND_IMPORT = [("outcomes.total_cost_rmb", "total cost (RMB)"), ("outcomes.grid_import_mwh", "grid import (MWh)")]
FAIRNESS_GAIN = (("outcomes.gain_rmb", "total gain (RMB)"), ("outcomes.jain_fairness", "Jain fairness of the gains"))
KEY_DIFFERENCES = [("outcomes.total_cost_rmb", "total cost (RMB)"), ("outcomes.gain_rmb", "gain (RMB)"),
                   ("outcomes.grid_import_mwh", "grid import (MWh)"), ("outcomes.jain_fairness", "Jain fairness")]


@dataclass
class CompareReport:
    """What compare wrote, and what it could not show and why."""

    html: Path
    csv: Path
    figures: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    damaged: list[str] = field(default_factory=list)  # store files moved aside (warned already; shown in the page)


@dataclass(frozen=True)
class Measure:
    """One compared column: `outcomes.NAME` or `outcomes.NAME.DNO` with MEASURES' description, or
    `SECTION.NAME` (network, negotiation, delivery) with SECTION_MEASURES[SECTION]'s."""

    column: str
    name: str
    dno: str | None

    @property
    def title(self) -> str:
        return f"{self.name} · {self.dno}" if self.dno else self.name

    @property
    def _about(self) -> tuple[str, str, str]:
        section = self.column.split(".", 1)[0]
        return SECTION_MEASURES[section][self.name] if section in SECTION_MEASURES else MEASURES[self.name]

    @property
    def unit(self) -> str:
        return self._about[0]

    @property
    def better(self) -> str:
        return self._about[2]

    @property
    def meaning(self) -> str:
        return self._about[1]


def outcome_measures(columns) -> list[Measure]:
    """The runs' outcome measures in MEASURES order, a per-DNO one per DNO in natural order."""
    present = set(columns)
    out = []
    for name in MEASURES:
        if OUTCOMES + name in present:
            out.append(Measure(OUTCOMES + name, name, None))
        prefix = f"{OUTCOMES}{name}."
        dnos = sorted((c[len(prefix):] for c in present if c.startswith(prefix)), key=natural_key)
        out += [Measure(prefix + dno, name, dno) for dno in dnos]
    out += [Measure(f"{section}.{name}", name, None) for section, measures in SECTION_MEASURES.items()
            for name in measures if f"{section}.{name}" in present]
    return out


def write_report(out: str | Path) -> CompareReport:
    """Write compare.html, compare.csv and compare-*.png for the comparison stored in `out`."""
    store = ResultStore(out)
    design = store.design()
    if not isinstance(design, ComparisonDesign):
        raise DesignError(f"{store.dir}: holds a {design.KIND} sweep, not a comparison (storagemarket analyze reads it)")
    df = store.read()
    if df.empty:
        raise DesignError(f"{store.dir}: no runs yet")
    report = CompareReport(store.dir / "compare.html", store.dir / "compare.csv", damaged=store.damaged)
    measures = outcome_measures(df.columns)
    missing = [n for n in MEASURES if not any(m.name == n for m in measures)]
    if missing:
        report.notes.append(f"the runs report no {', '.join(missing)}")
    table = paired.compare(df, [m.column for m in measures], list(design.designs), design.reference,
                           by=LABEL, seed=BOOTSTRAP_SEED)
    write_csv(_csv(table, measures, design.reference), report.csv)
    with hp.style():
        figs = _figures(df, table, design, report)
    sections = [hp.section("Figures", *figs)] if figs else []
    sections += [_glance(table, measures, design), _per_measure(table, measures, design), _notes(df, design, report)]
    page = hp.page(f"Comparison: {design.name}", _header(df, table, design), [s for s in sections if s])
    hp.write(page, report.html)
    return report


def _csv(table: pd.DataFrame, measures: list[Measure], reference: str) -> pd.DataFrame:
    about = pd.DataFrame([(m.column, m.unit, m.better) for m in measures], columns=["measure", "unit", "better"])
    out = table.merge(about, on="measure", how="left", sort=False)
    out.insert(1, "unit", out.pop("unit"))
    out.insert(2, "better", out.pop("better"))
    out.insert(4, "reference", reference)
    return out


# -- figures --------------------------------------------------------------------------------------


def _figures(df: pd.DataFrame, table: pd.DataFrame, design: ComparisonDesign, report: CompareReport) -> list[str]:
    """Each figure whose measures the runs report, embedded and written next to the page."""
    designs, measured = list(design.designs), set(table.measure)
    colours = figures.design_colours(designs)
    others = [d for d in designs if d != design.reference]
    gain_columns = [c for c in table.measure.unique() if c.startswith(GAIN_BY_DNO + ".")]
    cost_import = [p for p in COST_AND_IMPORT if p[0] in measured]
    key = [p for p in KEY_DIFFERENCES if p[0] in measured]
    ref = design.reference
    candidates = [  # file name, why it may be left out (None: drawn), drawing, caption
        ("compare-gain-by-dno.png", None if gain_columns else f"the runs report no {GAIN_BY_DNO}.DNO",
         lambda: figures.by_dno(df, GAIN_BY_DNO, gain_columns, designs, colours, "gain against planning alone (RMB)"),
         "Each DNO's gain against planning alone and settling every deviation with the grid, by design: mean over "
         "the days with its 95 % t interval (n in the title, or beside each bar when it differs)."),
        ("compare-cost-import.png", None if cost_import else "the runs report neither total cost nor grid import",
         lambda: figures.by_design(df, cost_import, designs, colours),
         "Total cost of all DNOs and energy imported from the main grid, by design: mean over the days with its "
         "95 % t interval (n in the title, or beside each point when it differs)."),
        ("compare-fairness-gain.png",
         None if all(m in measured for m, _ in FAIRNESS_GAIN) else "the runs report no gain or no fairness",
         lambda: figures.against(table, *FAIRNESS_GAIN, designs, colours),
         "Fairness (Jain's index of the DNOs' gains) against the total gain: one point per design, mean over the "
         "days with 95 % t intervals on both axes."),
        ("compare-differences.png", None if key and df.seed.nunique() > 1 else "paired differences need two days",
         lambda: figures.differences(table, key, others, ref, colours),
         f"Paired differences to {ref}: each design minus {ref} on the same day, averaged over the days; thick: "
         "95 % paired-t interval, thin (below): percentile bootstrap interval."),
    ]
    parts = []
    for name, left_out, draw, caption in candidates:
        if left_out:
            report.notes.append(f"{name} left out: {left_out}")
            continue
        fig = draw()
        path = report.html.with_name(name)
        write_atomic(path, hp.png_bytes(fig))
        report.figures.append(path)
        parts.append(hp.figure(fig, name.removesuffix(".png"), caption))
    return parts


# -- the page -------------------------------------------------------------------------------------


def _header(df: pd.DataFrame, table: pd.DataFrame, design: ComparisonDesign) -> str:
    failed = int((df.status != "ok").sum())
    missing = len(design.runs()) - len(df)
    meta = (f'<p class="meta">days: <b>{html.escape(design.days.describe())}</b> · seeds: <b>{_seeds(design.seeds)}</b> '
            f"({len(design.seeds)} days) · reference: <b>{html.escape(design.reference)}</b> · runs: {len(df)} stored, "
            f"{failed} failed, {missing} not run yet</p>")
    rows = [(name, "; ".join(override_text(k, v) for k, v in overrides.items()) or "(the scenario as it is)")
            for name, overrides in design.designs.items()]
    designs = pd.DataFrame(rows, columns=["design", "overrides"])
    parts = [hp.paragraph(design.description) if design.description else "", meta, hp.table(designs)]
    if design.shared:
        parts.append(hp.paragraph("Every design also: " + "; ".join(override_text(k, v) for k, v in design.shared.items())))
    pairs = table.pairs.dropna()
    fewest = int(pairs.min()) if len(pairs) else 0
    if fewest < paired.SMALL_N:
        parts.append(hp.paragraph(f"Few days (n = {fewest}): {SMALL_N_NOTE}.", "note"))
    parts.append(hp.paragraph(
        f"Every design ran on the same days: the same seed gives the same day and the same chain randomness, so each "
        f"design is paired with {design.reference} day by day. Δ is the design minus {design.reference} on the same "
        f"day, averaged over the days both ran; its 95 % intervals come from the paired t and from a percentile "
        f"bootstrap of the mean ({paired.RESAMPLES} resamples, seed {BOOTSTRAP_SEED}); p is the paired t-test's "
        "(two-sided); n is the number of days (pairs) behind each. A design's own interval is cut to what the measure "
        "can be (volumes and counts are never negative, shares and fairness lie in [0, 1]): a cut end is starred. "
        "Tables: compare.csv; runs: results.parquet."))
    return "\n".join(p for p in parts if p)


def _glance(table: pd.DataFrame, measures: list[Measure], design: ComparisonDesign) -> str:
    others = [d for d in design.designs if d != design.reference]
    rows = []
    for m in measures:
        sub = table[table.measure == m.column].set_index(LABEL)
        digits = _digits(sub)
        cells = [f"{_num(r.diff_mean, digits)} {_ci(r.diff_t_low, r.diff_t_high, digits)} n={r.pairs}".strip()
                 for r in (sub.loc[name] for name in others)]
        rows.append([m.title, m.unit, m.better, _num(sub.loc[design.reference, "mean"], digits), *cells])
    frame = pd.DataFrame(rows, columns=["measure", "unit", "better", f"{design.reference} (mean)", *others])
    return hp.section(f"Differences to {design.reference} (mean Δ over the days, 95 % paired-t interval)", hp.table(frame))


def _per_measure(table: pd.DataFrame, measures: list[Measure], design: ComparisonDesign) -> str:
    ref, parts = design.reference, []
    for m in measures:
        sub = table[table.measure == m.column]
        digits = _digits(sub.set_index(LABEL))
        rows = []
        for r in sub.itertuples(index=False):
            own = [getattr(r, LABEL), r.n, _num(r.mean, digits), _ci(r.ci95_low, r.ci95_high, digits, r.ci95_cut)]
            if getattr(r, LABEL) == ref:
                rows.append(own + ["reference", "", "", "", ""])
            else:
                rows.append(own + [_num(r.diff_mean, digits), _ci(r.diff_t_low, r.diff_t_high, digits),
                                   _ci(r.diff_boot_low, r.diff_boot_high, digits), _p(r.p_value), r.pairs])
        frame = pd.DataFrame(rows, columns=["design", "days", "mean", "95 % CI (t)", f"Δ vs {ref}", "Δ 95 % CI (paired t)",
                                            "Δ 95 % CI (bootstrap)", "p (paired t)", "pairs"])
        better = f", {m.better} is better" if m.better != "-" else ""
        parts += [f"<h3>{html.escape(m.title)}</h3>", hp.paragraph(f"{m.unit}{better}: {m.meaning}.", "meta"), hp.table(frame)]
    return hp.section("Each measure", *parts)


def _notes(df: pd.DataFrame, design: ComparisonDesign, report: CompareReport) -> str:
    notes = list(report.damaged) + list(report.notes)
    failed = df[df.status != "ok"]
    for (name, error), group in failed.groupby([LABEL, "error"], sort=True):
        notes.append(f"{name}: {len(group)} run(s) failed (seeds {_seeds(sorted(group.seed))}): {error}")
    if not notes:
        return ""
    return hp.section("Notes", "<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>")


def _seeds(seeds: list[int]) -> str:
    """0–7 for a run of seeds, else the list."""
    seeds = [int(s) for s in seeds]
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}–{seeds[-1]}"
    return ", ".join(map(str, seeds))


def _digits(rows: pd.DataFrame) -> int:
    """Decimals for one measure's numbers, from their size: 1,234 · 12.34 · 0.123 · 0.0012."""
    numbers = rows[["mean", "ci95_low", "ci95_high", "diff_mean", "diff_t_low", "diff_t_high"]].abs()
    scale = numbers.max().max()
    if pd.isna(scale) or scale == 0 or 1 <= scale < 100:
        return 2
    return 0 if scale >= 100 else 3 if scale >= 0.01 else 4


def _num(value: float, digits: int) -> str:
    if pd.isna(value):
        return ""
    return f"{round(float(value), digits) + 0.0:,.{digits}f}"  # + 0.0: no "-0"


def _ci(low: float, high: float, digits: int, cut: str = "") -> str:
    """[low, high], kept on one line (a no-break space) when a table cell wraps; an end cut to
    the measure's feasible range is starred (the page says so)."""
    if pd.isna(low):
        return ""
    return f"[{_num(low, digits)}{'*' * ('low' in cut)},\u00a0{_num(high, digits)}{'*' * ('high' in cut)}]"


def _p(p: float) -> str:
    return "" if pd.isna(p) else "< 0.001" if p < 0.001 else f"{p:.3f}"

