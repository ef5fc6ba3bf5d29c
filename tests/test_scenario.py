"""Scenario files: the bundled paper scenario, the recipe that generates it, and bad input."""

from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from experiments.cli import main
from model import synthetic
from model.profiles import ErrorLevels, ar1, clear_sky_pv_ratio, generate_day, wind_power_ratio
from model.scenario import ScenarioError, apply_override, bundled, load, to_yaml, validate

ROOT = Path(__file__).resolve().parent.parent
PAPER = bundled()["paper-4dn"]
RECIPE = ROOT / "experiments" / "recipes" / "paper-4dn.yaml"


def test_paper_scenario_is_realistic():
    s = load("paper-4dn")
    assert [d.name for d in s.dnos] == ["DN1", "DN2", "DN3", "DN4"]
    mixes = set()
    for d in s.dnos:
        peak = max(d.load_mw.actual)
        assert 10 <= peak <= 100, "distribution-network size: tens of MW"
        assert d.storage_units and 5 <= d.storage_energy_mwh <= 200
        assert d.pv_ratio.forecast != d.pv_ratio.actual and d.load_mw.forecast != d.load_mw.actual
        mixes.add("wind" if d.wind_mw > d.pv_mw else "pv")
        night = [d.pv_ratio.actual[h] for h in (0, 1, 2, 22, 23)]
        assert night == [0.0] * 5
    assert mixes == {"wind", "pv"}
    assert s.mechanism.matching == "pairwise_rounds" and s.scheduling.intraday_mode == "oracle"


def test_bundled_scenario_is_what_the_recipe_generates():
    recipe = synthetic.load_recipe(RECIPE)
    regenerated = to_yaml(validate(synthetic.build(recipe), source=str(RECIPE)))
    assert regenerated == PAPER.read_text()


def test_generator_is_seeded_and_error_scale_zero_means_perfect_forecast():
    recipe = synthetic.load_recipe(RECIPE)
    assert synthetic.build(recipe, seed=5) == synthetic.build(recipe, seed=5)
    assert synthetic.build(recipe, seed=5) != synthetic.build(recipe, seed=6)
    perfect = synthetic.build(recipe, error_scale=0.0)
    for d in perfect["dnos"]:
        for key in ("pv_ratio", "wind_ratio", "load_mw"):
            assert d[key]["forecast"] == d[key]["actual"]


def test_pv_bell_follows_season_and_latitude():
    summer, winter = clear_sky_pv_ratio(40, 172), clear_sky_pv_ratio(40, 355)
    assert np.count_nonzero(summer) > np.count_nonzero(winter)
    assert summer.max() > winter.max()
    assert 10 <= int(np.argmax(summer)) <= 12  # peak around solar noon
    assert clear_sky_pv_ratio(60, 355).max() < winter.max()


def test_wind_power_curve():
    ratio = wind_power_ratio(np.array([0, 2.9, 3.0, 7.5, 12, 20, 25, 30]))
    assert list(ratio[[0, 1, 2]]) == [0, 0, 0] and ratio[4] == ratio[5] == 1.0
    assert 0 < ratio[3] < 1 and ratio[6] == ratio[7] == 0


def test_forecast_errors_are_autocorrelated():
    rng = np.random.default_rng(1)
    paths = np.array([ar1(rng, 1.0, 0.8, 48) for _ in range(2000)])
    assert paths.std() == pytest.approx(1.0, rel=0.05)
    lag1 = np.corrcoef(paths[:, :-1].ravel(), paths[:, 1:].ravel())[0, 1]
    assert lag1 == pytest.approx(0.8, abs=0.03)
    day = generate_day(rng, 40, 105, 0.8, 7, 30, "residential", ErrorLevels())
    assert np.all((day.wind_ratio_actual >= 0) & (day.wind_ratio_actual <= 1))


def test_show_prints_defaults(capsys):
    assert main(["scenario", "show", "paper-4dn"]) == 0
    shown = yaml.safe_load(capsys.readouterr().out)
    assert shown["mechanism"]["seller_concession"] == 0.25  # set by the recipe (§A.6.2 calibration)
    assert shown["mechanism"]["max_rounds"] == 3 and shown["mechanism"]["clamp_to_band"] is False
    assert shown["mechanism"]["service_fee_per_mwh"] == 100.0
    assert shown["dnos"][0]["storage_owners"][0]["units"][0]["power_mw"] == 6.0  # 0.25 x 24 MWh
    assert shown["tariff"]["prices"]["valley_per_mwh"] == 270.0


def test_scenarios_lists_bundled(capsys):
    assert main(["scenarios"]) == 0
    assert "paper-4dn" in capsys.readouterr().out


def _write_bad(tmp_path, edit):
    data = yaml.safe_load(PAPER.read_text())
    edit(data)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


BAD = {
    "negative capacity": (lambda d: d["dnos"][1].update(pv_mw=-5), "dnos[1:DN2].pv_mw"),
    "23 hours": (lambda d: d["dnos"][0]["load_mw"]["actual"].pop(), "dnos[0:DN1].load_mw.actual"),
    "unknown key": (lambda d: d["mechanism"].update(seller_concesion=0.1), "mechanism.seller_concesion: unknown field"),
    "NaN": (lambda d: d["dnos"][2]["wind_ratio"]["forecast"].__setitem__(3, float("nan")), "dnos[2:DN3].wind_ratio.forecast[3]"),
    "ratio above 1": (lambda d: d["dnos"][0]["pv_ratio"]["actual"].__setitem__(12, 1.5), "hour 13: power ratio 1.5"),
    "negative energy": (
        lambda d: d["dnos"][3]["storage_owners"][0]["units"][0].update(energy_mwh=-1),
        "dnos[3:DN4].storage_owners[0:CityCell].units[0:DN4-BESS-1].energy_mwh",
    ),
    "unknown option value": (lambda d: d["scheduling"].update(intraday_mode="hindsight"), "scheduling.intraday_mode"),
    "duplicate DNO": (lambda d: d["dnos"][1].update(name="DN1"), "DNO name 'DN1' is used twice"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_scenario_gives_one_line_naming_file_and_field(case, tmp_path, capsys):
    edit, expected = BAD[case]
    path = _write_bad(tmp_path, edit)
    assert main(["scenario", "show", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert str(path) in err and expected in err


def test_yaml_syntax_error(tmp_path, capsys):
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\ndnos: [\n")
    assert main(["scenario", "show", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err and "YAML syntax error" in err


def test_missing_scenario(capsys):
    assert main(["scenario", "show", "no-such-scenario"]) == 2
    assert "no such bundled scenario" in capsys.readouterr().err


def test_overrides():
    data = yaml.safe_load(PAPER.read_text())
    data = apply_override(data, "mechanism.seller_concession=0.1")
    data = apply_override(data, "dnos.DN2.pv_mw=12.5")
    data = apply_override(data, "dnos.0.storage_owners.0.units.0.energy_mwh=30")
    s = validate(data, "x")
    assert s.mechanism.seller_concession == 0.1 and s.dnos[1].pv_mw == 12.5
    assert s.dnos[0].storage_units[0].energy_mwh == 30
    with pytest.raises(ScenarioError, match="no item 'DN9'"):
        apply_override(data, "dnos.DN9.pv_mw=1")
    with pytest.raises(ScenarioError, match="expected key.path=value"):
        apply_override(data, "mechanism.matching")


def test_whole_numbers_may_be_written_as_floats():
    """README: a number may be written 1e3 as well as 1000.0, also where a whole number belongs;
    it is read as that int (free-form engine_params too, which the ledger validates again)."""
    from ledger.consensus import ENGINES

    s = load("paper-4dn", ["days=2.0", "mechanism.max_rounds=3.0", "ledger.network.n_validators=1e1",
                           "ledger.crashes=[{node: 1.0, at_hour: 2}]", "ledger.byzantine={2.0: equivocating}",
                           "ledger.engine_params={max_block_txs: 5e1}",
                           "ledger.network.partitions=[{start_ms: 0, end_ms: 1000, groups: [[0.0, 1.0], [2]]}]"])
    whole = [s.days, s.mechanism.max_rounds, s.ledger.network.n_validators, s.ledger.crashes[0].node,
             *s.ledger.byzantine, s.ledger.engine_params["max_block_txs"], *s.ledger.network.partitions[0].groups[0]]
    assert whole == [2, 3, 10, 1, 2, 50, 0, 1] and all(type(n) is int for n in whole)
    assert type(s.ledger.crashes[0].at_hour) is float  # a float field keeps its float
    assert ENGINES["bft"].params_model.model_validate(s.ledger.engine_params).max_block_txs == 50


@pytest.mark.parametrize("override, expected", [
    ("days=2.5", "days: must be a whole number, got 2.5"),
    ("days=true", "days: must be a number, not true"),
    ("mechanism.max_rounds=1e-1", "mechanism.max_rounds: must be a whole number, got 0.1"),
    ("ledger.crashes=[{node: 1.5, at_hour: 2}]", "ledger.crashes[0].node: must be a whole number, got 1.5"),
    ("ledger.crashes=[{node: true, at_hour: 2}]", "ledger.crashes[0].node: "),
    ("ledger.engine_params={max_block_txs: 50.5}", "ledger.engine_params.max_block_txs: must be a whole number"),
])
def test_fractions_and_booleans_are_still_no_whole_numbers(override, expected):
    with pytest.raises(ScenarioError) as refused:
        load("paper-4dn", [override])
    assert expected in str(refused.value) and "\n" not in str(refused.value)


def test_only_a_byzantine_validator_may_bridge_a_partition():
    """An honest validator in two groups of one partition is a typo (or no cut at all); a Byzantine
    one bridging the cut is the fork experiment of tests/ledger/test_bft.py."""
    bridge = "ledger.network.partitions=[{start_ms: 0, end_ms: 5000, groups: [[0, 1], [1, 2, 3]]}]"
    with pytest.raises(ScenarioError, match=r"ledger\.network\.partitions\[0\]: validator 1 is in two groups"):
        load("paper-4dn", [bridge])
    bridged = load("paper-4dn", [bridge, "ledger.byzantine={1: equivocating}"])
    assert bridged.ledger.network.partitions[0].bridges() == {1}


_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=False),
                     st.text(max_size=8))
_DOCS = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=12)


@settings(max_examples=150, deadline=None)
@given(doc=_DOCS, flow=st.booleans(), cut=st.integers(0, 400))
def test_libyaml_reads_as_pure_python_does(doc, flow, cut):
    """The scenario reader parses with libyaml for speed; it must read every text (whole, or cut
    short mid-token) exactly as PyYAML's own parser with the same checks does, or refuse it with
    PyYAML's message."""
    from model.scenario import _Loader, parse_yaml

    text = yaml.safe_dump({"top": doc}, default_flow_style=flow, allow_unicode=True)
    for t in (text, text[:cut]):
        try:
            expected = ("ok", yaml.load(t, Loader=_Loader))  # noqa: S506 - the reader's own safe loader
        except yaml.YAMLError as exc:
            expected = ("error", str(exc))
        try:
            got = ("ok", parse_yaml(t))
        except yaml.YAMLError as exc:
            got = ("error", str(exc))
        assert got == expected
