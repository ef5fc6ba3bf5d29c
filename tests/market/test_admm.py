"""Consensus ADMM on the coalition's day (§B.1.3): it reaches the central optimum, its agreed
trades are reciprocal and its agreed use of the shared station fits the station."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from market.coordination.admm import admm
from market.coordination.convex import central
from market.shared_storage import SharedStorage, station_problem
from test_dual_decomposition import instance

STATION = SharedStorage("Shared Co", energy_mwh=30.0, power_mw=8.0, fee_per_mwh=5.0)


def with_station(datas, power=8.0, fee=5.0):
    return [replace(d, ses_power_mw=power, ses_fee_per_mwh=fee) for d in datas]


@pytest.mark.parametrize("seed, n, station", [(1, 3, True), (2, 3, True), (3, 2, False)])
def test_admm_reaches_the_central_optimum_with_reciprocal_trades_and_a_feasible_station(seed, n, station):
    datas = with_station(instance(seed, n)) if station else instance(seed, n)
    ses = STATION if station else None
    ref = central(datas, "bilateral", ses=ses)
    out = admm(datas, ses, rho=0.1, max_iterations=500)
    assert out.converged
    # Tolerance: the coalition's cost at the participants' last steps within a relative 1e-3 of
    # the central optimum (what the stopping rule's relative 1e-3 buys), copies within 0.1 MWh.
    assert abs(sum(out.costs_rmb.values()) - ref.cost_rmb) <= 1e-3 * abs(ref.cost_rmb)
    assert out.violation_mwh <= 0.1
    for a, mine in out.trades.items():
        for b, q in mine.items():
            assert np.array_equal(q, -out.trades[b][a])
    if station:
        assert set(out.station) == {d.name for d in datas}
        charge = {n: c for n, (c, _) in out.station.items()}
        discharge = {n: d for n, (_, d) in out.station.items()}
        assert station_problem(STATION, charge, discharge, tolerance=1e-4) is None
        assert any(np.any(c > 0.1) for c in charge.values()), "the station should be used"
    rows = out.rows
    assert [r["iteration"] for r in rows] == list(range(1, out.iterations + 1))
    last = rows[-1]
    assert last["primal_residual_mwh"] <= last["eps_primal"] and last["dual_residual"] <= last["eps_dual"]


def test_the_station_check_names_what_does_not_fit():
    zero = np.zeros(24)
    flat = np.full(24, 1.0)
    assert station_problem(STATION, {"A": zero}, {"A": zero}) is None
    assert "exceeds the station's 8 MW" in station_problem(STATION, {"A": np.full(24, 5.0), "B": np.full(24, 5.0)},
                                                         {"A": zero, "B": zero})
    assert "outside" in station_problem(STATION, {"A": flat}, {"A": zero})  # it fills up beyond 90 %
    late = zero.copy()
    late[0] = 2.0
    assert "ends the day" in station_problem(STATION, {"A": late}, {"A": zero})
    charge, discharge = zero.copy(), zero.copy()
    charge[0], discharge[1] = 2.0, 2.0 * 0.95 * 0.95  # in and back out, losses paid: the day closes
    assert station_problem(STATION, {"A": charge}, {"A": discharge}) is None
    assert "finite non-negative" in station_problem(STATION, {"A": -flat}, {"A": zero})
