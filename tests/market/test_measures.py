"""The outcome measures every design is judged by: their defining properties."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from market.measures import (MEASURES, Outcomes, ParticipantBill, grid_flows, individual_rationality, jain_index,
                             outcome_measures)

gains = st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=12)
non_negative = st.lists(st.floats(0.0, 1e6, allow_nan=False), min_size=1, max_size=12)


@given(non_negative)
def test_jain_index_lies_between_one_over_n_and_one(values):
    j = jain_index(values)
    if any(v > 1e-6 for v in values):
        assert 1 / len(values) - 1e-9 <= j <= 1 + 1e-9
    else:
        assert j == 1.0


@given(st.floats(0.1, 1e5), st.integers(1, 12), st.floats(0.1, 100.0))
def test_jain_index_is_one_for_equal_shares_and_ignores_scale(value, n, scale):
    assert jain_index([value] * n) == pytest.approx(1.0)
    unequal = [value * (k + 1) for k in range(n)]
    assert jain_index(unequal) == pytest.approx(jain_index([scale * v for v in unequal]))


def test_jain_index_is_one_over_n_when_one_takes_all():
    assert jain_index([5.0, 0.0, 0.0, 0.0]) == pytest.approx(0.25)


def test_jain_index_reads_float_noise_around_zero_gains_as_zero():
    assert jain_index([1e-11, -2e-12, 0.0, 3e-11]) == 1.0


@given(gains)
def test_individual_rationality_counts_and_sums_the_losses(values):
    losers, losses = individual_rationality(values)
    assert losers == sum(v < -1e-6 for v in values)
    assert losses == pytest.approx(sum(-v for v in values if v < -1e-6))
    assert losses >= 0


@given(st.lists(st.lists(st.floats(-50, 50, allow_nan=False), min_size=24, max_size=24), min_size=1, max_size=5))
def test_grid_flows_split_each_connection_into_import_and_export(rows):
    net = np.array(rows)
    imported, exported, peak = grid_flows(net)
    assert imported - exported == pytest.approx(net.sum(), abs=1e-6)
    assert imported >= 0 and exported >= 0
    assert peak == pytest.approx(np.clip(net, 0, None).sum(axis=0).max())
    assert peak <= imported + 1e-9


def _outcomes(bills, **kw):
    base = dict(bills=bills, net_import_mw=np.array([[1.0, -2.0], [3.0, 0.5]]), p2p_volume_mwh=2.0,
                operator_balance_rmb=-5.0, network_charges_collected_rmb=0.0, grid_emission_t_per_mwh=0.5,
                unserved_mwh=0.0, chain={"messages": 10, "bytes": 100, "finality_p50_ms": 3.0}, coordination={})
    return outcome_measures(Outcomes(**{**base, **kw}))


def test_a_bill_is_its_day_ahead_energy_less_what_the_markets_paid_it():
    bill = ParticipantBill("A", day_ahead_energy_rmb=100.0, day_ahead_net_rmb=10.0, real_time_revenue_rmb=30.0,
                           baseline_cost_rmb=80.0, network_charges_rmb=4.0, carbon_cost_rmb=6.0)
    assert bill.cost_rmb == pytest.approx(100 - 10 - 30 + 4 + 6)
    assert bill.gain_rmb == pytest.approx(80 - 70)


def test_outcome_measures_total_what_each_participant_has():
    bills = [ParticipantBill("A", 100.0, 0.0, 30.0, 75.0), ParticipantBill("B", 50.0, 5.0, 0.0, 40.0)]
    o = _outcomes(bills)
    assert o["total_cost_rmb"] == pytest.approx(70 + 45)
    assert o["gain_by_dno_rmb"] == {"A": pytest.approx(5.0), "B": pytest.approx(-5.0)}
    assert (o["losers"], o["losses_rmb"], o["min_gain_rmb"]) == (1, pytest.approx(5.0), pytest.approx(-5.0))
    assert o["grid_import_mwh"] == pytest.approx(4.5) and o["grid_export_mwh"] == pytest.approx(2.0)
    assert o["peak_import_mw"] == pytest.approx(4.0)
    assert o["emissions_t"] == pytest.approx(4.5 * 0.5)
    assert o["p2p_share"] == pytest.approx(2.0 / (2.0 + 4.5 + 2.0))
    assert o["chain_messages"] == 10 and o["coordination_messages"] == 0


def test_every_measure_is_described_once():
    o = _outcomes([ParticipantBill("A", 1.0, 0.0, 0.0, 1.0)])
    assert set(o) == set(MEASURES)
    for name, (unit, meaning, better) in MEASURES.items():
        assert unit and meaning and better in {"higher", "lower", "-"}, name
