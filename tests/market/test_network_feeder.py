"""The feeder's linear network model on random radial and meshed feeders: PTDFs obey Kirchhoff's
laws, distances are path resistances on trees and metrics everywhere, LinDistFlow matches a
line-by-line DistFlow walk, and the canonical document rebuilds the same feeder."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from market.network.feeder import Feeder, FeederError
from network_helpers import _parents, feeders, path_resistance


def _incidence(feeder: Feeder) -> np.ndarray:
    a = np.zeros((feeder.n_lines, feeder.n_buses))
    for k, (f, t) in enumerate(zip(feeder.from_bus, feeder.to_bus)):
        a[k, feeder.position(f)], a[k, feeder.position(t)] = 1.0, -1.0
    return a


@given(feeders(extra_lines=3))
def test_ptdf_conserves_power_at_every_bus(feeder):
    """Injecting 1 MW at bus n and taking it out at the slack: the lines' net outflow is +1 at n,
    -1 at the slack and 0 elsewhere (Kirchhoff's current law), for radial and meshed feeders."""
    net_outflow = _incidence(feeder).T @ feeder.ptdf()
    expected = np.eye(feeder.n_buses)
    expected[feeder.position(feeder.slack_bus), :] -= 1.0
    expected[:, feeder.position(feeder.slack_bus)] = 0.0
    assert np.allclose(net_outflow, expected, atol=1e-9)


@given(feeders(min_buses=3, extra_lines=3))
def test_meshed_ptdf_flows_come_from_angles(feeder):
    """Kirchhoff's voltage law in DC: x_l f_l is a difference of bus angles for every injection."""
    if feeder.is_radial:
        return
    a = _incidence(feeder)
    drops = np.asarray(feeder.x_ohm)[:, None] * feeder.ptdf()
    angles, *_ = np.linalg.lstsq(a, drops, rcond=None)
    assert np.allclose(a @ angles, drops, atol=1e-8)


@given(feeders())
def test_radial_ptdf_is_the_signed_path_incidence(feeder):
    ptdf = feeder.ptdf()
    assert set(np.unique(ptdf)) <= {-1.0, 0.0, 1.0}
    assert np.array_equal(np.abs(ptdf), feeder.path_matrix)
    assert not np.signbit(ptdf[ptdf == 0]).any()  # no -0.0: the same bytes on every validator


@given(feeders(), st.data())
def test_distances_are_the_path_resistance_on_a_radial_feeder(feeder, data):
    a, b = (data.draw(st.sampled_from(feeder.buses)) for _ in range(2))
    expected = path_resistance(feeder, a, b)
    i, j = feeder.position(a), feeder.position(b)
    assert feeder.resistance_distance()[i, j] == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert feeder.ptdf_distance()[i, j] == pytest.approx(expected, rel=1e-9, abs=1e-12)


@settings(max_examples=50)
@given(feeders(min_buses=3, extra_lines=4), st.booleans())
def test_resistance_distance_is_a_metric_when_lines_share_one_x_over_r(feeder, same_ratio):
    """With one x/r ratio, Re(Zbus) is a resistor network's and Klein's distance a metric; with
    mixed ratios on a meshed feeder it stays symmetric and positive but may break the triangle."""
    if same_ratio:
        feeder = dataclasses.replace(feeder, x_ohm=tuple(0.4 * r for r in feeder.r_ohm))
    d = feeder.resistance_distance()
    n = feeder.n_buses
    assert np.array_equal(d, d.T) and np.all(np.diag(d) == 0)
    assert np.all(d[~np.eye(n, dtype=bool)] > 0), "distinct connected buses are apart"
    if same_ratio or feeder.is_radial:
        assert np.all(d[:, None, :] <= d[:, :, None] + d[None, :, :] + 1e-9 * (1 + d.max())), "triangle inequality"


@given(feeders(), st.data())
def test_ptdf_distance_with_unit_weights_counts_hops(feeder, data):
    a, b = (data.draw(st.sampled_from(feeder.buses)) for _ in range(2))
    expected = path_resistance(dataclasses.replace(feeder, r_ohm=(1.0,) * feeder.n_lines), a, b)
    d = feeder.ptdf_distance(np.ones(feeder.n_lines))
    assert d[feeder.position(a), feeder.position(b)] == pytest.approx(expected)


@given(feeders(), st.data())
def test_lindistflow_matches_a_line_by_line_walk(feeder, data):
    n = feeder.n_buses
    p = np.array(data.draw(st.lists(st.floats(-2.0, 2.0), min_size=n, max_size=n)))
    q = np.array(data.draw(st.lists(st.floats(-1.0, 1.0), min_size=n, max_size=n)))
    v = feeder.lindistflow_voltages(p, q)
    parents = _parents(feeder)
    x_of = {frozenset((a, b)): x for a, b, x in zip(feeder.from_bus, feeder.to_bus, feeder.x_ohm)}
    children: dict[int, list[int]] = {}
    for bus, (parent, _) in parents.items():
        children.setdefault(parent, []).append(bus)

    def below(bus: int) -> list[int]:
        return [bus] + [b for c in children.get(bus, []) for b in below(c)]

    v0 = feeder.v_slack_pu * feeder.base_kv
    expected = {feeder.slack_bus: v0}
    pending = [feeder.slack_bus]
    while pending:  # V_child = V_parent - (r P + x Q) / V0, P and Q flowing down into the child's subtree
        bus = pending.pop()
        for child in children.get(bus, []):
            sub = [feeder.position(b) for b in below(child)]
            r = parents[child][1]
            x = x_of[frozenset((bus, child))]
            expected[child] = expected[bus] - (r * -p[sub].sum() + x * -q[sub].sum()) / v0
            pending.append(child)
    walked = np.array([expected[b] for b in feeder.buses]) / feeder.base_kv
    assert np.allclose(v, walked, atol=1e-12)
    assert v[feeder.position(feeder.slack_bus)] == feeder.v_slack_pu


@given(feeders(extra_lines=2))
def test_document_rebuilds_the_same_feeder_through_json(feeder):
    text = json.dumps(feeder.to_doc(), sort_keys=True)
    again = Feeder.from_doc(json.loads(text))
    assert again == feeder and json.dumps(again.to_doc(), sort_keys=True) == text
    assert np.array_equal(again.ptdf(), feeder.ptdf())


def test_numpy_inputs_become_plain_numbers():
    f = Feeder(buses=np.arange(2), slack_bus=np.int64(0), lines=(0,), from_bus=(0,), to_bus=(1,),
               r_ohm=np.array([0.5]), x_ohm=(0.2,), limit_mw=(3,), base_kv=11)
    doc = f.to_doc()
    assert doc["limit_mw"] == [3.0] and type(doc["limit_mw"][0]) is float and type(doc["slack_bus"]) is int
    json.dumps(doc)


def _two_bus(**change):
    fields = dict(buses=(0, 1), slack_bus=0, lines=(0,), from_bus=(0,), to_bus=(1,), r_ohm=(0.5,),
                  x_ohm=(0.2,), limit_mw=(3.0,), base_kv=11.0)
    return Feeder(**{**fields, **change})


@pytest.mark.parametrize(
    "change, words",
    [
        (dict(buses=(0, 1, 2)), "bus 2 is not connected to the slack"),
        (dict(slack_bus=5), "slack bus 5"),
        (dict(r_ohm=(0.0,), x_ohm=(0.0,)), "line 0: impedance"),
        (dict(limit_mw=(-1.0,)), "line 0: limit -1.0 MW"),
        (dict(to_bus=(7,)), "line 0: joins buses 0 and 7"),
        (dict(v_min_pu=1.1), "voltage band"),
        (dict(r_ohm=("a",)), "r_ohm: expected a list of numbers"),
    ],
)
def test_malformed_feeders_are_refused_naming_the_problem(change, words):
    with pytest.raises(FeederError, match=words):
        _two_bus(**change)


def test_lindistflow_and_path_matrix_refuse_a_meshed_feeder():
    ring = Feeder(buses=(0, 1, 2), slack_bus=0, lines=(0, 1, 2), from_bus=(0, 1, 2), to_bus=(1, 2, 0),
                  r_ohm=(1.0, 1.0, 1.0), x_ohm=(1.0, 1.0, 1.0), limit_mw=(1.0,) * 3, base_kv=11.0)
    assert not ring.is_radial
    with pytest.raises(FeederError, match="LinDistFlow needs a radial feeder; this one has 3 in-service lines for 3 buses"):
        ring.lindistflow_voltages(np.zeros(3))
    assert ring.resistance_distance()[1, 2] == pytest.approx(2 / 3)  # two parallel paths: 1 ohm || 2 ohm
    assert np.allclose(ring.ptdf()[:, 1], [-2 / 3, 1 / 3, 1 / 3])


def test_flows_need_one_injection_per_bus():
    with pytest.raises(FeederError, match="one value per bus"):
        _two_bus().flows(np.zeros(3))
