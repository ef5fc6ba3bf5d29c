"""What a run seed may be, checked once for the command line and the Python API alike.

A seed is a whole number from 0 to 2**63 - 1: what numpy's SeedSequence takes and a Parquet int64
column holds. Nothing is converted on the way: 1.5, True or "3" would run as seed 1, 1 or 3 and
give outputs the caller did not ask for, so each is a mistake.
"""

from __future__ import annotations

import numbers

from model.scenario import ScenarioError

SEED_MAX = 2**63 - 1


def seed_problem(value: object) -> str | None:
    """Why `value` is no seed, or None when it is one."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and 0 <= value <= SEED_MAX:
        return None
    return f"expected a whole number from 0 to 2**63 - 1, got {value!r}"


def check_seed(value: object, where: str = "seed") -> int:
    """`value` as an int, or a ScenarioError naming `where`."""
    problem = seed_problem(value)
    if problem:
        raise ScenarioError(f"{where}: {problem}")
    return int(value)  # a numpy integer becomes a plain int
