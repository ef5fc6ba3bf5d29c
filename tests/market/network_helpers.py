"""Hypothesis strategies for feeders and trade books, shared by the network tests.

A radial feeder is drawn as a random tree over shuffled pandapower-like bus numbers (with gaps),
random line orientation and impedances; a meshed one adds extra lines to such a tree.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from market.network.congestion import Lines, Trades
from market.network.feeder import Feeder

IMPEDANCE = st.floats(0.01, 2.0)


@st.composite
def feeders(draw, min_buses: int = 2, max_buses: int = 12, extra_lines: int = 0) -> Feeder:
    n = draw(st.integers(min_buses, max_buses))
    numbers = sorted(draw(st.lists(st.integers(0, 60), min_size=n, max_size=n, unique=True)))
    order = draw(st.permutations(numbers))  # order[0] is the root; each later bus hangs off an earlier one
    ends = []
    for k in range(1, n):
        parent = order[draw(st.integers(0, k - 1))]
        ends.append((parent, order[k]) if draw(st.booleans()) else (order[k], parent))
    for _ in range(draw(st.integers(0, extra_lines))):
        a, b = draw(st.lists(st.sampled_from(numbers), min_size=2, max_size=2, unique=True))
        ends.append((a, b))
    m = len(ends)
    return Feeder(
        buses=tuple(numbers),
        slack_bus=order[0],
        lines=tuple(sorted(draw(st.lists(st.integers(0, 200), min_size=m, max_size=m, unique=True)))),
        from_bus=tuple(a for a, _ in ends),
        to_bus=tuple(b for _, b in ends),
        r_ohm=tuple(draw(st.lists(IMPEDANCE, min_size=m, max_size=m))),
        x_ohm=tuple(draw(st.lists(IMPEDANCE, min_size=m, max_size=m))),
        limit_mw=tuple(draw(st.lists(st.floats(0.5, 5.0), min_size=m, max_size=m))),
        base_kv=12.66,
    )


def path_resistance(feeder: Feeder, a: int, b: int) -> float:
    """Sum of line resistances on the tree path between buses a and b, by walking up to the root."""
    up = _parents(feeder)

    def chain(bus: int) -> list[tuple[int, float]]:
        out = []
        while bus in up:
            bus, r = up[bus]
            out.append((bus, r))
        return out

    ra, rb = [(a, 0.0)] + chain(a), [(b, 0.0)] + chain(b)
    common = {bus for bus, _ in ra} & {bus for bus, _ in rb}
    total = 0.0
    for steps in (ra, rb):
        for (bus, _), (_, r) in zip(steps, steps[1:]):
            if bus in common:
                break
            total += r
    return total


def _parents(feeder: Feeder) -> dict[int, tuple[int, float]]:
    """{bus: (parent bus, resistance of the line to it)} of a radial feeder rooted at the slack."""
    neighbours: dict[int, list[tuple[int, float]]] = {}
    for a, b, r in zip(feeder.from_bus, feeder.to_bus, feeder.r_ohm):
        neighbours.setdefault(a, []).append((b, r))
        neighbours.setdefault(b, []).append((a, r))
    parents, stack = {}, [feeder.slack_bus]
    seen = {feeder.slack_bus}
    while stack:
        bus = stack.pop()
        for other, r in neighbours.get(bus, []):
            if other not in seen:
                seen.add(other)
                parents[other] = (bus, r)
                stack.append(other)
    return parents


@st.composite
def books(draw, feeder: Feeder, max_sellers: int = 4, max_buyers: int = 4, negative_surplus: bool = True):
    """(Lines, Trades, seller caps, buyer caps): every seller-buyer pair is a candidate trade;
    base flows within the limits unless drawn otherwise."""
    n_s, n_b = draw(st.integers(1, max_sellers)), draw(st.integers(1, max_buyers))
    positions = st.integers(0, feeder.n_buses - 1)
    s_bus = np.array(draw(st.lists(positions, min_size=n_s, max_size=n_s)))
    b_bus = np.array(draw(st.lists(positions, min_size=n_b, max_size=n_b)))
    seller, buyer = (a.ravel() for a in np.meshgrid(np.arange(n_s), np.arange(n_b), indexing="ij"))
    k = n_s * n_b
    low = -20.0 if negative_surplus else 0.0
    surplus = np.array(draw(st.lists(st.sampled_from([low, 0.0, 5.0, 10.0, 12.5, 40.0]) | st.floats(low, 60.0), min_size=k, max_size=k)))
    offered = np.array(draw(st.lists(st.floats(0.0, 3.0), min_size=k, max_size=k)))
    limits = np.asarray(feeder.limit_mw)
    base = np.array(draw(st.lists(st.floats(-1.0, 1.0), min_size=feeder.n_lines, max_size=feeder.n_lines))) * limits
    trades = Trades(seller, buyer, s_bus[seller], b_bus[buyer], offered, surplus)
    caps = (np.array(draw(st.lists(st.floats(0.0, 6.0), min_size=n_s, max_size=n_s))),
            np.array(draw(st.lists(st.floats(0.0, 6.0), min_size=n_b, max_size=n_b))))
    return Lines(feeder.ptdf(), base, limits), trades, caps[0], caps[1]
