"""The `best_response` real-time stage: off-chain dynamics whose utilities are the contract's own
clearing, so the contract gives every participant what its dynamics promised; quotes stay on each
participant's side of its limit; every update is announced to every other participant."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from market.auction import Rules
from market.bidding import Position
from market.bidding.strategies import grid_limits
from market.network.market_network import MarketNetwork
from market.realtime import REAL_TIME
from test_network_clearing import _chain

STAGE = REAL_TIME["best_response"]
HOURS = [Rules(tou_buy_per_mwh=1100.0, feed_in_per_mwh=400.0, is_valley=False),
         Rules(tou_buy_per_mwh=650.0, feed_in_per_mwh=400.0, is_valley=False), Rules()]


class Channel:
    """Records each exchange as the off-chain channel would carry it."""

    def __init__(self):
        self.rounds = []

    def exchange(self, messages):
        self.rounds.append(list(messages))


def _network(names) -> MarketNetwork:
    return MarketNetwork(_chain(6), tuple((n, 1 + k % 5) for k, n in enumerate(names)), (0.0,) * 6,
                         mean_charge_per_mwh=30.0, congestion="exact")


books = st.lists(st.tuples(st.sampled_from(["sell", "buy"]), st.floats(0.5, 20.0)), min_size=2, max_size=5)


@settings(max_examples=25, deadline=None)
@given(book=books, rules=st.sampled_from(HOURS), clearing=st.sampled_from(["exact", "greedy"]),
       on_network=st.booleans(), seed=st.integers(0, 5))
def test_the_contract_gives_each_participant_what_its_dynamics_promised(book, rules, clearing, on_network, seed):
    names = [f"p{k}" for k in range(len(book))]
    sellers = [Position(n, q, 10.0, float(k)) for k, (n, (side, q)) in enumerate(zip(names, book)) if side == "sell"]
    buyers = [Position(n, q, 10.0, float(k)) for k, (n, (side, q)) in enumerate(zip(names, book)) if side == "buy"]
    params = STAGE.Params(step_per_mwh=25.0, clearing=clearing, max_sweeps=30)
    network = _network(names) if on_network else None
    channel = Channel()
    n = STAGE.negotiate(sellers, buyers, rules, params, network, channel, np.random.default_rng(seed))
    seller_limit, buyer_limit = grid_limits(rules)
    assert all(o.price_per_mwh >= seller_limit for o in n.offers) and all(b.price_per_mwh <= buyer_limit for b in n.bids)
    # on chain: bids arrive in any order with any upload times; the contract clears them
    result = STAGE.clear(list(reversed(n.offers)), n.bids, rules, params, network)
    got = {name: 0.0 for name in names}
    for t in result.trades:
        got[t.seller] += (t.price_per_mwh - t.uos_seller_share * t.uos_per_mwh - seller_limit) * t.quantity_mwh
        got[t.buyer] += (buyer_limit - t.price_per_mwh - (1 - t.uos_seller_share) * t.uos_per_mwh) * t.quantity_mwh
    for name in names:
        assert got[name] == pytest.approx(n.utilities[name], abs=1e-6), name
    # every update is told to each other participant, one exchange per update
    assert len(channel.rounds) == len(n.rows)
    assert all(len(r) == len(names) - 1 and all(m[0] == n.rows[k][1] for m in r) for k, r in enumerate(channel.rounds))


def test_a_converged_hour_is_a_nash_equilibrium_of_the_contracts_clearing():
    """Two sellers undercut each other down to the dearer one's limit; the buyer then cannot gain
    by moving either (its quote only sets the price it pays)."""
    sellers = [Position("a", 5.0, 10.0), Position("b", 5.0, 10.0)]
    buyers = [Position("c", 4.0, 10.0)]
    rules = HOURS[1]
    params = STAGE.Params(step_per_mwh=10.0)
    n = STAGE.negotiate(sellers, buyers, rules, params, None, Channel(), np.random.default_rng(0))
    assert n.outcome == "converged"
    seller_limit, buyer_limit = grid_limits(rules)
    profile = {b.bidder: b.price_per_mwh for b in (*n.offers, *n.bids)}
    # supply exceeds demand: competition drives both asks to the sellers' limit, and the buyer bids
    # just that (lower, nobody sells to it; higher, it pays more at the midpoint)
    assert profile["a"] == profile["b"] == profile["c"] == seller_limit
    assert n.utilities["c"] == pytest.approx(4.0 * (buyer_limit - seller_limit)) and n.utilities["a"] == 0.0


@pytest.mark.parametrize("params, message", [
    ({"omega": 0.5, "epsilon_per_mwh": 0.0}, "with omega < 1"),
    ({"step_per_mwh": 1.0, "epsilon_per_mwh": 1.0}, "epsilon_per_mwh must be below step_per_mwh"),
])
def test_a_stopping_rule_that_cannot_stop_is_refused(params, message):
    with pytest.raises(ValueError, match=message):
        STAGE.Params(**params)


def test_a_one_sided_hour_quotes_the_limits():
    offers, bids = STAGE.price_bids([Position("a", 5.0, 10.0)], [], HOURS[0], STAGE.Params())
    assert [o.price_per_mwh for o in offers] == [grid_limits(HOURS[0])[0]] and bids == []


def test_an_hour_that_does_not_settle_says_so():
    """Paper-4dn's hour 10: when a seller moves first it raises its ask to the buyers' 1050, and the
    sellers then undercut each other by one 1 RMB step a sweep: five sweeps are far too few."""
    sellers = [Position("DN3", 2.0575, 10.0), Position("DN4", 3.4018, 10.0)]
    buyers = [Position("DN1", 0.18, 10.0), Position("DN2", 3.2654, 10.0)]
    params = STAGE.Params(step_per_mwh=1.0, max_sweeps=5)
    n = STAGE.negotiate(sellers, buyers, HOURS[0], params, None, Channel(), np.random.default_rng(2))
    assert n.outcome == "not_converged" and n.sweeps == 5
    assert all(1040.0 < b.price_per_mwh < 1050.0 for b in n.offers)
