"""Sobol sensitivity indices (SALib) of a Sobol design's results.

The design regenerates its Saltelli matrix; each matrix row's output is the measure at that
point averaged over seeds, so the indices describe the expected outcome and seed noise is
averaged out, not attributed to a parameter. Rows whose point has no successful run leave the
measure unanalysable (the indices need every row).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from batch_runs.design import SobolDesign, point_id


class SensitivityError(ValueError):
    """The results cannot give indices for this measure (missing points, no variance)."""


def sobol_indices(design: SobolDesign, df: pd.DataFrame, measure: str, seed: int = 0) -> pd.DataFrame:
    """First- and total-order indices with 95 % bootstrap half-widths, one row per parameter."""
    from SALib.analyze import sobol

    ok = df[(df.status == "ok") & df[measure].notna()] if measure in df else df.iloc[:0]
    by_point = ok.groupby("point_id")[measure].mean()
    ids = [point_id(p) for p in design.points()]
    missing = sum(i not in by_point.index for i in ids)
    if missing:
        raise SensitivityError(f"{measure}: {missing} of {len(ids)} Sobol points have no successful run")
    y = by_point.loc[ids].to_numpy(dtype=float)
    if np.ptp(y) == 0:
        raise SensitivityError(f"{measure}: constant over the design, nothing to attribute")
    problem = design.problem()
    result = sobol.analyze(problem, y, calc_second_order=design.second_order, conf_level=0.95, seed=seed)
    return pd.DataFrame(
        {
            "measure": measure,
            "parameter": problem["names"],
            "S1": result["S1"],
            "S1_conf95": result["S1_conf"],
            "ST": result["ST"],
            "ST_conf95": result["ST_conf"],
        }
    )
