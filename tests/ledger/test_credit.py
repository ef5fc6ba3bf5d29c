"""Double-credit rules of §B.2.4 as pure functions, and credit as capped BFT voting power."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from ledger.credit import (Credit, CreditParams, election_timeout_ms, may_grant_vote, may_lead, may_stand,
                           update_node_credit, update_transaction_credit)
from ledger.validators import voting_powers

P = CreditParams()
unit = st.floats(0.0, 1.0)


@given(unit, unit, unit, st.booleans())
def test_updates_follow_the_spec_and_stay_in_the_unit_interval(tc, nc, share, bad):
    c = Credit(tc, nc)
    t = update_transaction_credit(c, share, bad, P)
    assert t.transaction == min(1.0, max(0.0, tc + P.a_plus * share - P.a_minus * bad)) and t.node == nc
    n = update_node_credit(c, not bad, bad, P)
    assert n.node == min(1.0, max(0.0, nc + (P.b_plus if not bad else -P.b_minus))) and n.transaction == tc


def test_gates():
    assert may_stand(Credit(0.6, 0.6), P) and not may_stand(Credit(0.59, 0.9), P) and not may_stand(Credit(0.9, 0.59), P)
    assert may_grant_vote(Credit(0.6, 0.6), Credit(1.0, 1.0), P)
    assert not may_grant_vote(Credit(0.6, 0.6), Credit(1.0, 1.0), CreditParams(vote_needs_higher_credit=True))
    assert not may_grant_vote(Credit(0.5, 0.6), Credit(0.1, 0.1), P)
    assert may_lead(Credit(0.0, 0.6), P) and not may_lead(Credit(1.0, 0.5), P)


@given(unit, unit)
def test_election_timeout_formula(cc_a, cc_b):
    a = election_timeout_ms(Credit(cc_a, cc_a), P, 150, 300, 0.0, np.random.default_rng(0))
    b = election_timeout_ms(Credit(cc_b, cc_b), P, 150, 300, 0.0, np.random.default_rng(0))
    assert abs(a - (150 + 150 * (1 - cc_a))) < 1e-9
    assert (a <= b) == (cc_a >= cc_b) or abs(a - b) < 1e-9


@given(st.dictionaries(st.sampled_from("abcdefg"), unit, min_size=1))
def test_voting_power_is_capped_credit(credits):
    powers = voting_powers(credits)
    mean = sum(credits.values()) / len(credits)
    cap = max(1, round(1000 * 1.25 * mean))
    for v, c in credits.items():
        assert 1 <= powers[v] <= cap
        assert powers[v] == (cap if round(1000 * c) >= cap else max(1, round(1000 * c)))
