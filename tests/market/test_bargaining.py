"""Nash bargaining payments and contribution weights (§B.1.4): closed forms checked against
their defining properties and against the bargaining problem itself."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from market.bargaining import contribution_weights, equal_satisfaction_weights, nash_payments, satisfaction

money = st.floats(-1e6, 1e6, allow_nan=False)
names = st.lists(st.sampled_from([f"MG{i}" for i in range(8)]), min_size=1, max_size=8, unique=True)


@st.composite
def costs(draw):
    who = draw(names)
    alone = {n: draw(money) for n in who}
    together = {n: draw(money) for n in who}
    weights = {n: draw(st.floats(0, 5, allow_nan=False)) for n in who}
    return alone, together, weights


@given(costs(), st.booleans())
def test_payments_sum_to_zero_and_nobody_loses_when_the_coalition_saves(case, symmetric):
    alone, together, weights = case
    pay = nash_payments(alone, together, None if symmetric else weights)
    scale = max(1.0, *(abs(v) for v in (*alone.values(), *together.values())))
    assert set(pay) == set(alone)
    assert abs(math.fsum(pay.values())) <= 1e-9 * scale
    saving = math.fsum(alone[n] - together[n] for n in alone)
    if saving >= 0:
        for n in alone:
            assert together[n] + pay[n] <= alone[n] + 1e-9 * scale  # individually rational


@given(costs())
def test_the_symmetric_split_gives_equal_gains(case):
    alone, together, _ = case
    pay = nash_payments(alone, together)
    gains = [alone[n] - (together[n] + pay[n]) for n in sorted(alone)]
    scale = max(1.0, *(abs(v) for v in (*alone.values(), *together.values())))
    assert max(gains) - min(gains) <= 1e-9 * scale * len(gains)


@given(st.lists(st.tuples(money, st.floats(-100, 1e4), st.floats(0.1, 5)), min_size=2, max_size=8))
def test_the_payments_maximise_the_weighted_nash_product(players):
    """Moving any money between two participants lowers sum w ln(gain) (the problem it solves)."""
    alone = {f"MG{i}": c for i, (c, _, _) in enumerate(players)}
    together = {f"MG{i}": c - g for i, (c, g, _) in enumerate(players)}
    weights = {f"MG{i}": w for i, (_, _, w) in enumerate(players)}
    assume(math.fsum(g for _, g, _ in players) > 1.0)  # the coalition saves
    pay = nash_payments(alone, together, weights)
    gain = {n: alone[n] - together[n] - pay[n] for n in alone}
    assert all(g > 0 for g in gain.values())

    def objective(g):
        return math.fsum(weights[n] * math.log(g[n]) for n in g)

    a, b = sorted(alone)[:2]
    for shift in (-0.5, 0.5):
        moved = dict(gain)
        delta = shift * min(gain[a], gain[b])
        moved[a], moved[b] = gain[a] + delta, gain[b] - delta
        assert objective(moved) <= objective(gain) + 1e-9


@given(costs())
def test_equal_satisfaction_weights_leave_every_participant_equally_satisfied(case):
    alone, together, _ = case
    saving = math.fsum(alone[n] - together[n] for n in alone)
    pay = nash_payments(alone, together, equal_satisfaction_weights(alone, together))
    final = {n: together[n] + pay[n] for n in alone}
    # every degree is dC over the sum of the denominators (gains at the optimum, 1 where not positive):
    # each gains that degree times its own denominator (checked in RMB: a tiny denominator magnifies
    # rounding in the degree itself)
    own = {n: max(alone[n] - together[n], 0.0) or 1.0 for n in alone}
    degree = saving / math.fsum(own.values())
    scale = max(1.0, *(abs(v) for v in (*alone.values(), *together.values())))
    degrees = satisfaction(alone, together, final)
    for n in alone:
        assert alone[n] - final[n] == pytest.approx(degree * own[n], abs=1e-9 * scale * len(alone))
        if own[n] >= 1.0:
            assert degrees[n] == pytest.approx(degree, abs=1e-9 * scale * len(alone))
        if saving >= 0:
            assert together[n] + pay[n] <= alone[n] + 1e-9 * scale  # individually rational


def test_a_worked_example():
    """Three microgrids save 900 together; A's weight is twice B's and C's."""
    alone = {"A": 1000.0, "B": 800.0, "C": 600.0}
    together = {"A": 700.0, "B": 500.0, "C": 300.0}
    pay = nash_payments(alone, together, {"A": 2.0, "B": 1.0, "C": 1.0})
    # gains at the optimum 300 each; the split gives A 450, B and C 225: A receives 150, they pay 75
    assert pay == pytest.approx({"A": -150.0, "B": 75.0, "C": 75.0})
    assert nash_payments(alone, together) == pytest.approx({"A": 0.0, "B": 0.0, "C": 0.0})
    final = {n: together[n] + pay[n] for n in alone}
    assert satisfaction(alone, together, final) == pytest.approx({"A": 1.5, "B": 0.75, "C": 0.75})


def test_contribution_weights_follow_the_formula_and_fall_back_to_equal():
    w = contribution_weights({"A": 10.0, "B": 5.0, "C": 0.0}, {"A": 0.0, "B": 4.0, "C": 8.0})
    assert w["A"] == pytest.approx(math.e - 1.0)
    assert w["B"] == pytest.approx(math.exp(0.5) - math.exp(-0.5))
    assert w["C"] == pytest.approx(1.0 - math.exp(-1.0))
    assert contribution_weights({"A": 0.0, "B": 0.0}, {"A": 0.0, "B": 0.0}) == {"A": 1.0, "B": 1.0}
    # nobody supplied: only what each received counts, still within [0, e - 1/e]
    w = contribution_weights({"A": 0.0, "B": 0.0}, {"A": 3.0, "B": 0.0})
    assert w == pytest.approx({"A": 1.0 - math.exp(-1.0), "B": 0.0})


@given(st.dictionaries(st.sampled_from("ABCDEF"), st.tuples(st.floats(0, 1e4), st.floats(0, 1e4)), min_size=1))
def test_contribution_weights_stay_in_their_range(energy):
    w = contribution_weights({n: e[0] for n, e in energy.items()}, {n: e[1] for n, e in energy.items()})
    assert all(0.0 <= v <= math.e - math.exp(-1.0) + 1e-12 for v in w.values())


@pytest.mark.parametrize("bad", [{"A": math.nan}, {"A": math.inf}])
def test_non_finite_costs_are_refused(bad):
    with pytest.raises(ValueError, match="finite"):
        nash_payments(bad, {"A": 0.0})


def test_negative_weights_and_mismatched_names_are_refused():
    with pytest.raises(ValueError, match="non-negative"):
        nash_payments({"A": 1.0, "B": 1.0}, {"A": 0.0, "B": 0.0}, {"A": -1.0, "B": 1.0})
    with pytest.raises(ValueError, match="same participants"):
        nash_payments({"A": 1.0}, {"B": 0.0})
