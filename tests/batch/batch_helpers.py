"""Shared pieces of the batch tests: a tiny real design, row comparison, run functions that stop.

Run functions used by worker processes live here (module level) so they pickle by reference.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text

from batch_runs.design import parse
from batch_runs.run_one import run_one
from batch_runs.store import environment_columns

# Two DNOs drawn from the paper recipe: about half a second a run.
TINY = {
    "kind": "grid",
    "name": "tiny",
    "parameters": {
        "n_dnos": 2,
        "mechanism.seller_concession": [0.05, 0.3],
        "mechanism.valley_compensation_per_mwh": 100,
    },
    "seeds": 2,
}


def tiny_design(**changes):
    return parse({**TINY, **changes}, source="tiny design")


def comparable(df: pd.DataFrame) -> pd.DataFrame:
    """Rows without wall-clock and host columns, ordered by run id (the determinism contract)."""
    df = df.drop(columns=environment_columns(df.columns))
    return df.sort_values("run_id").reset_index(drop=True)


class InterruptAfter:
    """The real run_one, but Ctrl-C arrives after `k` runs (serial executor: same process)."""

    def __init__(self, k: int):
        self.k, self.done = k, 0

    def __call__(self, parameters, seed):
        if self.done == self.k:
            raise KeyboardInterrupt
        self.done += 1
        return run_one(parameters, seed)


def kill_worker_once(marker: str, parameters, seed):
    """The real run_one, except that the first run with seed 1 kills its worker process."""
    if seed == 1 and not Path(marker).exists():
        Path(marker).write_text("killed")
        os._exit(9)
    return run_one(parameters, seed)


def interrupt_in_worker(parameters, seed):
    """The real run_one, but one run (point 2, seed 1) meets a Ctrl-C inside its worker."""
    if seed == 1 and parameters["mechanism.seller_concession"] == 0.3:
        raise KeyboardInterrupt
    return run_one(parameters, seed)


def ishigami(parameters, seed):
    """The Ishigami function (a = 7, b = 0.1): analytic Sobol indices are known."""
    x1, x2, x3 = (parameters[k] for k in ("x1", "x2", "x3"))
    return {"y": float(np.sin(x1) + 7 * np.sin(x2) ** 2 + 0.1 * x3**4 * np.sin(x1))}


# Saltelli et al. (2008), Global Sensitivity Analysis, p. 179.
ISHIGAMI_S1 = {"x1": 0.3139, "x2": 0.4424, "x3": 0.0}
ISHIGAMI_ST = {"x1": 0.5576, "x2": 0.4424, "x3": 0.2437}


def assert_on_canvas(fig) -> None:
    """Everything the figure draws (titles, labels, ticks, legends) lies inside its PNG: the
    tight box of the drawn artists within the canvas; a failure names the texts outside."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer, box = canvas.get_renderer(), fig.bbox
    drawn = fig.get_tightbbox(renderer).transformed(fig.dpi_scale_trans)  # inches -> pixels
    if box.x0 - 1 <= drawn.x0 and drawn.x1 <= box.x1 + 1 and box.y0 - 1 <= drawn.y0 and drawn.y1 <= box.y1 + 1:
        return

    def beyond(text) -> bool:
        extent = text.get_window_extent(renderer)
        return not (box.contains(extent.x0, extent.y0) and box.contains(extent.x1, extent.y1))

    outside = [t.get_text() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip() and beyond(t)]
    raise AssertionError(f"drawn beyond the canvas {box.extents}: {drawn.extents}; texts outside: {outside}")
