"""The `bilateral_rounds` real-time stage and its bid strategies (market.bidding.strategies).

Over random books: every trade leaves both parties within the limit price their strategy holds
them to (risk_attitude never quotes beyond a participant's grid alternative), volumes balance,
and re-clearing from the same bids and states gives the same trades and states (the contract's
determinism). Hand-made hours show the AA proxy re-quoting: a buyer and a seller who miss each
other move towards each other and then trade; with the `concession` strategy the stage is the
paper's concession walk with the stage's own round count.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from market.auction import Bid, Rules, clear_hour
from market.bidding import Position
from market.bidding.strategies import STRATEGIES, AAState, StrategyChoice, grid_limits, round_prices
from market.realtime import REAL_TIME
from market.stages import StageFieldError

STAGE = REAL_TIME["bilateral_rounds"]
PEAK = Rules(tou_buy_per_mwh=1100.0, feed_in_per_mwh=400.0, is_valley=False)


def _params(**over):
    return STAGE.Params.model_validate(over)


def _states(names, attitude="neutral", seed=0):
    choice = StrategyChoice.of({"name": "risk_attitude", "default_attitude": attitude})
    rng = np.random.default_rng(seed)
    return {n: choice.strategy.initial_state(n, choice.params, rng) for n in names}


def _hour(sellers, buyers, params, rules=PEAK, states=None):
    """Quote and clear one hour as the model and the contract do."""
    names = [p.bidder for p in sellers + buyers]
    states = states if states is not None else _states(names)
    offers, bids = STAGE.price_bids(sellers, buyers, rules, params, states)
    return offers, bids, STAGE.clear(offers, bids, rules, params, states=states)


def test_limits_are_the_grid_alternative_net_of_compensation_and_fee():
    # peak: no compensation; the split fee of 100 costs each side 50 per MWh
    assert grid_limits(PEAK) == (450.0, 1050.0)
    # valley (TOU 270 < feed-in 400): compensation 100 each, so a seller needs 350, a buyer pays at most 320
    assert grid_limits(Rules()) == (350.0, 320.0)


def test_a_seller_priced_out_by_the_grid_does_not_trade():
    """In a valley hour the grid pays a seller more than any buyer can: no trade, all to the grid."""
    _, _, result = _hour([Position("s", 5.0, 10.0)], [Position("b", 5.0, 10.0)], _params(), rules=Rules())
    assert result.trades == () and result.residual == {"s": 5.0, "b": 5.0}
    assert result.rounds[0].offers[0].price_per_mwh >= 350.0 and result.rounds[0].bids[0].price_per_mwh <= 320.0


def test_a_participant_priced_out_keeps_its_attitude():
    """Valley hour: buyers cannot pay what sellers need, both quote their limits round after round.
    Published AA would pull their r towards lambda_a on every failed round (r_shout is 0 for an
    extra-marginal agent) without changing a quote; here they keep their attitude for later hours."""
    states = _states(["s", "b"], attitude="averse")
    params = _params(rounds=5, strategy={"name": "risk_attitude", "default_attitude": "averse"})
    _, _, result = _hour([Position("s", 5.0, 10.0)], [Position("b", 5.0, 10.0)], params, Rules(), states)
    assert result.trades == ()
    assert result.states_after["s"]["r"] == result.states_after["b"]["r"] == 0.5


def test_an_averse_buyer_meets_a_seeking_seller_after_re_quoting():
    """Round 1: the seeking seller asks above the neutral estimate, the buyer bids it: no trade.
    The proxy then makes both more aggressive (a buyer below the best ask raises, a seller above
    the best bid lowers) until they cross."""
    choice = StrategyChoice.of({"name": "risk_attitude", "attitudes": {"s": "seeking", "b": "neutral"}})
    rng = np.random.default_rng(1)
    states = {n: choice.strategy.initial_state(n, choice.params, rng) for n in ("s", "b")}
    params = _params(rounds=20, strategy={"name": "risk_attitude", "attitudes": {"s": "seeking", "b": "neutral"}})
    _, _, result = _hour([Position("s", 5.0, 10.0)], [Position("b", 5.0, 10.0)], params, states=states)
    asks = [book.offers[0].price_per_mwh for book in result.rounds]
    bids = [book.bids[0].price_per_mwh for book in result.rounds]
    assert asks[0] > bids[0]  # they miss in round 1
    assert all(b >= a for a, b in zip(bids, bids[1:])) and bids[-1] > bids[0]  # the buyer raises
    assert all(b <= a for a, b in zip(asks, asks[1:])) and asks[-1] < asks[0]  # the seller lowers
    assert len(result.trades) == 1 and result.trades[0].round == len(result.rounds)
    assert result.states_after["b"]["r"] > states["b"]["r"] and result.states_after["s"]["r"] > states["s"]["r"]
    # bids.csv's trace: round 1 rests on the signed state, later rounds on the learnt one
    assert [result.quotes[(1, b)]["aggressiveness"] for b in ("s", "b")] == [states["s"]["r"], states["b"]["r"]]
    last = len(result.rounds)
    assert result.quotes[(last, "b")]["aggressiveness"] > result.quotes[(1, "b")]["aggressiveness"]


books = st.lists(st.tuples(st.sampled_from(["sell", "buy"]), st.floats(0.0, 20.0)), min_size=1, max_size=8)


@settings(max_examples=60, deadline=None)
@given(book=books, attitude=st.sampled_from(["averse", "neutral", "seeking", 0.9, -0.9]),
       clearing=st.sampled_from(["exact", "greedy"]), rounds=st.integers(1, 6), seed=st.integers(0, 3),
       hour=st.sampled_from([PEAK, Rules(), Rules(tou_buy_per_mwh=650.0, feed_in_per_mwh=400.0, is_valley=False)]))
def test_risk_attitude_trades_within_both_limits_and_balances(book, attitude, clearing, rounds, seed, hour):
    sellers = [Position(f"p{k}", q, 10.0) for k, (side, q) in enumerate(book) if side == "sell"]
    buyers = [Position(f"p{k}", q, 10.0) for k, (side, q) in enumerate(book) if side == "buy"]
    params = _params(rounds=rounds, clearing=clearing, strategy={"name": "risk_attitude", "default_attitude": attitude})
    states = _states([f"p{k}" for k in range(len(book))], attitude, seed)
    offers, bids, result = _hour(sellers, buyers, params, hour, states)
    seller_limit, buyer_limit = grid_limits(hour)
    for t in result.trades:
        receives = t.price_per_mwh - t.uos_seller_share * t.uos_per_mwh
        assert receives >= seller_limit - 1e-9 and t.price_per_mwh <= buyer_limit + 1e-9
        assert t.seller_price_per_mwh <= t.price_per_mwh <= t.buyer_price_per_mwh
    for b in offers + bids:  # traded plus residual is what was bid
        traded = math.fsum(t.quantity_mwh for t in result.trades if b.bidder in (t.seller, t.buyer))
        assert traded + result.residual[b.bidder] == pytest.approx(b.quantity_mwh, abs=1e-9)
    assert len(result.rounds) <= rounds
    again = STAGE.clear(offers, bids, hour, params, states=states)  # what every validator re-derives
    assert again.trades == result.trades and again.states_after == result.states_after
    for name, doc in result.states_after.items():
        assert STRATEGIES["risk_attitude"].state_problem(doc, params.strategy.params) is None, name


def test_with_the_concession_strategy_it_is_the_concession_walk_with_its_own_round_count():
    offers = [Bid("s1", 4.0, 600.0, 1.0), Bid("s2", 3.0, 480.0, 2.0)]
    bids = [Bid("b1", 5.0, 500.0, 0.0), Bid("b2", 2.0, 430.0, 3.0)]
    params = _params(rounds=7, strategy="concession")
    staged = STAGE.clear(offers, bids, PEAK, params)
    walk = clear_hour(offers, bids, PEAK.model_copy(update={"max_rounds": 7}))
    assert staged.trades == walk.trades and len(staged.rounds) > 3  # beyond the mechanism's 3 rounds
    assert staged.states_after == {} and staged.quotes == {}


def test_a_non_bidder_learns_the_hours_prices_but_not_an_aggressiveness():
    strategy = STRATEGIES["risk_attitude"]
    params = StrategyChoice.of("risk_attitude").params
    state = _states(["x"])["x"]
    seen = strategy.observe(state, [700.0, 760.0], PEAK, params)
    assert seen["r"] == state["r"] and len(seen["positions"]) == 2
    assert strategy.describe(seen, "buy", PEAK, params)["equilibrium_estimate_per_mwh"] > 700.0


def test_round_prices_are_volume_weighted_per_round():
    offers, bids = [Bid("s", 3.0, 500.0), Bid("t", 1.0, 520.0)], [Bid("b", 4.0, 600.0)]
    result = clear_hour(offers, bids, PEAK)
    assert round_prices(result.trades) == [pytest.approx((3 * 550.0 + 1 * 560.0) / 4)]


@pytest.mark.parametrize("block, message", [
    ({"name": "nope"}, "name: unknown bid strategy 'nope'"),
    ({"name": "risk_attitude", "default_attitude": 1.5},
     "default_attitude: an attitude is averse, neutral, seeking or an initial aggressiveness in [-1, 1], not 1.5"),
    ({"name": "risk_attitude", "attitudes": {"DN1": "bold"}}, "attitudes: DN1: an attitude is averse, neutral"),
    ({"name": "risk_attitude", "omega": 0}, "omega"),
    ({"name": "risk_attitude", "lambda": 0.1}, "lambda: unknown field"),
    (3, "expected a strategy name or a mapping"),
])
def test_bad_strategies_name_the_field(block, message):
    with pytest.raises((StageFieldError, ValueError)) as info:
        _params(strategy=block)
    assert message in str(info.value)


@pytest.mark.parametrize("doc, fault", [
    ({"r": 2.0, "theta": -2.0, "beta_1": 0.2, "beta_2": 0.2}, "out of range"),
    ({"r": 0.0, "theta": -2.0, "beta_1": 0.2}, "not an AA state"),
    ({"r": 0.0, "theta": -2.0, "beta_1": 0.2, "beta_2": 0.2, "positions": [0.5] * 9}, "out of range"),
    ({"r": float("nan"), "theta": -2.0, "beta_1": 0.2, "beta_2": 0.2}, "finite"),
])
def test_a_malformed_state_is_named(doc, fault):
    params = StrategyChoice.of("risk_attitude").params
    assert fault in STRATEGIES["risk_attitude"].state_problem(doc, params)


def test_states_round_trip_through_their_document():
    state = AAState(0.25, -3.0, 0.2, 0.3, (0.1, 0.9), (0.01, 0.4))
    assert AAState.of(state.doc()) == state
