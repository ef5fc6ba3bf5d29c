"""A DNO's heat side in its MILP (docs/rules.md §B.2.1): balances every hour, recomputed from the
dispatch; heat storage that keeps its energy; the carbon cost on its own net emission (§B.2.3);
the cheaper heat source preferred; a rolling re-plan that keeps the past."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from market.carbon import CarbonLadder
from market.heat import DISPATCH, HEAT_SOC_START, holding_mw
from market.scheduling import HOURS, DnoScheduler
from market.tariff import Tariff

TARIFF = Tariff()
TOL = 1e-5  # MW: the solver's feasibility tolerance (1e-6) on rows of a few terms


@dataclass(frozen=True)
class Devices:
    chp_mw: float = 0.0
    chp_efficiency: float = 0.35
    chp_heat_to_power: float = 1.2
    gas_boiler_mw: float = 0.0
    gas_boiler_efficiency: float = 0.9
    electric_boiler_mw: float = 0.0
    electric_boiler_efficiency: float = 0.95
    heat_storage_mwh: float = 0.0
    heat_storage_mw: float = 0.0
    heat_storage_efficiency: float = 0.95
    heat_storage_loss: float = 0.01
    heat_buy_max_mw: float = 0.0
    gas_price_per_mwh: float | None = 350.0
    heat_price_per_mwh: float | None = 200.0


@dataclass(frozen=True)
class Unit:
    name: str = "b"
    energy_mwh: float = 20.0
    power_mw: float = 5.0
    charge_efficiency: float = 0.95
    discharge_efficiency: float = 0.95
    soc_min: float = 0.1
    soc_max: float = 0.9
    soc_start: float = 0.5


HOUR = np.arange(HOURS)
LOAD = 20 + 8 * np.sin((HOUR - 14) / 24 * 2 * np.pi)
PV = np.clip(15 * np.sin((HOUR - 6) / 12 * np.pi), 0, None)
HEAT = 10 + 4 * np.cos((HOUR - 4) / 24 * 2 * np.pi)


def scheduler(devices: Devices, carbon: CarbonLadder | None = None, units=(Unit(),), voll: float | None = 20_000.0):
    return DnoScheduler("DN", list(units), TARIFF.buy_per_mwh(), TARIFF.sell_per_mwh(), 60.0, 60.0, carbon=carbon,
                        heat=devices, voll_per_mwh=voll)


@st.composite
def devices(draw):
    size = st.floats(0.0, 20.0)
    energy = draw(st.sampled_from([0.0, 5.0, 30.0]))
    d = Devices(chp_mw=draw(size), chp_heat_to_power=draw(st.floats(0.5, 2.0)), gas_boiler_mw=draw(size),
                electric_boiler_mw=draw(size), heat_storage_mwh=energy, heat_storage_mw=draw(st.floats(0.0, 10.0)),
                heat_storage_loss=draw(st.sampled_from([0.0, 0.02])), heat_buy_max_mw=draw(size),
                gas_price_per_mwh=draw(st.floats(100.0, 600.0)), heat_price_per_mwh=draw(st.floats(100.0, 600.0)))
    # what the scenario asks of storage that loses heat: a rating and sources that can make it up
    need = holding_mw(d)
    return replace(d, heat_storage_mw=max(d.heat_storage_mw, need), electric_boiler_mw=max(d.electric_boiler_mw, need))


@settings(max_examples=30)
@given(devices(), st.floats(0.0, 2.0), st.sampled_from([0.0, 250.0]))
def test_energy_and_heat_balance_every_hour(d, heat_scale, price):
    ladder = CarbonLadder(0.58, 0.39, price, 2.0, 0.25)
    plan = scheduler(d, ladder).solve(PV, np.zeros(HOURS), LOAD, heat_load_mw=heat_scale * HEAT)
    h = plan.heat
    # electricity: sources less sinks is the load, the CHP a source and the electric boiler a load
    supply = (plan.pv_mw + plan.wind_mw + plan.buy_mw - plan.sell_mw + plan.discharge_mw.sum(0) - plan.charge_mw.sum(0)
              + h.chp_mw - h.electric_boiler_mw / d.electric_boiler_efficiency + plan.unserved_mw)
    np.testing.assert_allclose(supply, LOAD, atol=TOL)
    # heat: every source less storage charging, less what is vented, is the heat load
    heat = (d.chp_heat_to_power * h.chp_mw + h.gas_boiler_mw + h.electric_boiler_mw + h.heat_bought_mw
            + h.heat_discharge_mw - h.heat_charge_mw + h.heat_unserved_mw)
    assert np.all(h.vented_mw >= 0)
    np.testing.assert_allclose(heat - h.vented_mw, heat_scale * HEAT, atol=TOL)
    # every device within its rating, nothing negative
    for name, rating in (("chp_mw", d.chp_mw), ("gas_boiler_mw", d.gas_boiler_mw),
                         ("electric_boiler_mw", d.electric_boiler_mw), ("heat_bought_mw", d.heat_buy_max_mw)):
        values = getattr(h, name)
        assert np.all(values >= -TOL) and np.all(values <= rating + TOL), name
    # heat storage: its level recomputed from the dispatch, within range, back where it started
    if d.heat_storage_mwh > 0 and d.heat_storage_mw > 0:
        level, levels = HEAT_SOC_START, []
        for t in range(HOURS):
            level = (1 - d.heat_storage_loss) * level + (d.heat_storage_efficiency * h.heat_charge_mw[t]
                                                         - h.heat_discharge_mw[t] / d.heat_storage_efficiency) / d.heat_storage_mwh
            levels.append(level)
        np.testing.assert_allclose(h.heat_soc, levels, atol=HOURS * 1e-6)
        assert levels[-1] == pytest.approx(HEAT_SOC_START, abs=HOURS * 1e-6)
    else:
        assert not h.heat_charge_mw.any() and not h.heat_discharge_mw.any()
    # the money: gas burnt at its efficiencies, heat bought at its price
    gas = h.chp_mw / d.chp_efficiency + h.gas_boiler_mw / d.gas_boiler_efficiency
    np.testing.assert_allclose(h.gas_mwh, gas, atol=TOL)
    assert h.cost_rmb == pytest.approx(d.gas_price_per_mwh * gas.sum() + d.heat_price_per_mwh * h.heat_bought_mw.sum(),
                                       rel=1e-9, abs=1e-6)
    # the MILP's carbon cost is the ladder on its own net emission, gas-fired output included
    expected = ladder.cost(float(plan.buy_mw.sum()), float(h.chp_mw.sum()), float(h.chp_heat_mw.sum()),
                           float(h.gas_boiler_mw.sum()), d.chp_heat_to_power) if price > 0 else 0.0
    assert plan.carbon_rmb == pytest.approx(expected, rel=1e-7, abs=1e-4)


def test_the_cheaper_heat_source_carries_the_load():
    """Heat bought at 200 against a gas boiler at 350 / 0.9: the boiler only covers what the heat
    network's 8 MW cannot; at 500 for bought heat the boiler takes it all."""
    base = Devices(gas_boiler_mw=30.0, heat_buy_max_mw=8.0)
    h = scheduler(base).solve(PV, np.zeros(HOURS), LOAD, heat_load_mw=HEAT).heat
    np.testing.assert_allclose(h.heat_bought_mw, np.minimum(HEAT, 8.0), atol=TOL)
    np.testing.assert_allclose(h.gas_boiler_mw, np.clip(HEAT - 8.0, 0.0, None), atol=TOL)
    h = scheduler(replace(base, heat_price_per_mwh=500.0)).solve(PV, np.zeros(HOURS), LOAD, heat_load_mw=HEAT).heat
    assert h.heat_bought_mw.max() < TOL
    np.testing.assert_allclose(h.gas_boiler_mw, HEAT, atol=TOL)


def test_heat_storage_moves_electric_heating_to_the_valley():
    """An electric boiler with heat storage heats in the cheap hours it can: its input in the
    valley exceeds what the valley's own heat load needs, and the stored heat serves later hours."""
    d = Devices(electric_boiler_mw=30.0, heat_storage_mwh=60.0, heat_storage_mw=15.0, gas_boiler_mw=30.0)
    h = scheduler(d).solve(PV, np.zeros(HOURS), LOAD, heat_load_mw=HEAT).heat
    valley = TARIFF.buy_per_mwh() == TARIFF.buy_per_mwh().min()
    assert h.heat_charge_mw[valley].sum() > 1.0 and h.heat_discharge_mw[~valley].sum() > 1.0
    assert h.electric_boiler_mw[valley].sum() > HEAT[valley].sum()


def test_a_rolling_re_plan_keeps_the_realised_heat_dispatch():
    d = Devices(chp_mw=10.0, gas_boiler_mw=10.0, electric_boiler_mw=10.0, heat_storage_mwh=30.0, heat_storage_mw=8.0,
                heat_buy_max_mw=5.0)
    s = scheduler(d)
    first = s.solve(PV, np.zeros(HOURS), LOAD, heat_load_mw=HEAT)
    past = first.heat.dispatch()
    later = s.solve(PV, np.zeros(HOURS), LOAD * 1.1, from_hour=9, fixed_charge_mw=first.charge_mw,
                    fixed_discharge_mw=first.discharge_mw, heat_load_mw=HEAT * 1.2, fixed_heat_mw=past)
    np.testing.assert_allclose(later.heat.dispatch()[:, :8], past[:, :8], atol=1e-9)
    assert later.heat.dispatch().shape == (len(DISPATCH), HOURS)
    np.testing.assert_allclose(later.heat.heat_soc[:8], first.heat.heat_soc[:8], atol=1e-6)


def test_a_heat_load_is_needed_exactly_with_heat_devices():
    with pytest.raises(ValueError, match="heat load"):
        scheduler(Devices(gas_boiler_mw=5.0)).solve(PV, np.zeros(HOURS), LOAD)
    plain = DnoScheduler("DN", [Unit()], TARIFF.buy_per_mwh(), TARIFF.sell_per_mwh(), 60.0, 60.0)
    with pytest.raises(ValueError, match="heat load"):
        plain.solve(PV, np.zeros(HOURS), LOAD, heat_load_mw=HEAT)
