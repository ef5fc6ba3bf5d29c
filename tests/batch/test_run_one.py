"""run_one's knobs: scenario overrides, recipe days, forecast-error scale and the number of DNOs."""

import pytest

from batch_runs.run_one import scenario_for
from model.scenario import ScenarioError
from model.synthetic import RECIPES_DIR, load_recipe


def test_overrides_reach_the_scenario():
    s = scenario_for({"mechanism.seller_concession": 0.123, "dnos.DN2.pv_mw": 1e-05}, seed=0)
    assert s.mechanism.seller_concession == 0.123 and s.dnos[1].pv_mw == 1e-05
    assert s.name == "paper-4dn"


def test_n_dnos_cycles_the_recipe_with_unique_names():
    s = scenario_for({"n_dnos": 6}, seed=0)
    assert [d.name for d in s.dnos] == [f"DN{i}" for i in range(1, 7)]
    assert s.dnos[4].pv_mw == s.dnos[0].pv_mw and s.dnos[5].wind_mw == s.dnos[1].wind_mw
    assert [o.name for o in s.dnos[4].storage_owners] == ["DN1 Grid Storage (DN5)", "Northwind Co-op (DN5)"]
    assert [u.name for u in s.dnos[5].storage_units] == ["DN6-BESS-1"]
    two = scenario_for({"n_dnos": 2}, seed=0)
    assert [d.name for d in two.dnos] == ["DN1", "DN2"]
    assert set(two.ledger.validator_hosts) <= {"DN1", "DN2", "main_grid"}


def test_seed_draws_the_day_unless_recipe_seed_fixes_it():
    a, b = scenario_for({"recipe": "paper-4dn"}, 0), scenario_for({"recipe": "paper-4dn"}, 1)
    assert a.dnos[0].load_mw.actual != b.dnos[0].load_mw.actual
    day = load_recipe(RECIPES_DIR / "paper-4dn.yaml").seed  # the bundled scenario's day
    fixed = [scenario_for({"recipe_seed": day}, s).dnos[0].load_mw.actual for s in (0, 1)]
    assert fixed[0] == fixed[1]
    assert fixed[0] == scenario_for({"scenario": "paper-4dn"}, 0).dnos[0].load_mw.actual, "the bundled day"


def test_forecast_error_scale_scales_the_errors():
    def error(scale):
        d = scenario_for({"recipe_seed": 5, "forecast_error_scale": scale}, 0).dnos[2]
        return sum(abs(f - a) for f, a in zip(d.load_mw.forecast, d.load_mw.actual))

    assert error(0.0) == 0.0 and error(2.0) > error(1.0) > 0


def test_knob_conflict_and_bad_recipe():
    with pytest.raises(ScenarioError, match="exclude each other"):
        scenario_for({"scenario": "paper-4dn", "n_dnos": 3}, 0)
    with pytest.raises(ScenarioError, match="no such bundled recipe"):
        scenario_for({"recipe": "nope"}, 0)
