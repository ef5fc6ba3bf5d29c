"""Parameter sweeps: designs, executors, result store, statistics and plots.

    storagemarket sweep experiments/sweeps/concession-compensation.yaml --out out/cc [--resume]
                        [--processes N | --workers N | --scheduler tcp://host:8786]
    storagemarket analyze out/cc          # analysis.html, summary.csv (and sobol.csv)
    storagemarket compare experiments/comparisons/designs.yaml --out out/designs [--seeds N] [--resume]
                                          # named designs on the same days: compare.html, compare.csv

From Python:

    from batch_runs import design, sweep, executors, store, stats
    d = design.load("experiments/sweeps/concession-compensation.yaml")
    # or Mesa's batch_run dictionary: design.parse({"parameters": {...}, "iterations": 3}, "python")
    sweep.sweep(d, "out/cc", executors.ProcessExecutor(2))
    rows = store.ResultStore("out/cc").read()        # or pd.read_parquet("out/cc/results.parquet")
    stats.effect(rows, "mechanism.seller_concession", "social_welfare_rmb")

Modules, top to bottom: run_one (a design point and seed → measures), design (grids and
samplers, run ids), comparison (named designs on shared days, a design kind), executors, store
(Parquet), progress, sweep (ties them together), stats, paired (each design against a reference,
day by day), sensitivity (Sobol), figures, report (analysis.html), compare_report (compare.html).
"""

# Kinds defined beside `design` register themselves when imported; importing them with the package
# makes every kind known wherever designs are parsed (a stored design.yaml names its kind).
from batch_runs import comparison  # noqa: E402,F401  (kind "comparison")
