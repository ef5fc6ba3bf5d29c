"""Best-response dynamics of the hour's bidding game (§B.3.5): the grid, the market utilities
with use-of-system charges, a hand-derived equilibrium, cycles, the Nash property and determinism."""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from market.auction import Bid, ClearingResult, Rules, Trade, clear_hour
from market.best_response import Player, best_response_dynamics, market_utilities, price_grid

FEED_IN, TOU = 400.0, 600.0
ONE_ROUND = Rules(
    max_rounds=1, matching="merit_order", feed_in_per_mwh=FEED_IN, tou_buy_per_mwh=TOU, is_valley=False
)
clear_once = functools.partial(clear_hour, rules=ONE_ROUND)


def market(players: list[Player]):
    """The utilities callable the dynamics get: every player's utility under one-round clearing."""
    return lambda profile: market_utilities(players, profile, clear_once, FEED_IN, TOU)


def sweep_ends(rows, start: dict[str, float]) -> list[tuple[float, ...]]:
    """The profile at the end of each sweep, replayed from the rows (start first)."""
    profile, ends = dict(start), [tuple(start.values())]
    for sweep, group in itertools.groupby(rows, key=lambda row: row[0]):
        profile.update({name: price for _, name, price, _ in group})
        ends.append(tuple(profile.values()))
    return ends


# --- the price grid ---------------------------------------------------------------------------


def test_grid_keeps_both_ends_and_shortens_only_the_last_step():
    grid = price_grid(400, 600, 1)
    assert len(grid) == 201 and grid[0] == 400 and grid[-1] == 600 and np.all(np.diff(grid) == 1)
    assert price_grid(0, 1, 0.3).tolist() == [0.0, 0.3, 0.6, 3 * 0.3, 1.0]
    assert price_grid(5, 5, 2).tolist() == [5.0]
    assert price_grid(0, 1e-12, 1).tolist() == [0.0, 1e-12]


def test_grid_does_not_drift_where_arange_does():
    assert np.arange(1, 1.3, 0.1)[-1] > 1.3  # the drift the integer construction avoids
    assert price_grid(1, 1.3, 0.1).tolist() == [1.0, 1 + 0.1, 1 + 2 * 0.1, 1.3]
    assert price_grid(0, 0.3, 0.1).tolist() == [0.0, 0.1, 0.2, 0.3]


@given(
    st.floats(-1e3, 1e3),
    st.floats(0.0, 1e3),
    st.floats(1e-3, 100.0),
)
def test_grid_is_increasing_from_low_to_high_in_steps(low, width, step):
    grid = price_grid(low, low + width, step)
    steps = np.diff(grid)
    assert grid[0] == low and grid[-1] == low + width
    assert np.all(steps > 0) and np.all(steps <= step * (1 + 1e-9))
    assert np.allclose(steps[:-1], step, rtol=1e-9, atol=1e-9 * abs(low))


@pytest.mark.parametrize(
    "low, high, step, message",
    [(0, 1, 0, "step"), (0, 1, -1, "step"), (2, 1, 1, "above"), (0, float("nan"), 1, "finite")],
)
def test_grid_rejects_bad_input(low, high, step, message):
    with pytest.raises(ValueError, match=message):
        price_grid(low, high, step)


# --- market utilities -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "seller_share, seller_utility, buyer_utility",
    [
        # S receives 500 - 0.5*20 = 490: (490 - 420)*4 + (400 - 420)*(6 - 4) = 280 - 40
        # B pays 500 + 0.5*20 = 510: (640 - 510)*4 + (640 - 600)*(5 - 4) = 520 + 40
        (0.5, 240.0, 560.0),
        # S receives 480 and B pays 500: (480 - 420)*4 - 40 and (640 - 500)*4 + 40
        (1.0, 200.0, 600.0),
    ],
)
def test_market_utilities_by_hand_with_a_use_of_system_charge(seller_share, seller_utility, buyer_utility):
    players = [Player("B", "buy", 5, 640), Player("S", "sell", 6, 420), Player("X", "sell", 3, 380)]
    seen = []

    def clear(offers, bids):
        seen.append((tuple(offers), tuple(bids)))
        trade = Trade("S", "B", 1, 4.0, 500.0, 470.0, 530.0, uos_per_mwh=20.0, uos_seller_share=seller_share)
        return ClearingResult(tuple(offers), tuple(bids), (trade,), ())

    utilities = market_utilities(players, {"B": 530, "S": 470, "X": 480}, clear, FEED_IN, TOU)
    assert seen == [((Bid("S", 6, 470, 1.0), Bid("X", 3, 480, 2.0)), (Bid("B", 5, 530, 0.0),))]
    # X trades nothing and sells its 3 MWh at feed-in: (400 - 380)*3
    assert utilities == {"B": buyer_utility, "S": seller_utility, "X": 60.0}


# --- a game with a unique equilibrium, by hand --------------------------------------------------

# Buyer B wants 10 MWh and always bids 600 (a one-point grid). S1 offers 10 MWh from 400 up, S2
# offers 12 MWh but never below its cost 500; grids step 50. One merit-order round: the cheaper
# seller fills all 10 MWh at the midpoint (b + 600)/2, the other sells nothing; at equal prices S1
# goes first (it is listed first, so uploaded earlier). Against the feed-in price 400 a sale at b
# earns 10*((b + 600)/2 - 400) = 5(b - 200), increasing in b; the limit l only shifts a seller's
# utility by the constant (400 - l)Q.
# - S1's best response to b2 is b2 itself: it wins the tie, and any higher price sells nothing.
# - S2's best response to b1 is the highest of its prices strictly below b1; when b1 <= 500 none
#   is, S2 sells nothing at any price and keeps its own (the tie rule).
# So S2 undercuts S1 step by step, S1 matches each undercut, and it stops when S2 is at its floor:
# b1 = b2 by S1's reply, and no S2 price lies below b1 only if b1 <= 500, so (500, 500) is the only
# equilibrium: S1 sells 10 MWh at 550 (utility 5*(500 - 200) = 1500), S2 nothing
# ((400 - 500)*12 = -1200), B pays 550 against its value 600 (utility 500).
TWO_SELLERS = [Player("S1", "sell", 10, 400), Player("S2", "sell", 12, 500), Player("B", "buy", 10, 600)]
TWO_SELLER_GRIDS = {"S1": price_grid(400, 600, 50), "S2": price_grid(500, 600, 50), "B": np.array([600.0])}
EQUILIBRIUM = {"S1": 500.0, "S2": 500.0, "B": 600.0}


def test_the_hand_derived_equilibrium_is_the_only_one_on_the_grid():
    utilities = market(TWO_SELLERS)

    def is_nash(profile):
        now = utilities(profile)
        return all(
            utilities({**profile, name: price})[name] <= now[name]
            for name, grid in TWO_SELLER_GRIDS.items()
            for price in grid
        )

    profiles = [dict(zip(("S1", "S2", "B"), p)) for p in itertools.product(*TWO_SELLER_GRIDS.values())]
    assert [p for p in profiles if is_nash(p)] == [EQUILIBRIUM]
    assert utilities(EQUILIBRIUM) == {"S1": 1500.0, "S2": -1200.0, "B": 500.0}


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("b1, b2", list(itertools.product([400.0, 500.0, 600.0], [500.0, 550.0, 600.0])))
def test_dynamics_reach_the_hand_derived_equilibrium(seed, b1, b2):
    calls = []
    utilities = market(TWO_SELLERS)
    counting = lambda profile: calls.append(profile) or utilities(profile)
    start = {"S1": b1, "S2": b2, "B": 600.0}
    result = best_response_dynamics(
        TWO_SELLERS, TWO_SELLER_GRIDS, start, counting, np.random.default_rng(seed)
    )
    assert result.outcome == "converged" and result.profile == EQUILIBRIUM
    assert result.utilities == {"S1": 1500.0, "S2": -1200.0, "B": 500.0}
    assert result.evaluations == len(calls) == len({tuple(p.values()) for p in calls})
    assert result.sweeps == len(sweep_ends(result.rows, start)) - 1


@pytest.mark.parametrize("seed", range(4))
def test_undercutting_from_the_top_walks_down_one_step_a_turn(seed):
    start = {"S1": 600.0, "S2": 600.0, "B": 600.0}
    result = best_response_dynamics(
        TWO_SELLERS, TWO_SELLER_GRIDS, start, market(TWO_SELLERS), np.random.default_rng(seed)
    )
    prices, changes = dict(start), []
    for _, name, price, _ in result.rows:
        if price != prices[name]:
            changes.append((name, price))
        prices[name] = price
    # S2 undercuts by 50, S1 matches, until S2 is at its floor
    assert changes == [("S2", 550.0), ("S1", 550.0), ("S2", 500.0), ("S1", 500.0)]
    assert result.profile == EQUILIBRIUM


# --- the tie rule, cycles and runs that cannot settle -------------------------------------------

PAIR = [Player("A", "sell", 1, 0), Player("Z", "buy", 1, 0)]
COIN = {"A": np.array([0.0, 1.0]), "Z": np.array([0.0, 1.0])}


def pennies(profile):
    """Matching pennies: A wants to match Z's price, Z wants to differ; no pure equilibrium."""
    gap = abs(profile["A"] - profile["Z"])
    return {"A": 1 - gap, "Z": gap}


@pytest.mark.parametrize("start, stays_at", [(2.0, 2.0), (1.4, 1.0), (1.6, 2.0), (1.5, 1.0)])
def test_indifferent_player_keeps_its_price_or_takes_the_closest_then_lowest(start, stays_at):
    alone = [Player("A", "sell", 1, 0)]
    result = best_response_dynamics(
        alone, {"A": np.arange(4.0)}, {"A": start}, lambda p: {"A": 7.0}, np.random.default_rng(0)
    )
    assert result.profile == {"A": stays_at} and result.outcome == "converged"
    assert result.sweeps == (1 if start == stays_at else 2)


@pytest.mark.parametrize("seed", range(6))
def test_matching_pennies_is_reported_as_cycling(seed):
    start = {"A": 0.0, "Z": 0.0}
    result = best_response_dynamics(PAIR, COIN, start, pennies, np.random.default_rng(seed))
    ends = sweep_ends(result.rows, start)
    assert result.outcome == "cycling"
    assert result.sweeps <= 4, "four profiles and the start: a repeat within four sweeps"
    assert ends[-1] in ends[:-1] and ends[-1] != ends[-2]
    assert len(set(ends[:-1])) == len(ends) - 1, "it stops at the first repeat"


def test_relaxed_matching_pennies_never_repeats_and_does_not_converge():
    start = {"A": 0.0, "Z": 0.0}
    result = best_response_dynamics(
        PAIR, COIN, start, pennies, np.random.default_rng(1), max_sweeps=200, omega=0.5
    )
    ends = sweep_ends(result.rows, start)
    assert result.outcome == "not_converged" and result.sweeps == 200
    assert len(set(ends)) == len(ends) == 201
    assert not set(result.profile.values()) <= {0.0, 1.0}, "omega < 1 leaves the grid"


@pytest.mark.parametrize("epsilon, outcome, sweeps", [(0.01, "converged", 7), (0.0, "not_converged", 20)])
def test_relaxed_steps_halve_until_below_epsilon(epsilon, outcome, sweeps):
    # U(b) = b with best reply 1 and omega 1/2: b_k = 1 - 2**-k, a step of 2**-k in sweep k,
    # at most 0.01 from k = 7 on
    alone = [Player("A", "sell", 1, 0)]
    result = best_response_dynamics(
        alone, {"A": np.array([0.0, 1.0])}, {"A": 0.0}, lambda p: {"A": p["A"]},
        np.random.default_rng(0), max_sweeps=20, omega=0.5, epsilon=epsilon,
    )
    assert (result.outcome, result.sweeps) == (outcome, sweeps)
    assert result.profile == {"A": 1 - 2.0**-sweeps}


@pytest.mark.parametrize(
    "start, omega, sweeps",
    [
        # omega = 1 lands on the grid point itself: 2739.234 + (401.3 - 2739.234) is 401.3000000000002
        (2739.234, 1.0, 2),
        # a relaxed player at its best price stays put: 0.7 * 401.3 + 0.3 * 401.3 is 401.29999999999995
        (401.3, 0.3, 1),
    ],
)
def test_updates_land_exactly_on_the_best_price(start, omega, sweeps):
    alone = [Player("A", "sell", 1, 0)]
    result = best_response_dynamics(
        alone, {"A": np.array([400.0, 401.3])}, {"A": start}, lambda p: {"A": -abs(p["A"] - 401.3)},
        np.random.default_rng(0), omega=omega,
    )
    assert (result.outcome, result.sweeps, result.profile) == ("converged", sweeps, {"A": 401.3})


# --- converged means Nash -----------------------------------------------------------------------


@st.composite
def small_games(draw):
    """1-3 sellers (limit feed-in) and 1-3 buyers (limit TOU), grids of 5 or 3 prices, random starts."""
    quantities = st.sampled_from([1.0, 2.0, 5.0, 10.0])
    step = draw(st.sampled_from([50.0, 100.0]))
    players = [Player(f"s{k}", "sell", draw(quantities), FEED_IN) for k in range(draw(st.integers(1, 3)))]
    players += [Player(f"b{k}", "buy", draw(quantities), TOU) for k in range(draw(st.integers(1, 3)))]
    grids = {p.name: price_grid(FEED_IN, TOU, step) for p in players}
    start = {p.name: draw(st.sampled_from(grids[p.name].tolist())) for p in players}
    return players, grids, start


@settings(max_examples=60)
@given(small_games(), st.integers(0, 2**16))
def test_a_converged_profile_is_a_nash_equilibrium(game, seed):
    players, grids, start = game
    utilities = market(players)
    result = best_response_dynamics(
        players, grids, start, utilities, np.random.default_rng(seed), max_sweeps=30
    )
    assume(result.outcome == "converged")
    assert result.utilities == utilities(result.profile)
    for player in players:
        for price in grids[player.name]:
            deviation = utilities({**result.profile, player.name: float(price)})
            assert deviation[player.name] <= result.utilities[player.name]


# --- determinism --------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(3))
def test_same_seed_same_dynamics_and_the_seed_only_draws_the_orders(seed):
    start = {"S1": 600.0, "S2": 600.0, "B": 600.0}

    def run(s):
        return best_response_dynamics(
            TWO_SELLERS, TWO_SELLER_GRIDS, start, market(TWO_SELLERS), np.random.default_rng(s)
        )

    first = run(seed)
    assert run(seed) == first
    orders = np.random.default_rng(seed)
    names = [p.name for p in TWO_SELLERS]
    for sweep in range(1, first.sweeps + 1):
        expected = [names[i] for i in orders.permutation(len(names))]
        assert [name for k, name, _, _ in first.rows if k == sweep] == expected
    assert run(seed + 10).profile == first.profile


def test_different_seeds_give_different_orders():
    start = {"A": 0.0, "Z": 0.0}
    firsts = {
        best_response_dynamics(PAIR, COIN, start, pennies, np.random.default_rng(s)).rows[0][1]
        for s in range(10)
    }
    assert firsts == {"A", "Z"}


# --- input checks -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, message",
    [
        ({"grids": {"A": COIN["A"]}}, "grid and a start"),
        ({"start": {"A": 0.0}}, "grid and a start"),
        ({"max_sweeps": 0}, "max_sweeps"),
        ({"omega": 0.0}, "omega"),
        ({"omega": 1.5}, "omega"),
        ({"epsilon": -1e-9}, "epsilon"),
        ({"grids": {"A": np.array([]), "Z": COIN["Z"]}}, "non-empty"),
        ({"players": [PAIR[0], PAIR[0]]}, "distinct"),
    ],
)
def test_dynamics_reject_bad_input(change, message):
    arguments = {"players": PAIR, "grids": COIN, "start": {"A": 0.0, "Z": 0.0}, **change}
    with pytest.raises(ValueError, match=message):
        best_response_dynamics(utilities=pennies, rng=np.random.default_rng(0), **arguments)


@pytest.mark.parametrize(
    "fields, message",
    [
        (("S", "hold", 1.0, 0.0), "side"),
        (("S", "sell", -1.0, 0.0), "quantity"),
        (("S", "buy", 1.0, float("inf")), "limit"),
    ],
)
def test_player_rejects_bad_fields(fields, message):
    with pytest.raises(ValueError, match=message):
        Player(*fields)
