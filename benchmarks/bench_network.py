"""Median cost of the network computations at 33 buses (IEEE 33-bus feeder, docs/network.md).

Once per run, from the genesis document: the feeder's PTDF and both distances, and the UoS rate.
Per hour, on a book of 10 sellers x 10 buyers (every pair a candidate, seeded buses, quantities
and surpluses; line limits 1.2 x the base-case flow, so trades congest the trunk): the security
check, LinDistFlow voltages, greedy and exact congestion management; and one pandapower AC power
flow of the hour's injections. Then the whole clearing contract of an hour (`clear_hour`, all its
concession rounds) on 10 offers and 10 bids, without a network and on the feeder with each
congestion mode. Run: .venv/bin/python benchmarks/bench_network.py
"""

from __future__ import annotations

import statistics
import timeit

import numpy as np

from market.auction import Bid, Rules, clear_hour
from market.network.congestion import Lines, Trades, exact, greedy, security_check
from market.network.feeder import Feeder
from market.network.market_network import MarketNetwork
from market.network.uos import uos_charges, uos_rate
from model.feeder import AcPowerFlow, base_injection, feeder_of, load_net

SELLERS = BUYERS = 10


def median_ms(run, repeats: int, number: int = 1) -> float:
    return statistics.median(timeit.repeat(run, repeat=repeats, number=number)) / number * 1e3


def hour_book(feeder: Feeder, seed: int = 0) -> tuple[Trades, np.ndarray]:
    rng = np.random.default_rng(seed)
    s_bus = rng.integers(1, feeder.n_buses, SELLERS)
    b_bus = rng.integers(1, feeder.n_buses, BUYERS)
    seller, buyer = (a.ravel() for a in np.meshgrid(np.arange(SELLERS), np.arange(BUYERS), indexing="ij"))
    trades = Trades(seller, buyer, s_bus[seller], b_bus[buyer],
                    rng.uniform(0.0, 0.05, SELLERS * BUYERS), rng.uniform(-5.0, 60.0, SELLERS * BUYERS))
    injection = np.zeros(feeder.n_buses)
    np.add.at(injection, trades.seller_bus, trades.quantity_mw)
    np.add.at(injection, trades.buyer_bus, -trades.quantity_mw)
    return trades, injection


def auction_book(feeder: Feeder, seed: int = 0) -> tuple[list[Bid], list[Bid], dict[str, int]]:
    """10 offers and 10 bids of 0-0.3 MWh inside the valley band, at seeded buses."""
    rng = np.random.default_rng(seed)
    offers = [Bid(f"s{k}", float(rng.uniform(0.05, 0.3)), float(rng.uniform(270, 330)), k) for k in range(SELLERS)]
    bids = [Bid(f"b{k}", float(rng.uniform(0.05, 0.3)), float(rng.uniform(300, 400)), k) for k in range(BUYERS)]
    buses = {b.bidder: int(feeder.buses[rng.integers(1, feeder.n_buses)]) for b in offers + bids}
    return offers, bids, buses


def main() -> None:
    net = load_net("case33bw")
    feeder = feeder_of(net, base_flow_multiple=1.2, floor_mw=0.1)
    doc = feeder.to_doc()
    participants = list(range(1, feeder.n_buses, 3))

    def once_per_run() -> None:
        rebuilt = Feeder.from_doc(doc)
        rebuilt.ptdf_distance()
        d = rebuilt.resistance_distance()
        uos_charges(d, participants, uos_rate(d, participants))

    own_p = -feeder.bus_vector(dict(zip(net.load.bus, net.load.p_mw)))
    own_q = -feeder.bus_vector(dict(zip(net.load.bus, net.load.q_mvar)))
    lines = Lines(feeder.ptdf(), feeder.flows(own_p), np.asarray(feeder.limit_mw))
    trades, injection = hour_book(feeder)
    congested = int(security_check(lines, trades).congested.sum())
    runner = AcPowerFlow.of(net, feeder)

    rows = [
        ("once per run: PTDF, distances, UoS rate", median_ms(once_per_run, 7, 5)),
        ("per hour: security check", median_ms(lambda: security_check(lines, trades), 7, 200)),
        ("per hour: LinDistFlow voltages", median_ms(lambda: feeder.lindistflow_voltages(own_p + injection, own_q), 7, 200)),
        ("per hour: greedy congestion management", median_ms(lambda: greedy(lines, trades), 7, 5)),
        ("per hour: exact congestion management (HiGHS)", median_ms(lambda: exact(lines, trades), 7, 3)),
        ("per hour: pandapower AC power flow", median_ms(lambda: runner.run(injection), 7, 1)),
    ]
    print(f"IEEE 33-bus, {feeder.n_lines} lines; book {SELLERS} x {BUYERS} pairs, {congested} lines congested before management")
    print(f"greedy keeps {greedy(lines, trades).welfare:.1f} RMB of surplus, exact {exact(lines, trades).welfare:.1f}")
    offers, bids, buses = auction_book(feeder)
    base_p, base_q = (tuple(v.tolist()) for v in base_injection(net, feeder))
    rules = Rules()
    rows.append(("per hour: clear_hour, no network", median_ms(lambda: clear_hour(offers, bids, rules), 7, 5)))
    for mode in ("off", "greedy", "exact"):
        network = MarketNetwork(feeder, tuple(buses.items()), base_p, congestion=mode, base_injection_mvar=base_q)
        network.rate  # calibrated once per run
        rows.append((f"per hour: clear_hour on the feeder, congestion {mode}",
                     median_ms(lambda: clear_hour(offers, bids, rules, network), 7, 3)))
    for name, ms in rows:
        print(f"{name:<58}{ms:>10.3f} ms")


if __name__ == "__main__":
    main()
