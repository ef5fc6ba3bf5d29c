"""Parameter sweeps: designs, executors, result store, statistics and plots."""
