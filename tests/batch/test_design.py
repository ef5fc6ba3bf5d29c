"""Designs: Mesa-style grids, samplers over ranges, stable run ids, one-line errors."""

import numpy as np
import pytest

from batch_runs.design import DESIGNS, DesignError, check, load, parse


def test_grid_is_the_full_factorial_with_scalars_fixed():
    design = parse({"parameters": {"a": [1, 2, 3], "b": ["x", "y"], "c": 0.5}, "iterations": 2}, "d")
    assert design.KIND == "grid" and design.seeds == [0, 1]
    points = design.points()
    assert len(points) == 6 and all(p["c"] == 0.5 for p in points)
    assert {(p["a"], p["b"]) for p in points} == {(a, b) for a in (1, 2, 3) for b in "xy"}
    assert design.varied() == ["a", "b"] and design.fixed() == {"c": 0.5}
    runs = design.runs()
    assert len(runs) == 12 and len({r.run_id for r in runs}) == 12


def test_mesa_style_levels_from_python():
    design = parse({"parameters": {"a": range(3), "b": (0.1, 0.2), "c": np.array([1, 2])}}, "python")
    assert design.parameters == {"a": [0, 1, 2], "b": [0.1, 0.2], "c": [1, 2]} and len(design.points()) == 12
    assert all(type(p["c"]) is int for p in design.points())


def test_run_ids_depend_only_on_point_and_seed():
    small = parse({"parameters": {"a": [1, 2]}, "seeds": [4, 9]}, "d")
    large = parse({"name": "other", "parameters": {"a": [0, 1, 2, 5]}, "seeds": [9]}, "d")
    ids = {(r.parameters["a"], r.seed): r.run_id for r in small.runs()}
    assert {(r.parameters["a"], r.seed): r.run_id for r in large.runs() if r.parameters["a"] in (1, 2)} == {
        k: v for k, v in ids.items() if k[1] == 9
    }


@pytest.mark.parametrize("kind", ["lhs", "sobol"])
def test_samplers_stay_in_range_and_round_integers(kind):
    data = {
        "kind": kind,
        "samples": 16,
        "parameters": {"x": {"low": 0.1, "high": 0.4}, "n_dnos": {"low": 2, "high": 6, "integer": True}, "f": "z"},
    }
    design = parse(data, "d")
    points = design.points()
    assert len(points) == (16 if kind == "lhs" else 16 * (2 + 2))
    xs = np.array([p["x"] for p in points])
    assert xs.min() >= 0.1 and xs.max() <= 0.4 and len(set(xs)) > 8
    assert {p["n_dnos"] for p in points} <= set(range(2, 7)) and all(isinstance(p["n_dnos"], int) for p in points)
    assert all(p["f"] == "z" for p in points)
    assert [p["x"] for p in parse(data, "d").points()] == list(xs), "same sampler seed, same points"


def test_every_kind_is_registered():
    assert set(DESIGNS) == {"grid", "lhs", "sobol", "comparison"}


@pytest.mark.parametrize(
    "data, message",
    [
        ({"kind": "factorial", "parameters": {"a": 1}}, "kind: unknown design 'factorial'; choose from grid, lhs, sobol"),
        ({"parameters": {"a": [1, 1]}}, "parameters.a: needs distinct levels"),
        ({"parameters": {"a": 1}, "seeds": 0}, "seeds: a count must be at least 1"),
        ({"parameters": {"a": 1}, "sedes": 2}, "sedes: unknown field"),
        ({"kind": "sobol", "samples": 10, "parameters": {"a": {"low": 0, "high": 1}}}, "need a power of two"),
        ({"kind": "lhs", "samples": 4, "parameters": {"a": {"low": 1, "high": 0}}}, "needs low < high"),
        ({"kind": "lhs", "samples": 4, "parameters": {"a": 1}}, "needs at least one {low, high} range"),
        ({"parameters": {"a": [1, 2]}, "analysis": {"heatmaps": [["a", "b"]]}}, "analysis.heatmaps: 'b' is not a parameter"),
        ({"parameters": {"a": 1}, "seeds": 2, "iterations": 2}, "give seeds or iterations"),
    ],
)
def test_schema_errors_are_one_line(data, message):
    with pytest.raises(DesignError) as exc:
        parse(data, "my.yaml")
    text = str(exc.value)
    assert text.startswith("my.yaml: ") and message in text and "\n" not in text


@pytest.mark.parametrize(
    "parameters, message",
    [
        ({"mechanism.seller_concesion": [0.1, 0.2]}, "parameters.mechanism.seller_concesion=0.1: "),
        ({"mechanism.seller_concession": [0.1, 1.5]}, "mechanism.seller_concession: Input should be less than 1"),
        ({"n_dnos": [2, 0]}, "n_dnos: must be a whole number >= 1"),
        ({"scenario": "paper-4dn", "forecast_error_scale": [1, 2]}, "exclude each other"),
    ],
)
def test_check_tries_each_level_on_the_model(parameters, message):
    design = parse({"parameters": parameters}, "bad.yaml")
    with pytest.raises(DesignError) as exc:
        check(design, "bad.yaml")
    assert message in str(exc.value) and str(exc.value).startswith("bad.yaml: parameters")


def test_bundled_design_is_valid_and_sized_for_two_cores():
    design = load("experiments/sweeps/concession-compensation.yaml")
    check(design, "bundled")
    assert 60 <= len(design.runs()) <= 100
    assert {"mechanism.seller_concession", "mechanism.buyer_concession", "mechanism.valley_compensation_per_mwh"} <= set(design.varied())
