"""Unserved energy (load shed at the value of lost load): how much, whose and when, in one line.

A DNO whose supply cannot cover its load in an hour sheds the rest (market/scheduling.py). That is
an outcome a reader must not miss, so `storagemarket run` prints this line and report.html shows
it with a summary row and markers on the plots.
"""

from __future__ import annotations

import pandas as pd

HOURS = 24
SHED_MW = 1e-6  # below this a shed is solver noise (outputs are rounded to 1e-6)


def shed_hours(hourly: pd.DataFrame) -> pd.DataFrame:
    """The rows of an hourly table in which a DNO shed load."""
    return hourly[hourly["unserved_mw"] > SHED_MW]


def unserved_note(hourly: pd.DataFrame) -> str | None:
    """'3.700 MWh of load unserved: DN4 3.700 MWh (hours 18-20)', or None if all load was served."""
    shed = shed_hours(hourly)
    if shed.empty:
        return None
    several_days = hourly["day"].nunique() > 1
    parts = []
    for dno, rows in shed.groupby("dno", sort=False):
        by_day = [(day, _spans(sorted(group["hour"]))) for day, group in rows.groupby("day")]
        when = "; ".join(f"day {day}: hours {spans}" if several_days else f"hours {spans}" for day, spans in by_day)
        parts.append(f"{dno} {rows['unserved_mw'].sum():.3f} MWh ({when})")
    return (f"{shed['unserved_mw'].sum():.3f} MWh of load unserved (shed at the value of lost load): "
            + ", ".join(parts))


def _spans(hours: list[int]) -> str:
    """[1, 2, 3, 7] -> '1-3, 7'."""
    spans: list[list[int]] = []
    for h in hours:
        if spans and h == spans[-1][1] + 1:
            spans[-1][1] = h
        else:
            spans.append([h, h])
    return ", ".join(f"{a}-{b}" if a != b else f"{a}" for a, b in spans)
