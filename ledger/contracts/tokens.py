"""Token balances (1 token = 1 RMB) derived from the chain's final settlements: §B.4.4's bill.

The bill is the list of final transactions; each settlement the clearing contracts posted moves
tokens between two accounts (a DNO, the main grid, or the platform's fee pool), and an accepted
day-ahead agreement moves them as the agreement contract books it (`settle_views`). Every posting
has its counter-posting, so the balances sum to zero: no token is minted or burnt by settling.
A DNO's balance is the revenue the contracts booked for it (`DnoAccount.revenue_rmb`), the grid's
its net takings and the platform's the fee pool's net, which a test checks on a market run.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from typing import Protocol

from ledger.block import Block
from ledger.contracts.agreement import settle_views
from ledger.contracts.clearing import station_of
from ledger.genesis import Genesis
from ledger.identity import Role

PLATFORM = "platform"


class FinalBlock(Protocol):
    block: Block
    events: list[dict]


def postings(kind: str, payload: dict, grid: str = "main_grid") -> list[tuple[str, float]]:
    """(account, tokens) moved by one posted settlement; they sum to zero."""
    if kind == "trade":
        value = payload["quantity_mwh"] * payload["price_per_mwh"]
        return [(payload["buyer"], -value), (payload["seller"], value)]
    if kind == "grid_settlement":
        value = payload["quantity_mwh"] * payload["price_per_mwh"]
        payer, payee = (grid, payload["dno"]) if payload["side"] == "sell" else (payload["dno"], grid)
        return [(payer, -value), (payee, value)]
    if kind == "compensation":
        return [(PLATFORM, -payload["amount_rmb"]), (payload["dno"], payload["amount_rmb"])]
    if kind == "fee":
        return [(payload["dno"], -payload["amount_rmb"]), (PLATFORM, payload["amount_rmb"])]
    if kind == "day_settlement":
        paid, funded = payload["scheduling_fee_rmb"], payload["compensation_funded_rmb"]
        return [(PLATFORM, -paid), (payload["dno"], paid), (payload["dno"], -funded), (PLATFORM, funded)]
    return []


def agreement_postings(genesis: Genesis, views: dict) -> list[tuple[str, float]]:
    """What an accepted day-ahead agreement moves: each DNO's net, its fees to the platform and its
    station fee to the station's operator."""
    accounts = settle_views(views, genesis)
    station = station_of(genesis)
    return [p for dno, a in accounts.items()
            for p in ((dno, a["net_rmb"]), (PLATFORM, a["service_fee_rmb"]),
                      *(((station.operator, a["station_fee_rmb"]),) if "station_fee_rmb" in a else ()))]


def token_balances(genesis: Genesis, final: Iterable[FinalBlock], grid: str = "main_grid") -> dict[str, float]:
    """Every DNO's, the grid's, the platform's (and a shared storage station's operator's) tokens
    after the final blocks `final` (in order, each with the events its execution gave, which say
    which schedule submissions were taken and which days' agreements were accepted)."""
    moves: dict[str, list[float]] = defaultdict(list)
    for name in sorted(m.organisation for m in genesis.registry.members() if m.role is Role.DNO):
        moves[name] = []
    moves[grid], moves[PLATFORM] = [], []
    station = station_of(genesis)
    if station is not None:
        moves[station.operator] = []
    submitted: dict[int, dict[str, dict]] = defaultdict(dict)  # day -> DNO -> its taken view
    for record in final:
        # the agreement contract emits one verdict per schedule submission, in block order
        verdicts = iter([ev for ev in record.events if ev.get("event") in ("schedule_accepted", "schedule_refused")])
        for entry in record.block.entries:
            tx = entry.tx.tx
            if tx.kind == "schedule":
                verdict = next(verdicts)
                if verdict["event"] == "schedule_accepted":
                    submitted[tx.payload["day"]][verdict["by"]] = tx.payload["view"]
                continue
            for account, tokens in postings(tx.kind, tx.payload, grid):
                moves[account].append(tokens)
        for ev in record.events:
            if ev.get("event") == "agreement_accepted":
                for account, tokens in agreement_postings(genesis, submitted.pop(ev["day"])):
                    moves[account].append(tokens)
    return {account: math.fsum(values) for account, values in moves.items()}
