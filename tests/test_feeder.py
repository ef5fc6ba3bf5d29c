"""pandapower's IEEE 33-bus feeder through model/feeder.py: the published Baran-Wu results, the
feeder's PTDFs and distances against pandapower's own matrices, AC runs with participants, limit
rules and bad nets."""

from __future__ import annotations

import numpy as np
import pandapower as pp
import pytest
from pandapower.pypower.makePTDF import makePTDF

from market.network.feeder import FeederError
from model.feeder import AcPowerFlow, ac_power_flow, feeder_of, load_net


@pytest.fixture(scope="module")
def case():
    net = load_net("case33bw")
    return net, feeder_of(net, limit_mw=5.0)


def _ppc(net):
    """pandapower's internal case (bus, branch, Ybus) after a power flow on a copy."""
    net = pp.pandapowerNet(net)  # a copy
    pp.runpp(net, numba=False)
    return net._ppc


def _own_loads(net, feeder):
    p = -feeder.bus_vector(dict(zip(net.load.bus, net.load.p_mw)))
    q = -feeder.bus_vector(dict(zip(net.load.bus, net.load.q_mvar)))
    return p, q


def test_case33bw_is_the_radial_feeder_with_its_tie_lines_open(case):
    net, feeder = case
    assert feeder.n_buses == 33 and feeder.n_lines == 32 and feeder.is_radial
    assert feeder.slack_bus == 0 and feeder.base_kv == 12.66
    assert set(net.line.index) - set(feeder.lines) == {32, 33, 34, 35, 36}  # the five tie lines


def test_ac_base_case_matches_baran_and_wu(case):
    net, feeder = case
    flow = ac_power_flow(net, feeder, np.zeros(feeder.n_buses))
    assert flow.converged
    assert flow.losses_mw == pytest.approx(0.2027, abs=5e-4)
    assert flow.v_pu.min() == pytest.approx(0.913, abs=1e-3)
    assert feeder.buses[int(np.argmin(flow.v_pu))] == 17  # the 18th bus, 1-based
    assert len(net.load) == 32, "the caller's net is untouched"


def test_ptdf_equals_pandapowers_on_in_service_lines(case):
    net, feeder = case
    ppc = _ppc(net)
    theirs = makePTDF(ppc["baseMVA"], ppc["bus"], ppc["branch"])
    assert np.allclose(feeder.ptdf(), theirs[list(feeder.lines)], atol=1e-9)


def test_meshed_ptdf_and_resistance_distance_equal_pandapowers():
    net = load_net("case33bw")
    net.line.in_service = True  # close the tie lines: a meshed feeder
    assert load_net("case33bw").line.in_service.sum() == 32, "each load is a fresh copy"
    feeder = feeder_of(net, limit_mw=5.0)
    assert not feeder.is_radial
    ppc = _ppc(net)
    theirs = makePTDF(ppc["baseMVA"], ppc["bus"], ppc["branch"])
    assert np.allclose(feeder.ptdf(), theirs, atol=1e-9)
    _assert_zbus_matches(net, feeder, ppc)


def _assert_zbus_matches(net, feeder, ppc):
    """Klein's distance from pandapower's Ybus (per unit, slack grounded) equals the feeder's."""
    y = ppc["internal"]["Ybus"].toarray()
    keep = np.arange(feeder.n_buses) != feeder.position(feeder.slack_bus)
    z = np.zeros_like(y)
    z[np.ix_(keep, keep)] = np.linalg.inv(y[np.ix_(keep, keep)])
    r = z.real * feeder.base_kv**2 / ppc["baseMVA"]  # per unit -> ohm
    d = np.diag(r)[:, None] + np.diag(r)[None, :] - 2 * r
    assert np.allclose(feeder.resistance_distance(), d, rtol=1e-9, atol=1e-12)


def test_radial_distances_equal_pandapowers_zbus_and_each_other(case):
    net, feeder = case
    _assert_zbus_matches(net, feeder, _ppc(net))
    assert np.allclose(feeder.ptdf_distance(), feeder.resistance_distance(), atol=1e-12)


def test_linear_models_track_the_ac_truth_on_the_base_case(case):
    net, feeder = case
    flow = ac_power_flow(net, feeder, np.zeros(feeder.n_buses))
    p, q = _own_loads(net, feeder)
    assert np.abs(feeder.flows(p) - flow.flow_mw).max() <= flow.losses_mw + 1e-9  # lossless vs lossy
    assert np.abs(feeder.lindistflow_voltages(p, q) - flow.v_pu).max() < 0.01


def test_an_injection_raises_its_voltage_and_the_slack_balances(case):
    net, feeder = case
    runner = AcPowerFlow.of(net, feeder)
    base = runner.run(np.zeros(feeder.n_buses))
    inject = feeder.bus_vector({17: 1.0, 5: -0.5})
    after = runner.run(inject)
    assert after.v_pu[feeder.position(17)] > base.v_pu[feeder.position(17)] + 0.01
    again = runner.run(np.zeros(feeder.n_buses))
    assert np.array_equal(again.v_pu, base.v_pu), "each run starts flat: no memory of the last hour"
    line_into_17 = feeder.lines.index(16)  # 16 -> 17
    assert after.flow_mw[line_into_17] < 0 < base.flow_mw[line_into_17]


def test_a_hopeless_injection_does_not_converge(case):
    net, feeder = case
    flow = ac_power_flow(net, feeder, feeder.bus_vector({17: -500.0}))
    assert not flow.converged and np.isnan(flow.v_pu).all() and not flow.overloaded().any()


def test_base_flow_multiple_with_floor(case):
    net, _ = case
    base = AcPowerFlow(net, range(32)).base_flow_mw()
    feeder = feeder_of(net, base_flow_multiple=1.5, floor_mw=0.2, voltage_band=(0.9, 1.1))
    assert np.allclose(feeder.limit_mw, np.maximum(np.round(1.5 * base, 6), 0.2), atol=1e-6)
    assert min(feeder.limit_mw) == 0.2 and feeder.v_min_pu == 0.9
    loading = ac_power_flow(net, feeder, np.zeros(feeder.n_buses)).loading_pct
    assert loading.max() == pytest.approx(100 / 1.5, abs=1e-3)


def test_json_file_round_trip(case, tmp_path):
    net, feeder = case
    path = tmp_path / "feeder.json"
    pp.to_json(net, str(path))
    assert feeder_of(load_net(file=path), limit_mw=5.0) == feeder


@pytest.mark.parametrize(
    "load, words",
    [
        (lambda tmp: load_net("case99"), "unknown case 'case99'; built in: case33bw"),
        (lambda tmp: load_net(file=tmp / "missing.json"), "missing.json: no such file"),
        (lambda tmp: load_net(file=_write(tmp / "bad.json", "{not json")), "bad.json: not a pandapower JSON net"),
        (lambda tmp: load_net(), "give either"),
    ],
)
def test_bad_net_sources_are_named(load, words, tmp_path):
    with pytest.raises(FeederError, match=words):
        load(tmp_path)


def _write(path, text):
    path.write_text(text)
    return path


def test_nets_the_feeder_cannot_represent_are_refused():
    net = load_net("case33bw")
    net.ext_grid.in_service = False
    with pytest.raises(FeederError, match="exactly one in-service ext_grid"):
        feeder_of(net, limit_mw=1.0)
    with pytest.raises(FeederError, match="one line-limit rule"):
        feeder_of(load_net("case33bw"))
    with_trafo = load_net("case33bw")
    pp.create_bus(with_trafo, vn_kv=0.4)
    pp.create_transformer(with_trafo, hv_bus=17, lv_bus=33, std_type="0.25 MVA 20/0.4 kV")
    with pytest.raises(FeederError, match="in-service trafo elements are not supported"):
        feeder_of(with_trafo, limit_mw=1.0)


def test_open_switches_and_dead_sections_leave_the_feeder():
    net = load_net("case33bw")
    pp.create_switch(net, bus=17, element=16, et="l", closed=False)  # cut 16 -> 17: bus 17 is unsupplied
    feeder = feeder_of(net, limit_mw=1.0)
    assert 16 not in feeder.lines and 17 not in feeder.buses and feeder.n_buses == 32
