"""Malformed sweep designs and comparison files, as tests/test_malformed_input.py treats scenarios:
each refused in at most three lines, exit 2, no traceback, the file and field named, and the
results of an earlier comparison in the --out directory byte for byte as they were.

Every one must be refused before any run starts: `simulate` is made to fail loudly for them.
"""

from __future__ import annotations

import copy
import math

import pytest
import yaml

from model import job
from experiments.cli import main

SWEEP = {"kind": "grid", "parameters": {"n_dnos": 2, "mechanism.seller_concession": [0.05, 0.3]}, "seeds": 2}
LHS = {"kind": "lhs", "samples": 2, "parameters": {"n_dnos": 2, "mechanism.seller_concession": {"low": 0.05, "high": 0.3}}}
COMPARISON = {"days": {"recipe": "paper-4dn", "seeds": 1}, "designs": {"S0": {"mechanism.p2p_enabled": False}, "cc": {}},
              "fixed": {"n_dnos": 2}}


def _edited(base, *path_and_value):
    """`base` with the value at `path` (keys) replaced."""
    *path, value = path_and_value
    data = copy.deepcopy(base)
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return data


# name -> (command, file content, text the error must hold)
CASES = {
    "true for a count of seeds": ("sweep", _edited(SWEEP, "seeds", True), "seeds: must be a number, not true"),
    "true in a list of seeds": ("sweep", _edited(SWEEP, "seeds", [0, True]), "seeds[1]: must be a number, not true"),
    "true for Mesa's iterations": ("sweep", {"parameters": SWEEP["parameters"], "iterations": True},
                                   "iterations: must be a number, not true"),
    "true for samples": ("sweep", _edited(LHS, "samples", True), "samples: must be a number, not true"),
    "a fraction of samples": ("sweep", _edited(LHS, "samples", 2.5), "samples: must be a whole number, got 2.5"),
    "true for a range's end": ("sweep", _edited(LHS, "parameters", "mechanism.seller_concession", "low", True),
                               "parameters.mechanism.seller_concession.low: must be a number, not true"),
    "1 for integer: true": ("sweep", _edited(LHS, "parameters", "mechanism.seller_concession", "integer", 1),
                            "parameters.mechanism.seller_concession.integer: Input should be a valid boolean"),
    "true for recipe_seed": ("sweep", _edited(SWEEP, "parameters", "recipe_seed", [True, 3]),
                             "with recipe_seed=True: seed: must be a number, not true"),
    "true for an override": ("sweep", _edited(SWEEP, "parameters", "mechanism.seller_concession", [True, 0.3]),
                             "mechanism.seller_concession: must be a number, not true"),
    "NaN level": ("sweep", _edited(SWEEP, "parameters", "mechanism.seller_concession", [0.05, math.nan]),
                  "parameters.mechanism.seller_concession[1]: must be a finite number"),
    "infinite range end": ("sweep", _edited(LHS, "parameters", "mechanism.seller_concession", "high", math.inf),
                           "parameters.mechanism.seller_concession.high: must be a finite number"),
    "a forecast-error scale beyond 10": ("sweep", _edited(SWEEP, "parameters", "forecast_error_scale", [1, 11]),
                                         "parameters.forecast_error_scale=11: forecast_error_scale: Input should be "
                                         "less than or equal to 10"),
    "unknown design field": ("sweep", _edited(SWEEP, "seedz", 2), "seedz: unknown field (did you mean 'seeds'?)"),
    "unknown range field": ("sweep", _edited(LHS, "parameters", "mechanism.seller_concession", "integr", True),
                            "parameters.mechanism.seller_concession.integr: unknown field"),
    "true for the days' seeds": ("compare", _edited(COMPARISON, "days", "seeds", True),
                                 "days.seeds: must be a number, not true"),
    "true in the days' seeds": ("compare", _edited(COMPARISON, "days", "seeds", [0, True]),
                                "days.seeds[1]: must be a number, not true"),
    "true for a design's number": ("compare", _edited(COMPARISON, "designs", "cc", {"mechanism.seller_concession": True}),
                                   "mechanism.seller_concession: must be a number, not true"),
    "true for a shared recipe_seed": ("compare", _edited(COMPARISON, "fixed", "recipe_seed", True),
                                      "recipe_seed=True: seed: must be a number, not true"),
    "NaN in a design": ("compare", _edited(COMPARISON, "designs", "cc", {"mechanism.seller_concession": math.nan}),
                        "designs.cc.mechanism.seller_concession: must be a finite number"),
    "infinity in fixed": ("compare", _edited(COMPARISON, "fixed", "forecast_error_scale", -math.inf),
                          "fixed.forecast_error_scale: must be a finite number"),
    "unknown comparison field": ("compare", _edited(COMPARISON, "refrence", "S0"),
                                 "refrence: unknown field (did you mean 'reference'?)"),
    "unknown field of the days": ("compare", _edited(COMPARISON, "days", "sed", 3),
                                  "days.sed: unknown field (did you mean 'seeds'?)"),
}


def _snapshot(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def earlier(tmp_path_factory):
    """An output directory holding a real comparison (runs, page, table, figures), and its bytes."""
    root = tmp_path_factory.mktemp("earlier")
    (root / "small.yaml").write_text(yaml.safe_dump(COMPARISON))
    out = root / "out"
    assert main(["compare", str(root / "small.yaml"), "--out", str(out), "--processes", "1"]) == 0
    return out, _snapshot(out)


@pytest.fixture
def no_simulation(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("bad input reached the simulation")

    monkeypatch.setattr(job, "simulate", refuse)  # what batch_runs.run_one runs


@pytest.mark.parametrize("case", CASES)
def test_bad_design_refused_before_any_run(case, tmp_path, capsys, earlier, no_simulation):
    command, content, expected = CASES[case]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(content, sort_keys=False))
    folder, before = earlier
    code = main([command, str(path), "--out", str(folder), "--processes", "1"])
    out, err = capsys.readouterr()
    assert code == 2, (case, out, err)
    assert 1 <= len((out + err).splitlines()) <= 3 and "Traceback" not in err, (case, out, err)
    assert err.startswith(f"error: {path}: ") and expected in err, (case, err)
    assert _snapshot(folder) == before, f"{case} changed the earlier outputs"
