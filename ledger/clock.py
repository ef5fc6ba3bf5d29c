"""The simulated clock: a discrete-event priority queue, never threads or wall time.

Events at equal times run in the order they were scheduled (a sequence number breaks ties), so a
run is a pure function of its seed.
"""

from __future__ import annotations

import heapq
from typing import Any, Callable


class SimClock:
    def __init__(self) -> None:
        self.now = 0.0  # simulated milliseconds
        self._queue: list[tuple[float, int, Callable[..., Any], tuple]] = []
        self._seq = 0
        self.events_run = 0

    def schedule(self, at_ms: float, callback: Callable[..., Any], *args: Any) -> None:
        if at_ms < self.now:
            at_ms = self.now
        heapq.heappush(self._queue, (at_ms, self._seq, callback, args))
        self._seq += 1

    def pending(self) -> int:
        return len(self._queue)

    def run(self, until_ms: float | None = None, stop: Callable[[], bool] | None = None,
            max_events: int | None = None) -> None:
        """Run events in time order up to `until_ms` (inclusive) or until `stop()` is true."""
        budget = max_events
        while self._queue:
            at, _, callback, args = self._queue[0]
            if until_ms is not None and at > until_ms:
                break
            heapq.heappop(self._queue)
            self.now = at
            callback(*args)
            self.events_run += 1
            if stop is not None and stop():
                return
            if budget is not None:
                budget -= 1
                if budget <= 0:
                    return
        if until_ms is not None and self.now < until_ms:
            self.now = until_ms
