"""What each consensus engine tolerates, checked against a run's configured faults.

BFT stays safe and live while the faulty validators (Byzantine, or down) hold less than a third
of the voting power; Raft commits while a majority of the nodes is up. A schedule beyond that is
allowed (it is how a researcher sees a chain stall or fork), but it is named up front in one line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ledger.consensus.cluster import Crash


def _worst_moment(crashes: Sequence[Crash], always: set[int], weight: Mapping[int, int]) -> tuple[float, int, set[int]]:
    """The earliest time (ms) at which the faulty set weighs most: (time, weight, nodes)."""
    times = sorted({0.0, *(c.at_ms for c in crashes)})
    best = (0.0, sum(weight[i] for i in always), set(always))
    for t in times:
        down = {c.node for c in crashes if c.at_ms <= t and (c.restart_ms is None or t < c.restart_ms)}
        faulty = always | down
        w = sum(weight[i] for i in faulty)
        if w > best[1]:
            best = (t, w, faulty)
    return best


def fault_warnings(engine: str, powers: Sequence[int], byzantine: Sequence[int], crashes: Sequence[Crash],
                   hour_ms: float) -> list[str]:
    """One line per way the configured faults exceed what `engine` tolerates (empty if none).
    `powers[i]` is validator i's voting power."""
    n = len(powers)
    if engine == "raft":
        t, down, nodes = _worst_moment(crashes, set(byzantine), dict.fromkeys(range(n), 1))
        if 2 * down >= n:
            return [f"raft: {down} of {n} validators are down from hour {t / hour_ms:g} "
                    f"(nodes {sorted(nodes)}): no live majority, the chain stalls until enough restart"]
        return []
    total = sum(powers)
    t, faulty, nodes = _worst_moment(crashes, set(byzantine), dict(enumerate(powers)))
    if 3 * faulty >= total:
        return [f"{engine}: faulty validators {sorted(nodes)} hold {faulty} of {total} voting power from hour "
                f"{t / hour_ms:g}, not less than a third: safety or liveness may be lost"]
    return []
