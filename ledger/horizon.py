"""The run's horizon on chain: when a chain has recorded everything its run owes.

Genesis records the run's length (`horizon_hours`). A chain is complete once it has passed the
gate of the last hour and closed every hour that took bids, every day, and (where delivery is
settled) every bidder's delivery. `ledger verify` requires it, so a ledger whose last blocks were
removed fails; the archival store stops at the block that completes it, so removing even that
one is caught.
"""

from __future__ import annotations

from ledger.block import BlockHeader
from ledger.genesis import Genesis


def short_of_horizon(genesis: Genesis, state: dict, tip: BlockHeader) -> str | None:
    """Why a chain that verified block by block still stops short of the run's end, or None."""
    if genesis.horizon_hours is None:
        return None
    day, hour = divmod(genesis.horizon_hours - 1, 24)
    if tip.time_ms < genesis.gate_closure_ms(day, hour + 1):
        return (f"the chain ends at height {tip.height}, before the gate of the run's last hour "
                f"(day {day}, hour {hour + 1}): its last blocks are missing")
    key = lambda k: tuple(int(x) for x in k.split(":"))  # noqa: E731
    unclosed = sorted((k for k in state["bids"] if k not in state["closed"]), key=key)
    if unclosed:
        return f"hour {unclosed[0]} (day:hour) took bids but was never closed: its last blocks are missing"
    days = sorted({key(k)[0] for k in state["bids"]} - {int(d) for d in state["days"]})
    if days:
        return f"day {days[0]} was never closed: its last blocks are missing"
    if "delivery" in state:  # a chain that settles delivery meters every DNO after every hour
        metered = state["delivery"]["metered"]
        dnos = sorted(m["organisation"] for m in state["members"].values() if m["role"] == "dno")
        for h in range(genesis.horizon_hours):
            for dno in dnos:
                if f"{h // 24}:{h % 24 + 1}:{dno}" not in metered:
                    return (f"the delivery of {dno} in hour {h // 24}:{h % 24 + 1} (day:hour) was never settled: "
                            "its last blocks are missing")
    return None
