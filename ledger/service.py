"""The chain as the market model uses it: sign and submit, advance the simulated clock, read results.

`params` and `tariff` are `market.params.MechanismParams` and `market.tariff.Tariff` (defaults if
None); only the contracts package imports `market`, so they pass through untyped here.

One object per run wires the alliance (keys from the run seed), the validator network, the
consensus engine and the store, with one block due at each hour's gate closure. Members' nonces
are tracked here, as a wallet would, so callers only say what to submit and when.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping, Sequence

from ledger.alliance import Alliance
from ledger.consensus import ENGINES
from ledger.consensus.base import BlockSchedule
from ledger.consensus.cluster import Cluster, Crash
from ledger.contracts import (OPERATOR, credit_document, hour_key, market_document, participant_credits,
                              validator_credits)
from ledger.credit import ChainCredit, Credit
from ledger.contracts.tokens import token_balances
from ledger.identity import Role
from ledger.network import NetworkParams
from ledger.offchain import OffChainChannel
from ledger.tolerance import fault_warnings, timing_warnings
from ledger.transactions import sign_transaction

QUORUM_OF_ENGINE = {"bft": "two_thirds_power", "raft": "majority_nodes", "pow": "proof_of_work"}


class MarketLedger:
    def __init__(self, *, run_seed: int, dnos: Sequence[str], engine: str = "bft",
                 network: NetworkParams | None = None, network_seed: int | None = None,
                 params: Any = None, tariff: Any = None, design: Any = None,
                 hour_ms: float = 10_000.0, gate_offset_ms: float = 2_000.0, store_path: str | None = None,
                 engine_params: Any = None, byzantine: Mapping[int, str] | None = None,
                 crashes: Sequence[Crash] = (), credits: Mapping[str, float] | None = None,
                 storage_owners: Sequence[str] = (), main_grid: str = "main_grid",
                 horizon_hours: int | None = None, chain_credit: ChainCredit | None = None,
                 validator_hosts: Sequence[str | None] = (), distribution: Any = None, station: Any = None):
        if engine not in ENGINES:
            raise ValueError(f"unknown consensus engine {engine!r}; known: {sorted(ENGINES)}")
        network = network or NetworkParams()
        if isinstance(engine_params, Mapping):  # e.g. a scenario's ledger.engine_params
            engine_params = ENGINES[engine].params_model.model_validate(engine_params)
        validators = [f"validator{i + 1}" for i in range(network.n_validators)]
        # a proof-of-work engine's target goes into genesis, so `ledger verify` checks each nonce
        target_bits = getattr(engine_params or ENGINES[engine].default_params(), "target_bits", None)
        self.alliance = Alliance.create(
            run_seed, dnos=dnos, validators=validators, main_grid=main_grid, storage_owners=storage_owners,
            quorum=QUORUM_OF_ENGINE.get(engine, "two_thirds_power"), credits=credits, hour_ms=hour_ms,
            gate_offset_ms=gate_offset_ms, market=market_document(params, tariff, design, distribution, station), horizon_hours=horizon_hours,
            pow_target_bits=target_bits)
        if chain_credit is not None and chain_credit.enabled:  # genesis carries the credit contract's rules
            keys = [identity.public_hex for identity in self.alliance.validators]  # node order
            doc = credit_document(chain_credit, dnos, keys, validator_hosts)
            self.alliance = replace(self.alliance, genesis=replace(self.alliance.genesis, credit=doc))
        self.genesis = self.alliance.genesis
        self.cluster = Cluster(self.alliance, engine, network=network, seed=run_seed, network_seed=network_seed,
                               params=engine_params, schedule=BlockSchedule(gate_offset_ms, hour_ms),
                               byzantine=byzantine, crashes=tuple(crashes), store_path=store_path)
        self._network = (network, run_seed if network_seed is None else network_seed)
        self._crashes = tuple(crashes)
        self.main_grid = main_grid
        self._nonces: dict[tuple[str, Role], int] = {}
        self._entry = {name: i % network.n_validators for i, name in enumerate(sorted(dnos) + [main_grid, OPERATOR])}

    # --- time ----------------------------------------------------------------------------------

    def hour_start_ms(self, day: int, hour: int) -> float:
        return (day * 24 + hour - 1) * self.genesis.hour_ms

    def gate_closure_ms(self, day: int, hour: int) -> float:
        return self.genesis.gate_closure_ms(day, hour)

    def run_until(self, at_ms: float) -> None:
        self.cluster.run(until_ms=at_ms)

    def run_hour(self, day: int, hour: int) -> None:
        """Advance to the end of the hour's slot: its gate has closed and its block been agreed."""
        self.cluster.run(until_ms=self.hour_start_ms(day, hour) + self.genesis.hour_ms)

    # --- submitting ----------------------------------------------------------------------------

    def submit(self, organisation: str, role: Role | str, kind: str, payload: dict, at_ms: float,
               deadline_ms: float | None = None) -> str:
        """Sign `payload` as (organisation, role) with its next nonce and send it at `at_ms`; the
        sender re-sends it until it is committed or `deadline_ms` has passed."""
        key = (organisation, Role(role))
        nonce = self._nonces[key] = self._nonces.get(key, 0) + 1
        stx = sign_transaction(self.alliance.identity(*key), self.genesis.chain_id, kind, nonce, payload)
        self.cluster.submit(stx, organisation, self._entry.get(organisation, 0), at_ms, deadline_ms)
        return stx.tx_id

    def register_all(self, at_ms: float = 0.0, details: Mapping[str, dict] | None = None) -> None:
        """Stage 1 of §A.1: every member writes its registration (and device data) on chain."""
        for member in self.genesis.registry.members():
            if member.role is Role.VALIDATOR:
                continue
            payload = {"organisation": member.organisation, "role": member.role.value,
                       "details": dict((details or {}).get(member.organisation, {}))}
            self.submit(member.organisation, member.role, "register", payload, at_ms)

    def submit_bid(self, dno: str, day: int, hour: int, side: str, quantity_mwh: float, price_per_mwh: float,
                   at_ms: float | None = None, strategy: dict | None = None, p2p: bool = True) -> str:
        """A signed bid; `strategy` is the bid strategy's state the contract re-quotes with; `p2p`
        False opts the DNO out of the hour's market (settled with the grid at once)."""
        at = self.hour_start_ms(day, hour) if at_ms is None else at_ms
        payload = {"day": day, "hour": hour, "round": 1, "side": side, "quantity_mwh": quantity_mwh,
                   "price_per_mwh": price_per_mwh, **({} if strategy is None else {"strategy": strategy}),
                   **({} if p2p else {"p2p": False})}
        return self.submit(dno, Role.DNO, "bid", payload, at, self.gate_closure_ms(day, hour))

    def submit_meter_reading(self, dno: str, day: int, hour: int, delivered_mwh: float, drawn_mwh: float,
                             at_ms: float) -> str:
        """The main grid's reading of what `dno` supplied and drew in a delivered hour."""
        payload = {"day": day, "hour": hour, "dno": dno, "delivered_mwh": delivered_mwh, "drawn_mwh": drawn_mwh}
        return self.submit(self.main_grid, Role.MAIN_GRID, "meter_reading", payload, at_ms)

    def offchain_channel(self, start_ms: float) -> OffChainChannel:
        """A channel for participants' off-chain messages over this chain's validator network."""
        return OffChainChannel(*self._network, entry=self._entry, start_ms=start_ms)

    def submit_schedules(self, day: int, stage: str, views: dict, at_ms: float) -> list[str]:
        """Each DNO submits its own side of the day's agreement, signed with its key."""
        return [self.submit(dno, Role.DNO, "schedule", {"day": day, "stage": stage, "view": view}, at_ms)
                for dno, view in sorted(views.items())]

    # --- reading -------------------------------------------------------------------------------

    @property
    def chain(self):
        """The archival replica: an honest validator that never crashes, the one writing the store."""
        return self.cluster.nodes[self.cluster.store_node].chain

    def committed(self, kind: str) -> list[dict]:
        """Payloads of every committed transaction of `kind`, in chain order, with their height."""
        return [{**e.tx.tx.payload, "block_height": c.block.height, "tx_id": e.tx.tx_id}
                for c in self.chain.blocks for e in c.block.entries if e.tx.tx.kind == kind]

    def hour_outcome(self, day: int, hour: int) -> dict[str, Any]:
        """What the chain decided for one hour: its bids (with upload times and whether they made
        the gate), trades, grid settlements, compensation, fees, and the market's clearing result."""
        state = self.chain.state
        key = hour_key(day, hour)
        pick = lambda kind: [x for x in self.committed(kind) if (x["day"], x["hour"]) == (day, hour)]  # noqa: E731
        events = [ev for c in self.chain.blocks for ev in c.events
                  if ev.get("event") == "hour_cleared" and (ev["day"], ev["hour"]) == (day, hour)]
        return {"bids": list(state["bids"].get(key, [])), "closed_at_height": state["closed"].get(key),
                "trades": pick("trade"), "grid": pick("grid_settlement"), "compensation": pick("compensation"),
                "fees": pick("fee"), "clearing": events[0]["result"] if events else None}

    def credits(self) -> tuple[dict[str, float], dict[str, Credit]]:
        """Double credit as committed: each DNO's transaction credit and each validator's (TC, NC)
        by key; both empty on a chain that keeps no credit."""
        state = self.chain.state
        return participant_credits(state), validator_credits(state)

    def metrics(self) -> dict[str, float]:
        """The cluster's metrics, the lowest height an honest validator reached and the heights
        where honest validators committed different blocks (a safety violation, never hidden)."""
        return {**self.cluster.metrics(), "lowest_honest_height": self.cluster.honest_height(),
                "conflicting_commits": len(self.cluster.conflicts())}

    def fault_warnings(self) -> list[str]:
        """The configured faults that exceed what the engine tolerates, one line each."""
        c = self.cluster
        weights = [node.fault_weight() for node in c.nodes]  # voting power, or hash rate
        return (fault_warnings(c.engine, weights, sorted(c.byzantine), self._crashes, self.genesis.hour_ms)
                + timing_warnings(c.engine, c.nodes[0].params, c.network))

    def token_balances(self) -> dict[str, float]:
        """Token balances (1 token = 1 RMB) of every account from the final settlements on chain."""
        return token_balances(self.genesis, self.chain.blocks, self.main_grid)

    def close(self) -> None:
        self.cluster.close()
