"""Where a command writes its output folder: never into a place it cannot write, never over another
scenario's outputs, never into a folder of other files.

Every command that writes a folder (`run`, `sweep`, `compare`, `experiment paper`) first calls
`check_place`, so a `--out` under a file, one that cannot be created (permissions, a read-only
file system, /proc) or one that cannot be written is one line naming it, before anything runs or
is written; then `check_files` with what that kind of output writes, so its files never mix with
another kind's (a run's report.html beside a sweep's results.parquet).

`run` replaces the outputs of an earlier run of the same scenario (the usual re-run), but refuses
one holding another scenario's outputs (summary.json's `scenario` differs) and one holding files no
run writes, unless forced. After a run, outputs of the earlier run that this one did not write (say
credit.csv, when credit is now off) are removed, so the folder never mixes two runs.
"""

from __future__ import annotations

import itertools
import json
import tempfile
from collections.abc import Callable, Iterable
from contextlib import suppress
from pathlib import Path

from model.scenario import ScenarioError

RUN_FILES = frozenset({
    "report.html", "hourly.csv", "bids.csv", "trades.csv", "settlement.csv", "credit.csv", "delivery.csv",
    "best_response.csv", "vcg.csv", "dro.csv", "coordination.csv", "admm.csv", "bargaining.csv", "network.csv", "buses.csv",
    "summary.json", "timings.json", "ledger.sqlite",
})


class OutDirError(ScenarioError):
    """An output directory a command must not write to (a run: without --force)."""


def is_run_file(name: str) -> bool:
    """A run's output, or a temporary file a run writes beside one (`.ledger.*`, `.report.html.*`)."""
    return name in RUN_FILES or name.startswith(".ledger.") or is_temporary(name, RUN_FILES)


def is_temporary(name: str, files: Iterable[str]) -> bool:
    """A temporary sibling that outputs.write_atomic writes before moving it onto one of `files`."""
    return any(name.startswith(f".{f}.") for f in files)


def check_place(out: Path, option: str = "--out") -> None:
    """Raise OutDirError, naming `option` and `out`, unless `out` is a folder this process may write
    into, or can be made one.

    Making it (and removing it again) is the only sure test: permissions, read-only file systems and
    pseudo file systems such as /proc refuse in ways no look at the path foretells."""
    named = f"{option} {out}" if option else str(out)
    for place in (out, *out.parents):
        if place.exists() or place.is_symlink():
            if not place.is_dir():
                raise OutDirError(f"{named}: {place} is a file, not a directory")
            break
    try:
        if out.is_dir():
            tempfile.TemporaryFile(dir=out).close()
        else:
            _make_and_remove(out)
    except OSError as exc:
        what = "cannot write into it" if out.is_dir() else "cannot create it"
        raise OutDirError(f"{named}: {what} ({exc.strerror or exc})") from None


def _make_and_remove(out: Path) -> None:
    """Create `out` with the missing folders above it, then remove exactly those again."""
    missing = list(itertools.takewhile(lambda p: not p.exists(), (out, *out.parents)))
    try:
        out.mkdir(parents=True)
    finally:
        for folder in missing:  # deepest first; one that was not made, or is no longer empty, stays
            with suppress(OSError):
                folder.rmdir()


def check_files(out: Path, own: Callable[[str], bool], kind: str, force_hint: bool = False) -> None:
    """Raise OutDirError if `out` holds files that a `kind` does not write (`own` says which it does):
    its outputs would mix with another kind's, or with the user's own files."""
    if not out.is_dir():
        return
    foreign = sorted(p.name for p in out.iterdir() if not own(p.name))
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        escape = ", or add --force to write there anyway" if force_hint else ""
        raise OutDirError(f"--out {out}: holds files no {kind} writes ({shown}); choose another --out{escape}")


def check(out: Path, scenario: str, force: bool = False) -> None:
    """Raise OutDirError unless a run of `scenario` may write its outputs to `out`."""
    check_place(out)
    if force:
        return
    check_files(out, is_run_file, "run", force_hint=True)
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


def remove_stale(out: Path, written: list[Path], files: Iterable[str] = RUN_FILES) -> None:
    """Remove the outputs of an earlier run that this run did not write: only names in `files`
    (a run's by default), never any other file."""
    keep = {p.name for p in written}
    for name in sorted(set(files) - keep):
        (out / name).unlink(missing_ok=True)
