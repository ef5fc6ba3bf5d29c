"""One look for DNOs, roles and validators in every figure: the run's report, a sweep's analysis,
a comparison and the live view.

- A DNO has one colour everywhere: its place in the natural order of the DNOs' names (DN2 before
  DN10) picks it from a colour-blind-safe palette, so DN1 keeps its colour whether a run has two
  DNOs or eight.
- Roles are shown by shape, never by red against green: supply (selling) is hatched and drawn
  with a downward triangle, demand (buying) is plain with an upward one.
- One sign: the load convention of the storage action (+ charge): a DNO's net position is
  + for demand (energy it takes) and − for supply (energy it gives).
- Validators are named as the scenario numbers them (`ledger.crashes: [{node: 0}]`): v0, v1, ...
"""

from __future__ import annotations

import re

# seaborn's "colorblind" palette (Wong 2011), reordered so the first four DNOs differ most (its
# orange and vermilion would sit side by side); fixed here so no plotting library picks it
PALETTE = ("#0173b2", "#de8f05", "#029e73", "#cc78bc", "#d55e00", "#56b4e9", "#ca9161", "#949494", "#ece133",
           "#fbafe4")
SUPPLY_HATCH = "////"
DEMAND_HATCH = ""
ROLE_MARKER = {"sell": "v", "buy": "^"}  # supply sells (down), demand buys (up)
POSITION_LABEL = "net position, MWh: demand (+) / supply (−)"


def natural_key(text: str) -> tuple:
    """DN2 before DN10."""
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(text)))


def dno_colours(names) -> dict[str, str]:
    """Each DNO's colour, by its place in the natural order of `names`."""
    ordered = sorted(dict.fromkeys(names), key=natural_key)
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(ordered)}


def validator_label(index: int) -> str:
    """A validator's name on every page: its 0-based index in the scenario (`node: 0` is v0)."""
    return f"v{index}"
