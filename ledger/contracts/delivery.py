"""The delivery contract: meter readings in, forecast errors settled (market.delivery, §B.3.6).

On a chain whose design settles delivery (`design.delivery.settle`), each cleared hour records what
every DNO contracted (P2P sold and bought, residuals the grid took or supplied); after the hour the
metering party (the main grid) posts a reading per DNO, and the contract settles the difference as
one `delivery_settlement` result the proposer posts and every validator re-derives. A reading that
arrives before its hour is cleared waits for the hour's gate closure. A bid that misses the gate
is not settled with the grid at once on such a chain: its energy is settled as metered. Penalties
go to the market operator (`state["delivery"]["penalties_rmb"]`).

On any other chain a reading only moves transaction credit (ledger.contracts.credit), as before.
"""

from __future__ import annotations

import math

from market.delivery import Contracted, DeliveryParams, settle_delivery
from market.settlement import DnoAccount, HourSettlement

from ledger.block import BlockEntry
from ledger.contracts.clearing import AFTER_GATE_CLOSURE, book, expect, market_of, rules_for
from ledger.contracts.credit import credit_on_reading
from ledger.contracts.runtime import GENESIS_PARTS, BlockContext, contract, hour_key
from ledger.genesis import Genesis
from ledger.transactions import Transaction


def delivery_of(genesis: Genesis) -> DeliveryParams | None:
    """The chain's delivery settlement rules, or None when it settles no forecast errors."""
    delivery = market_of(genesis)[2].delivery
    return delivery if delivery.settle else None


def _at_genesis(genesis: Genesis) -> dict:
    if delivery_of(genesis) is None:
        return {}
    return {"delivery": {"contracted": {}, "pending": {}, "metered": {}, "penalties_rmb": 0.0}}


GENESIS_PARTS.append(_at_genesis)


def _record_contracted(state: dict, ctx: BlockContext, day: int, hour: int, settled: HourSettlement) -> list[dict]:
    """After a gate closure: what each DNO contracted, then the readings that waited for it."""
    delivery = state.get("delivery")
    if delivery is None:
        return []
    key = hour_key(day, hour)
    book_of: dict[str, list[float]] = {}
    for t in settled.result.trades:
        book_of.setdefault(t.seller, [0.0] * 4)[0] += t.quantity_mwh
        book_of.setdefault(t.buyer, [0.0] * 4)[1] += t.quantity_mwh
    for g in settled.grid_trades:
        book_of.setdefault(g.dno, [0.0] * 4)[2 if g.dno_sells else 3] += g.quantity_mwh
    delivery["contracted"][key] = {dno: v for dno, v in sorted(book_of.items())}
    events = []
    for p in delivery["pending"].pop(key, []):
        events += _settle(state, ctx, p)
    return events


AFTER_GATE_CLOSURE.append(_record_contracted)


def _settle(state: dict, ctx: BlockContext, p: dict) -> list[dict]:
    """Settle one reading of a cleared hour: credit first (as on any chain), then the money."""
    delivery, params = state["delivery"], delivery_of(ctx.genesis)
    key = hour_key(p["day"], p["hour"])
    events = credit_on_reading(state, p, ctx)
    contracted = Contracted(*delivery["contracted"].get(key, {}).get(p["dno"], (0.0,) * 4))
    rules = rules_for(ctx.genesis, p["hour"])
    drawn = p.get("drawn_mwh", 0.0)
    tou, fit = rules.tou_buy_per_mwh, rules.feed_in_per_mwh
    s = settle_delivery(contracted, p["delivered_mwh"], drawn, tou, fit, params, rules.quantity_tolerance_mwh)
    delivery["metered"][f"{key}:{p['dno']}"] = True
    if s.shortfall_mwh == 0 and s.penalty_rmb == 0 and s.grid_sold_mwh == 0 and s.grid_bought_mwh == 0:
        return events  # delivered exactly what cleared: nothing to move
    # the no-trading baseline, booked at clearing on what the DNO bid, moves to what it delivered
    c = contracted
    baseline = math.fsum((fit * (p["delivered_mwh"] - c.p2p_sold_mwh - c.grid_took_mwh),
                          -tou * (drawn - c.p2p_bought_mwh - c.grid_supplied_mwh)))
    expect(state, "delivery_settlement", {
        "day": p["day"], "hour": p["hour"], "dno": p["dno"], "delivered_mwh": p["delivered_mwh"], "drawn_mwh": drawn,
        "shortfall_mwh": s.shortfall_mwh, "penalty_rmb": s.penalty_rmb, "grid_sold_mwh": s.grid_sold_mwh,
        "grid_bought_mwh": s.grid_bought_mwh, "grid_rmb": s.grid_rmb})
    book(state, p["dno"], DnoAccount(imbalance_rmb=s.grid_rmb, penalty_rmb=s.penalty_rmb, baseline_rmb=baseline))
    delivery["penalties_rmb"] += s.penalty_rmb
    return events


@contract("meter_reading")
def meter_reading(state: dict, tx: Transaction, entry: BlockEntry, ctx: BlockContext) -> list[dict]:
    """A DNO's metered delivery for an hour: settled at once if the hour is cleared, else held for
    its gate closure; a second reading of the same DNO and hour is refused."""
    p = dict(tx.payload)
    delivery = state.get("delivery")
    if delivery is None:
        return credit_on_reading(state, p, ctx)
    key = hour_key(p["day"], p["hour"])
    held = any(q["dno"] == p["dno"] for q in delivery["pending"].get(key, []))
    if held or f"{key}:{p['dno']}" in delivery["metered"]:
        return [{"event": "meter_reading", **p, "refused": "this delivery is already metered"}]
    if key in state["closed"]:
        return _settle(state, ctx, p)
    delivery["pending"].setdefault(key, []).append(p)
    return [{"event": "meter_reading", **p, "pending": "waits for the hour's gate closure"}]
