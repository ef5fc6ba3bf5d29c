"""Where a run writes: never over another scenario's outputs, nor into a folder of other files.

`run` replaces the outputs of an earlier run of the same scenario (the usual re-run), but refuses,
in one line and before simulating anything, a `--out` that is not a directory, one holding another
scenario's outputs (summary.json's `scenario` differs) and one holding files no run writes, unless
forced. After a run, outputs of the earlier run that this one did not write (say credit.csv, when
credit is now off) are removed, so the folder never mixes two runs.
"""

from __future__ import annotations

import json
from pathlib import Path

from model.scenario import ScenarioError

RUN_FILES = frozenset({
    "report.html", "hourly.csv", "bids.csv", "trades.csv", "settlement.csv", "credit.csv", "network.csv", "buses.csv",
    "summary.json", "timings.json", "ledger.sqlite",
})


class OutDirError(ScenarioError):
    """An output directory a run must not write to (without --force)."""


def is_run_file(name: str) -> bool:
    """A run's output, or a temporary file a run writes beside one (`.ledger.*`, `.report.html.*`)."""
    return name in RUN_FILES or name.startswith(".ledger.") or any(name.startswith(f".{f}.") for f in RUN_FILES)


def check(out: Path, scenario: str, force: bool = False) -> None:
    """Raise OutDirError unless a run of `scenario` may write its outputs to `out`."""
    for place in (out, *out.parents):
        if place.exists() or place.is_symlink():
            if not place.is_dir():
                raise OutDirError(f"--out {out}: {place} is a file, not a directory")
            break
    if not out.is_dir() or force:
        return
    names = sorted(p.name for p in out.iterdir())
    foreign = [n for n in names if not is_run_file(n)]
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise OutDirError(f"--out {out}: holds files no run writes ({shown}); choose another --out, "
                          "or add --force to write there anyway")
    previous = _scenario_of(out / "summary.json")
    if previous is not None and previous != scenario:
        raise OutDirError(f"--out {out}: holds the outputs of scenario {previous!r}, not {scenario!r}; choose "
                          "another --out, or add --force to replace them")


def _scenario_of(summary: Path) -> str | None:
    """The scenario an earlier run's summary.json names; None when there is none."""
    if not summary.exists():
        return None
    try:
        return str(json.loads(summary.read_text(encoding="utf-8"))["scenario"])
    except (OSError, ValueError, KeyError, TypeError):
        raise OutDirError(f"--out {summary.parent}: its summary.json cannot be read, so whose outputs these are "
                          "is unknown; choose another --out, or add --force to replace them") from None


def remove_stale(out: Path, written: list[Path]) -> None:
    """Remove the outputs of an earlier run that this run did not write (never any other file)."""
    keep = {p.name for p in written}
    for name in sorted(RUN_FILES - keep):
        (out / name).unlink(missing_ok=True)
