"""Parameter sweeps: designs, executors, result store, statistics and plots.

    storagemarket sweep experiments/sweeps/concession-compensation.yaml --out out/cc [--resume]
                        [--processes N | --workers N | --scheduler tcp://host:8786]
    storagemarket analyze out/cc          # analysis.html, summary.csv (and sobol.csv)

From Python:

    from batch_runs import design, sweep, executors, store, stats
    d = design.load("experiments/sweeps/concession-compensation.yaml")
    # or Mesa's batch_run dictionary: design.parse({"parameters": {...}, "iterations": 3}, "python")
    sweep.sweep(d, "out/cc", executors.ProcessExecutor(2))
    rows = store.ResultStore("out/cc").read()        # or pd.read_parquet("out/cc/results.parquet")
    stats.effect(rows, "mechanism.seller_concession", "social_welfare_rmb")

Modules, top to bottom: run_one (a design point and seed → measures), design (grids and
samplers, run ids), executors, store (Parquet), progress, sweep (ties them together), stats,
sensitivity (Sobol), figures, report (analysis.html).
"""
