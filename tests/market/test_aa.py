"""Adaptive aggressiveness (§B.3.2): the endpoint and monotonicity properties of the target
price, its inverse, both learning rules and the equilibrium estimate; one hand-computed value per
branch of the target formula."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from market.bidding.aa import (
    GAMMA,
    LAMBDA_A,
    LAMBDA_R,
    THETA_MAX,
    THETA_MIN,
    aggressiveness_for,
    equilibrium_estimate,
    learn,
    long_term_update,
    short_term_update,
    smith_alpha,
    target_price,
    theta_star,
)

e = math.exp
SIGN = {"buy": 1, "sell": -1}
SIDE = st.sampled_from(["buy", "sell"])
R = st.floats(-1.0, 1.0)
# The literature's range plus theta at and around 0, where the curve ratio must tend to r.
THETA = st.one_of(st.floats(THETA_MIN, THETA_MAX), st.floats(-1e-9, 1e-9), st.just(0.0))
ESTIMATE = st.floats(1.0, 1000.0)
PRICE = st.floats(-2000.0, 5000.0)
# |l - p̂|/p̂ for intra-marginal agents: bounded away from 0 and 1.5 so the inverse stays well
# conditioned (|θ̄| <= 12); near 0 the price fraction, at large |θ̄| the curve's flat end lose digits.
SPREAD = st.floats(0.05, 0.95)
WIDE = 1e9  # a band that clips nothing, to see the unclipped endpoints


def intra_limit(side: str, estimate: float, spread: float) -> float:
    """A limit on the trading side of p̂: above it for a buyer, below it for a seller."""
    return estimate * (1 + SIGN[side] * spread)


def extra_limit(side: str, estimate: float, spread: float) -> float:
    """A limit on the other side of p̂ (or at it): the agent cannot profit at p̂."""
    return estimate * (1 - SIGN[side] * spread)


def target(side, limit, estimate, r, theta=-2.0, p_max=WIDE, p_min=0.0):
    return target_price(side, limit, estimate, r, theta, p_max, p_min)


# --- target_price: endpoints, monotonicity, clipping ---------------------------------------------


@given(side=SIDE, estimate=ESTIMATE, spread=SPREAD, theta=THETA)
def test_intra_marginal_endpoints(side, estimate, spread, theta):
    limit = intra_limit(side, estimate, spread)
    passive_end = 0.0 if side == "buy" else 3 * estimate
    assert target(side, limit, estimate, 0.0, theta, p_max=3 * estimate) == estimate
    assert math.isclose(target(side, limit, estimate, 1.0, theta, p_max=3 * estimate), limit, rel_tol=1e-12)
    assert math.isclose(target(side, limit, estimate, -1.0, theta, p_max=3 * estimate), passive_end, rel_tol=1e-12)


@given(side=SIDE, estimate=ESTIMATE, spread=st.floats(0.0, 0.95), theta=THETA, r=st.floats(0.0, 1.0))
def test_extra_marginal_endpoints_and_no_gain_from_aggression(side, estimate, spread, theta, r):
    limit = extra_limit(side, estimate, spread)
    passive_end = 0.0 if side == "buy" else 3 * estimate
    assert target(side, limit, estimate, r, theta, p_max=3 * estimate) == limit
    assert math.isclose(target(side, limit, estimate, -1.0, theta, p_max=3 * estimate), passive_end, rel_tol=1e-12)


@given(
    side=SIDE,
    limit=PRICE,
    estimate=ESTIMATE,
    theta=THETA,
    band=st.tuples(PRICE, PRICE).map(sorted),
    rs=st.lists(R, min_size=2, max_size=12).map(sorted),
)
def test_target_is_monotone_in_r(side, limit, estimate, theta, band, rs):
    """Buyers never bid less, sellers never ask more, as r grows; any limit, band and θ."""
    p_min, p_max = band
    prices = [target(side, limit, estimate, r, theta, p_max, p_min) for r in rs]
    slack = 1e-12 * max(abs(limit), estimate, abs(p_max), abs(p_min))
    for lower_r, higher_r in zip(prices, prices[1:]):
        assert SIGN[side] * (higher_r - lower_r) >= -slack


@given(side=SIDE, limit=PRICE, estimate=ESTIMATE, r=R, theta=THETA, band=st.tuples(PRICE, PRICE).map(sorted))
def test_target_stays_in_band_and_on_the_profitable_side_of_the_limit(side, limit, estimate, r, theta, band):
    p_min, p_max = band
    price = target(side, limit, estimate, r, theta, p_max, p_min)
    assert p_min <= price <= p_max
    if p_min <= limit <= p_max:
        assert SIGN[side] * (price - limit) <= 0


def test_band_clip_comes_last_so_the_band_wins_over_the_limit():
    assert target("buy", 1000.0, 500.0, 1.0, p_max=700.0) == 700.0  # limit above the band
    assert target("sell", 50.0, 500.0, 1.0, p_min=100.0) == 100.0  # limit below the band
    assert target("sell", 300.0, 500.0, -1.0, p_max=400.0) == 400.0  # p_max below p̂


def test_theta_zero_is_the_straight_line_and_tiny_theta_tends_to_it():
    # buyer l = 1000, p̂ = 500: p̂ + (l - p̂) r and p̂ (1 - (-r)) on the two branches
    assert target("buy", 1000.0, 500.0, 0.4, theta=0.0) == 500.0 + 500.0 * 0.4
    assert target("buy", 1000.0, 500.0, -0.4, theta=0.0) == 500.0 * (1 - 0.4)
    for tiny in (1e-300, -1e-300, 5e-324, 1e-11, -1e-11):
        assert math.isclose(target("buy", 1000.0, 500.0, 0.4, theta=tiny), 700.0, rel_tol=1e-9)
        assert math.isclose(target("sell", 300.0, 500.0, -0.4, theta=tiny, p_max=1100.0), 740.0, rel_tol=1e-9)


@given(side=SIDE, estimate=ESTIMATE, ratio=st.floats(1e-6, 1e6), r=R, theta=THETA, price=PRICE)
@example(side="buy", estimate=1.0, ratio=1001.0, r=-0.5, theta=2.0, price=0.5)  # θ̄ = 2000
@example(side="sell", estimate=1.0, ratio=1e-6, r=0.5, theta=-8.0, price=1e6)
def test_extreme_limits_stay_finite(side, estimate, ratio, r, theta, price):
    """|θ̄| grows with |l - p̂|/p̂ far beyond where e^θ̄ overflows; both directions must stay finite."""
    limit, p_max = estimate * ratio, 2e6 * estimate
    assert 0.0 <= target(side, limit, estimate, r, theta, p_max) <= p_max
    assert -1.0 <= aggressiveness_for(side, price, limit, estimate, theta, p_max, 0.0) <= 1.0


# One case per branch of §B.3.2, the expected value written out from the formula.
BRANCHES = {
    # buyer intra-marginal, r > 0: p̂ + (l - p̂)(e^{rθ} - 1)/(e^θ - 1); l = 1000, p̂ = 500, θ = -2, r = 0.5
    "buyer intra r>0": (("buy", 1000.0, 500.0, 0.5, -2.0, WIDE), 500 + 500 * (e(-1.0) - 1) / (e(-2.0) - 1)),
    # the same with θ = 1.5, where the ratio is computed through its mirror identity
    "buyer intra r>0 θ>0": (("buy", 1000.0, 500.0, 0.5, 1.5, WIDE), 500 + 500 * (e(0.75) - 1) / (e(1.5) - 1)),
    # buyer intra-marginal, r <= 0: p̂(1 - (e^{-rθ̄} - 1)/(e^θ̄ - 1)); l = 800: θ̄ = -2 * 300/500 = -1.2
    "buyer intra r<=0": (("buy", 800.0, 500.0, -0.5, -2.0, WIDE), 500 * (1 - (e(-0.6) - 1) / (e(-1.2) - 1))),
    # buyer extra-marginal, r < 0: l(1 - (e^{-rθ} - 1)/(e^θ - 1)); l = 400, p̂ = 500, r = -0.25
    "buyer extra r<0": (("buy", 400.0, 500.0, -0.25, -2.0, WIDE), 400 * (1 - (e(-0.5) - 1) / (e(-2.0) - 1))),
    # buyer extra-marginal, r >= 0: the limit
    "buyer extra r>=0": (("buy", 400.0, 500.0, 0.7, -2.0, WIDE), 400.0),
    # seller intra-marginal, r <= 0: p̂ + (p_max - p̂)(e^{-rθ̄} - 1)/(e^θ̄ - 1); l = 300, p_max = 1100,
    # θ̄ = -2 * 200/500 = -0.8
    "seller intra r<=0": (("sell", 300.0, 500.0, -0.5, -2.0, 1100.0), 500 + 600 * (e(-0.4) - 1) / (e(-0.8) - 1)),
    # seller intra-marginal, r > 0: l + (p̂ - l)(1 - (e^{rθ} - 1)/(e^θ - 1))
    "seller intra r>0": (("sell", 300.0, 500.0, 0.5, -2.0, 1100.0), 300 + 200 * (1 - (e(-1.0) - 1) / (e(-2.0) - 1))),
    # seller extra-marginal, r < 0: l + (p_max - l)(e^{-rθ} - 1)/(e^θ - 1); l = 600, r = -0.25
    "seller extra r<0": (("sell", 600.0, 500.0, -0.25, -2.0, 1100.0), 600 + 500 * (e(-0.5) - 1) / (e(-2.0) - 1)),
    # seller extra-marginal, r >= 0: the limit
    "seller extra r>=0": (("sell", 600.0, 500.0, 0.3, -2.0, 1100.0), 600.0),
}


@pytest.mark.parametrize("args, expected", BRANCHES.values(), ids=BRANCHES.keys())
def test_target_price_hand_computed(args, expected):
    side, limit, estimate, r, theta, p_max = args
    assert math.isclose(target_price(side, limit, estimate, r, theta, p_max, 0.0), expected, rel_tol=1e-12)


# --- aggressiveness_for ----------------------------------------------------------------------------


@given(side=SIDE, estimate=ESTIMATE, spread=SPREAD, r=R, theta=THETA, headroom=st.floats(0.05, 3.0))
def test_inverse_recovers_r_from_the_target(side, estimate, spread, r, theta, headroom):
    limit = intra_limit(side, estimate, spread)
    p_max = estimate * (1 + max(spread, headroom))  # the seller's passive end, above every target
    price = target(side, limit, estimate, r, theta, p_max)
    assert abs(aggressiveness_for(side, price, limit, estimate, theta, p_max, 0.0) - r) <= 1e-9


INVERSES = {
    # buyer, q >= p̂: ln((q - p̂)(e^θ - 1)/(l - p̂) + 1)/θ; l = 1000, p̂ = 500, θ = -2, q = 750
    "buyer q>=p̂": (("buy", 750.0, 1000.0), math.log(250 * (e(-2.0) - 1) / 500 + 1) / -2),
    # buyer, q < p̂: -ln((1 - q/p̂)(e^θ̄ - 1) + 1)/θ̄; l = 800: θ̄ = -1.2, q = 200
    "buyer q<p̂": (("buy", 200.0, 800.0), -math.log((1 - 200 / 500) * (e(-1.2) - 1) + 1) / -1.2),
    # seller, q <= p̂: ln((1 - (q - l)/(p̂ - l))(e^θ - 1) + 1)/θ; l = 300, q = 400
    "seller q<=p̂": (("sell", 400.0, 300.0), math.log((1 - 100 / 200) * (e(-2.0) - 1) + 1) / -2),
    # seller, q > p̂: -ln((q - p̂)(e^θ̄ - 1)/(p_max - p̂) + 1)/θ̄; p_max = 1100, θ̄ = -0.8, q = 800
    "seller q>p̂": (("sell", 800.0, 300.0), -math.log(300 * (e(-0.8) - 1) / 600 + 1) / -0.8),
}


@pytest.mark.parametrize("args, expected", INVERSES.values(), ids=INVERSES.keys())
def test_aggressiveness_for_hand_computed(args, expected):
    side, price, limit = args
    assert math.isclose(aggressiveness_for(side, price, limit, 500.0, -2.0, 1100.0, 0.0), expected, rel_tol=1e-12)


@given(side=SIDE, estimate=ESTIMATE, spread=SPREAD, theta=THETA, beyond=st.floats(0.0, 1e6))
def test_prices_beyond_reach_map_to_the_ends(side, estimate, spread, theta, beyond):
    limit = intra_limit(side, estimate, spread)
    p_max = 2 * estimate
    sign = SIGN[side]
    passive_end = 0.0 if side == "buy" else p_max
    assert aggressiveness_for(side, limit + sign * beyond, limit, estimate, theta, p_max, 0.0) == 1.0
    assert aggressiveness_for(side, passive_end - sign * beyond, limit, estimate, theta, p_max, 0.0) == -1.0


def test_a_seller_above_p_max_at_or_below_the_estimate_is_fully_passive():
    assert aggressiveness_for("sell", 600.0, 300.0, 500.0, -2.0, 500.0, 0.0) == -1.0


@given(side=SIDE, estimate=ESTIMATE, spread=st.floats(0.0, 0.95), price=PRICE, theta=THETA)
def test_extra_marginal_agents_get_zero(side, estimate, spread, price, theta):
    limit = extra_limit(side, estimate, spread)
    assert aggressiveness_for(side, price, limit, estimate, theta, 2 * estimate, 0.0) == 0.0


# --- short-term learning ---------------------------------------------------------------------------

LAMBDAS = {"lambda_r": st.floats(0.0, 0.5), "lambda_a": st.floats(0.0, 0.1)}


@given(side=SIDE, r=R, r_shout=R, beta_1=st.floats(0.0, 1.0), failed=st.booleans(), **LAMBDAS)
def test_short_term_rule_moves_towards_trading_after_a_failed_quote(side, r, r_shout, beta_1, failed, lambda_r, lambda_a):
    """A failed quote (buyer's target below the reference, seller's above) raises r, a successful
    one lowers it, whenever r_shout lies on the matching side of r. The published relative term
    flips direction for r_shout < -λ_a/λ_r, so the property is stated above that."""
    assume(lambda_r * r_shout + lambda_a >= 0)
    assume(r_shout >= r if failed else r_shout <= r)
    reference = 100.0 + (10.0 if failed else -10.0) * SIGN[side]
    new = short_term_update(side, r, 100.0, reference, r_shout, beta_1, lambda_r, lambda_a)
    assert -1.0 <= new <= 1.0
    assert new >= r if failed else new <= r


def test_short_term_rule_hand_computed():
    # seller asked 120 > reference 100 (too passive), r_shout 0.6: desired 1.05 * 0.6 + 0.01 = 0.64,
    # r = 0.2 + 0.5 (0.64 - 0.2) = 0.42
    assert math.isclose(short_term_update("sell", 0.2, 120.0, 100.0, 0.6, 0.5, 0.05, 0.01), 0.42)
    # buyer bid 120 >= reference 100 (succeeded): desired 0.95 * 0.6 - 0.01 = 0.56, r = 0.8 + 0.5 (0.56 - 0.8)
    assert math.isclose(short_term_update("buy", 0.8, 120.0, 100.0, 0.6, 0.5, 0.05, 0.01), 0.68)


def test_short_term_rule_follows_the_published_formula_even_where_it_backs_off():
    # failed buyer with r_shout = -0.98 < -λ_a/λ_r: desired 1.05 * -0.98 + 0.01 = -1.019,
    # r = -0.99 + 0.5 (-1.019 + 0.99) = -1.0045, clipped to -1
    assert short_term_update("buy", -0.99, 100.0, 110.0, -0.98, 0.5, 0.05, 0.01) == -1.0


@given(side=SIDE, estimate=ESTIMATE, spread=SPREAD, r=R, theta=THETA, reference=st.floats(0.0, 2.0), beta_1=st.floats(0.1, 0.5))
def test_learn_raises_r_after_a_failed_quote_and_lowers_it_after_a_success(side, estimate, spread, r, theta, reference, beta_1):
    limit = intra_limit(side, estimate, spread)
    p_max, reference = 2 * estimate, reference * estimate
    r_shout = aggressiveness_for(side, reference, limit, estimate, theta, p_max, 0.0)
    assume(r_shout >= -LAMBDA_A / LAMBDA_R)
    quote = target(side, limit, estimate, r, theta, p_max)
    new = learn(side, r, limit, estimate, theta, p_max, 0.0, reference, beta_1, LAMBDA_R, LAMBDA_A)
    assert new == short_term_update(side, r, quote, reference, r_shout, beta_1, LAMBDA_R, LAMBDA_A)
    if SIGN[side] * (reference - quote) > 0:
        assert new >= r
    else:
        assert new <= r + 1e-9  # r_shout of the quote's own price recovers r only to 1e-9


# --- equilibrium estimate and long-term learning ---------------------------------------------------

PRICES = st.lists(st.floats(0.0, 1000.0), min_size=1, max_size=10)


@given(prices=PRICES)
def test_equilibrium_estimate_with_omega_one_is_the_mean(prices):
    assert math.isclose(equilibrium_estimate(prices, 1.0), math.fsum(prices) / len(prices), abs_tol=1e-9)


@given(prices=PRICES, omega=st.floats(0.0, 1.0))
def test_equilibrium_estimate_lies_within_the_prices(prices, omega):
    assert min(prices) - 1e-9 <= equilibrium_estimate(prices, omega) <= max(prices) + 1e-9


def test_equilibrium_estimate_weights_the_most_recent_most():
    # weights oldest first 0.25, 0.5, 1: (2.5 + 10 + 40)/1.75 = 30, against a plain mean of 23.3
    assert math.isclose(equilibrium_estimate([10.0, 20.0, 40.0], 0.5), 30.0)
    assert math.isclose(equilibrium_estimate([40.0, 20.0, 10.0], 0.5), (10 + 10 + 10) / 1.75)
    assert equilibrium_estimate([10.0, 20.0, 40.0], 0.0) == 40.0


def test_smith_alpha_hand_computed():
    assert math.isclose(smith_alpha([90.0, 110.0], 100.0), 0.1)  # sqrt((100 + 100)/2)/100
    assert smith_alpha([100.0, 100.0], 100.0) == 0.0


THETA_RANGE = st.tuples(st.floats(-20.0, 5.0), st.floats(-20.0, 5.0)).map(sorted)


@given(theta_range=THETA_RANGE, gamma=st.floats(0.0, 10.0), alpha_hats=st.lists(st.floats(0.0, 1.0), min_size=2).map(sorted))
def test_theta_star_runs_from_theta_max_to_theta_min(theta_range, gamma, alpha_hats):
    theta_min, theta_max = theta_range
    assert theta_star(0.0, theta_min, theta_max, gamma) == theta_max
    assert math.isclose(theta_star(1.0, theta_min, theta_max, gamma), theta_min, abs_tol=1e-12)
    stars = [theta_star(a, theta_min, theta_max, gamma) for a in alpha_hats]
    assert all(theta_min - 1e-12 <= s <= theta_max + 1e-12 for s in stars)
    assert all(later <= earlier + 1e-12 for earlier, later in zip(stars, stars[1:]))


def test_theta_star_hand_computed():
    # α̂ = 0.5, defaults: -8 + 10 (1 - 0.5 e^{2 (0.5 - 1)})
    assert math.isclose(theta_star(0.5, THETA_MIN, THETA_MAX, GAMMA), -8 + 10 * (1 - 0.5 * e(-1.0)))


@given(
    theta=st.floats(THETA_MIN, THETA_MAX),
    alpha=st.floats(-1.0, 2.0),
    alpha_range=st.tuples(st.floats(0.0, 1.0), st.floats(0.0, 1.0)).map(sorted),
    beta_2=st.floats(0.0, 1.0),
)
def test_long_term_update_moves_theta_towards_theta_star_within_range(theta, alpha, alpha_range, beta_2):
    alpha_min, alpha_max = alpha_range
    assume(alpha_max > alpha_min)
    alpha_hat = min(max((alpha - alpha_min) / (alpha_max - alpha_min), 0.0), 1.0)
    goal = theta_star(alpha_hat, THETA_MIN, THETA_MAX, GAMMA)
    new = long_term_update(theta, alpha, alpha_min, alpha_max, beta_2, THETA_MIN, THETA_MAX, GAMMA)
    assert THETA_MIN <= new <= THETA_MAX
    assert min(theta, goal) - 1e-12 <= new <= max(theta, goal) + 1e-12
    assert math.isclose(new, theta + beta_2 * (goal - theta), abs_tol=1e-12)


def test_long_term_update_keeps_theta_when_alpha_has_no_spread():
    assert long_term_update(-3.0, 0.2, 0.2, 0.2, 0.5, THETA_MIN, THETA_MAX, GAMMA) == -3.0
    assert long_term_update(5.0, 0.2, 0.2, 0.2, 0.5, THETA_MIN, THETA_MAX, GAMMA) == THETA_MAX  # clipped


# --- bad inputs ------------------------------------------------------------------------------------

TARGET = {"side": "buy", "limit": 1000.0, "estimate": 500.0, "r": 0.5, "theta": -2.0, "p_max": 2000.0, "p_min": 0.0}
INVERSE = {"side": "buy", "price": 700.0, "limit": 1000.0, "estimate": 500.0, "theta": -2.0, "p_max": 2000.0, "p_min": 0.0}
SHORT = {"side": "sell", "r": 0.0, "target": 1.0, "reference_price": 1.0, "r_shout": 0.0, "beta_1": 0.3, "lambda_r": 0.05, "lambda_a": 0.01}
LONG = {"theta": -2.0, "alpha": 0.1, "alpha_min": 0.0, "alpha_max": 0.2, "beta_2": 0.3, "theta_min": -8.0, "theta_max": 2.0, "gamma": 2.0}
BAD = [
    (target_price, TARGET, "side", "hold"),
    (target_price, TARGET, "r", 1.5),
    (target_price, TARGET, "r", math.nan),
    (target_price, TARGET, "estimate", 0.0),
    (target_price, TARGET, "estimate", math.inf),
    (target_price, TARGET, "limit", math.inf),
    (target_price, TARGET, "theta", math.nan),
    (target_price, TARGET, "p_max", -math.inf),
    (target_price, TARGET, "p_min", 3000.0),
    (aggressiveness_for, INVERSE, "price", math.nan),
    (aggressiveness_for, INVERSE, "side", "bid"),
    (aggressiveness_for, INVERSE, "estimate", -1.0),
    (short_term_update, SHORT, "side", "Sell"),
    (short_term_update, SHORT, "r", -1.01),
    (short_term_update, SHORT, "r_shout", 2.0),
    (short_term_update, SHORT, "beta_1", 1.5),
    (short_term_update, SHORT, "lambda_r", -0.1),
    (short_term_update, SHORT, "lambda_a", -0.1),
    (short_term_update, SHORT, "reference_price", math.inf),
    (equilibrium_estimate, {"prices": [1.0], "omega": 0.9}, "prices", []),
    (equilibrium_estimate, {"prices": [1.0], "omega": 0.9}, "prices", [1.0, math.nan]),
    (equilibrium_estimate, {"prices": [1.0], "omega": 0.9}, "omega", 1.5),
    (smith_alpha, {"prices": [1.0], "estimate": 1.0}, "prices", []),
    (smith_alpha, {"prices": [1.0], "estimate": 1.0}, "estimate", 0.0),
    (theta_star, {"alpha_hat": 0.5, "theta_min": -8.0, "theta_max": 2.0, "gamma": 2.0}, "alpha_hat", 1.2),
    (theta_star, {"alpha_hat": 0.5, "theta_min": -8.0, "theta_max": 2.0, "gamma": 2.0}, "gamma", -1.0),
    (theta_star, {"alpha_hat": 0.5, "theta_min": -8.0, "theta_max": 2.0, "gamma": 2.0}, "theta_max", -9.0),
    (long_term_update, LONG, "theta", math.nan),
    (long_term_update, LONG, "beta_2", 2.0),
    (long_term_update, LONG, "alpha_max", -0.1),
    (long_term_update, LONG, "theta_min", math.nan),
]


@pytest.mark.parametrize("function, good, name, value", BAD, ids=[f"{f.__name__}-{n}-{v!r}" for f, _, n, v in BAD])
def test_bad_inputs_raise_value_error_naming_the_argument(function, good, name, value):
    function(**good)  # the untouched arguments are fine
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        function(**{**good, name: value})
