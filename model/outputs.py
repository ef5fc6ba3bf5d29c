"""Output writers: byte-deterministic, and atomic so a failed run never clobbers earlier outputs.

Each file is written to a temporary sibling and renamed into place, so a reader (or a crash)
sees either the old file or the new one. Floats are rounded and negative zeros normalised so the
same run gives the same bytes.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

FLOAT_DECIMALS = 6


def publish(tmp: str | Path, path: Path) -> None:
    """Move a finished temporary file into place with ordinary file permissions.

    mkstemp creates files readable by the owner only; outputs are for sharing, so they get the
    mode a plain open() would give under the user's umask.
    """
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, path)


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write text or bytes to `path` through a temporary sibling, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode() if isinstance(data, str) else data)
        publish(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def tidy(frame: pd.DataFrame) -> pd.DataFrame:
    """Round float columns and turn -0.0 into 0.0 (solver noise must not change the bytes)."""
    out = frame.copy()
    for column in out.select_dtypes(include="float").columns:
        out[column] = np.round(out[column].to_numpy(), FLOAT_DECIMALS) + 0.0
    return out


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    write_atomic(path, tidy(frame).to_csv(index=False, lineterminator="\n"))


def write_json(data: dict[str, Any], path: Path) -> None:
    write_atomic(path, json.dumps(_plain(data), indent=2, sort_keys=True) + "\n")


def _plain(value: Any) -> Any:
    """JSON-ready: numpy scalars to Python, floats rounded, -0.0 normalised."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return round(float(value), FLOAT_DECIMALS) + 0.0
    return value
