"""A DNO's storage plan robust to forecast errors (docs/rules.md §B.2.2): one scenario is the
deterministic MILP, zero radii the stochastic programme (checked against its extensive form), the
worst case never cheaper as the set grows, and each scenario's recourse cost is what the DNO's own
MILP pays with the plan's storage on that day."""

from __future__ import annotations

import numpy as np
import pytest
from ortools.math_opt.python import mathopt

from market.robust_plan import robust_storage
from market.scheduling import HOURS, SOLVERS, DnoScheduler, add_balance, add_grid, add_storage, set_day
from market.solver import solve_optimal
from market.tariff import Tariff

TARIFF = Tariff()


class Unit:
    def __init__(self, name, energy_mwh, power_mw):
        self.name, self.energy_mwh, self.power_mw = name, energy_mwh, power_mw
        self.charge_efficiency = self.discharge_efficiency = 0.95
        self.soc_min, self.soc_max, self.soc_start = 0.1, 0.9, 0.5


def _scheduler():
    return DnoScheduler("DN", [Unit("b1", 20.0, 5.0), Unit("b2", 8.0, 2.0)], TARIFF.buy_per_mwh(),
                        TARIFF.sell_per_mwh(), 30.0, 30.0, voll_per_mwh=20_000.0)


def _scenarios(k=3, seed=0):
    rng = np.random.default_rng(seed)
    hours = np.arange(HOURS)
    pv = np.clip(12 * np.sin((hours - 6) / 12 * np.pi), 0, None)
    load = 10 + 4 * np.sin((hours - 14) / 24 * 2 * np.pi)
    pv_s = np.clip(pv * (1 + rng.normal(0, 0.3, (k, HOURS))), 0, None)
    wind_s = np.clip(6 + rng.normal(0, 3, (k, HOURS)), 0, None)
    load_s = np.clip(load * (1 + rng.normal(0, 0.1, (k, HOURS))), 0, None)
    return pv_s, wind_s, load_s, np.array([0.5, 0.3, 0.2][:k]) / np.array([0.5, 0.3, 0.2][:k]).sum()


def _extensive_form(s, pv, wind, load, p0):
    """min penalty + sum_s p_s cost_s in one MILP: the stochastic programme."""
    m = mathopt.Model()
    ch, dis, _, _, penalty = add_storage(m, s.units, s.tie_break_per_mwh)
    total = penalty
    for k in range(len(p0)):
        grid = add_grid(m, s.buy_max_mw, s.sell_max_mw, tag=f"_{k}")
        shed, balance, cost, shed_cost = add_balance(m, grid, ch, dis, s.buy_price, s.sell_price, s.voll_per_mwh, f"_{k}")
        set_day(grid, shed, balance, pv[k], wind[k], load[k], s.voll_per_mwh)
        total = total + float(p0[k]) * (cost + shed_cost)
    m.minimize(total)
    return solve_optimal(m, SOLVERS["highs"], s.params).objective_value()


def test_one_scenario_is_the_deterministic_plan():
    s = _scheduler()
    pv, wind, load, _ = _scenarios(1)
    plan = robust_storage(s, pv, wind, load, np.array([1.0]), 0.5, 0.5)
    own = s.solve(pv[0], wind[0], load[0])
    np.testing.assert_allclose(plan.charge_mw - plan.discharge_mw, own.charge_mw - own.discharge_mw, atol=1e-6)
    assert plan.schedule(s, pv[0], wind[0], load[0]).cost == pytest.approx(own.cost, abs=1e-4)


def test_zero_radii_are_the_stochastic_programme():
    s = _scheduler()
    pv, wind, load, p0 = _scenarios()
    plan = robust_storage(s, pv, wind, load, p0, 0.0, 0.0)
    assert plan.ccg.converged and np.array_equal(plan.ccg.probabilities, p0)
    assert plan.ccg.objective == pytest.approx(_extensive_form(s, pv, wind, load, p0), rel=1e-7, abs=1e-4)


def test_each_scenario_costs_what_the_dnos_milp_pays_with_the_plans_storage():
    s = _scheduler()
    pv, wind, load, p0 = _scenarios()
    plan = robust_storage(s, pv, wind, load, p0, 0.4, 0.2)
    for k in range(len(p0)):
        on_day = plan.schedule(s, pv[k], wind[k], load[k])
        voll = 20_000.0 * on_day.unserved_mw.sum()
        assert on_day.cost + voll == pytest.approx(plan.ccg.scenario_costs[k], rel=1e-7, abs=1e-3)


def test_a_larger_set_never_costs_less():
    s = _scheduler()
    pv, wind, load, p0 = _scenarios()
    worst = [robust_storage(s, pv, wind, load, p0, t, t / 2).ccg.objective for t in (0.0, 0.2, 0.6, 2.0)]
    assert all(b >= a - 1e-4 for a, b in zip(worst, worst[1:]))


def test_a_heat_dnos_robust_plan_prices_its_heat_and_carbon_in_every_scenario():
    """With heat devices and a carbon price, each scenario's recourse is the DNO's whole MILP (grid,
    heat devices against the scenario's heat load, carbon ladder): one scenario gives the
    deterministic plan, and every scenario's cost is what the MILP pays with the plan's storage."""
    from market.carbon import CarbonLadder
    from tests.market.test_heat import Devices

    devices = Devices(chp_mw=6.0, gas_boiler_mw=8.0, electric_boiler_mw=5.0, heat_storage_mwh=20.0,
                      heat_storage_mw=5.0, heat_buy_max_mw=4.0)
    s = DnoScheduler("DN", [Unit("b1", 20.0, 5.0)], TARIFF.buy_per_mwh(), TARIFF.sell_per_mwh(), 30.0, 30.0,
                     voll_per_mwh=20_000.0, carbon=CarbonLadder(0.58, 0.39, 250.0, 2.0, 0.25), heat=devices)
    pv, wind, load, p0 = _scenarios()
    heat = np.array([6 + 3 * np.cos((np.arange(HOURS) - 4) / 24 * 2 * np.pi) * (1 + 0.1 * k) for k in range(3)])
    one = robust_storage(s, pv[:1], wind[:1], load[:1], np.array([1.0]), 0.5, 0.5, heat_mw=heat[:1])
    own = s.solve(pv[0], wind[0], load[0], heat_load_mw=heat[0])
    np.testing.assert_allclose(one.charge_mw - one.discharge_mw, own.charge_mw - own.discharge_mw, atol=1e-6)
    plan = robust_storage(s, pv, wind, load, p0, 0.4, 0.2, heat_mw=heat)
    assert plan.ccg.converged
    for k in range(len(p0)):
        on_day = plan.schedule(s, pv[k], wind[k], load[k], heat[k])
        assert on_day.heat is not None and on_day.carbon_rmb != 0.0
        assert plan.ccg.scenario_costs[k] == pytest.approx(on_day.total_cost_rmb(20_000.0), rel=1e-6, abs=1e-2)
    with pytest.raises(ValueError, match="heat load"):
        robust_storage(s, pv, wind, load, p0, 0.4, 0.2)
