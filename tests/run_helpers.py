"""Running a scenario into a folder for tests that need both the files and the finished model."""

from model.job import simulate
from model.outputs import write_csv, write_json
from model.scenario import load


def simulate_into(folder, scenario, overrides, seed):
    """Simulate with the ledger stored in `folder`, write every table and summary.json there, and
    return (folder, RunResult)."""
    folder.mkdir()
    result = simulate(load(scenario, overrides), seed, store_path=folder / "ledger.sqlite")
    for name, frame in result.tables.items():
        write_csv(frame, folder / f"{name}.csv")
    write_json(result.summary, folder / "summary.json")
    return folder, result
