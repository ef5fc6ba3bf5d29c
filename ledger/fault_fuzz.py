"""A seeded fault-schedule fuzzer for the consensus engines.

Each case draws crashes with restarts, partitions, slowdowns and lossy spells, always within the
engine's fault bound (at every moment the nodes outside one faulty set are up and connected: a
strict majority for Raft, more than two thirds of the voting power for BFT and of the hash rate
for proof of work), while clients keep submitting transactions; then every fault heals. The case
passes when every node has committed every submitted transaction, with no two nodes committing
different blocks at a height. A case beyond the bound (`beyond_bound=True`) is the negative
control: it may stall or fork, and `ledger.tolerance.fault_warnings` must say so up front.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ledger.alliance import Alliance
from ledger.consensus import ENGINES
from ledger.consensus.base import BlockSchedule
from ledger.consensus.cluster import Cluster, Crash
from ledger.network import LossWindow, NetworkParams, PartitionWindow, SlowWindow
from ledger.tolerance import fault_warnings
from ledger.transactions import sign_transaction

QUORUM = {"bft": "two_thirds_power", "raft": "majority_nodes", "pow": "proof_of_work"}
CLIENTS = ("dno1", "dno2", "dno3", "dno4")


@dataclass(frozen=True)
class FaultCase:
    engine: str
    seed: int
    n: int
    faulty: frozenset[int]
    crashes: tuple[Crash, ...]
    network: NetworkParams
    submissions: tuple[tuple[float, str, int], ...]  # (at_ms, client, entry validator)
    heal_ms: float  # every fault is over by then
    block_interval_ms: float = 500.0
    # after the scheduled faults, the current leader (Raft) or proposer (BFT) is crashed at each
    # of these times for the given ms, while fewer than the bound are down: elections under load
    leader_kills: tuple[tuple[float, float], ...] = ()

    def describe(self) -> str:
        net = self.network
        return (f"{self.engine} seed={self.seed} n={self.n} faulty={sorted(self.faulty)} "
                f"crashes={[(c.node, round(c.at_ms), round(c.restart_ms or 0)) for c in self.crashes]} "
                f"partitions={[(round(w.start_ms), round(w.end_ms), [sorted(g) for g in w.groups]) for w in net.partitions]} "
                f"slowdowns={[(round(w.start_ms), round(w.end_ms), round(w.extra_ms), sorted(w.nodes)) for w in net.slowdowns]} "
                f"losses={[(round(w.start_ms), round(w.end_ms), round(w.loss, 2), sorted(w.nodes)) for w in net.losses]} "
                f"leader_kills={[(round(a), round(d)) for a, d in self.leader_kills]} "
                f"interval={round(self.block_interval_ms)} heal={round(self.heal_ms)} txs={len(self.submissions)}")


def _bound(engine: str, n: int) -> int:
    """The most equal-power nodes that may be faulty at once. Proof of work is held to under a
    third of the hash rate too: its finality is probabilistic, and a side cut off long enough to
    bury k blocks of its own makes them final, a fork for good (the fuzz reports it as a conflict)."""
    return (n - 1) // 2 if engine == "raft" else (n - 1) // 3


def _window(rng: np.random.Generator, fault_ms: float) -> tuple[float, float]:
    start = float(rng.uniform(0.0, 0.8 * fault_ms))
    return start, min(fault_ms, start + float(rng.uniform(300.0, 0.6 * fault_ms)))


def random_case(engine: str, seed: int, *, beyond_bound: bool = False) -> FaultCase:
    """One seeded schedule. Crashes and partitions only ever touch one faulty set of at most the
    engine's bound (one more than it if `beyond_bound`); slowdowns and loss may touch anyone."""
    rng = np.random.default_rng([seed, 7919 if engine == "raft" else 104729])
    n = int(rng.choice([4, 5, 7]))
    f = _bound(engine, n) + (1 if beyond_bound else 0)
    faulty = frozenset(int(x) for x in rng.choice(n, size=f, replace=False))
    fault_ms = float(rng.uniform(2000.0, 12000.0))
    interval = float(rng.uniform(200.0, 2000.0))
    crashes = []
    if beyond_bound:  # one more than the bound down together: the engine may stall or fork
        start, end = _window(rng, fault_ms)
        crashes = [Crash(node, start, end) for node in sorted(faulty)]
    for node in sorted(faulty):
        for _ in range(int(rng.integers(0, 3)) if not beyond_bound else 0):
            start, end = _window(rng, fault_ms)
            crashes.append(Crash(node, start, end))
    partitions = []
    for _ in range(int(rng.integers(0, 3))):
        start, end = _window(rng, fault_ms)
        isolated = [x for x in faulty if rng.random() < 0.7]
        split = [frozenset(isolated[: len(isolated) // 2]), frozenset(isolated[len(isolated) // 2:])]
        groups = (frozenset(range(n)) - frozenset(isolated), *(g for g in split if g))
        if len(groups) > 1:
            partitions.append((start, end, groups))
    # partition windows may not overlap: keep them in order, each cut to end before the next
    windows, last_end = [], 0.0
    for start, end, groups in sorted(partitions, key=lambda p: p[0]):
        start = max(start, last_end)
        if end > start:
            windows.append(PartitionWindow(start_ms=start, end_ms=end, groups=groups))
            last_end = end
    slowdowns = []
    for _ in range(int(rng.integers(0, 3))):
        start, end = _window(rng, fault_ms)
        nodes = frozenset(int(x) for x in rng.choice(n, size=int(rng.integers(0, n)), replace=False))
        slowdowns.append(SlowWindow(start_ms=start, end_ms=end, extra_ms=float(rng.uniform(20.0, 400.0)), nodes=nodes))
    losses = []
    for _ in range(int(rng.integers(0, 3))):
        start, end = _window(rng, fault_ms)
        nodes = frozenset(int(x) for x in rng.choice(n, size=int(rng.integers(0, n)), replace=False))
        losses.append(LossWindow(start_ms=start, end_ms=end, loss=float(rng.uniform(0.05, 0.5)), nodes=nodes))
    network = NetworkParams(n_validators=n, topology=str(rng.choice(["complete", "small_world", "ring"])),
                            jitter_ms=float(rng.uniform(0.0, 10.0)), partitions=tuple(windows),
                            slowdowns=tuple(slowdowns), losses=tuple(losses))
    submissions = tuple(sorted((float(rng.uniform(0.0, fault_ms + 1000.0)), str(rng.choice(CLIENTS)),
                                int(rng.integers(0, n))) for _ in range(int(rng.integers(10, 30)))))
    kills, t = [], fault_ms
    for _ in range(int(rng.integers(0, 4)) if not beyond_bound else 0):
        t += float(rng.uniform(0.0, 3.0 * interval))
        down = float(rng.uniform(100.0, 3000.0))
        kills.append((t, down))
    heal = max([fault_ms] + [c.restart_ms for c in crashes] + [w.end_ms for w in windows]
               + [a + d for a, d in kills])
    return FaultCase(engine, seed, n, faulty, tuple(crashes), network, submissions, heal, interval, tuple(kills))


def _leader(cluster: Cluster) -> int | None:
    """The node that drives progress now: Raft's leader of the highest term, the proposer BFT's
    most advanced live node is waiting for, or the miner with most blocks so far."""
    up = [node for node in cluster.nodes if node.id not in cluster.network.down]
    if not up:
        return None
    if cluster.engine == "raft":
        leaders = [node for node in up if node.role == "leader"]
        return max(leaders, key=lambda node: node.term).id if leaders else None
    if cluster.engine == "pow":  # no leader: the miner that found the most blocks so far
        return max(up, key=lambda node: (len(node.mined), -node.id)).id
    ahead = max(up, key=lambda node: (node.height, node.round))
    return cluster.nodes[0].index[ahead.proposer(ahead.height, ahead.round)]


@dataclass
class CaseResult:
    case: FaultCase
    recovered_ms: float | None  # simulated ms after healing until every node held every transaction
    conflicts: list[int]
    missing: dict[int, int] = field(default_factory=dict)  # node -> transactions it never committed
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.recovered_ms is not None and not self.conflicts

    def describe(self) -> str:
        state = "ok" if self.ok else f"FAIL conflicts={self.conflicts} missing={self.missing}"
        return f"{state}: {self.case.describe()}"


def run_case(case: FaultCase, settle_ms: float = 30_000.0, step_ms: float = 250.0) -> CaseResult:
    """Drive the case to `heal_ms`, then up to `settle_ms` more, stopping once every node has
    committed every submitted transaction."""
    names = [f"v{i + 1}" for i in range(case.n)]
    target_bits = getattr(ENGINES[case.engine].default_params(), "target_bits", None)  # proof of work's seal
    alliance = Alliance.create(case.seed, dnos=list(CLIENTS), validators=names, quorum=QUORUM[case.engine],
                               pow_target_bits=target_bits)
    cluster = Cluster(alliance, case.engine, network=case.network, seed=case.seed, crashes=case.crashes,
                      schedule=BlockSchedule(case.block_interval_ms / 2, case.block_interval_ms))
    bound = _bound(case.engine, case.n)

    def kill_leader(down_ms: float) -> None:
        leader = _leader(cluster)
        if leader is not None and leader not in cluster.network.down and len(cluster.network.down) < bound:
            cluster._crash(leader)
            cluster.clock.schedule(cluster.clock.now + down_ms, cluster._restart, leader)

    for at, down in case.leader_kills:
        cluster.clock.schedule(at, kill_leader, down)
    nonces = dict.fromkeys(CLIENTS, 0)
    tx_ids = []
    for at, client, entry in case.submissions:
        nonces[client] += 1
        k = nonces[client]
        payload = {"day": (k - 1) // 24, "hour": (k - 1) % 24 + 1, "round": 1,  # one per (day, hour)
                   "side": "sell" if k % 2 else "buy", "quantity_mwh": 1.0, "price_per_mwh": 300.0}
        stx = sign_transaction(alliance.identity(client, "dno"), alliance.genesis.chain_id, "bid", k, payload)
        cluster.submit(stx, client, entry, at)
        tx_ids.append(stx.tx_id)
    powers = [alliance.genesis.validators.powers[node.key] for node in cluster.nodes]
    warnings = fault_warnings(case.engine, powers, [], case.crashes, 1000.0)

    def missing() -> dict[int, int]:
        out = {}
        for node in cluster.nodes:
            have = {e.tx.tx_id for c in node.chain.blocks for e in c.block.entries}
            lacking = sum(1 for t in tx_ids if t not in have)
            if lacking:
                out[node.id] = lacking
        return out

    cluster.run(until_ms=case.heal_ms)
    recovered = None
    t = case.heal_ms
    while t < case.heal_ms + settle_ms:
        if not missing():
            recovered = t - case.heal_ms
            break
        t += step_ms
        cluster.run(until_ms=t)
    result = CaseResult(case, recovered, cluster.conflicts(), missing(), warnings)
    cluster.close()
    return result


def main(argv: list[str] | None = None) -> int:
    """`python -m ledger.fault_fuzz ENGINE [SCHEDULES] [FIRST_SEED] [--beyond-bound]`: run seeded
    schedules, print each failure on one line and a summary; exit 1 if any case failed."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m ledger.fault_fuzz", description=main.__doc__)
    parser.add_argument("engine", choices=sorted(QUORUM))
    parser.add_argument("schedules", type=int, nargs="?", default=300)
    parser.add_argument("first_seed", type=int, nargs="?", default=0)
    parser.add_argument("--beyond-bound", action="store_true", help="one fault more than the engine tolerates")
    args = parser.parse_args(argv)
    failed, recovery = 0, []
    for seed in range(args.first_seed, args.first_seed + args.schedules):
        result = run_case(random_case(args.engine, seed, beyond_bound=args.beyond_bound))
        if result.ok:
            recovery.append(result.recovered_ms)
        else:
            failed += 1
            print(result.describe(), flush=True)
    worst = max(recovery, default=float("nan"))
    print(f"{args.engine}: {args.schedules - failed} of {args.schedules} schedules recovered "
          f"(worst {worst:.0f} simulated ms after healing), {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
