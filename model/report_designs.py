"""report.html's sections for design stages with their own tables: how a decomposition's prices
converged (coordination.csv) and what a VCG market cost its operator (vcg.csv).

Each section appears only when its table exists, so a run of another design keeps its page.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns

from model import htmlpage as hp
from model.colours import dno_colours, natural_key

_SHOWN_HOURS = 4  # the hours whose prices moved most, drawn one line each


def _shown(table: pd.DataFrame) -> pd.DataFrame:
    """A figures table's values as text: 4 significant digits, a dash where there is none."""
    return table.assign(value=table["value"].map(
        lambda v: "–" if v is None else f"{v:,.4g}" if isinstance(v, float) else str(v)))


def coordination_section(frame: pd.DataFrame, decomposition: dict) -> str:
    """Prices against iterations, the largest mismatch and the dual bound against the central optimum."""
    day = int(frame["day"].min())
    rows = frame[frame["day"] == day]
    late = rows[rows["iteration"] > rows["iteration"].max() // 10]  # after the first jumps: still searching
    travel = late.groupby("hour")["price_per_mwh"].agg(lambda p: p.max() - p.min())
    hours = sorted(travel.sort_values(ascending=False, kind="stable").index[:_SHOWN_HOURS])
    fig, axes = hp.new_figure(10, 3.2, 1, 3)
    shown = rows[rows["hour"].isin(hours)].assign(hour=lambda f: "hour " + f["hour"].astype(str))
    sns.lineplot(data=shown, x="iteration", y="price_per_mwh", hue="hour", units="market", estimator=None, lw=0.9,
                 ax=axes[0, 0])
    axes[0, 0].set(title="prices", ylabel="RMB/MWh")
    worst = rows.assign(m=rows["mismatch_mwh"].abs()).groupby("iteration")["m"].max()
    axes[0, 1].plot(worst.index, worst.to_numpy(), lw=0.9, color="#4c72b0")
    axes[0, 1].set(title="largest mismatch", xlabel="iteration", ylabel="MWh (iterate, not averaged)")
    dual = rows.groupby("iteration")["dual_rmb"].first()
    central = next((d.get("central_rmb") for d in decomposition.get("days", []) if d["day"] == day), None)
    if central is not None:  # the gap closing, on a log scale
        gap = (central - dual.cummax()).clip(lower=1e-6)
        axes[0, 2].plot(gap.index, gap.to_numpy(), lw=0.9, color="#4c72b0")
        axes[0, 2].set(yscale="log", title="dual gap", xlabel="iteration", ylabel="central optimum - best dual (RMB)")
    else:
        axes[0, 2].plot(dual.index, dual.to_numpy(), lw=0.9, color="#4c72b0")
        axes[0, 2].set(title="Lagrangian dual", xlabel="iteration", ylabel="RMB")
    caption = (f"Day {day} of the {decomposition['form']} decomposition. Left: the price of the {len(hours)} hours "
               "whose prices still moved after the first tenth of the iterations (one line per pair in the bilateral "
               "form). Middle: the largest hourly mismatch of the participants' answers (responses of linear models "
               "jump, so the agreed trades are averages of them). Right: how far the best dual bound so far is below "
               "the central problem's optimum (when the run solved it: design.coordination.reference).")
    table = pd.DataFrame([
        ("iterations (all days)", decomposition["iterations"]),
        ("days converged", decomposition["converged_days"]),
        ("central optimum (RMB)", decomposition.get("central_rmb")),
        ("agreed trades' cost (RMB)", decomposition.get("agreed_cost_rmb")),
        ("cost gap, worst day (share)", decomposition.get("cost_gap_share")),
        ("dual gap (RMB)", decomposition.get("dual_gap_rmb")),
        ("largest price gap where the central solution trades (RMB/MWh)", decomposition.get("price_gap_per_mwh")),
        ("plans alone, total (RMB)", decomposition.get("own_cost_rmb")),
        ("agreed plans after each MILP re-solve (RMB)", decomposition.get("milp_cost_rmb")),
    ], columns=["decomposition", "value"]).pipe(_shown)
    return hp.section("Day-ahead coordination: price convergence", hp.figure(fig, "price convergence", caption),
                      hp.table(table))


def vcg_section(frame: pd.DataFrame) -> str:
    """The operator's deficit hour by hour: what sellers received beyond what buyers paid."""
    money = frame.assign(received=frame["receipt_rmb"].fillna(0.0), paid=frame["payment_rmb"].fillna(0.0))
    by_hour = money.groupby(["day", "hour"])[["received", "paid"]].sum().reset_index()
    by_hour["deficit_rmb"] = by_hour["received"] - by_hour["paid"]
    by_hour["when"] = (by_hour["day"] - 1) * 24 + by_hour["hour"]
    fig, axes = hp.new_figure(10, 2.8, 1, 2)
    axes[0, 0].bar(by_hour["when"], by_hour["deficit_rmb"], color="#c44e52", width=0.8)
    axes[0, 0].set(title="deficit by hour", xlabel="hour of the run", ylabel="RMB")
    axes[0, 1].plot(by_hour["when"], by_hour["deficit_rmb"].cumsum(), color="#c44e52", lw=1.2)
    axes[0, 1].set(title="cumulative", xlabel="hour of the run", ylabel="RMB")
    caption = ("VCG's budget deficit: in each hour, what the sellers received (their Clarke-pivot prices) less what "
               "the buyers paid; the market operator covers it. Its total is summary.json's vcg.deficit_rmb.")
    return hp.section("VCG: the operator's deficit", hp.figure(fig, "VCG deficit", caption))


def _gains(split: pd.DataFrame, ax) -> None:
    """Each DNO's gain before and after the payments, in its colour (outlined: before)."""
    rows = split.set_index("dno").loc[sorted(split["dno"], key=natural_key)]
    colours = dno_colours(rows.index)
    y = np.arange(len(rows))
    before = rows["standalone_cost_rmb"] - rows["coalition_cost_rmb"]
    ax.barh(y + 0.2, before, height=0.38, color="white", edgecolor=[colours[n] for n in rows.index],
            linewidth=1.6, label="in the coalition")
    ax.barh(y - 0.2, rows["gain_rmb"], height=0.38, color=[colours[n] for n in rows.index], label="after the split")
    ax.axvline(0.0, color="#333333", lw=0.6)
    ax.set(yticks=y, yticklabels=rows.index, xlabel="gain against alone (RMB)")
    ax.invert_yaxis()
    ax.legend(frameon=False, fontsize=7, loc="best")


def bargaining_section(admm: pd.DataFrame, split: pd.DataFrame, bargaining: dict) -> str:
    """ADMM's residuals by iteration, and each DNO's cost alone, in the coalition and after the split."""
    day = int(admm["day"].min())
    rows = admm[admm["day"] == day]
    fig, axes = hp.new_figure(10, 3.2, 1, 2)
    ax = axes[0, 0]
    for column, label, colour in (("primal_residual_mwh", "primal residual (MWh)", "#4c72b0"),
                                  ("dual_residual", "dual residual", "#dd8452")):
        ax.plot(rows["iteration"], rows[column].clip(lower=1e-9), lw=0.9, color=colour, label=label)
    for column, colour in (("eps_primal", "#4c72b0"), ("eps_dual", "#dd8452")):
        ax.plot(rows["iteration"], rows[column], lw=0.7, ls="--", color=colour)
    ax.set(yscale="log", xlabel="iteration", title=f"ADMM, day {day} (dashed: tolerances)")
    ax.legend(frameon=False, fontsize=7)
    _gains(split[split["day"] == day], axes[0, 1])
    axes[0, 1].set_title(f"gains, the {bargaining['split']} split")
    caption = ("Left: ADMM's primal residual (how far the copies of trades and of the station's use disagree) and "
               "dual residual (how far the agreed values still move) against their stopping tolerances. Right: what "
               "each DNO gains against planning alone (its own plan: no trades, no station) in its colour: outlined, "
               "in the coalition before any payment (its MILP re-solved with the agreed trades and station use, with "
               "fees); solid, after the Nash bargaining payments. Real-time deviations come on top of these plans.")
    table = pd.DataFrame([
        ("ADMM iterations (all days)", bargaining["iterations"]),
        ("days converged", bargaining["converged_days"]),
        ("coalition's saving (RMB)", bargaining.get("saving_rmb")),
        ("ADMM's cost above the central optimum, worst day (share)", bargaining.get("cost_gap_share")),
        ("largest disagreement left between copies (MWh)", bargaining.get("violation_mwh")),
        ("station fees to its operator (RMB)", bargaining.get("station_fees_rmb")),
    ], columns=["bargaining", "value"]).pipe(_shown)
    return hp.section("Cooperative scheduling and the Nash split", hp.figure(fig, "ADMM and the split", caption),
                      hp.table(table), hp.table(split[split["day"] == day].drop(columns="day")))
