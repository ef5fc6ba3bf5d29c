"""One run from Python: load a scenario, simulate it, write and read back its outputs."""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # heavy modules load on first use
    import pandas as pd

    from model.job import RunResult
    from model.scenario import Scenario

TABLES = ("hourly", "bids", "trades", "settlement", "credit")  # credit.csv only with ledger.credit.enabled


def load_scenario(scenario: str | Path = "paper-4dn",
                  overrides: Mapping[str, Any] | Sequence[str] | None = None) -> Scenario:
    """A bundled scenario by name, or a YAML file, validated; `overrides` as `--set` takes them:
    a mapping of paths to values (`{"dnos.DN2.pv_mw": 30}`) or `"path=value"` strings."""
    from model.scenario import load

    if isinstance(overrides, Mapping):
        from batch_runs.run_one import override_text

        overrides = [override_text(key, value) for key, value in overrides.items()]
    return load(str(scenario), list(overrides or []))


def _scenario(scenario: Scenario | str | Path) -> Scenario:
    from model.scenario import Scenario

    return scenario if isinstance(scenario, Scenario) else load_scenario(scenario)


def simulate(scenario: Scenario | str | Path = "paper-4dn", seed: int = 0) -> RunResult:
    """Run the model to the end in memory: `tables` (the CSVs' frames before rounding), `summary`
    (summary.json), flat `measures`, wall-clock `timings` and the finished `model`. Faults beyond
    what the consensus engine tolerates are Python warnings, as the command line prints them.
    `seed` is a whole number from 0 to 2**63 - 1 (model.seeds): anything else raises ScenarioError."""
    from model.job import simulate as simulate_job
    from model.seeds import check_seed

    return simulate_job(_scenario(scenario), check_seed(seed), warn=_warn)


def run(scenario: Scenario | str | Path = "paper-4dn", seed: int = 0, out: str | Path | None = None,
        force: bool = False) -> RunOutputs:
    """Simulate and write every output as `storagemarket run` does (default folder:
    out/<scenario name>); the outputs read back. Fault and unserved-energy lines are Python warnings.

    The folder is checked as the command line checks --out, before anything runs: one holding
    another scenario's outputs or files no run writes, a path under a file, or one that cannot be
    created or written raises model.out_dir.OutDirError (a ScenarioError) and leaves it as it was;
    `force=True` writes over other outputs anyway, as --force does. `seed` as for `simulate`."""
    from model.job import run as run_job
    from model.out_dir import check
    from model.seeds import check_seed

    seed = check_seed(seed)
    scenario = _scenario(scenario)
    out = Path(out) if out is not None else Path("out") / scenario.name
    check(out, scenario.name, force=force)
    run_job(scenario, seed, out, warn=_warn, notes=_warn)
    return read_run(out)


def _warn(line: str) -> None:
    warnings.warn(line, UserWarning, stacklevel=4)


@dataclass
class RunOutputs:
    """A run's output folder, read: its tables (one frame per CSV), summary.json and timings.json."""

    path: Path
    tables: dict[str, pd.DataFrame] = field(repr=False)
    summary: dict[str, Any] = field(repr=False)
    timings: dict[str, float] = field(repr=False)


def read_run(path: str | Path) -> RunOutputs:
    """The outputs a run wrote to `path` (`storagemarket run --out PATH`, or `run` above); a folder
    that is not a run's, or a file in it that cannot be read as a run writes it (not UTF-8, not
    JSON, not a table), raises ScenarioError naming the file."""
    from model.scenario import ScenarioError

    path = Path(path)
    if not (path / "summary.json").is_file():
        raise ScenarioError(f"{path}: not a run's output folder (no summary.json)")
    tables = {name: _read(path / f"{name}.csv") for name in TABLES if (path / f"{name}.csv").is_file()}
    timings = path / "timings.json"
    return RunOutputs(path, tables, _read(path / "summary.json"), _read(timings) if timings.is_file() else {})


def _read(file: Path) -> Any:
    """A run's CSV as a frame, or its JSON object; any failure as one ScenarioError naming the file."""
    import pandas as pd

    from model.scenario import ScenarioError

    try:
        if file.suffix == ".csv":
            return pd.read_csv(file, encoding="utf-8")
        data = json.loads(file.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError(f"expected a JSON object, found {type(data).__name__}")
        return data
    except (OSError, ValueError) as exc:  # UnicodeDecodeError, JSONDecodeError and pandas' parser errors
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise ScenarioError(f"{file}: cannot be read as a run's output ({reason})") from None


def agent_frames(result: RunResult) -> dict[str, pd.DataFrame]:
    """The model's DataCollector per agent type (DNO, StorageOwner, MainGrid, Validator, and
    NetworkOperator with a network): one row per agent and hour, indexed by (Step, AgentID); the
    columns are in docs/agents.md."""
    if result.model is None:
        raise ValueError("agent frames need the finished model (simulate's result)")
    collector = result.model.datacollector
    return {kind.__name__: collector.get_agenttype_vars_dataframe(kind) for kind in collector.agenttype_reporters}
