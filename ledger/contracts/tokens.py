"""Token balances (1 token = 1 RMB) derived from the chain's final settlements: SPEC B.4.4's bill.

The bill is the list of final transactions; each settlement the clearing contracts posted moves
tokens between two accounts (a DNO, the main grid, or the platform's fee pool), and an accepted
day-ahead agreement moves them as `market.coordination.settle_agreement` books it. Every posting
has its counter-posting, so the balances sum to zero: no token is minted or burnt by settling.
A DNO's balance is the revenue the contracts booked for it (`DnoAccount.revenue_rmb`), the grid's
its net takings and the platform's the fee pool's net, which a test checks on a market run.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from typing import Protocol

from market.coordination import settle_agreement
from market.fees import FEE_SHARES

from ledger.block import Block
from ledger.contracts.clearing import market_of
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


def agreement_postings(genesis: Genesis, payload: dict) -> list[tuple[str, float]]:
    """What an accepted day-ahead agreement moves: each DNO's net, and its fees to the platform."""
    params, _, _ = market_of(genesis)
    accounts = settle_agreement(payload["views"], params.service_fee_per_mwh, FEE_SHARES[params.fee_payer])
    return [p for dno, a in accounts.items() for p in ((dno, a["net_rmb"]), (PLATFORM, a["service_fee_rmb"]))]


def token_balances(genesis: Genesis, final: Iterable[FinalBlock], grid: str = "main_grid") -> dict[str, float]:
    """Every DNO's, the grid's and the platform's tokens after the final blocks `final` (in order,
    each with the events its execution gave, which say whether an agreement was accepted)."""
    moves: dict[str, list[float]] = defaultdict(list)
    for name in sorted(m.organisation for m in genesis.registry.members() if m.role is Role.DNO):
        moves[name] = []
    moves[grid], moves[PLATFORM] = [], []
    for record in final:
        # the agreement contract emits one event per agreement, in block order: accepted or refused
        verdicts = iter([ev["event"] == "agreement_accepted" for ev in record.events
                         if ev.get("event") in ("agreement_accepted", "agreement_refused")])
        for entry in record.block.entries:
            tx = entry.tx.tx
            if tx.kind == "agreement":
                moved = agreement_postings(genesis, tx.payload) if next(verdicts) else []
            else:
                moved = postings(tx.kind, tx.payload, grid)
            for account, tokens in moved:
                moves[account].append(tokens)
    return {account: math.fsum(values) for account, values in moves.items()}
