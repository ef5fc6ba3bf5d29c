"""The sweep's progress bar: runs done (resumed ones included), rate, time left, failures."""

from __future__ import annotations

import sys

from tqdm import tqdm


class Progress:
    """A tqdm bar on standard error; `enabled=False` keeps tests and pipes quiet."""

    def __init__(self, total: int, done: int, label: str, enabled: bool = True):
        self.ran = self.failed = 0
        self.bar = tqdm(
            total=total,
            initial=done,
            desc=label,
            unit="run",
            disable=not enabled,
            file=sys.stderr,
            dynamic_ncols=True,
            smoothing=0.1,
        )

    def update(self, status: str) -> None:
        self.ran += 1
        if status != "ok":
            self.failed += 1
            self.bar.set_postfix_str(f"{self.failed} failed", refresh=False)
        self.bar.update(1)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.bar.close()
