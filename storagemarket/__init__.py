"""storagemarket from Python: the command line's jobs as functions, for notebooks and scripts.

    import storagemarket as sm
    scenario = sm.load_scenario("paper-4dn", {"mechanism.seller_concession": 0.1})
    result = sm.simulate(scenario, seed=0)          # tables, summary, measures, the finished model
    result.tables["settlement"]                     # as settlement.csv
    sm.agent_frames(result)["DNO"]                  # the DataCollector's per-agent frame, per hour
    sm.run("paper-4dn", seed=0, out="out/paper-4dn")  # writes what `storagemarket run` writes
    sm.read_run("out/paper-4dn").summary            # ... and reads it back
    sm.compare("designs", "out/designs", seeds=3)   # `storagemarket compare`; sm.sweep: `storagemarket sweep`

A facade only: each function calls the module the command line calls (model.job, batch_runs),
so both give the same outputs. Heavy modules load on first use, so `import storagemarket` (and
`storagemarket.__version__`) stays quick. Mistakes raise model.scenario.ScenarioError with the
same one-line message the command line prints.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from storagemarket.batch import analyze, compare, read_results, sweep
from storagemarket.runs import RunOutputs, agent_frames, load_scenario, read_run, run, simulate

try:
    __version__ = version("storagemarket")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__", "load_scenario", "simulate", "run", "read_run", "RunOutputs", "agent_frames", "sweep",
           "compare", "analyze", "read_results"]
