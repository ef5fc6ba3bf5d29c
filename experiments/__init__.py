"""Named scenarios (YAML), experiment definitions and the command-line interface."""
