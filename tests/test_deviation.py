"""DAF-IDO deviation (§A.3): the eight cases, the edge cases, and the vectorised form."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from market.deviation import classify, classify_day

# (day-ahead MW, intraday MW, case, role, quantity) straight from §A.3.3; + charge, - discharge.
EIGHT_CASES = [
    (2.0, 5.0, 1, "buy", 3.0),  # charge -> more charge: buy the extra charging
    (5.0, 2.0, 2, "sell", 3.0),  # charge -> less charge: surplus stored energy
    (-5.0, -2.0, 3, "sell", 3.0),  # discharge -> less discharge: surplus discharge
    (-2.0, -5.0, 4, "buy", 3.0),  # discharge -> more discharge: buy the deficit
    (-5.0, 2.0, 5, "sell", 3.0),  # discharge -> small charge: sell rest of planned discharge
    (-2.0, 5.0, 6, "buy", 3.0),  # discharge -> big charge: buy remainder C_ID - D_DA
    (2.0, -5.0, 7, "buy", 3.0),  # charge -> big discharge: buy the shortfall D_ID - C_DA
    (5.0, -2.0, 8, "sell", 3.0),  # charge -> small discharge: sell the rest C_DA - D_ID
]


@pytest.mark.parametrize("da, ida, case, role, qty", EIGHT_CASES)
def test_eight_cases(da, ida, case, role, qty):
    dev = classify(da, ida)
    assert (dev.case, dev.role) == (case, role)
    assert dev.quantity_mwh == pytest.approx(qty)
    assert dev.signed_mwh == pytest.approx(qty if role == "buy" else -qty)


@pytest.mark.parametrize(
    "da, ida, case, role, qty",
    [
        (0.0, 0.0, 0, None, 0.0),  # idle in both phases
        (3.0, 3.0, 0, None, 0.0),  # equal charge
        (-3.0, 3.0, 0, None, 0.0),  # equal magnitudes, opposite directions
        (0.0, 4.0, 1, "buy", 4.0),  # idle day-ahead, intraday charge
        (0.0, -4.0, 4, "buy", 4.0),  # idle day-ahead, intraday discharge
        (4.0, 0.0, 2, "sell", 4.0),  # planned charge, idle intraday
        (-4.0, 0.0, 3, "sell", 4.0),  # planned discharge, idle intraday
        (1.0, 1.0 + 1e-9, 0, None, 0.0),  # below tolerance
    ],
)
def test_edge_cases(da, ida, case, role, qty):
    dev = classify(da, ida)
    assert (dev.case, dev.role, dev.quantity_mwh) == (case, role, pytest.approx(qty))
    assert dev.quantity_mwh >= 0


actions = st.floats(-50, 50, allow_nan=False)


@given(st.lists(st.tuples(actions, actions), min_size=1, max_size=48), st.sampled_from(["magnitude", "signed_gap"]))
def test_vectorised_matches_scalar(pairs, rule):
    da = np.array([p[0] for p in pairs])
    ida = np.array([p[1] for p in pairs])
    day = classify_day(da, ida, rule=rule)
    for k, (a, b) in enumerate(pairs):
        one = classify(a, b, rule=rule)
        assert day.case[k] == one.case
        assert day.role[k] == one.role
        assert day.signed_mwh[k] == pytest.approx(one.signed_mwh)
        assert day.supply_mwh[k] == pytest.approx(one.supply_mwh)
        assert day.demand_mwh[k] == pytest.approx(one.demand_mwh)


@given(actions, actions)
def test_quantity_is_magnitude_difference(da, ida):
    dev = classify(da, ida)
    q = abs(ida) - abs(da)
    if dev.case == 0:
        assert abs(q) < 1e-6
    else:
        assert dev.signed_mwh == pytest.approx(q)
        assert (dev.role == "buy") == (q > 0)
        assert dev.supply_mwh * dev.demand_mwh == 0


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="shapes differ"):
        classify_day(np.zeros(24), np.zeros(23))


@given(actions, actions)
def test_the_signed_gap_trades_the_whole_change_and_keeps_the_cases(da, ida):
    """Q = P_ID - P_DA: + takes energy (a buyer); the case still names the two directions."""
    dev = classify(da, ida, rule="signed_gap")
    q = ida - da
    if dev.case == 0:
        assert abs(q) < 1e-6
        return
    assert dev.signed_mwh == pytest.approx(q) and (dev.role == "buy") == (q > 0)
    paper = classify(da, ida)
    if paper.case:  # both active: the same case, and the same role where the paper's rule agrees in sign
        assert dev.case == paper.case
        assert (dev.role == paper.role) == (dev.case in (1, 2, 6, 8))


@pytest.mark.parametrize("da, ida, role, qty", [
    (-9.0, 9.0, "buy", 18.0),  # a full reversal: the magnitude rule trades nothing
    (9.0, -9.0, "sell", 18.0),
    (-5.0, -2.0, "buy", 3.0),  # discharging less than planned takes energy
    (-2.0, -5.0, "sell", 3.0),
])
def test_the_signed_gap_on_reversals_and_smaller_discharges(da, ida, role, qty):
    dev = classify(da, ida, rule="signed_gap")
    assert (dev.role, dev.quantity_mwh) == (role, pytest.approx(qty))


def test_an_unknown_rule_is_refused():
    with pytest.raises(ValueError, match="unknown deviation rule 'gap'"):
        classify(1.0, 2.0, rule="gap")
