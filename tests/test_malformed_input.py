"""Malformed input, the kinds a new user produced: every one refused in at most three lines, exit 2,
no traceback, the file and field (or the DNO and hour) named, and earlier outputs byte for byte
as they were. Each goes through `scenario show` and `run` into a directory holding a real run.

All but the solver failure must be refused before any simulation starts: `simulate` is made to
fail loudly for them, so a check that slips to run time shows up here.
"""

from __future__ import annotations

import copy
import math

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from experiments.cli import main
from model import job
from model.scenario import ScenarioError, bundled, to_yaml, load, validate

PAPER = bundled()["paper-4dn"]
TEXT = PAPER.read_text()


def _edited(edit) -> bytes:
    data = yaml.safe_load(TEXT)
    edit(data)
    return yaml.safe_dump(data, sort_keys=False).encode()


def _network(**fields):
    return lambda d: d.setdefault("ledger", {}).setdefault("network", {}).update(fields)


def _feeder(**fields):
    """A case33bw `network:` block on paper-4dn with `fields`: as a file, and as a --set."""
    block = {"case": "case33bw", "buses": {"DN1": 5, "DN2": 12, "DN3": 20, "DN4": 30},
             "line_limits": {"limit_mw": 2.0}, **fields}
    flow = yaml.safe_dump(block, default_flow_style=True, width=1000).strip()
    return _edited(lambda d: d.update(network=block)), [f"network={flow}"]


DEEP = "[" * 500 + "]" * 500
# "billion laughs": nine lists of nine aliases of the list before, 9**9 `lol`s from half a KB
LAUGHS = "lol0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"lol{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 9))


# name -> (file bytes, the same fault as --set overrides of paper-4dn or None, text the error must hold)
CASES = {
    "not UTF-8": (TEXT.encode().replace(b"description:", b"descr\xe9ption:", 1), None, "not UTF-8"),
    "binary": (bytes(range(256)) * 4, None, "not a text file"),
    "NaN in a partition": (
        _edited(_network(partitions=[{"start_ms": 0, "end_ms": math.nan, "groups": [[0, 1]]}])),
        ["ledger.network.partitions=[{start_ms: 0, end_ms: .nan, groups: [[0, 1]]}]"], "end_ms"),
    "inf in engine_params": (
        _edited(lambda d: d["ledger"].update(engine_params={"timeout_propose_ms": math.inf})),
        ["ledger.engine_params={timeout_propose_ms: .inf}"], "timeout_propose_ms"),
    "inf latency": (_edited(_network(latency_median_ms=math.inf)),
                    ["ledger.network.latency_median_ms=.inf"], "latency_median_ms"),
    "1e300 MW load": (_edited(lambda d: d["dnos"][3]["load_mw"]["actual"].__setitem__(11, 1e300)),
                      ["dnos.DN4.load_mw.actual.11=1.0e+300"], "load_mw.actual"),
    "1e300 MW PV": (_edited(lambda d: d["dnos"][1].update(pv_mw=1e300)), ["dnos.DN2.pv_mw=1e300"], "pv_mw"),
    "1e300 MWh storage": (
        _edited(lambda d: d["dnos"][0]["storage_owners"][0]["units"][0].update(energy_mwh=1e300)),
        ["dnos.DN1.storage_owners.0.units.0.energy_mwh=1e300"], "energy_mwh"),
    "1e300 peak price": (_edited(lambda d: d.setdefault("tariff", {}).setdefault("prices", {}).update(peak_per_mwh=1e300)),
                         ["tariff.prices.peak_per_mwh=1e300"], "peak_per_mwh"),
    "concession rate 5": (_edited(lambda d: d["mechanism"].update(buyer_concession=5)),
                          ["mechanism.buyer_concession=5"], "buyer_concession"),
    "concession rate 1": (_edited(lambda d: d["mechanism"].update(seller_concession=1)),
                          ["mechanism.seller_concession=1"], "seller_concession"),
    "partition names validator 99": (
        _edited(_network(partitions=[{"start_ms": 0, "end_ms": 5000, "groups": [[0, 99]]}])),
        ["ledger.network.partitions=[{start_ms: 0, end_ms: 5000, groups: [[0, 99]]}]"], "validator 99"),
    "slowdown names validator 7": (
        _edited(_network(slowdowns=[{"start_ms": 0, "end_ms": 5000, "extra_ms": 50, "nodes": [7]}])),
        ["ledger.network.slowdowns=[{start_ms: 0, end_ms: 5000, extra_ms: 50, nodes: [7]}]"], "validator 7"),
    "infinite slowdown": (
        _edited(_network(slowdowns=[{"start_ms": 0, "end_ms": 5000, "extra_ms": math.inf}])),
        ["ledger.network.slowdowns=[{start_ms: 0, end_ms: 5000, extra_ms: .inf}]"], "extra_ms"),
    "slowdown of 1e300 ms": (
        _edited(_network(slowdowns=[{"start_ms": 0, "end_ms": 5000, "extra_ms": 1e300}])),
        ["ledger.network.slowdowns=[{start_ms: 0, end_ms: 5000, extra_ms: 1e300}]"], "extra_ms"),
    "duplicate key": (TEXT.encode() + b"days: 1\ndays: 2\n", None, "duplicate key 'days'"),
    "duplicate key in --set": (None, ["mechanism={max_rounds: 2, max_rounds: 3}"], "duplicate key 'max_rounds'"),
    "true for a number": (_edited(lambda d: d.update(days=True)), ["days=true"], "days: must be a number, not true"),
    "true for a validator": (_edited(lambda d: d["ledger"].update(crashes=[{"node": True, "at_hour": 3}])),
                             ["ledger.crashes=[{node: true, at_hour: 3}]"], "crashes[0].node"),
    "crash restarts before it happens": (
        _edited(lambda d: d["ledger"].update(crashes=[{"node": 1, "at_hour": 5, "restart_hour": 2}])),
        ["ledger.crashes=[{node: 1, at_hour: 5, restart_hour: 2}]"], "restart_hour"),
    "typo with a suggestion": (_edited(lambda d: d["mechanism"].update(seller_concesion=0.1)),
                               ["mechanism.seller_concesion=0.1"], "did you mean 'seller_concession'"),
    "folder-breaking name": (_edited(lambda d: d.update(name="../elsewhere")), ["name=../elsewhere"], "name:"),
    "500 levels of nesting": ((TEXT + f"x: {DEEP}\n").encode(), [f"days={DEEP}"], "nested deeper than 64 levels"),
    "a key path 500 deep": (None, [".".join(["mechanism"] * 500) + "=1"], "deeper than any field"),
    "alias bomb": ((TEXT + LAUGHS).encode(), None,
                   f"line {TEXT.count(chr(10)) + 1}, column 7: YAML anchors and aliases (&a0, *a0) are not allowed"),
    "alias in --set": (None, ["mechanism={buyer_concession: &c 0.1, seller_concession: *c}"], "anchors and aliases"),
    "an alias inside its own anchor": ((TEXT + "x: &loop [*loop]\n").encode(), None, "anchors and aliases"),
    "2.5 days": (_edited(lambda d: d.update(days=2.5)), ["days=2.5"], "days: must be a whole number, got 2.5"),
    "2.5 blocks of transactions": (
        _edited(lambda d: d["ledger"].update(engine_params={"max_block_txs": 2.5})),
        ["ledger.engine_params={max_block_txs: 2.5}"], "engine_params.max_block_txs: must be a whole number, got 2.5"),
    "validator in two partition groups": (
        _edited(_network(partitions=[{"start_ms": 0, "end_ms": 5000, "groups": [[0, 1], [1, 2]]}])),
        ["ledger.network.partitions=[{start_ms: 0, end_ms: 5000, groups: [[0, 1], [1, 2]]}]"],
        "partitions[0]: validator 1 is in two groups"),
    "nodes for a partition's groups": (
        _edited(_network(partitions=[{"start_ms": 0, "end_ms": 5000, "nodes": [[0, 1]]}])),
        ["ledger.network.partitions=[{start_ms: 0, end_ms: 5000, nodes: [[0, 1]]}]"],
        "partitions[0].nodes: unknown field (did you mean 'groups'?)"),
    "misspelt crash node": (_edited(lambda d: d["ledger"].update(crashes=[{"nod": 1, "at_hour": 3}])),
                            ["ledger.crashes=[{nod: 1, at_hour: 3}]"], "crashes[0].nod: unknown field (did you mean 'node'?)"),
    "1e300 use-of-system charge": (*_feeder(uos={"mean_charge_per_mwh": 1e300}), "network.uos.mean_charge_per_mwh"),
    "1e300 MW line limit": (*_feeder(line_limits={"limit_mw": 1e300}), "network.line_limits.limit_mw"),
    "1e300 base-flow multiple": (*_feeder(line_limits={"base_flow_multiple": 1e300}), "line_limits.base_flow_multiple"),
    "1e300 MW limit floor": (*_feeder(line_limits={"base_flow_multiple": 1.2, "floor_mw": 1e300}), "line_limits.floor_mw"),
}


@pytest.fixture(scope="module")
def earlier(tmp_path_factory):
    """An output directory holding a real run of paper-4dn, and a snapshot of its bytes."""
    out = tmp_path_factory.mktemp("earlier")
    assert main(["run", "paper-4dn", "--out", str(out)]) == 0
    return out, _snapshot(out)


def _snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture
def no_simulation(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("bad input reached the simulation")

    monkeypatch.setattr(job, "simulate", refuse)


def assert_refused(capsys, argv, expected, earlier):
    code = main(argv)
    out, err = capsys.readouterr()
    lines = (out + err).splitlines()
    assert code == 2, (argv, out, err)
    assert 1 <= len(lines) <= 3 and "Traceback" not in err, (argv, out, err)
    assert expected in err, (argv, err)
    folder, before = earlier
    assert _snapshot(folder) == before, f"{argv} changed the earlier outputs"
    return err


@pytest.mark.parametrize("case", [c for c in CASES if CASES[c][0] is not None])
def test_bad_file_refused_by_show_and_run(case, tmp_path, capsys, earlier, no_simulation):
    content, _, expected = CASES[case]
    path = tmp_path / "bad.yaml"
    path.write_bytes(content)
    for argv in (["scenario", "show", str(path)], ["run", str(path), "--out", str(earlier[0])]):
        err = assert_refused(capsys, argv, expected, earlier)
        assert str(path) in err


@pytest.mark.parametrize("case", [c for c in CASES if CASES[c][1] is not None])
def test_bad_override_refused_by_run(case, capsys, earlier, no_simulation):
    _, overrides, expected = CASES[case]
    argv = ["run", "paper-4dn", "--out", str(earlier[0])]
    for item in overrides:
        argv += ["--set", item]
    assert_refused(capsys, argv, expected, earlier)


def test_out_under_a_file_refused(tmp_path, capsys, earlier, no_simulation):
    blocker = tmp_path / "a-file"
    blocker.write_text("keep me\n")
    assert_refused(capsys, ["run", "paper-4dn", "--out", str(blocker / "run")], "is a file, not a directory", earlier)
    assert_refused(capsys, ["run", "paper-4dn", "--out", str(blocker)], "is a file, not a directory", earlier)
    assert blocker.read_text() == "keep me\n"


def test_bad_seed_refused(capsys, earlier, no_simulation):
    assert_refused(capsys, ["run", "paper-4dn", "--seed", "-1", "--out", str(earlier[0])], "--seed", earlier)
    assert_refused(capsys, ["run", "paper-4dn", "--day-seed", "x", "--out", str(earlier[0])], "--day-seed", earlier)


def test_solver_failure_from_input_names_dno_and_hour(tmp_path, capsys, earlier):
    """No value of lost load and no import: DN4 cannot serve its load, which the MILP finds."""
    bad = ["--set", "scheduling.value_of_lost_load_per_mwh=null", "--set", "dnos.DN4.buy_max_mw=0"]
    err = assert_refused(capsys, ["run", "paper-4dn", "--out", str(earlier[0]), *bad], "DNO 'DN4', hour ", earlier)
    assert "no value of lost load" in err
    fresh = tmp_path / "fresh"
    assert_refused(capsys, ["run", "paper-4dn", "--out", str(fresh), *bad], "DNO 'DN4', hour ", earlier)
    assert not fresh.exists(), "a failed run leaves no directory it created"


def test_faults_that_stall_the_chain_end_in_one_line(capsys, earlier):
    """Half the BFT validators down: the run is allowed (and warned about), the stall is one line."""
    crashes = ["--set", "ledger.crashes=[{node: 2, at_hour: 0}, {node: 3, at_hour: 0}]"]
    err = assert_refused(capsys, ["run", "paper-4dn", "--out", str(earlier[0]), *crashes], "consensus lost liveness", earlier)
    assert err.startswith("warning: bft: faulty validators [2, 3]")


# Every numeric field of the full scenario (defaults included, each list position stands for its
# list), given NaN, infinity or a boolean: refused in one line that names it.

_FULL = yaml.safe_load(to_yaml(load("paper-4dn")))
_FULL["scheduling"]["tie_break_per_mwh"] = 0.001  # and the optional blocks, filled in
_FULL["ledger"].update(
    engine_params={"timeout_propose_ms": 1000.0, "max_block_txs": 50},
    crashes=[{"node": 3, "at_hour": 5, "restart_hour": 7}],
)
_FULL["ledger"]["credit"].update(validators={0: 0.9}, participants={"DN1": 0.9})
_FULL["ledger"]["network"].update(
    partitions=[{"start_ms": 0.0, "end_ms": 1000.0, "groups": [[0, 1], [2, 3]]}],
    slowdowns=[{"start_ms": 0.0, "end_ms": 1000.0, "extra_ms": 50.0, "nodes": [1]}],
    losses=[{"start_ms": 0.0, "end_ms": 1000.0, "loss": 0.1, "nodes": [2]}],
)


def _numeric_fields(node, path=(), seen=None):
    seen = {} if seen is None else seen
    if isinstance(node, (int, float)) and not isinstance(node, bool):
        seen.setdefault(tuple(k for k in path if isinstance(k, str)), path)
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        _numeric_fields(value, (*path, key), seen)
    return list(seen.values())


FIELDS = _numeric_fields(_FULL)


def _with(path, value):
    data = copy.deepcopy(_FULL)
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return data


def test_every_numeric_field_refuses_non_numbers():
    validate(_FULL, source="s.yaml")  # valid as it stands
    assert len(FIELDS) > 60 and max(len(p) for p in FIELDS) >= 6  # every block, at every depth
    for path in FIELDS:
        name = next(str(k) for k in reversed(path) if isinstance(k, str))
        for value in (math.nan, math.inf, -math.inf, True, False):
            with pytest.raises(ScenarioError) as caught:
                validate(_with(path, value), source="s.yaml")
            message = str(caught.value)
            assert message.startswith("s.yaml: ") and "\n" not in message and name in message, (path, value, message)


def test_every_whole_number_field_takes_it_written_as_a_float():
    """README: numbers may be written `1e3` as well as `1000.0`, whole numbers too: each field
    holding an int takes the same number as a float and the scenario comes out the same."""
    expected = validate(_FULL, source="s.yaml").model_dump(mode="json")
    whole = [path for path in FIELDS if type(_at(_FULL, path)) is int]
    assert len(whole) > 10
    for path in whole:
        assert validate(_with(path, float(_at(_FULL, path))), source="s.yaml").model_dump(mode="json") == expected, path


def _at(data, path):
    for key in path:
        data = data[key]
    return data


@given(st.sampled_from(FIELDS), st.floats(min_value=1e6, max_value=1e300))
def test_no_numeric_field_takes_an_astronomical_magnitude(path, value):
    """Seeds excepted (any whole number is one), no field takes a value beyond a million times
    the largest a distribution network has: it is refused naming the field."""
    name = next(str(k) for k in reversed(path) if isinstance(k, str))
    if "seed" in name:
        return
    big = value * 1e5 if abs(value) < 1e295 else value  # past every bound of market/limits.py
    with pytest.raises(ScenarioError, match=name):
        validate(_with(path, big), source="s.yaml")
