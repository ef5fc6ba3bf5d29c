"""The scenario's `network:` block: accepted by `scenario show`, absent when unset, and every bad
input reported as one line naming the field (exit 2)."""

from __future__ import annotations

import copy
import pickle

import pandapower as pp
import pytest
import yaml

from experiments.cli import main
from model.feeder import load_net
from model.scenario import bundled, load

PAPER = yaml.safe_load(bundled()["paper-4dn"].read_text())
NETWORK = {
    "case": "case33bw",
    "buses": {"DN1": 17, "DN2": 32, "DN3": 24, "DN4": 6},
    "line_limits": {"base_flow_multiple": 1.5},
}


def _scenario(tmp_path, network, name="net.yaml"):
    data = copy.deepcopy(PAPER)
    data["network"] = network
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def test_show_accepts_and_prints_the_block(tmp_path, capsys):
    assert main(["scenario", "show", str(_scenario(tmp_path, NETWORK))]) == 0
    shown = yaml.safe_load(capsys.readouterr().out)["network"]
    assert shown["buses"] == NETWORK["buses"] and shown["congestion"] == "greedy"
    assert shown["uos"] == {"metric": "resistance", "mean_charge_per_mwh": 30.0, "split": "equal"}
    assert shown["voltage_band"] == [0.95, 1.05]


def test_no_block_is_not_written(capsys):
    assert main(["scenario", "show", "paper-4dn"]) == 0
    assert "network" not in yaml.safe_load(capsys.readouterr().out)
    assert load("paper-4dn").network is None


def test_the_block_carries_its_feeder_also_through_pickle(tmp_path):
    scenario = load(str(_scenario(tmp_path, {**NETWORK, "line_limits": {"limit_mw": 2.0}})))
    network = scenario.network
    assert network.feeder.n_buses == 33 and set(network.feeder.limit_mw) == {2.0}
    again = pickle.loads(pickle.dumps(scenario))  # as process executors send it
    assert again == scenario and again.network.feeder == network.feeder


def test_a_file_is_read_relative_to_the_scenario(tmp_path, monkeypatch):
    (tmp_path / "nets").mkdir()
    pp.to_json(load_net("case33bw"), str(tmp_path / "nets" / "feeder.json"))
    path = _scenario(tmp_path, {**{k: v for k, v in NETWORK.items() if k != "case"}, "file": "nets/feeder.json"})
    monkeypatch.chdir("/")
    network = load(str(path)).network
    assert network.path == tmp_path / "nets" / "feeder.json" and network.feeder.n_buses == 33


def _no_slack_mesh(tmp_path):
    net = load_net("case33bw")
    net.line.in_service = True
    net.ext_grid.in_service = False
    pp.to_json(net, str(tmp_path / "mesh.json"))
    return "mesh.json"


BAD = {
    "unknown case": (lambda n, tmp: n.update(case="case99"), "network.case: unknown case 'case99'; built in: case33bw"),
    "bus out of range": (lambda n, tmp: n["buses"].update(DN2=33), "network.buses.DN2: bus 33 is not an energised bus"),
    "DNO without a bus": (lambda n, tmp: n["buses"].pop("DN3"), "network.buses: DNO 'DN3' has no bus"),
    "bus of no DNO": (lambda n, tmp: n["buses"].update(DN9=3), "network.buses.DN9: not a DNO of the scenario"),
    "negative limit": (lambda n, tmp: n.update(line_limits={"limit_mw": -2}), "network.line_limits.limit_mw"),
    "two rules": (lambda n, tmp: n.update(line_limits={"limit_mw": 2, "base_flow_multiple": 1.2}), "network.line_limits: give exactly one rule"),
    "no rule": (lambda n, tmp: n.pop("line_limits"), "network.line_limits: required"),
    "band upside down": (lambda n, tmp: n.update(voltage_band=[1.05, 0.95]), "network.voltage_band: needs 0 < lower < upper"),
    "band of three": (lambda n, tmp: n.update(voltage_band=[0.9, 1.0, 1.1]), "network.voltage_band"),
    "unknown metric": (lambda n, tmp: n.update(uos={"metric": "hops"}), "network.uos.metric"),
    "unknown mode": (lambda n, tmp: n.update(congestion="auction"), "network.congestion"),
    "true for a bus": (lambda n, tmp: n["buses"].update(DN1=True), "network.buses.DN1: must be a number, not true"),
    "case and file": (lambda n, tmp: n.update(file="x.json"), "network.case: give either case"),
    "missing file": (lambda n, tmp: (n.pop("case"), n.update(file="missing.json")), "network.file:"),
    "non-radial file, ptdf, no slack": (
        lambda n, tmp: (n.pop("case"), n.update(file=_no_slack_mesh(tmp), uos={"metric": "ptdf"})),
        "network.file: the net needs exactly one in-service ext_grid (slack bus), it has 0",
    ),
    "typo": (lambda n, tmp: n.update(congestoin="exact"), "network.congestoin: unknown field (did you mean 'congestion'?)"),
    "all at one bus": (lambda n, tmp: n.update(buses=dict.fromkeys(NETWORK["buses"], 5)), "network.buses: all DNOs sit at one bus"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_network_gives_one_line_naming_the_field(case, tmp_path, capsys):
    edit, expected = BAD[case]
    network = copy.deepcopy(NETWORK)
    edit(network, tmp_path)
    path = _scenario(tmp_path, network)
    assert main(["scenario", "show", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert str(path) in err and expected in err, err
