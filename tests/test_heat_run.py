"""Electric-heat DNOs through model and chain (docs/rules.md §B.2.1, §B.2.3): the bundled heat-4dn
scenario meets every heat load every hour, reports its heat dispatch, bills heat and carbon on the
committed plans and counts gas-fired emissions; same seed, same bytes; bad heat input is one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.cli import main
from market.heat import HEAT_SOC_START
from model.heat_outputs import HEAT_COLUMNS
from model.scenario import load

SCENARIO = load("heat-4dn")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("heat") / "run"
    assert main(["run", "heat-4dn", "--out", str(out)]) == 0
    return out


def _heat_balance(hourly: pd.DataFrame) -> None:
    """Every hour's heat load met: sources less storage charging less vented heat, per DNO."""
    phi = hourly.dno.map({d.name: d.heat.chp_heat_to_power for d in SCENARIO.dnos})
    supplied = (phi * hourly.chp_mw + hourly.gas_boiler_mw + hourly.electric_boiler_mw + hourly.heat_bought_mw
                - hourly.heat_storage_action_mw + hourly.heat_unserved_mw - hourly.heat_vented_mw)
    np.testing.assert_allclose(supplied, hourly.heat_load_actual_mw, atol=1e-5)
    assert (hourly.heat_vented_mw >= 0).all() and hourly.heat_unserved_mw.max() < 1e-6
    np.testing.assert_allclose(hourly.chp_heat_mw, phi * hourly.chp_mw, atol=2e-6)  # CSV: 6 decimals


def _heat_storage_keeps_its_energy(hourly: pd.DataFrame) -> None:
    """The realised heat storage level follows from the realised dispatch, hour after hour, and ends
    the day where it started."""
    for d in SCENARIO.dnos:
        h = d.heat
        if not h.heat_storage_mwh:
            continue
        rows = hourly[hourly.dno == d.name].sort_values("hour")
        level = HEAT_SOC_START
        for action, soc in zip(rows.heat_storage_action_mw, rows.heat_soc):
            charge, discharge = max(action, 0.0), max(-action, 0.0)
            level = (1 - h.heat_storage_loss) * level + (h.heat_storage_efficiency * charge
                                                         - discharge / h.heat_storage_efficiency) / h.heat_storage_mwh
            assert soc == pytest.approx(level, abs=1e-5)
        assert level == pytest.approx(HEAT_SOC_START, abs=1e-5)


def test_every_heat_load_is_met_and_reported(run):
    hourly = pd.read_csv(run / "hourly.csv")
    assert set(HEAT_COLUMNS) <= set(hourly.columns) and "planned_emission_t" in hourly
    for d in SCENARIO.dnos:
        np.testing.assert_allclose(hourly[hourly.dno == d.name].heat_load_actual_mw, d.heat_load_mw.actual, atol=1e-9)
    _heat_balance(hourly)
    _heat_storage_keeps_its_energy(hourly)
    # a heat source is used only where the DNO has it
    for d in SCENARIO.dnos:
        rows = hourly[hourly.dno == d.name]
        assert (rows.chp_mw.max() > 0) == (d.heat.chp_mw > 0) or d.heat.chp_mw > 0
        assert rows.heat_bought_mw.max() <= d.heat.heat_buy_max_mw + 1e-6


def test_the_summary_adds_up_the_heat_and_bills_it(run):
    hourly = pd.read_csv(run / "hourly.csv")
    summary = json.loads((run / "summary.json").read_text())
    heat = summary["heat"]
    assert sorted(heat["by_dno"]) == ["DN1", "DN2", "DN3", "DN4"]
    for d in SCENARIO.dnos:
        mine, rows = heat["by_dno"][d.name], hourly[hourly.dno == d.name]
        # hourly.csv has 6 decimals: 24 hours of rounding at most
        assert mine["gas_mwh"] == pytest.approx(rows.gas_mwh.sum(), abs=24 * 5e-7)
        assert mine["realised_cost_rmb"] == pytest.approx(
            (d.heat.gas_price_per_mwh or 0) * rows.gas_mwh.sum() + (d.heat.heat_price_per_mwh or 0) * rows.heat_bought_mw.sum(),
            abs=24 * 5e-7 * 400)
    assert heat["total"]["planned_cost_rmb"] == pytest.approx(sum(v["planned_cost_rmb"] for v in heat["by_dno"].values()))
    assert summary["outcomes"]["carbon_cost_rmb"] != 0.0


def test_emissions_and_carbon_count_the_gas(run):
    """The emissions measure is the grid's imports at its factor plus the committed plans' gas-fired
    output at the gas factor; each DNO's carbon cost is the ladder on its committed plan's net
    emission, gas included (§B.2.3)."""
    from model.job import simulate

    result = simulate(SCENARIO, 0)
    ladder = SCENARIO.carbon.ladder()
    gas = sum(float(d.day_ahead.heat.chp_mw.sum() + d.day_ahead.heat.chp_heat_mw.sum()
                    + d.day_ahead.heat.gas_boiler_mw.sum()) for d in result.model.dnos)
    outcomes = result.summary["outcomes"]
    assert outcomes["emissions_t"] == pytest.approx(0.58 * outcomes["grid_import_mwh"] + 0.234 * gas, rel=1e-9)
    carbon = sum(ladder.cost(float(d.day_ahead.buy_mw.sum()), float(d.day_ahead.heat.chp_mw.sum()),
                             float(d.day_ahead.heat.chp_heat_mw.sum()), float(d.day_ahead.heat.gas_boiler_mw.sum()),
                             d.spec.heat.chp_heat_to_power) for d in result.model.dnos)
    assert outcomes["carbon_cost_rmb"] == pytest.approx(carbon, rel=1e-7)
    planned = result.tables["hourly"].planned_emission_t.sum()
    assert planned == pytest.approx(sum(ladder.emission_t(float(d.day_ahead.buy_mw.sum())) for d in result.model.dnos)
                                    + 0.234 * gas, rel=1e-9)
    # the bill carries the committed plans' heat cost, the baseline the plans made alone
    bills = sum(d.day_ahead.heat.cost_rmb for d in result.model.dnos)
    assert result.summary["heat"]["total"]["planned_cost_rmb"] == pytest.approx(bills, rel=1e-9)


def test_same_seed_same_bytes(run, tmp_path):
    again = tmp_path / "again"
    assert main(["run", "heat-4dn", "--out", str(again)]) == 0
    for path in sorted(run.iterdir()):
        if path.name != "timings.json":
            assert (again / path.name).read_bytes() == path.read_bytes(), path.name


def test_rolling_re_plans_keep_the_realised_heat(tmp_path):
    """Rolling intraday plans (hour by hour, the past fixed): the realised heat dispatch still meets
    every hour's load and the heat storage's level follows from it."""
    out = tmp_path / "rolling"
    assert main(["run", "heat-4dn", "--set", "scheduling.intraday_mode=rolling", "--out", str(out)]) == 0
    hourly = pd.read_csv(out / "hourly.csv")
    _heat_balance(hourly)
    _heat_storage_keeps_its_energy(hourly)


def test_a_power_only_dno_among_heat_dnos_reports_zeros():
    from model.job import simulate

    data = SCENARIO.model_dump(mode="json")
    del data["dnos"][3]["heat"], data["dnos"][3]["heat_load_mw"]
    from model.scenario import validate

    result = simulate(validate(data, source="heat-4dn without DN4's heat"), 0)
    rows = result.tables["hourly"][lambda h: h.dno == "DN4"]
    assert (rows[list(HEAT_COLUMNS)] == 0).all().all()
    assert sorted(result.summary["heat"]["by_dno"]) == ["DN1", "DN2", "DN3"]


@pytest.mark.parametrize("overrides, field", [
    (["dnos.DN2.heat.gas_price_per_mwh=null"], "dnos[1:DN2].heat.gas_price_per_mwh"),
    (["dnos.DN4.heat.heat_price_per_mwh=null"], "dnos[3:DN4].heat.heat_price_per_mwh"),
    (["carbon.gas_emission_t_per_mwh=-0.2"], "carbon.gas_emission_t_per_mwh"),
    (["dnos.DN1.heat.chp_efficiency=0"], "dnos[0:DN1].heat.chp_efficiency"),
    (["dnos.DN1.heat.heat_storage_mw=0.01"], "dnos[0:DN1].heat.heat_storage_mw"),
    (["dnos.DN4.heat={heat_storage_mwh: 12}"], "dnos[3:DN4].heat.heat_storage_mwh"),
    (["dnos.DN3.heat_load_mw=null"], "dnos[2:DN3].heat_load_mw"),
    (["design.coordination.stage=nash_bargaining"], "design.coordination.stage"),
    (["dnos.DN1.heat.chp_mw=-5"], "dnos[0:DN1].heat.chp_mw"),
])
def test_bad_heat_input_is_one_line(overrides, field, tmp_path, capsys):
    out = tmp_path / "kept"
    out.mkdir()
    (out / "earlier.txt").write_text("kept")
    argv = ["run", "heat-4dn", "--out", str(out)]
    for item in overrides:
        argv += ["--set", item]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and field in err[0], err
    assert [p.name for p in out.iterdir()] == ["earlier.txt"]


def test_the_bundled_scenario_is_what_its_recipe_generates():
    from model import synthetic
    from model.scenario import bundled, to_yaml, validate

    recipe = Path(__file__).resolve().parent.parent / "experiments" / "recipes" / "heat-4dn.yaml"
    regenerated = to_yaml(validate(synthetic.build(synthetic.load_recipe(recipe)), source=str(recipe)))
    assert bundled()["heat-4dn"].read_text() == regenerated
