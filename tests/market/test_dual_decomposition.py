"""Dual decomposition (§B.4.2): the subgradient prices reach the central LP's duals, the
recovered trades its optimum, both forms agree trades that are reciprocal and feasible.

Instances are random small days: two or three participants with one storage unit each, a normal
tariff (feed-in below purchase) and a service fee, so trades happen in some hours and not others.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from market.coordination import agreement_problem
from market.coordination.base import Agreement
from market.coordination.convex import POOL, DayData, central
from market.coordination.dual_decomposition import DualDecompositionParams, price_band, subgradient
from market.coordination.reciprocity import pair_trades, pool_pairs, reciprocal_pairs, reciprocal_pool
from market.scheduling import HOURS

BUY = np.array([300.0] * 7 + [600.0] * 4 + [900.0] * 4 + [600.0] * 5 + [900.0] * 3 + [300.0])
SELL = np.full(HOURS, 250.0)


@dataclass(frozen=True)
class Unit:
    name: str
    energy_mwh: float
    power_mw: float
    charge_efficiency: float = 0.95
    discharge_efficiency: float = 0.95
    soc_min: float = 0.1
    soc_max: float = 0.9
    soc_start: float = 0.5


def instance(seed: int, n: int) -> list[DayData]:
    """`n` participants of different shapes: some long in renewables, some short, all with storage."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        load = rng.uniform(5, 20) * (1 + 0.3 * np.sin(np.linspace(0, 2 * np.pi, HOURS) + rng.uniform(0, 6)))
        sun = rng.uniform(20, 40) if i % 2 == 0 else rng.uniform(0, 5)  # long and short in turn
        renewable = sun * np.clip(np.sin(np.linspace(-np.pi / 2, 3 * np.pi / 2, HOURS)), 0, None)
        unit = Unit(f"u{i}", rng.uniform(4, 20), rng.uniform(1, 5))
        # the import limit covers its load: alone, every participant has a plan (as the MILP requires)
        buy_max = float(load.max()) + rng.uniform(2, 10)
        out.append(DayData(f"P{i}", (unit,), BUY, SELL, buy_max, rng.uniform(5, 15), renewable, load,
                           np.zeros(HOURS, bool), 1e-6, None, 20.0, 20.0))
    return out


def price_bracket(datas, hour: int, delta: float = 1e-3) -> tuple[float, float]:
    """The hour's optimal pool prices: how the central optimum moves when the pool must take
    `delta` MWh more or less (one-sided derivatives of its value)."""
    base = central(datas, "pool").objective_rmb
    offset = np.zeros(HOURS)
    offset[hour] = delta
    up = central(datas, "pool", offset).objective_rmb
    offset[hour] = -delta
    down = central(datas, "pool", offset).objective_rmb
    # the pool importing delta more lets participants import it: the value falls by price x delta
    return (base - up) / delta, (down - base) / delta


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_pool_prices_approach_the_central_duals_and_the_averaged_trades_its_optimum(seed):
    datas = instance(seed, 3)
    ref = central(datas, "pool")
    out = subgradient(datas, DualDecompositionParams(max_iterations=400, price_band="none"))
    report = out.report
    # Tolerances, after 400 iterations: the dual bound within 0.25 % of the central optimum, the
    # recovered trades' cost within 0.5 % above it, and the prices of the hours where the central
    # solution trades 2 MWh or more within 50 RMB/MWh of its duals, weighted by volume (they start
    # hundreds away; along directions where the dual is nearly flat a subgradient method is slow).
    assert 0 <= report["dual_gap_rmb"] <= 2.5e-3 * abs(ref.objective_rmb)
    assert -1e-6 <= report["cost_gap_rmb"] <= 5e-3 * abs(ref.objective_rmb)
    volume = sum(np.abs(ref.trades[n][POOL]) for n in ref.trades) / 2
    traded = volume >= 2.0
    assert traded.any(), "the instance should trade"
    central_price = ref.prices[("P0", POOL)]
    for t in np.flatnonzero(traded):  # the central duals are unique there (the value bends both ways alike)
        lo, hi = price_bracket(datas, int(t))
        assert hi == pytest.approx(lo, abs=1e-3) and central_price[t] == pytest.approx(lo, abs=1e-3)
    error = np.abs(out.prices[("P0", POOL)] - central_price)
    assert float(volume[traded] @ error[traded] / volume[traded].sum()) <= 50.0
    # The agreed positions balance hour by hour and stay within each participant's bounds.
    net = sum(out.trades[n][POOL] for n in out.trades)
    assert np.all(np.abs(net) <= 1e-9)
    for d in datas:
        imports, exports = d.trade_bounds()
        x = out.trades[d.name][POOL]
        assert np.all(x <= imports + 1e-9) and np.all(-x <= exports + 1e-9)


def test_the_tariff_band_holds_the_pool_price():
    datas = instance(2, 3)
    out = subgradient(datas, DualDecompositionParams(max_iterations=60, reference=False))
    lo, hi = price_band(datas[0])
    t, price = out.record["hour"] - 1, out.record["price_per_mwh"]
    assert len(price) == 60 * HOURS and set(out.record["market"]) == {POOL}
    assert np.all((lo[t] - 1e-9 <= price) & (price <= hi[t] + 1e-9))
    assert "central_rmb" not in out.report


def test_the_bilateral_form_agrees_reciprocal_trades_the_chain_accepts():
    datas = instance(4, 3)
    out = subgradient(datas, DualDecompositionParams(form="bilateral", max_iterations=200))
    for a in out.trades:
        for b, q in out.trades[a].items():
            assert np.array_equal(q, -out.trades[b][a])  # reciprocal after recovery
    for d in datas:
        imports, exports = d.trade_bounds()
        net = sum(out.trades[d.name].values())
        assert np.all(net <= imports + 1e-6) and np.all(-net <= exports + 1e-6)
    # the pair's price is one price, seen alike by both sides
    for (a, b), p in out.prices.items():
        assert np.array_equal(p, out.prices[(b, a)])
    trades = pair_trades(out.trades, out.prices)
    assert trades, "the instance should trade"
    views = Agreement(plans={d.name: None for d in datas}, trades=tuple(trades)).views()
    assert agreement_problem(views, [d.name for d in datas]) is None
    assert out.report["cost_gap_rmb"] >= -1e-6  # nothing beats the central optimum
    assert out.report["agreed_cost_rmb"] <= out.report["dual_rmb"] + 0.02 * abs(out.report["dual_rmb"])


def test_polyak_steps_close_the_dual_gap_too():
    datas = instance(5, 2)
    ref = central(datas, "pool")
    out = subgradient(datas, DualDecompositionParams(step="polyak", max_iterations=300, price_band="none"))
    # Tolerance: within 0.01 % after 300 iterations (the diminishing step is at about 0.4 % here):
    # the bound, the agreed trades' cost, approaches the optimum as the trades do.
    assert 0 <= out.report["dual_gap_rmb"] <= 1e-4 * abs(ref.objective_rmb)


def test_prices_that_balance_at_once_stop_the_method_with_no_trades():
    """Identical participants never trade with each other: at any price all answer alike, so
    the method moves prices until nobody trades, and the agreement has no trades."""
    one = instance(6, 1)[0]
    twins = [one, DayData(**{**one.__dict__, "name": "P1"})]
    out = subgradient(twins, DualDecompositionParams(max_iterations=500))
    assert all(not np.any(x[POOL]) for x in out.trades.values())


positions = st.lists(st.floats(-50, 50, allow_nan=False), min_size=2, max_size=6)


@given(positions)
def test_reciprocal_pool_balances_keeps_signs_and_shrinks(values):
    trades = {f"P{i}": np.full(HOURS, v) for i, v in enumerate(values)}
    out = reciprocal_pool(trades)
    assert np.all(np.abs(sum(out.values())) <= 1e-9)
    for n, x in out.items():
        assert np.all(np.abs(x) <= np.abs(trades[n]) + 1e-12)
        assert np.all((x == 0) | (np.sign(x) == np.sign(trades[n])))
    made = pool_pairs(out, np.full(HOURS, 500.0))
    for n, x in out.items():  # the pairs carry exactly the positions
        got = sum(t.quantity_mwh * (1 if t.buyer == n else -1) for t in made if t.hour == 1 and n in (t.buyer, t.seller))
        assert got == pytest.approx(x[0], abs=1e-9)


@given(st.lists(st.floats(-30, 30, allow_nan=False), min_size=6, max_size=6), st.floats(1, 40))
def test_reciprocal_pairs_are_reciprocal_and_within_bounds(claims, bound):
    names = ["A", "B", "C"]
    trades, k = {n: {} for n in names}, 0
    for a in names:
        for b in names:
            if a != b:
                trades[a][b] = np.full(HOURS, claims[k])
                k += 1
    bounds = {n: (np.full(HOURS, bound), np.full(HOURS, bound)) for n in names}
    out = reciprocal_pairs(trades, bounds)
    for a in names:
        net = sum(out[a].values())
        assert np.all(net <= bound + 1e-6) and np.all(-net <= bound + 1e-6)
        for b in names:
            if a != b:
                assert np.array_equal(out[a][b], -out[b][a])
                assert np.all(np.abs(out[a][b]) <= np.minimum(np.abs(trades[a][b]), np.abs(trades[b][a])) + 1e-12)
