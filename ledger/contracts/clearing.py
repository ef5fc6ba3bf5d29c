"""Clearing contracts: bids in, and at gate closure the market's own rules clear the hour.

`gate_closure` runs `market.auction.clear_hour` on the hour's on-time bids (upload time = the
proposer's receipt time) and `market.settlement.settle_hour` on the result; `day_close` runs
`market.settlement.close_day` after hour 24. The proposer posts the outcome as transactions (trade,
grid_settlement, compensation, fee; day_settlement) right after the trigger; every validator
re-derives the same list and rejects the block if one differs (execute and compare), so the trades
on chain are exactly what the rules give. A bid that reached the proposer after gate closure misses
the hour and is settled with the grid at once, as §A.7 and §A.13 item 7 say.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections import OrderedDict
from functools import lru_cache
from typing import Sequence

import numpy as np

from market.auction import Bid, ClearingResult, Rules
from market.design import Design, stage_params
from market.network.market_network import MarketNetwork
from market.params import MechanismParams
from market.realtime import REAL_TIME
from market.settlement import ACCOUNT_FIELDS, DnoAccount, HourSettlement, close_day, settle_hour
from market.shared_storage import SharedStorage
from market.tariff import Tariff

from ledger.block import BlockEntry
from ledger.canonical import canonical_bytes
from ledger.contracts.credit import bid_refusal
from ledger.contracts.runtime import (BlockContext, ContractError, apply_entry, contract, hour_key,
                                      organisation)
from ledger.genesis import Genesis
from ledger.identity import Identity
from ledger.transactions import Transaction, sign_transaction

RESULT_KINDS = ("trade", "grid_settlement", "compensation", "fee", "day_settlement", "delivery_settlement", "top_up")
# Run after an hour is cleared, with (state, ctx, day, hour, its HourSettlement); their events
# follow the clearing's (ledger.contracts.delivery records what each DNO contracted).
AFTER_GATE_CLOSURE: list = []
# Wall time of each hour's clearing, the slowest run of it (every validator clears every hour), by
# the chain's genesis hash and (day, hour): for timings.json only, never chain state. The model
# pops its own run's entries when it finishes (model.market_model).
CLEARING_SECONDS: dict[str, dict[tuple[int, int], float]] = {}
# Each hour's clearing as its gate closure made it, by what it is a function of (see `_clear`), for
# its day's close, which settles every hour of the day again. A gate closure always clears afresh
# (so every run times its clearings); the cache changes wall time, never a result, and callers
# only read what it returns.
_CLEARED: OrderedDict[tuple, tuple[ClearingResult, HourSettlement]] = OrderedDict()
_CLEARED_MAX = 96  # four days of hours (a day closes with its last hour's gate); a 1 000-DNO hour holds MBs
# Account fields a chain writes only when they move, so chains without them keep their bytes.
_SPARSE_ACCOUNT_FIELDS = ("uos_rmb", "imbalance_rmb", "penalty_rmb", "top_up_rmb")


def market_document(params: MechanismParams | None = None, tariff: Tariff | None = None,
                    design: Design | None = None, network: MarketNetwork | None = None,
                    station: SharedStorage | None = None) -> dict:
    """What the genesis document carries so every validator clears with the same rules.

    The design and the network are written only when they are not the paper's default (the
    default design, no network), as canonical encodings omit defaults: a chain of the default
    design is the same chain it was before designs and networks existed.
    """
    doc = {"mechanism": (params or MechanismParams()).document(),
           "tariff": (tariff or Tariff()).model_dump(mode="json")}
    if design is not None and not design.is_default:
        doc["design"] = design.model_dump(mode="json")
    if network is not None:
        doc["network"] = network.to_doc()
    if station is not None:  # a shared storage station: the agreement contract checks its schedules
        doc["shared_storage"] = dataclasses.asdict(station)
    return doc


def station_of(genesis: Genesis) -> SharedStorage | None:
    """The shared storage station the chain was founded with, if any."""
    doc = genesis.market.get("shared_storage")
    return None if doc is None else SharedStorage(**doc)


@lru_cache(maxsize=32)
def _market(doc: bytes) -> tuple[MechanismParams, Tariff, Design, MarketNetwork | None]:
    parsed = json.loads(doc)
    network = parsed.get("network")
    return (MechanismParams(**parsed.get("mechanism", {})), Tariff(**parsed.get("tariff", {})),
            Design.model_validate(parsed.get("design", {})),
            None if network is None else MarketNetwork.from_doc(network))


def market_of(genesis: Genesis) -> tuple[MechanismParams, Tariff, Design]:
    """The mechanism parameters, tariff and design the chain was founded with."""
    return _market(genesis.market_bytes)[:3]


def network_of(genesis: Genesis) -> MarketNetwork | None:
    """The distribution network the chain clears on (None: no network, as in the paper)."""
    return _market(genesis.market_bytes)[3]


def rules_for(genesis: Genesis, hour: int) -> Rules:
    return _rules(genesis.market_bytes, hour)


@lru_cache(maxsize=256)
def _rules(market: bytes, hour: int) -> Rules:
    params, tariff, _ = _market(market)[:3]
    return Rules.for_hour(params, tariff, hour)


def expect(state: dict, kind: str, payload: dict) -> None:
    state["expected"].append({"kind": kind, "payload": payload})


def book(state: dict, dno: str, account: DnoAccount) -> None:
    total = DnoAccount(**state["accounts"].get(dno, {})) + account
    # Field by field: dataclasses.asdict deep-copies each float and was a tenth of `ledger verify`.
    state["accounts"][dno] = {name: getattr(total, name) for name in ACCOUNT_FIELDS
                              if getattr(total, name) or name not in _SPARSE_ACCOUNT_FIELDS}


@contract("bid")
def bid(state: dict, tx: Transaction, entry: BlockEntry, ctx: BlockContext) -> list[dict]:
    """Record a bid with its upload time; one seen after gate closure misses the hour, one from a
    DNO whose transaction credit is below the trade-admission threshold is refused, and one whose
    DNO opted out of the market (`p2p: false`) stays out of it. Each is settled with the grid at once."""
    p = tx.payload
    day, hour, dno = p["day"], p["hour"], organisation(state, tx)
    key = hour_key(day, hour)
    late = not (entry.seen_ms <= ctx.genesis.gate_closure_ms(day, hour) and key not in state["closed"]
                and p["round"] == 1)  # later rounds are the contract's own concessions
    opted_out = p.get("p2p", True) is False
    refusal = None if late or opted_out else bid_refusal(state, ctx.genesis, dno) or _strategy_refusal(ctx.genesis, p)
    on_time = not late and refusal is None and not opted_out
    record = {"bidder": dno, "side": p["side"], "quantity_mwh": p["quantity_mwh"],
              "price_per_mwh": p["price_per_mwh"], "submitted_at": entry.seen_ms, "tx_id": entry.tx.tx_id,
              "included": on_time}
    if "strategy" in p and refusal is None:
        record["strategy"] = p["strategy"]
    state["bids"].setdefault(key, []).append(record if refusal is None else {**record, "refused": refusal})
    if opted_out:
        record["opted_out"] = True
    if not on_time and not (late and market_of(ctx.genesis)[2].delivery.settle):  # else: settled as metered
        rules = rules_for(ctx.genesis, hour)
        sells = p["side"] == "sell"
        price = rules.feed_in_per_mwh if sells else rules.tou_buy_per_mwh
        if p["quantity_mwh"] > rules.quantity_tolerance_mwh:
            expect(state, "grid_settlement", {"day": day, "hour": hour, "dno": dno, "side": p["side"],
                                               "quantity_mwh": p["quantity_mwh"], "price_per_mwh": price})
            # booked as an hour without a market would book it: grid money, volume, deviation, S0 baseline
            alone = Bid(dno, p["quantity_mwh"], price, entry.seen_ms, hour=hour)
            book(state, dno, settle_hour(hour, ClearingResult.unmatched([alone] if sells else [],
                                                                         [] if sells else [alone]), rules).accounts[dno])
    kind = ("bid_recorded" if on_time else "bid_missed_gate" if late else "bid_refused" if refusal is not None
            else "bid_opted_out")
    return [{"event": kind, "day": day, "hour": hour, "bidder": dno, "tx_id": entry.tx.tx_id}]


def _strategy_refusal(genesis: Genesis, payload: dict) -> str | None:
    """A bid must carry a state exactly when the design's bid strategy keeps one, and a valid one."""
    params, _, design = market_of(genesis)
    stage = REAL_TIME[design.real_time.stage]
    choice = stage.strategy(stage_params(design.real_time, params))
    stateful = choice is not None and choice.strategy.uses_state
    if "strategy" not in payload:
        return f"the {choice.name} strategy needs its state in the bid" if stateful else None
    if not stateful:
        return "this market's bids carry no strategy state"
    problem = choice.strategy.state_problem(payload["strategy"], choice.params)
    return None if problem is None else f"strategy state: {problem}"


def _network_order(state: dict, day: int, hour: int, book: list[dict]) -> list[float]:
    return [r["submitted_at"] for r in book]  # the proposer's receipt time (§A.13 item 7)


def _index_order(state: dict, day: int, hour: int, book: list[dict]) -> list[float]:
    dnos = sorted(m["organisation"] for m in state["members"].values() if m["role"] == "dno")
    return [float(dnos.index(r["bidder"])) for r in book]


def _random_order(state: dict, day: int, hour: int, book: list[dict]) -> list[float]:
    dnos = sorted(m["organisation"] for m in state["members"].values() if m["role"] == "dno")
    rng = np.random.default_rng([int(state["genesis"][:16], 16), day, hour])  # seeded by the chain
    rank = {name: float(k) for k, name in enumerate(dnos[i] for i in rng.permutation(len(dnos)))}
    return [rank[r["bidder"]] for r in book]


# Upload timestamps that break price ties (MechanismParams.upload_order, §A.11.2 / §A.13.7).
UPLOAD_ORDERS = {"network": _network_order, "index": _index_order, "random": _random_order}


def _clear(state: dict, genesis: Genesis, day: int, hour: int,
           again: bool = False) -> tuple[ClearingResult, HourSettlement]:
    """Clear and settle one closed hour from the on-time bids the chain recorded for it; `again`
    (day_close) takes the clearing its gate closure made, if it is still cached."""
    records = state["bids"].get(hour_key(day, hour), [])
    # Everything a clearing is a function of: the genesis document (by its hash: rules, members,
    # network) and the hour's recorded book.
    key = (state["genesis"], day, hour, canonical_bytes(records))
    if again and key in _CLEARED:
        _CLEARED.move_to_end(key)
        return _CLEARED[key]
    _CLEARED[key] = cleared = _clear_book(state, genesis, day, hour, [r for r in records if r["included"]])
    _CLEARED.move_to_end(key)
    if len(_CLEARED) > _CLEARED_MAX:
        _CLEARED.popitem(last=False)
    return cleared


def _clear_book(state: dict, genesis: Genesis, day: int, hour: int,
                book: list[dict]) -> tuple[ClearingResult, HourSettlement]:
    rules = rules_for(genesis, hour)
    stamps = UPLOAD_ORDERS[rules.upload_order](state, day, hour, book)
    priced = [(r, Bid(r["bidder"], r["quantity_mwh"], r["price_per_mwh"], t, hour=hour)) for r, t in zip(book, stamps)]
    offers = [b for r, b in priced if r["side"] == "sell"]
    bids = [b for r, b in priced if r["side"] == "buy"]
    params, _, design = market_of(genesis)
    stage = REAL_TIME[design.real_time.stage]  # the design's real-time market is this contract
    network = network_of(genesis)
    extra = {} if network is None else {"network": network}
    stage_rules = stage_params(design.real_time, params)
    choice = stage.strategy(stage_rules)
    if choice is not None and choice.strategy.uses_state:
        extra["states"] = {r["bidder"]: r["strategy"] for r in book}
    start = time.perf_counter()
    result = stage.clear(offers, bids, rules, stage_rules, **extra)
    took = CLEARING_SECONDS.setdefault(state["genesis"], {})
    took[(day, hour)] = max(took.get((day, hour), 0.0), time.perf_counter() - start)
    return result, settle_hour(hour, result, rules)


@contract("gate_closure")
def gate_closure(state: dict, tx: Transaction, entry: BlockEntry, ctx: BlockContext) -> list[dict]:
    """Close the hour's book, clear it with the market rules and list the results to be posted."""
    day, hour = tx.payload["day"], tx.payload["hour"]
    key = hour_key(day, hour)
    if key in state["closed"]:
        raise ContractError(f"hour {key} is already closed")
    if ctx.time_ms < ctx.genesis.gate_closure_ms(day, hour):
        raise ContractError(f"hour {key} closes at {ctx.genesis.gate_closure_ms(day, hour)} ms, not before")
    state["closed"][key] = ctx.height
    result, settled = _clear(state, ctx.genesis, day, hour)
    base = {"day": day, "hour": hour}
    for t in result.trades:
        charge = {"uos_per_mwh": t.uos_per_mwh} if network_of(ctx.genesis) is not None else {}
        expect(state, "trade", {**base, "round": t.round, "seller": t.seller, "buyer": t.buyer,
                                 "quantity_mwh": t.quantity_mwh, "price_per_mwh": t.price_per_mwh, **charge})
    for g in settled.grid_trades:
        expect(state, "grid_settlement", {**base, "dno": g.dno, "side": "sell" if g.dno_sells else "buy",
                                           "quantity_mwh": g.quantity_mwh, "price_per_mwh": g.price_per_mwh})
    for dno, account in sorted(settled.accounts.items()):
        if account.compensation_received_rmb:
            expect(state, "compensation", {**base, "dno": dno, "quantity_mwh": account.valley_volume_mwh,
                                            "amount_rmb": account.compensation_received_rmb})
    for dno, amount in sorted(result.top_ups.items()):  # the operator covers what buyers did not pay
        expect(state, "top_up", {**base, "dno": dno, "amount_rmb": amount})
    for dno, account in sorted(settled.accounts.items()):
        if account.service_fee_rmb:
            expect(state, "fee", {**base, "dno": dno, "quantity_mwh": account.p2p_volume_mwh,
                                   "amount_rmb": account.service_fee_rmb})
        book(state, dno, account)
    state["results"][key] = {"welfare_rmb": result.welfare_rmb, "trades": len(result.trades),
                             "rounds": len(result.rounds), "fees_rmb": settled.fees_rmb,
                             "compensation_rmb": settled.compensation_rmb, "block": ctx.height,
                             **({"uos_rmb": settled.uos_rmb} if network_of(ctx.genesis) is not None else {})}
    events = [{"event": "hour_cleared", "day": day, "hour": hour, "result": result, "settlement": settled}]
    for hook in AFTER_GATE_CLOSURE:
        events += hook(state, ctx, day, hour, settled)
    return events


def _day_hours(state: dict, day: int) -> list[int]:
    return sorted(int(k.split(":")[1]) for k in state["bids"] if int(k.split(":")[0]) == day)


@contract("day_close")
def day_close(state: dict, tx: Transaction, entry: BlockEntry, ctx: BlockContext) -> list[dict]:
    """End of day (§A.9): fund the compensation and share the scheduling fee among the DNOs."""
    day = tx.payload["day"]
    if str(day) in state["days"]:
        raise ContractError(f"day {day} is already closed")
    if ctx.time_ms < ctx.genesis.gate_closure_ms(day, 24):
        raise ContractError(f"day {day} closes with hour 24's gate")
    hours = _day_hours(state, day)
    if any(hour_key(day, h) not in state["closed"] for h in hours):
        raise ContractError(f"day {day} has hours still open")
    params, _, _ = market_of(ctx.genesis)
    members = sorted(m["organisation"] for m in state["members"].values() if m["role"] == "dno")
    closed = close_day([_clear(state, ctx.genesis, day, h, again=True)[1] for h in hours], params, members)
    for dno, account in sorted(closed.accounts.items()):
        if account.scheduling_fee_rmb or account.compensation_funded_rmb:
            expect(state, "day_settlement", {"day": day, "dno": dno, "scheduling_fee_rmb": account.scheduling_fee_rmb,
                                              "compensation_funded_rmb": account.compensation_funded_rmb})
            book(state, dno, DnoAccount(scheduling_fee_rmb=account.scheduling_fee_rmb,
                                         compensation_funded_rmb=account.compensation_funded_rmb))
    p = closed.platform
    state["days"][str(day)] = {"fees_rmb": p.fees_rmb, "compensation_paid_rmb": p.compensation_paid_rmb,
                               "scheduling_fee_paid_rmb": p.scheduling_fee_paid_rmb, "net_rmb": p.net_rmb,
                               "block": ctx.height,
                               **({"top_ups_paid_rmb": p.top_ups_paid_rmb} if p.top_ups_paid_rmb else {})}
    return [{"event": "day_closed", "day": day, "settlement": closed}]


def _posted_result(kind: str):
    def check(state: dict, tx: Transaction, entry: BlockEntry, ctx: BlockContext) -> list[dict]:
        """A posted result must be the next one the clearing produced, exactly."""
        if not state["expected"] or state["expected"][0] != {"kind": kind, "payload": dict(tx.payload)}:
            raise ContractError(f"posted {kind} differs from what the clearing produced")
        state["expected"].pop(0)
        return [{"event": kind, **tx.payload, "tx_id": entry.tx.tx_id}]
    check.__name__ = f"posted_{kind}"
    return check


for _kind in RESULT_KINDS:
    contract(_kind)(_posted_result(_kind))


def system_transactions(work: dict, proposer: Identity, ctx: BlockContext,
                        first: Sequence[tuple[str, dict]] = (), events: list[dict] | None = None) -> list[BlockEntry]:
    """What the proposer appends after the users' entries: `first` (kind, payload) (its evidence
    for the credit contract), pending results of missed bids, then a gate closure for every hour
    whose gate has passed, each followed by its clearing results.

    `work` is the proposer's scratch state after the users' entries; it is advanced in place (the
    caller owns it), so a proposal copies the chain state once, not once per step of building;
    `events`, when given, is extended with the events of applying them.
    """
    nonce = work["nonces"].get(proposer.public_hex, 0)
    out: list[BlockEntry] = []

    def emit(kind: str, payload: dict) -> None:
        nonlocal nonce
        nonce += 1
        entry = BlockEntry(sign_transaction(proposer, ctx.genesis.chain_id, kind, nonce, payload), ctx.time_ms)
        applied = apply_entry(work, entry, ctx)
        if events is not None:
            events.extend(applied)
        out.append(entry)

    def post_expected() -> None:
        while work["expected"]:
            emit(work["expected"][0]["kind"], work["expected"][0]["payload"])

    for kind, payload in first:
        emit(kind, payload)
    post_expected()
    waiting = work.get("delivery", {}).get("pending", {})  # readings of hours nobody bid in close them too
    due = sorted((int(d), int(h)) for d, h in (k.split(":") for k in {**work["bids"], **waiting})
                 if f"{d}:{h}" not in work["closed"] and ctx.genesis.gate_closure_ms(int(d), int(h)) <= ctx.time_ms)
    for day, hour in due:
        emit("gate_closure", {"day": day, "hour": hour})
        post_expected()
    days = sorted({int(k.split(":")[0]) for k in work["bids"]})
    for day in days:
        if str(day) not in work["days"] and ctx.genesis.gate_closure_ms(day, 24) <= ctx.time_ms:
            emit("day_close", {"day": day})
            post_expected()
    return out
