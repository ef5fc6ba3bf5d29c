"""The DNO scheduling MILP (§A.2): physical invariants on random DNOs, solver agreement,
rolling vs oracle consistency, and errors that name the DNO and hour."""

from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from market.deviation import classify_day
from market.scheduling import HOURS, DnoScheduler, SchedulingError, rolling_intraday
from market.tariff import Tariff

TOL = 1e-6
# each hour's SOC row holds to the solver's feasibility tolerance (1e-6), so a SOC recomputed from
# the dispatched powers may drift by that much an hour over the day
SOC_TOL = HOURS * 1e-6
TARIFF = Tariff()


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


hourly = lambda lo, hi: st.lists(st.floats(lo, hi), min_size=24, max_size=24).map(np.array)  # noqa: E731


@st.composite
def dnos(draw):
    n_units = draw(st.integers(0, 3))
    units = []
    for k in range(n_units):
        energy = draw(st.floats(1.0, 60.0))
        soc_min = draw(st.floats(0.0, 0.3))
        soc_max = draw(st.floats(0.7, 1.0))
        units.append(
            Unit(
                name=f"u{k}",
                energy_mwh=energy,
                power_mw=energy * draw(st.floats(0.1, 0.5)),
                charge_efficiency=draw(st.floats(0.8, 1.0)),
                discharge_efficiency=draw(st.floats(0.8, 1.0)),
                soc_min=soc_min,
                soc_max=soc_max,
                soc_start=draw(st.floats(soc_min, soc_max)),
            )
        )
    pv_cap = draw(st.floats(0, 40))
    wind_cap = draw(st.floats(0, 40))
    return {
        "units": units,
        "pv": pv_cap * draw(hourly(0, 1)),
        "wind": wind_cap * draw(hourly(0, 1)),
        "load": draw(hourly(0, 50)),
    }


def schedule(d, solver="highs"):
    s = DnoScheduler("DNx", d["units"], TARIFF.buy_per_mwh(), TARIFF.sell_per_mwh(), 200.0, 200.0, solver=solver)
    return s, s.solve(d["pv"], d["wind"], d["load"])


@settings(max_examples=60)
@given(dnos())
def test_milp_invariants(d):
    _, plan = schedule(d)
    # Power balance every hour.
    supply = plan.pv_mw + plan.wind_mw + plan.discharge_mw.sum(0) + plan.buy_mw
    demand = d["load"] + plan.charge_mw.sum(0) + plan.sell_mw
    np.testing.assert_allclose(supply, demand, atol=TOL)
    assert not plan.unserved_mw.any()  # strict by default: no load shedding
    # Never buy and sell together; never charge and discharge one unit together.
    # the exclusivity binaries are integral only to HiGHS's integrality tolerance (1e-6), scaled by
    # the big-M they switch (up to tens of MW here): a binary at 1e-6 lets a few uW through
    exclusive = 1e-4
    assert np.all(np.minimum(plan.buy_mw, plan.sell_mw) <= exclusive)
    assert np.all(np.minimum(plan.charge_mw, plan.discharge_mw) <= exclusive)
    # Renewables within ratio x capacity (curtailment allowed), grid within limits.
    assert np.all(plan.pv_mw <= d["pv"] + TOL) and np.all(plan.pv_mw >= -TOL)
    assert np.all(plan.wind_mw <= d["wind"] + TOL) and np.all(plan.wind_mw >= -TOL)
    assert np.all(plan.buy_mw <= 200 + TOL) and np.all(plan.sell_mw <= 200 + TOL)
    for k, u in enumerate(d["units"]):
        assert np.all(plan.charge_mw[k] <= u.power_mw + TOL)
        assert np.all(plan.discharge_mw[k] <= u.power_mw + TOL)
        # SOC bounds and dynamics recomputed independently from the dispatched powers.
        stored = u.charge_efficiency * plan.charge_mw[k] - plan.discharge_mw[k] / u.discharge_efficiency
        soc = u.soc_start + np.cumsum(stored) / u.energy_mwh
        np.testing.assert_allclose(plan.soc[k], soc, atol=SOC_TOL)
        assert np.all(soc >= u.soc_min - SOC_TOL) and np.all(soc <= u.soc_max + SOC_TOL)
        # Daily net charge: the day ends where it started.
        assert soc[-1] == pytest.approx(u.soc_start, abs=SOC_TOL)
    # The reported cost is the tariff applied to the grid exchange.
    cost = float(TARIFF.buy_per_mwh() @ plan.buy_mw - TARIFF.sell_per_mwh() @ plan.sell_mw)
    assert plan.cost == pytest.approx(cost, rel=1e-9, abs=1e-6)
    np.testing.assert_allclose(plan.storage_action_mw, plan.charge_mw.sum(0) - plan.discharge_mw.sum(0))


@settings(max_examples=15)
@given(dnos())
def test_highs_and_scip_agree(d):
    """Two independent MILP solvers reach the same optimum: the same cost, and the same value of
    the whole objective with its tie-break (recomputed here from each plan's dispatch), within what
    their feasibility tolerances leave (SCIP's leaves up to about 2e-4 MW in a variable, worth a
    few 1e-3 RMB). The plans themselves may differ where two dispatches are worth the same to
    within those tolerances (a tie-break step of 1e-3 RMB against SCIP's slack)."""
    s, a = schedule(d, "highs")
    _, b = schedule(d, "scip")
    assert a.cost == pytest.approx(b.cost, rel=1e-6, abs=1e-2)
    n = len(s.units)
    weight = s.tie_break_per_mwh * (1.0 + np.arange(HOURS)[None, :] + np.arange(n)[:, None] / (n + 1))

    def objective(plan):
        return plan.cost + float((weight * (plan.charge_mw + plan.discharge_mw)).sum())

    assert objective(a) == pytest.approx(objective(b), rel=1e-6, abs=1e-2)


@settings(max_examples=8)
@given(dnos())
def test_perfect_forecast_means_no_deviation(d):
    """Forecast = actual: the oracle and rolling intraday plans repeat the day-ahead plan."""
    s, day_ahead = schedule(d)
    oracle = s.solve(d["pv"], d["wind"], d["load"])
    action, plans = rolling_intraday(s, d["pv"], d["wind"], d["load"], d["pv"], d["wind"], d["load"])
    assert len(plans) == 24
    np.testing.assert_allclose(oracle.storage_action_mw, day_ahead.storage_action_mw, atol=1e-6)
    np.testing.assert_allclose(action, day_ahead.storage_action_mw, atol=1e-5)
    assert not classify_day(day_ahead.storage_action_mw, action, 1e-4).case.any()


def test_rolling_keeps_realised_actions_and_returns_to_start():
    unit = Unit("u", 20.0, 5.0)
    s = DnoScheduler("DN1", [unit], TARIFF.buy_per_mwh(), TARIFF.sell_per_mwh(), 100.0, 100.0)
    h = np.arange(24)
    pv_f = 20 * np.clip(np.sin((h - 5) / 14 * np.pi), 0, None)
    wind_f = 10 + 3 * np.sin(h / 3)
    load_f = 22 + 6 * np.sin((h - 8) / 24 * 2 * np.pi)
    pv_a, wind_a, load_a = pv_f * 0.7, wind_f * 1.3, load_f * 1.05
    action, plans = rolling_intraday(s, pv_f, wind_f, load_f, pv_a, wind_a, load_a)
    for hour, plan in enumerate(plans, start=1):
        # Each re-solve kept every earlier hour's realised action.
        np.testing.assert_allclose(plan.storage_action_mw[: hour - 1], action[: hour - 1], atol=1e-7)
    stored = np.where(action > 0, 0.95 * action, action / 0.95)
    assert 0.5 + stored.sum() / 20.0 == pytest.approx(0.5, abs=1e-6)


def test_dno_without_storage():
    s = DnoScheduler("DN0", [], TARIFF.buy_per_mwh(), TARIFF.sell_per_mwh(), 100.0, 100.0)
    plan = s.solve(np.full(24, 5.0), np.zeros(24), np.full(24, 8.0))
    assert plan.charge_mw.shape == (0, 24)
    assert np.all(plan.storage_action_mw == 0)
    np.testing.assert_allclose(plan.buy_mw, 3.0, atol=TOL)


def test_infeasible_names_dno_and_hour():
    s = DnoScheduler("DN7", [], TARIFF.buy_per_mwh(), TARIFF.sell_per_mwh(), 5.0, 5.0)
    with pytest.raises(SchedulingError, match=r"DNO 'DN7', hour 1: load 8.000 MW exceeds all it can supply "
                       r"\(5.000 MW\) and no value of lost load.*HIGHS ended model 'dno-DN7' with INFEASIBLE"):
        s.solve(np.zeros(24), np.zeros(24), np.full(24, 8.0))  # load 8 MW, import limit 5 MW
    load = np.full(24, 4.0)
    load[11] = 7.0  # only hour 12 is beyond the import limit: the error names it
    with pytest.raises(SchedulingError, match=r"DNO 'DN7', hour 12: load 7.000 MW") as caught:
        s.solve(np.zeros(24), np.zeros(24), load)
    assert (caught.value.dno, caught.value.hour) == ("DN7", 12)


def test_solver_error_message_is_surfaced():
    """MathOpt hides the solver's reason in __context__; the error must carry it."""
    s = DnoScheduler("DN8", [], TARIFF.buy_per_mwh(), TARIFF.sell_per_mwh(), 10.0, 10.0)
    s._params.threads = 4  # HiGHS refuses a per-solve thread count
    with pytest.raises(SchedulingError, match="DN8.*threads not supported for HiGHS"):
        s.solve(np.zeros(24), np.zeros(24), np.full(24, 1.0))


def test_unknown_solver_rejected():
    with pytest.raises(ValueError, match="unknown solver 'cpsat'"):
        DnoScheduler("DN9", [], TARIFF.buy_per_mwh(), TARIFF.sell_per_mwh(), 1.0, 1.0, solver="cpsat")


def test_value_of_lost_load_sheds_only_what_the_import_limit_cannot_serve():
    s = DnoScheduler("DN7", [], TARIFF.buy_per_mwh(), TARIFF.sell_per_mwh(), 5.0, 5.0, voll_per_mwh=20_000.0)
    plan = s.solve(np.zeros(24), np.zeros(24), np.full(24, 8.0))
    np.testing.assert_allclose(plan.unserved_mw, 3.0, atol=TOL)
    np.testing.assert_allclose(plan.buy_mw, 5.0, atol=TOL)
    served = DnoScheduler("DN7", [], TARIFF.buy_per_mwh(), TARIFF.sell_per_mwh(), 10.0, 10.0, voll_per_mwh=20_000.0)
    assert not served.solve(np.zeros(24), np.zeros(24), np.full(24, 8.0)).unserved_mw.any()


def _rows_from_expressions(units, buy_max_mw, sell_max_mw):
    """The grid, storage and balance rows as MathOpt's expressions spell them: the reference the
    coefficient-by-coefficient build (market.scheduling.add_row) must equal exactly."""
    from ortools.math_opt.python import mathopt

    m = mathopt.Model(name="rows")
    T = range(HOURS)
    pv = [m.add_variable(lb=0.0, ub=0.0, name=f"pv[{t}]") for t in T]
    wind = [m.add_variable(lb=0.0, ub=0.0, name=f"wind[{t}]") for t in T]
    buy = [m.add_variable(lb=0.0, ub=buy_max_mw, name=f"buy[{t}]") for t in T]
    sell = [m.add_variable(lb=0.0, ub=sell_max_mw, name=f"sell[{t}]") for t in T]
    for t in T:
        selling = m.add_binary_variable(name=f"B[{t}]")
        m.add_linear_constraint(sell[t] <= sell_max_mw * selling)
        m.add_linear_constraint(buy[t] <= buy_max_mw * (1 - selling))
    chs, diss = [], []
    for k, u in enumerate(units):
        ch = [m.add_variable(lb=0.0, ub=u.power_mw, name=f"ch[{k},{t}]") for t in T]
        dis = [m.add_variable(lb=0.0, ub=u.power_mw, name=f"dis[{k},{t}]") for t in T]
        soc = [m.add_variable(lb=u.soc_min, ub=u.soc_max, name=f"soc[{k},{t}]") for t in T]
        discharging = [m.add_binary_variable(name=f"U[{k},{t}]") for t in T]
        prev = u.soc_start
        for t in T:
            m.add_linear_constraint(dis[t] <= u.power_mw * discharging[t])
            m.add_linear_constraint(ch[t] <= u.power_mw * (1 - discharging[t]))
            stored = u.charge_efficiency * ch[t] - dis[t] * (1.0 / u.discharge_efficiency)
            m.add_linear_constraint(soc[t] == prev + stored * (1.0 / u.energy_mwh))
            prev = soc[t]
        m.add_linear_constraint(soc[HOURS - 1] == u.soc_start)
        chs.append(ch)
        diss.append(dis)
    shed = [m.add_variable(lb=0.0, ub=0.0, name=f"shed[{t}]") for t in T]
    for t in T:
        storage = mathopt.fast_sum(diss[k][t] - chs[k][t] for k in range(len(chs)))
        m.add_linear_constraint(lb=0.0, ub=0.0, expr=pv[t] + wind[t] + buy[t] - sell[t] + storage + shed[t])
    return m


@settings(max_examples=25, deadline=None)
@given(st.lists(st.builds(Unit, st.just("u"), st.floats(0.01, 500.0), st.floats(0.0, 200.0), st.floats(0.5, 1.0),
                          st.floats(0.5, 1.0), st.just(0.1), st.just(0.9), st.floats(0.1, 0.9)), max_size=3),
       st.floats(0.0, 100.0), st.floats(0.0, 100.0))
def test_rows_written_by_coefficient_are_the_rows_of_their_expressions(units, buy_max_mw, sell_max_mw):
    from ortools.math_opt.python import mathopt

    from market.scheduling import add_balance, add_grid, add_storage

    m = mathopt.Model(name="rows")
    grid = add_grid(m, buy_max_mw, sell_max_mw)
    ch, dis, _, _, _ = add_storage(m, units, 1e-6)
    add_balance(m, grid, ch, dis, TARIFF.buy_per_mwh(), TARIFF.sell_per_mwh(), None)
    reference = _rows_from_expressions(units, buy_max_mw, sell_max_mw)
    serialized = [model.export_model().SerializeToString(deterministic=True) for model in (m, reference)]
    assert serialized[0] == serialized[1]  # every bound and coefficient, bit for bit
