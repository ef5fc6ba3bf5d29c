"""The ambiguity set and its worst case (docs/rules.md §B.2.2): the radii's formula, and the closed
form against a direct LP by scipy on random inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import linprog

from market.dro import ambiguity_radii, worst_case_distribution


def test_radii_follow_the_formula():
    t1, tinf = ambiguity_radii(5, 100, 0.99, 0.5)
    assert t1 == pytest.approx(5 / 200 * math.log(10 / 0.01))
    assert tinf == pytest.approx(1 / 200 * math.log(10 / 0.5))
    more = ambiguity_radii(5, 1000, 0.99, 0.5)
    assert more[0] < t1 and more[1] < tinf  # more samples, a tighter set


@pytest.mark.parametrize("args, message", [((5, 4, 0.9, 0.5), "n_scenarios <= n_samples"),
                                           ((5, 100, 1.0, 0.5), "alpha_1 must be in"),
                                           ((5, 100, 0.9, 0.0), "alpha_inf must be in")])
def test_bad_radii_inputs(args, message):
    with pytest.raises(ValueError, match=message):
        ambiguity_radii(*args)


@st.composite
def cases(draw):
    k = draw(st.integers(1, 8))
    weights = np.array(draw(st.lists(st.floats(0, 10), min_size=k, max_size=k)))
    p0 = weights / weights.sum() if weights.sum() > 0 else np.full(k, 1.0 / k)
    costs = draw(st.lists(st.floats(-1e4, 1e4, allow_nan=False), min_size=k, max_size=k))
    return np.array(costs), p0, draw(st.floats(0, 2.5)), draw(st.floats(0, 1.2))


def _lp(h, p0, t1, tinf):
    """max h.p over p >= 0, sum p = 1, |p - p0| <= u, sum u <= t1, u <= tinf (variables p, u).

    Without presolve and at tight tolerances: with zero radii the set is the single point p0, which
    HiGHS's presolve calls infeasible when p0 has entries near its default tolerance (e.g. 5.6e-8),
    and at that tolerance (1e-7) the LP's own optimum strays further than the closed form's check."""
    k = len(h)
    eye = np.eye(k)
    a_ub = np.block([[eye, -eye], [-eye, -eye], [np.zeros((1, k)), np.ones((1, k))]])
    b_ub = np.concatenate([p0, -p0, [t1]])
    res = linprog(np.concatenate([-h, np.zeros(k)]), A_ub=a_ub, b_ub=b_ub, A_eq=np.concatenate([np.ones(k), np.zeros(k)])[None],
                  b_eq=[1.0], bounds=[(0, None)] * k + [(0, tinf)] * k, method="highs",
                  options={"presolve": False, "primal_feasibility_tolerance": 1e-10,
                           "dual_feasibility_tolerance": 1e-10})
    assert res.status == 0
    return -res.fun


@given(cases())
def test_the_closed_form_is_the_lps_optimum_and_stays_in_the_set(case):
    h, p0, t1, tinf = case
    p = worst_case_distribution(h, p0, t1, tinf)
    assert np.all(p >= -1e-12) and p.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.abs(p - p0).sum() <= t1 + 1e-9 and np.abs(p - p0).max() <= tinf + 1e-9
    scale = 1.0 + np.abs(h).max()
    assert h @ p == pytest.approx(_lp(h, p0, t1, tinf), abs=1e-7 * scale)


@given(cases(), st.floats(0, 1), st.floats(0, 1))
def test_the_worst_case_never_falls_as_the_radii_grow(case, more_1, more_inf):
    h, p0, t1, tinf = case
    small = h @ worst_case_distribution(h, p0, t1, tinf)
    large = h @ worst_case_distribution(h, p0, t1 + more_1, tinf + more_inf)
    assert large >= small - 1e-9 * (1.0 + np.abs(h).max())


def test_zero_radii_keep_the_empirical_distribution():
    p0 = np.array([0.5, 0.3, 0.2])
    assert np.array_equal(worst_case_distribution([3.0, 1.0, 2.0], p0, 0.0, 0.0), p0)


def _newsvendor(demands, p0, theta_1, theta_inf, cost=6.0, price=10.0, salvage=2.0):
    """Order x (whole units, 0..60) at `cost`; in scenario s sell min(x, d_s) at `price`, salvage the rest."""
    from ortools.math_opt.python import mathopt

    from market.dro import ccg

    model = mathopt.Model(name="newsvendor")
    x = model.add_integer_variable(lb=0, ub=60, name="x")
    recourse = []
    for s, d in enumerate(demands):
        sold = model.add_variable(lb=0.0, ub=float(d), name=f"sold[{s}]")
        model.add_linear_constraint(sold <= x)
        recourse.append(-price * sold - salvage * (x - sold))
    return ccg(model, [x], cost * x, recourse, p0, theta_1, theta_inf)


def _enumerated(demands, p0, theta_1, theta_inf, cost=6.0, price=10.0, salvage=2.0):
    best = math.inf
    for x in range(61):
        h = np.array([-price * min(x, d) - salvage * (x - min(x, d)) for d in demands])
        best = min(best, cost * x + h @ worst_case_distribution(h, p0, theta_1, theta_inf))
    return best


@pytest.mark.parametrize("theta_1, theta_inf", [(0.0, 0.0), (0.2, 0.1), (0.6, 0.3), (2.0, 1.0)])
def test_ccg_on_a_newsvendor_equals_enumeration(theta_1, theta_inf):
    demands, p0 = [10, 25, 40, 55], np.array([0.1, 0.4, 0.3, 0.2])
    result = _newsvendor(demands, p0, theta_1, theta_inf)
    assert result.converged and result.iterations <= 10
    assert result.objective == pytest.approx(_enumerated(demands, p0, theta_1, theta_inf), abs=1e-6)
    assert result.upper[-1] - result.lower[-1] <= 1e-6 * max(1.0, abs(result.upper[-1]))
    assert all(b >= a - 1e-9 for a, b in zip(result.lower, result.lower[1:]))  # the master only tightens


def test_zero_radii_are_the_stochastic_programme_and_larger_radii_never_cost_less():
    demands, p0 = [10, 25, 40, 55], np.array([0.1, 0.4, 0.3, 0.2])
    stochastic = _newsvendor(demands, p0, 0.0, 0.0)
    assert np.array_equal(stochastic.probabilities, p0)  # the empirical distribution itself
    expected = min(6.0 * x + sum(p * (-10.0 * min(x, d) - 2.0 * (x - min(x, d))) for p, d in zip(p0, demands))
                   for x in range(61))
    assert stochastic.objective == pytest.approx(expected, abs=1e-6)
    costs = [_newsvendor(demands, p0, t, t / 2).objective for t in (0.0, 0.1, 0.3, 0.8, 2.0)]
    assert all(b >= a - 1e-6 for a, b in zip(costs, costs[1:]))


def test_clustering_finds_separated_groups_with_their_shares():
    from market.dro import cluster_scenarios

    rng = np.random.default_rng(3)
    groups = [np.array([0.0, 0.0]), np.array([10.0, 0.0]), np.array([0.0, 10.0])]
    sizes = [50, 30, 20]
    samples = np.vstack([g + rng.normal(0, 0.3, (n, 2)) for g, n in zip(groups, sizes)])
    centres, probabilities = cluster_scenarios(samples, 3, np.random.default_rng(0))
    assert probabilities.sum() == pytest.approx(1.0)
    found = sorted(zip(np.round(centres).tolist(), probabilities.tolist()))
    assert found == [([0.0, 0.0], 0.5), ([0.0, 10.0], 0.2), ([10.0, 0.0], 0.3)]
    again = cluster_scenarios(samples, 3, np.random.default_rng(0))
    assert np.array_equal(again[0], centres) and np.array_equal(again[1], probabilities)  # same seed, same scenarios


@given(st.integers(1, 40), st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_clustering_assigns_every_sample_and_keeps_k_scenarios(m, k, seed):
    from market.dro import cluster_scenarios

    samples = np.random.default_rng(seed).normal(size=(m, 3))
    if k > m:
        with pytest.raises(ValueError, match="n_scenarios"):
            cluster_scenarios(samples, k, np.random.default_rng(seed))
        return
    centres, probabilities = cluster_scenarios(samples, k, np.random.default_rng(seed))
    assert centres.shape == (k, 3) and probabilities.sum() == pytest.approx(1.0)
    assert np.allclose(probabilities * m, np.round(probabilities * m), rtol=0, atol=1e-9)  # whole samples
