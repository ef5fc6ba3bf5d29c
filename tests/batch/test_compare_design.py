"""Comparison files: the schema, one-line errors, shared days, stable run ids."""

import pytest
import yaml

from batch_runs import comparison
from batch_runs.comparison import ComparisonDesign
from batch_runs.design import parse
from batch_runs.run_one import scenario_for
from experiments.cli import main

BUNDLED = "experiments/comparisons/designs.yaml"
SMALL = {
    "name": "small",
    "days": {"recipe": "paper-4dn", "seeds": 3},
    "designs": {"S0": {"mechanism.p2p_enabled": False}, "cc": {}, "block": {"mechanism.matching": "block"}},
    "fixed": {"n_dnos": 2},
}


def small(**changes) -> ComparisonDesign:
    return parse({"kind": "comparison", **SMALL, **changes}, "small.yaml")


def test_points_are_the_designs_on_every_seed():
    design = small()
    assert design.reference == "S0" and design.seeds == [0, 1, 2]
    assert design.points()[2] == {"design_name": "block", "recipe": "paper-4dn", "n_dnos": 2, "mechanism.matching": "block"}
    runs = design.runs()
    assert len(runs) == 9 and {r.seed for r in runs} == {0, 1, 2}
    assert list(design.parameters)[:3] == ["design_name", "recipe", "n_dnos"], "the rows' parameter columns"
    assert design.varied() == ["design_name"] and design.fixed() == {"recipe": "paper-4dn", "n_dnos": 2}


def test_a_seed_is_the_same_day_for_every_design():
    design = small()
    s0, block = (scenario_for(design.point(name), 1) for name in ("S0", "block"))
    assert s0.dnos == block.dnos, "same seed, same day"
    assert (s0.mechanism.p2p_enabled, block.mechanism.p2p_enabled) == (False, True)
    assert scenario_for(design.point("S0"), 2).dnos != s0.dnos, "another seed, another day"
    fixed_day = small(days={"scenario": "paper-4dn", "seeds": 2}, fixed={})
    assert scenario_for(fixed_day.point("cc"), 0).dnos == scenario_for(fixed_day.point("cc"), 1).dnos


def test_run_ids_are_stable_and_the_reference_is_not_part_of_the_runs():
    ids = {(r.parameters["design_name"], r.seed): r.run_id for r in small().runs()}
    fewer = small(designs={"cc": {}, "block": {"mechanism.matching": "block"}}, days={"recipe": "paper-4dn", "seeds": [2]})
    assert {(r.parameters["design_name"], r.seed): r.run_id for r in fewer.runs()} == {
        k: v for k, v in ids.items() if k[0] != "S0" and k[1] == 2
    }
    assert small(reference="cc").runs_key() == small().runs_key()


def test_stored_design_reads_back_as_written():
    design = small(reference="block")
    again = parse(yaml.safe_load(design.to_yaml()), "design.yaml")
    assert again == design and "parameters" not in design.to_yaml()


def test_bundled_comparison_is_valid_and_sized_for_two_cores():
    design = comparison.load(BUNDLED)
    comparison.check(design, BUNDLED)
    assert design.reference == "S0" and len(design.seeds) >= 10, "enough days for the t interval"
    assert 80 <= len(design.runs()) <= 120, "a few minutes at ~1.5 s a run on 2 cores"
    matching = {design.point(name).get("mechanism.matching") for name in design.designs}
    assert matching == {"merit_order", "pairwise_rounds", "block"}
    assert comparison.load("designs", seeds=2) == comparison.load(BUNDLED, seeds=2), "bundled by name"
    assert comparison.load(BUNDLED, seeds=2).seeds == [0, 1]


def test_bundled_network_comparison_varies_the_network_rules_on_the_same_days():
    design = comparison.load("network")
    comparison.check(design, "network")
    assert design.reference == "charges-greedy" and len(design.seeds) >= 10
    scenarios = {name: scenario_for(design.point(name), 3) for name in design.designs}
    days = [s.dnos for s in scenarios.values()]
    assert all(d == days[0] for d in days), "one day for every design"
    net = {name: s.network for name, s in scenarios.items()}
    assert (net["no-charges"].uos.mean_charge_per_mwh, net["charges-greedy"].uos.mean_charge_per_mwh) == (0, 30)
    assert {net[n].congestion for n in ("charges-greedy", "charges-exact", "no-management")} == {"greedy", "exact", "off"}
    assert scenarios["S0"].mechanism.p2p_enabled is False and scenario_for(design.point("S0"), 4).dnos != scenarios["S0"].dnos


@pytest.mark.parametrize("name, reference, days, heat", [("robust-carbon", "deterministic", 10, False),
                                                     ("robust-carbon-heat", "unpriced", 5, True)])
def test_bundled_robust_carbon_comparisons_change_only_the_plans_on_the_same_days(name, reference, days, heat):
    """Deterministic against robust plans, each with and without the carbon price, on the same
    days; the heat one's DNOs all have heat devices and heat loads (§B.2.1)."""
    design = comparison.load(name)
    comparison.check(design, name)
    assert design.reference == reference and len(design.seeds) >= days
    scenarios = {n: scenario_for(design.point(n), 3) for n in design.designs}
    assert all(s.dnos == scenarios[reference].dnos for s in scenarios.values()), "one day for every design"
    assert all((d.heat is not None and d.heat_load_mw is not None) == heat for d in scenarios[reference].dnos)
    assert {n: (s.scheduling.uncertainty, s.carbon.price_per_t) for n, s in scenarios.items()} == {
        reference: ("deterministic", 0.0), "robust": ("dro", 0.0), "carbon-priced": ("deterministic", 250.0),
        "robust-carbon-priced": ("dro", 250.0)}


def test_a_recipe_with_a_network_keeps_every_added_dno_on_the_feeder():
    from model.scenario import validate
    from model.synthetic import RECIPES_DIR, build, load_recipe, with_n_dnos

    recipe = load_recipe(RECIPES_DIR / "feeder-33bus.yaml")
    more = validate(build(with_n_dnos(recipe, 12)), "feeder-33bus with 12 DNOs")
    assert more.network.buses["DN11"] == more.network.buses["DN1"] and more.network.buses["DN12"] == more.network.buses["DN2"]
    fewer = validate(build(with_n_dnos(recipe, 3)), "feeder-33bus with 3 DNOs")
    assert set(fewer.network.buses) == {"DN1", "DN2", "DN3"}


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"desings": {}}, "desings: unknown field"),
        ({"days": {"recipe": "paper-4dn", "scenario": "paper-4dn", "seeds": 2}}, "days: give a recipe"),
        ({"days": {"recipe": "paper-4dn", "seeds": 0}}, "days.seeds: a count must be at least 1"),
        ({"days": {"recipe": "paper-4dn", "seeds": [1, 1]}}, "days.seeds: needs distinct seeds >= 0"),
        ({"seeds": 3}, "seeds: not part of a comparison file; the seeds belong to the days (days.seeds)"),
        ({"reference": "S1"}, "reference: 'S1' is not one of the designs (S0, cc, block)"),
        ({"designs": {"only": {}}}, "designs: a comparison needs two or more designs, got 1"),
        ({"designs": {"a": {}, "b": {"forecast_error_scale": 2}}}, "designs.b.forecast_error_scale: chooses the day"),
        ({"designs": {"a": {}, "b": {"design_name": "x"}}}, "designs.b.design_name: the label of each design"),
        ({"designs": {"a": {}, "b": {"ledger.crashed": [1]}}}, "designs.b.ledger.crashed: expected one value"),
        ({"fixed": {"scenario": "paper-4dn"}}, "fixed.scenario: the days come from days:"),
        ({"kind": "grid"}, "kind: 'grid' is a sweep design"),
        ({"designs": {"a": {}, "b": {"mechanism.matchng": "block"}}}, "designs.b: "),
        ({"designs": {"a": {}, "b": {"mechanism.matching": "auction"}}}, "designs.b: "),
        ({"fixed": {"mechanism.seller_concession": 2}}, "fixed: "),
        ({"days": {"recipe": "nope", "seeds": 2}}, "days: nope: no such bundled recipe"),
    ],
)
def test_mistakes_are_one_line_exit_2(tmp_path, capsys, changes, message):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({**SMALL, **changes}, sort_keys=False))
    assert main(["compare", str(path), "--out", str(tmp_path / "out"), "--processes", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: {message}") and err.count("\n") == 1, err
    assert not (tmp_path / "out").exists(), "nothing runs"

