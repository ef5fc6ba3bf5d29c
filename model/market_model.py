"""The Mesa model: one step is one intraday hour, with the chain in the loop (§A.12: one operating day).

Each step: actuals for the hour are revealed and DNOs re-plan; their DAF-IDO deviations are
priced, signed and gossiped to the validators; consensus orders them into the hour's block at
gate closure, where the clearing contract runs the auction, grid settlement, compensation and
fees; the model then books whatever the chain has committed, dispatches storage and collects data.

Results are read from the chain, never computed beside it: if consensus is slow, an hour's money
is booked when its block commits, and a run ends only when every hour and day has closed.
"""

from __future__ import annotations

import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

import mesa
import numpy as np

from agents.dno import DNO
from agents.main_grid import MainGrid
from agents.network_operator import NetworkOperator
from agents.storage_owner import StorageOwner
from agents.validator import Validator
from ledger.consensus.cluster import Crash
from ledger.service import MarketLedger
from market.auction import Rules
from market.bidding.strategies import round_prices
from market.coordination import COORDINATION, Participant
from market.design import stage_params
from market.dro import ambiguity_radii
from market.fees import FEE_SHARES
from market.participation import PARTICIPATION
from market.realtime import REAL_TIME
from market.robust_plan import robust_storage
from market.settlement import DnoAccount
from model.heat_outputs import heat_columns, planned_emission_t
from model.plan_fanout import MapUnordered, PlanJob, ReplanJob, fan_out
from model.planning import DnoDay, SchedulerSpec, forecast_scenarios, make_scheduler, redraw_actuals
from model.scenario import Scenario

HOURS = 24
# delivery.csv: what was metered and what settling its difference from the clearing moved
DELIVERY_COLUMNS = ("dno", "delivered_mwh", "drawn_mwh", "shortfall_mwh", "penalty_rmb", "grid_sold_mwh",
                    "grid_bought_mwh", "grid_rmb")
_MAX_EXTRA_HOURS = 48  # how long the chain may lag behind the market before the run fails


# Per agent type, what the DataCollector records after every hour: one frame per type through
# `model.datacollector.get_agenttype_vars_dataframe(DNO)`, indexed by (Step, AgentID). Every column
# is documented in docs/agents.md; the flows are those of the hour just stepped, the money and
# volumes cumulative since the start of the run.
AGENT_REPORTERS = {
    DNO: {
        "name": "name",
        "deviation_case": lambda a: a.deviation.case if a.deviations else 0,
        "supply_mwh": lambda a: a.deviation.supply_mwh if a.deviations else 0.0,
        "demand_mwh": lambda a: a.deviation.demand_mwh if a.deviations else 0.0,
        "storage_action_mw": lambda a: a.action_mw(a.model.hour) if a.deviations else 0.0,
        "unserved_mw": lambda a: float(a.intraday.unserved_mw[a.model.hour - 1]) if a.deviations else 0.0,
        "revenue_rmb": "revenue_rmb",
    },
    StorageOwner: {"name": "name", "dno": "dno", "soc_mean": lambda a: float(np.mean(a.soc)) if len(a.soc) else 0.0,
                   "throughput_mwh": "throughput_mwh", "revenue_rmb": "revenue_rmb"},
    MainGrid: {"sold_mwh": "sold_mwh", "bought_mwh": "bought_mwh", "net_rmb": "net_rmb"},
    Validator: {"name": "name", "node": "index", "host": "host", "height": "height", "status": "status"},
}
NETWORK_OPERATOR_REPORTERS = {  # recorded only when the scenario has a network
    NetworkOperator: {"uos_rmb": "uos_rmb", "worst_loading_pct": "worst_loading_pct", "min_v_pu": "min_v_pu",
                      "losses_mw": "losses_mw"},
}


class ChainStalled(RuntimeError):
    """Consensus lost liveness: hours never closed (e.g. too many validators crashed)."""


class StorageMarketModel(mesa.Model):
    """DNOs trading storage deviations hour by hour over a permissioned chain.

    The validated scenario is `config`, never `scenario`: Mesa 3.5's Model owns that name (its
    experimental Scenario, which SolaraViz also passes to a model's constructor on reset).
    """

    def __init__(self, config: Scenario, rng=None, store_path: str | Path | None = None,
                 planner: MapUnordered | None = None) -> None:
        """`planner`: an executor's imap_unordered to plan the DNOs' days in other processes
        (model.plan_fanout; same results as planning here, the default)."""
        super().__init__(rng=rng)
        self.planner = planner
        self.config = scenario = config
        self.seed = int(rng) if isinstance(rng, (int, np.integer)) else int(self.rng.integers(2**31 - 1))
        # the sixth child draws the robust plans' scenarios; spawning it leaves the first five as they were
        ledger_seq, network_seq, actuals_seq, strategy_seq, negotiation_seq, dro_seq = (
            np.random.SeedSequence(self.seed).spawn(6))
        self._dro_rng = np.random.default_rng(dro_seq)
        self.dro_rows: list[dict] = []  # a robust plan's record per DNO and day (dro.csv)
        self._negotiation_rng = np.random.default_rng(negotiation_seq)  # e.g. best response's sweep orders
        self._actuals_rng = np.random.default_rng(actuals_seq)
        self.hours_total = HOURS * scenario.days
        design = scenario.design
        self.coordination = COORDINATION[design.coordination.stage]
        self.real_time = REAL_TIME[design.real_time.stage]
        self._coordination_params = stage_params(design.coordination, scenario.mechanism)
        self._real_time_params = stage_params(design.real_time, scenario.mechanism)
        choice = self.real_time.strategy(self._real_time_params)
        self.strategy = choice if choice is not None and choice.strategy.uses_state else None  # a stateful one
        self.hour_index = 0  # hours stepped so far
        self.day, self.hour = 0, 0  # the hour being stepped (day 0-based, hour 1..24)

        self.main_grid = MainGrid(self, scenario.tariff)
        # a shared storage station, when the scenario has one: its operator is a storage owner of its own
        spec = scenario.shared_storage
        self.station = None if spec is None else spec.station()
        self.station_owner = None if spec is None else StorageOwner(self, spec.operator, "", [self.station])
        self._station_use = (np.zeros(HOURS), np.zeros(HOURS))  # the day's agreed total (to, from) the station
        self.dnos: list[DNO] = []
        for spec in scenario.dnos:
            owners = [StorageOwner(self, o.name, spec.name, o.units) for o in spec.storage_owners]
            self.dnos.append(
                DNO(
                    self,
                    spec,
                    make_scheduler(spec, scenario),
                    owners,
                    scenario.scheduling.intraday_mode,
                    scenario.mechanism.quantity_tolerance_mwh,
                    bids_before_delivery=design.delivery.settle,
                    deviation_rule=scenario.mechanism.deviation_rule,
                    replay=None if scenario.scheduling.storage == "optimised" else (
                        np.array(spec.storage_actions.day_ahead), np.array(spec.storage_actions.intraday)),
                )
            )
        self._by_name = {d.name: d for d in self.dnos}
        self.has_heat = any(spec.heat is not None for spec in scenario.dnos)  # hourly.csv's heat columns
        # each DNO's bid-strategy state, off chain; signed into its bids, adopted back from the clearing
        strategy_rng = np.random.default_rng(strategy_seq)
        self.strategy_states: dict[str, dict] = {} if self.strategy is None else {
            d.name: self.strategy.strategy.initial_state(d.name, self.strategy.params, strategy_rng) for d in self.dnos}
        self.dso = None if scenario.network is None else _network_operator(self, scenario.network)

        chain = scenario.ledger
        hour_ms = chain.hour_ms
        self.ledger = MarketLedger(
            run_seed=int(ledger_seq.generate_state(1)[0]),
            network_seed=int(network_seq.generate_state(1)[0]),
            dnos=[d.name for d in self.dnos],
            storage_owners=[o.name for d in self.dnos for o in d.owners]
            + ([self.station_owner.name] if self.station_owner else []),
            engine=chain.engine,
            network=chain.network,
            params=scenario.mechanism,
            tariff=scenario.tariff,
            design=scenario.design,
            horizon_hours=self.hours_total,
            chain_credit=chain.credit,
            validator_hosts=chain.validator_hosts,
            distribution=None if scenario.network is None else scenario.network.market_network,
            station=self.station,
            hour_ms=hour_ms,
            gate_offset_ms=chain.gate_offset_ms,
            store_path=str(store_path) if store_path else None,
            byzantine=chain.byzantine,
            engine_params=chain.engine_params or None,
            crashes=[
                Crash(c.node, c.at_hour * hour_ms, None if c.restart_hour is None else c.restart_hour * hour_ms)
                for c in chain.crashes
            ],
        )
        crashed = {c.node for c in chain.crashes}
        self.validators = [
            Validator(
                self,
                i,
                chain.validator_hosts[i] if i < len(chain.validator_hosts) else None,
                chain.byzantine.get(i, "crashed" if i in crashed else "honest"),
            )
            for i in range(chain.network.n_validators)
        ]
        self._validator_names = {identity.public_hex: v.name
                                 for identity, v in zip(self.ledger.alliance.validators, self.validators)}
        self.ledger.register_all(at_ms=0.0, details={d.name: _device_data(d.spec) for d in self.dnos})

        # Rows of the output tables, appended as hours are booked (frames are built once, at the end).
        self.hourly_rows: list[dict] = []
        self.bid_rows: list[dict] = []
        self.trade_rows: list[dict] = []
        self.plan_rows: list[dict] = []  # per day and DNO: committed and own day-ahead plans
        self.credit_rows: list[dict] = []  # double credit changes, when the chain keeps credit
        self.delivery_rows: list[dict] = []  # forecast errors settled after delivery, when the design does
        self.negotiation_rows: list[dict] = []  # a negotiating real-time stage's updates (best_response.csv)
        self.stage_rows: list[dict] = []  # a real-time stage's own per-hour table (e.g. vcg.csv)
        self.negotiation_outcomes: dict[str, int] = defaultdict(int)  # its hours by outcome
        self._metered: set[str] = set()  # "day:hour:dno" readings the model sent
        self.coordination_metrics: dict[str, float] = defaultdict(int)
        self.coordination_tables: dict[str, list[dict]] = {}  # a coordination stage's tables, per day, as columns
        self.coordination_reports: list[dict] = []  # and its figures, one per day
        self.own_grid_rmb: dict[str, float] = {d.name: 0.0 for d in self.dnos}  # every own deviation with the grid
        self.clearings: dict[tuple[int, int], object] = {}  # (day, hour) -> ClearingResult
        self._booked_height = 0  # blocks up to this height are in the tables
        self._step_p2p = [0.0, 0.0]
        self._submitted: set[str] = set()  # hour keys the model sent bids for
        self._accounts: dict[str, DnoAccount] = {d.name: DnoAccount() for d in self.dnos}
        self.welfare_rmb = 0.0
        self.phase_seconds: dict[str, float] = defaultdict(float)
        self.p2p_volume_mwh = 0.0
        self.grid_volume_mwh = 0.0
        self.datacollector = mesa.DataCollector(
            model_reporters={
                "day": lambda m: m.day + 1,
                "hour": lambda m: m.hour,
                "welfare_rmb": lambda m: m.welfare_rmb,
                "p2p_price_per_mwh": lambda m: m.hour_p2p_price_per_mwh,
                "p2p_volume_mwh": lambda m: m.p2p_volume_mwh,
                "grid_volume_mwh": lambda m: m.grid_volume_mwh,
                "grid_sold_to_dnos_mwh": lambda m: m.main_grid.sold_mwh,
                "grid_bought_from_dnos_mwh": lambda m: m.main_grid.bought_mwh,
                "platform_net_rmb": lambda m: m.platform_net_rmb,
                "chain_height": lambda m: m.ledger.chain.height,
                "chain_messages": lambda m: m.ledger.cluster.network.messages,
            },
            agenttype_reporters={**AGENT_REPORTERS, **(NETWORK_OPERATOR_REPORTERS if self.dso else {})},
        )

    # --- the hourly step ----------------------------------------------------------------------

    def step(self) -> None:
        if self.hour_index >= self.hours_total:
            self.running = False
            return
        self.day, hour0 = divmod(self.hour_index, HOURS)
        self.hour = hour0 + 1
        with self._phase("planning"):
            if self.hour == 1:
                self._start_day(self.day)
            solved: list = [None] * len(self.dnos)
            if self.planner is not None and self.config.scheduling.intraday_mode == "rolling":
                solved = fan_out(self.planner, [ReplanJob(SchedulerSpec.of(dno.spec, self.config),
                                                          tuple(dno.rolling_solves(self.hour))) for dno in self.dnos])
            for dno, plans in zip(self.dnos, solved):  # a. actuals revealed; intraday re-optimisation
                dno.replan(self.hour, plans)
            self._record_hourly()  # b. the DAF-IDO deviation of every DNO
        if self.dso is not None:
            with self._phase("network"):  # the deviations flow whoever they are traded with
                self.dso.observe(self.day, self.hour, {d.name: d.deviation.supply_mwh - d.deviation.demand_mwh
                                                       for d in self.dnos})
        with self._phase("bidding"):
            self._bid()  # c. bids priced, signed and gossiped
        with self._phase("chain"):
            self.ledger.run_hour(self.day, self.hour)  # d. gate closure, block, contract
            if self.config.design.delivery.settle:
                self._meter()  # the hour delivered: the main grid posts what each DNO did
            if self.hour_index + 1 == self.hours_total:
                self._drain()
        with self._phase("settlement"):
            for dno in self.dnos:  # e. storage dispatched
                dno.dispatch(self.hour)
            if self.station_owner is not None:  # the shared station as the day's agreement has it
                t = self.hour - 1
                self.station_owner.dispatch(np.array([self._station_use[0][t]]), np.array([self._station_use[1][t]]))
            self.hour_index += 1
            self._book_committed()  # e. settlement from what the chain committed
        with self._phase("data_collection"):
            self.datacollector.collect(self)
        if self.hour_index == self.hours_total:
            self.running = False

    @contextmanager
    def _phase(self, name: str):
        """Wall time per phase, for benchmarks only: it is never read by the model's logic."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.phase_seconds[name] += time.perf_counter() - start

    def _start_day(self, day: int) -> None:
        """Day-ahead (stage 2 of §A.1): each DNO plans on forecasts, the design's coordination
        stage turns the plans into an agreement off chain, and each DNO commits its agreed plan on
        chain by hash; an agreement with trades or payments is committed for the contract to check."""
        start_ms = self.ledger.hour_start_ms(day, 1)
        participants = []
        seller_share, buyer_share = FEE_SHARES[self.config.mechanism.fee_payer]
        fee = self.config.mechanism.service_fee_per_mwh
        dno_days = []
        for dno in self.dnos:  # the day's data first, drawn in DNO order whoever solves the plans
            inputs = DnoDay.of(dno.spec)
            if day > 0:  # a new day: same forecasts, fresh actuals
                inputs = redraw_actuals(inputs, self._actuals_rng)
            robust = self._robust(dno, inputs, day) if self.config.scheduling.uncertainty == "dro" else None
            dno_days.append((inputs, robust))
        solved: list = [None] * len(self.dnos)
        if self.planner is not None and all(robust is None for _, robust in dno_days):
            solved = fan_out(self.planner, [PlanJob(SchedulerSpec.of(dno.spec, self.config), inputs, dno.replay,
                                                    dno.intraday_mode) for dno, (inputs, _) in zip(self.dnos, dno_days)])
        for dno, (inputs, robust), plans in zip(self.dnos, dno_days, solved):
            own = dno.plan_own(inputs, robust, plans)
            participants.append(Participant(dno.name, own, dno.scheduler, inputs.pv_forecast_mw,
                                            inputs.wind_forecast_mw, inputs.load_forecast_mw,
                                            (buyer_share * fee, seller_share * fee)))
        channel = self.ledger.offchain_channel(start_ms)
        station = {"station": self.station} if self.station is not None and self.coordination.uses_station else {}
        agreement = self.coordination.coordinate(participants, channel, self.config.tariff,
                                                 self._coordination_params, **station)
        uses = list(agreement.station.values())
        self._station_use = (sum((u[0] for u in uses), np.zeros(HOURS)), sum((u[1] for u in uses), np.zeros(HOURS)))
        for key, value in channel.metrics().items():
            self.coordination_metrics[key] += value
        for name, columns in agreement.tables.items():
            rows = len(next(iter(columns.values()), ()))
            self.coordination_tables.setdefault(name, []).append({"day": np.full(rows, day + 1), **columns})
        if agreement.report:
            self.coordination_reports.append({"day": day + 1, **agreement.report})
        for dno in self.dnos:
            plan_hash = dno.adopt(agreement.plans[dno.name], agreement.net_import_mwh(dno.name))
            self.ledger.submit(dno.name, "dno", "plan_commitment", {"day": day, "plan_hash": plan_hash}, start_ms)
            self.plan_rows.append({"day": day, "dno": dno.name, "plan": dno.day_ahead, "own_plan": dno.own_plan})
        if agreement.has_money:
            self.ledger.submit_schedules(day, self.coordination.name, agreement.views(), start_ms)

    def _robust(self, dno: DNO, inputs: DnoDay, day: int) -> tuple[np.ndarray, np.ndarray]:
        """The DNO's storage plan robust to its forecast errors (§B.2.2), recorded for dro.csv with
        what it and the deterministic plan would have cost on the day's actuals (storage as
        planned, the grid, any heat devices and any shedding settling the rest; carbon included)."""
        p = self.config.scheduling.dro
        sc = forecast_scenarios(inputs, self._dro_rng, p.samples, p.scenarios)
        p0 = sc.probabilities
        theta_1, theta_inf = ambiguity_radii(p.scenarios, p.samples, p.alpha_1, p.alpha_inf)
        plan = robust_storage(dno.scheduler, sc.pv_mw, sc.wind_mw, sc.load_mw, p0, theta_1, theta_inf, p.gap,
                              p.max_iterations, heat_mw=sc.heat_mw)
        deterministic = dno.scheduler.solve(inputs.pv_forecast_mw, inputs.wind_forecast_mw, inputs.load_forecast_mw,
                                            heat_load_mw=inputs.heat_forecast_mw)

        def realised(charge, discharge) -> float:
            on_day = dno.scheduler.solve(inputs.pv_actual_mw, inputs.wind_actual_mw, inputs.load_actual_mw,
                                         from_hour=HOURS + 1, fixed_charge_mw=charge, fixed_discharge_mw=discharge,
                                         heat_load_mw=inputs.heat_actual_mw)
            return on_day.total_cost_rmb(dno.scheduler.voll_per_mwh)

        r = plan.ccg
        self.dro_rows.append({
            "day": day + 1, "dno": dno.name, "iterations": r.iterations, "converged": r.converged,
            "lower_rmb": r.lower[-1], "upper_rmb": r.upper[-1], "theta_1": theta_1, "theta_inf": theta_inf,
            "realised_robust_rmb": realised(plan.charge_mw, plan.discharge_mw),
            "realised_deterministic_rmb": realised(deterministic.charge_mw, deterministic.discharge_mw),
            **{f"p0_{k + 1}": v for k, v in enumerate(p0)},
            **{f"p_{k + 1}": v for k, v in enumerate(r.probabilities)},
            **{f"cost_{k + 1}_rmb": v for k, v in enumerate(r.scenario_costs)}})
        return plan.charge_mw, plan.discharge_mw

    def _bid(self) -> None:
        """Price every active DNO's deviation (§A.4) and submit it as a signed bid transaction."""
        rules = Rules.for_hour(self.config.mechanism, self.config.tariff, self.hour)
        joins = PARTICIPATION[rules.participation]
        sides = {"sell": [], "buy": []}
        at_ms = self.ledger.hour_start_ms(self.day, self.hour)
        for dno in self.dnos:
            position = dno.position(self.hour)
            if position is None:
                continue
            side, where = position
            if joins(side, rules):
                sides[side].append(where)
            else:  # it settles with the grid: on chain, at the grid's price, outside the market
                self._submitted.add(f"{self.day}:{self.hour}")
                grid_price = rules.feed_in_per_mwh if side == "sell" else rules.tou_buy_per_mwh
                self.ledger.submit_bid(dno.name, self.day, self.hour, side, where.quantity_mwh, grid_price, at_ms,
                                       p2p=False)
        if self.real_time.negotiates and sides["sell"] and sides["buy"]:
            offers, bids = self._negotiate(sides, rules, at_ms)
        else:
            states = {"states": self.strategy_states} if self.strategy is not None else {}
            offers, bids = self.real_time.price_bids(sides["sell"], sides["buy"], rules, self._real_time_params, **states)
        for side, book in (("sell", offers), ("buy", bids)):
            for bid in book:
                self._submitted.add(f"{self.day}:{self.hour}")
                self.ledger.submit_bid(bid.bidder, self.day, self.hour, side, bid.quantity_mwh, bid.price_per_mwh, at_ms,
                                       strategy=self.strategy_states.get(bid.bidder))

    def _negotiate(self, sides: dict, rules: Rules, at_ms: float) -> tuple[list, list]:
        """The hour's off-chain negotiation over the validators' network; its record and messages."""
        network = None if self.config.network is None else self.config.network.market_network
        channel = self.ledger.offchain_channel(at_ms)
        n = self.real_time.negotiate(sides["sell"], sides["buy"], rules, self._real_time_params, network, channel,
                                     self._negotiation_rng)
        for key, value in channel.metrics().items():
            self.coordination_metrics[key] += value
        self.negotiation_outcomes[n.outcome] += 1
        self.negotiation_rows += [{**self._base(self.day, self.hour), "sweep": sweep, "dno": dno, "bid_per_mwh": bid,
                                   "utility_rmb": utility, "outcome": n.outcome} for sweep, dno, bid, utility in n.rows]
        return n.offers, n.bids

    def _meter(self) -> None:
        """After the hour, a reading of every DNO: what it supplied (as a seller) and drew (as a
        buyer), for the delivery contract to settle; the chain is complete only with all of them."""
        at_ms = self.ledger.hour_start_ms(self.day, self.hour) + self.config.ledger.hour_ms
        for dno in self.dnos:
            self._metered.add(f"{self.day}:{self.hour}:{dno.name}")
            self.ledger.submit_meter_reading(dno.name, self.day, self.hour, dno.deviation.supply_mwh,
                                             dno.deviation.demand_mwh, at_ms)

    def _drain(self) -> None:
        """After the last hour, let the chain close every hour and day it still owes."""
        end = self.ledger.hour_start_ms(self.day, HOURS) + self.config.ledger.hour_ms
        for extra in range(1, _MAX_EXTRA_HOURS + 1):
            if not self._open_hours():
                return
            self.ledger.run_until(end + extra * self.config.ledger.hour_ms)
        still_open = self._open_hours()
        more = f" and {len(still_open) - 5} more" if len(still_open) > 5 else ""
        raise ChainStalled(f"the chain never closed {', '.join(still_open[:5])}{more}: consensus lost liveness")

    def _open_hours(self) -> list[str]:
        """Hours the model sent bids for that the chain has not closed, then days not yet closed, in
        time order and named as the outputs name them (days from 1: "day 1 hour 3")."""
        state = self.ledger.chain.state
        sent = sorted(tuple(int(x) for x in k.split(":")) for k in self._submitted)  # keys are "day:hour", day from 0
        hours = [f"day {d + 1} hour {h}" for d, h in sent if f"{d}:{h}" not in state["closed"]]
        days = sorted({d for d, _ in sent} - {int(d) for d in state["days"]})
        settled = state.get("delivery", {}).get("metered", {})
        readings = sorted((int(d), int(h), n) for d, h, n in (k.split(":", 2) for k in self._metered)
                          if f"{d}:{h}:{n}" not in settled)
        return hours + [f"day {d + 1}" for d in days] + [f"day {d + 1} hour {h} delivery of {n}" for d, h, n in readings]

    # --- booking what the chain committed ------------------------------------------------------

    def _book_committed(self) -> None:
        """Book every block committed since the last step: bids (late ones too), trades, clearings."""
        self._step_p2p = [0.0, 0.0]  # value (RMB) and volume (MWh) of P2P trades booked this step
        chain = self.ledger.chain
        for committed in chain.blocks[self._booked_height + 1 :]:
            height = committed.block.height
            for entry in committed.block.entries:
                tx = entry.tx.tx
                if tx.kind in self._BOOKERS:
                    self._BOOKERS[tx.kind](self, tx.payload, entry.tx.tx_id, height)
            for event in committed.events:
                if event.get("event") == "hour_cleared":
                    self._book_clearing(event["day"], event["hour"], event["result"])
                    if self.dso is not None:
                        self.dso.collect(event["settlement"].uos_rmb)
                elif event.get("event") == "credit":
                    self._book_credit(event)
                elif event.get("event") == "agreement_accepted" and self.station_owner is not None:
                    fees = self.ledger.chain.state["agreements"][str(event["day"])].get("station_fees_rmb", 0.0)
                    self.station_owner.pay(fees)  # its usage fees, as the contract booked them
        self._booked_height = chain.height
        self._settle_from_chain()

    def _base(self, day: int, hour: int) -> dict:
        return {"day": day + 1, "hour": hour}

    def _book_bid(self, p: dict, tx_id: str, height: int) -> None:
        r = next(r for r in self.ledger.chain.state["bids"][f"{p['day']}:{p['hour']}"] if r["tx_id"] == tx_id)
        self.bid_rows.append({**self._base(p["day"], p["hour"]), "round": 1, "dno": r["bidder"], "side": r["side"],
                              "quantity_mwh": r["quantity_mwh"], "price_per_mwh": r["price_per_mwh"],
                              "submitted_at": r["submitted_at"], "included": r["included"], "tx_id": tx_id,
                              **self._quote_basis(r.get("strategy"), r["side"], p["hour"]),
                              **({} if self.config.mechanism.participation == "always"
                                 else {"opted_out": bool(r.get("opted_out", False))})})

    def _quote_basis(self, state: dict | None, side: str, hour: int) -> dict:
        """A stateful strategy's columns of bids.csv: what the quote rested on (NaN if unknown)."""
        if self.strategy is None:
            return {}
        if state is None:
            return {"aggressiveness": float("nan"), "equilibrium_estimate_per_mwh": float("nan")}
        rules = Rules.for_hour(self.config.mechanism, self.config.tariff, hour)
        return self.strategy.strategy.describe(state, side, rules, self.strategy.params)

    def _book_clearing(self, day: int, hour: int, result) -> None:
        """Welfare and the conceded order book of rounds 2.. (the contract's own price updates)."""
        self.clearings[(day, hour)] = result
        self.welfare_rmb += result.welfare_rmb
        first = {r["bidder"]: r for r in self.ledger.chain.state["bids"].get(f"{day}:{hour}", []) if r["included"]}
        for book in result.rounds[1:]:
            for side, bids in (("sell", book.offers), ("buy", book.bids)):
                for bid in bids:
                    self.bid_rows.append({**self._base(day, hour), "round": book.round, "dno": bid.bidder,
                                          "side": side, "quantity_mwh": bid.quantity_mwh,
                                          "price_per_mwh": bid.price_per_mwh,
                                          "submitted_at": first[bid.bidder]["submitted_at"], "included": True,
                                          "tx_id": first[bid.bidder]["tx_id"], **result.quotes.get((book.round, bid.bidder), {})})
        if self.strategy is not None:
            self._learn(hour, result)
        self.stage_rows += [{**self._base(day, hour), **row} for row in self.real_time.hour_rows(result)]

    def _learn(self, hour: int, result) -> None:
        """Each DNO's strategy state after the hour: a bidder adopts the one its proxy reached on
        chain; any other DNO learns from the hour's public clearing prices."""
        rules = Rules.for_hour(self.config.mechanism, self.config.tariff, hour)
        prices = round_prices(result.trades)
        for name, state in self.strategy_states.items():
            self.strategy_states[name] = result.states_after.get(name) or self.strategy.strategy.observe(
                state, prices, rules, self.strategy.params)

    def _book_credit(self, event: dict) -> None:
        """One credit change: a DNO's transaction credit, or a validator's both credits and composite."""
        self.credit_rows.append({**self._base(event["day"], event["hour"]),
                                 "node_or_participant": self._validator_names.get(event["who"], event["who"]),
                                 "transaction_credit": event["transaction"], "node_credit": event["node"],
                                 "composite": event["composite"], "event": event["reason"]})

    def _trade_row(self, p: dict, tx_id: str, height: int, **fields) -> dict:
        valley = self.config.tariff.is_valley(p["hour"])
        return {**self._base(p["day"], p["hour"]), **fields, "quantity_mwh": p["quantity_mwh"],
                "price_per_mwh": p["price_per_mwh"], "valley": valley, "block_height": height, "tx_id": tx_id}

    def _book_trade(self, p: dict, tx_id: str, height: int) -> None:
        mech = self.config.mechanism
        valley = self.config.tariff.is_valley(p["hour"])
        self.p2p_volume_mwh += p["quantity_mwh"]
        self._step_p2p[0] += p["quantity_mwh"] * p["price_per_mwh"]
        self._step_p2p[1] += p["quantity_mwh"]
        self.trade_rows.append(self._trade_row(
            p, tx_id, height, round=p["round"], kind="p2p", seller=p["seller"], buyer=p["buyer"],
            compensation_per_mwh=mech.valley_compensation_per_mwh if valley else 0.0,
            fee_per_mwh=sum(FEE_SHARES[mech.fee_payer]) * mech.service_fee_per_mwh, **self._trade_network(p)))

    def _trade_network(self, p: dict) -> dict:
        """Where a P2P trade ran on the feeder and what it paid the DSO (only with a network)."""
        if self.config.network is None:
            return {}
        network = self.config.network
        return {"seller_bus": network.buses[p["seller"]], "buyer_bus": network.buses[p["buyer"]],
                "distance": network.market_network.distance(p["seller"], p["buyer"]),
                "uos_per_mwh": p["uos_per_mwh"]}

    def _book_grid(self, p: dict, tx_id: str, height: int) -> None:
        self.grid_volume_mwh += p["quantity_mwh"]
        self.main_grid.take(p["side"], p["quantity_mwh"], p["price_per_mwh"])
        sells = p["side"] == "sell"
        self.trade_rows.append(self._trade_row(
            p, tx_id, height, round=None, kind="grid", seller=p["dno"] if sells else MainGrid.name,
            buyer=MainGrid.name if sells else p["dno"], compensation_per_mwh=0.0, fee_per_mwh=0.0))

    def _book_delivery(self, p: dict, tx_id: str, height: int) -> None:
        """A forecast error settled: the grid's extra energy and money, and the row of delivery.csv."""
        self.main_grid.settle_delivery(p["grid_sold_mwh"], p["grid_bought_mwh"], p["grid_rmb"])
        self.delivery_rows.append({**self._base(p["day"], p["hour"]), **{k: p[k] for k in DELIVERY_COLUMNS},
                                   "block_height": height, "tx_id": tx_id})

    _BOOKERS = {"bid": _book_bid, "trade": _book_trade, "grid_settlement": _book_grid,
                "delivery_settlement": _book_delivery}

    def _settle_from_chain(self) -> None:
        """Book each DNO's new money on chain since the last step and pay its storage owners."""
        accounts = self.ledger.chain.state["accounts"]
        for dno in self.dnos:
            now = DnoAccount(**accounts.get(dno.name, {}))
            delta = now.revenue_rmb - self._accounts[dno.name].revenue_rmb
            self._accounts[dno.name] = now
            dno.settle(delta, dno.spec.owner_revenue_share)

    def _record_hourly(self) -> None:
        t = self.hour - 1
        tariff = self.config.tariff
        buy, sell = float(tariff.buy_per_mwh()[t]), float(tariff.sell_per_mwh()[t])
        for dno in self.dnos:
            own = dno.own_deviations[-1]  # the no-trading baseline settles it all with the grid
            self.own_grid_rmb[dno.name] += sell * own.supply_mwh - buy * own.demand_mwh
            i, dev = dno.inputs, dno.deviation
            self.hourly_rows.append({
                "day": self.day + 1, "hour": self.hour, "dno": dno.name,
                "pv_forecast_mw": i.pv_forecast_mw[t], "pv_actual_mw": i.pv_actual_mw[t],
                "wind_forecast_mw": i.wind_forecast_mw[t], "wind_actual_mw": i.wind_actual_mw[t],
                "load_forecast_mw": i.load_forecast_mw[t], "load_actual_mw": i.load_actual_mw[t],
                "day_ahead_action_mw": dno.day_ahead.storage_action_mw[t],
                "intraday_action_mw": dno.action_mw(self.hour),
                "deviation_case": dev.case, "supply_mwh": dev.supply_mwh, "demand_mwh": dev.demand_mwh,
                "unserved_mw": dno.intraday.unserved_mw[t],
                **({"bid_supply_mwh": dno.expected[-1].supply_mwh, "bid_demand_mwh": dno.expected[-1].demand_mwh}
                   if dno.bids_before_delivery else {}),
                # where carbon is priced (§B.2.3): what the committed plan emits this hour (grid purchases
                # and gas-fired output)
                **({"planned_emission_t": planned_emission_t(dno.day_ahead, dno.scheduler.carbon, t)}
                   if dno.scheduler.carbon is not None else {}),
                **(heat_columns(dno.inputs, dno.intraday, t) if self.has_heat else {}),
            })

    # --- read-outs ------------------------------------------------------------------------------

    @property
    def accounts(self) -> dict[str, DnoAccount]:
        """Each DNO's money and volumes as settled on chain so far."""
        return dict(self._accounts)

    @property
    def platform(self) -> dict[str, float]:
        """The platform's account summed over closed days (fees, compensation, scheduling fee, VCG
        top-ups where a VCG market paid them, net)."""
        totals: dict[str, float] = defaultdict(float)
        for day in self.ledger.chain.state["days"].values():
            for key in ("fees_rmb", "compensation_paid_rmb", "scheduling_fee_paid_rmb", "top_ups_paid_rmb", "net_rmb"):
                if key in day:
                    totals[key] += day[key]
        return dict(totals)

    @property
    def real_time_params(self):
        """The real-time stage's parameters as this run uses them."""
        return self._real_time_params

    @property
    def hour_p2p_price_per_mwh(self) -> float:
        """Volume-weighted price of the P2P trades booked in the last step (NaN if none)."""
        value, volume = self._step_p2p
        return value / volume if volume > 0 else float("nan")

    @property
    def platform_net_rmb(self) -> float:
        return self.platform.get("net_rmb", 0.0)


def _network_operator(model: StorageMarketModel, network) -> NetworkOperator:
    """The DSO with the scenario's feeder: AC power flows through pandapower (model.feeder)."""
    from model.feeder import AcPowerFlow, load_net  # pandapower: only for scenarios with a network

    ac = AcPowerFlow.of(load_net(network.case, network.path), network.feeder)
    return NetworkOperator(model, ac.run, network.market_network.injections)


def _device_data(spec) -> dict:
    """What a DNO writes on chain when it joins (§A.1 stage 1): its installed devices."""
    return {
        "pv_mw": spec.pv_mw,
        "wind_mw": spec.wind_mw,
        "storage_energy_mwh": spec.storage_energy_mwh,
        "buy_max_mw": spec.buy_max_mw,
        "sell_max_mw": spec.sell_max_mw,
    }

