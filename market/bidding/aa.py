"""Adaptive aggressiveness (AA, Vytelingum, Cliff & Jennings 2008): the target-price math.

AA lets a bidder adapt round by round: a scalar aggressiveness r in [-1, 1] places its target
price between a passive end (r = -1: a buyer bids 0, a seller asks p_max), the equilibrium estimate
p̂ (r = 0) and its own limit price (r = 1); theta shapes the curve. Short-term learning moves r
towards the aggressiveness that would have matched the last reference price; long-term learning
moves theta with the market's price volatility (Smith's alpha).

Published definitions of the curve differ (notably the scaled shape θ̄ of the passive branch), so
what is guaranteed here are the endpoint properties - r = -1 lands on the passive end, r = 0 on p̂
(intra-marginal agents), r = 1 on the limit - and monotonicity in r, not exact curve values.
Everything is pure: r, theta, the price history and the alpha range live with the caller.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

# Literature defaults, all [L] Vytelingum, Cliff & Jennings 2008.
LAMBDA_R = 0.05  # relative perturbation of the desired aggressiveness [L]
LAMBDA_A = 0.01  # absolute perturbation of the desired aggressiveness [L]
THETA_0 = -2.0  # initial curve shape theta [L]
THETA_MIN = -8.0  # lower bound of theta [L]
THETA_MAX = 2.0  # upper bound of theta [L]
GAMMA = 2.0  # steepness of theta*(alpha_hat) in long-term learning [L]
N_PRICES = 5  # transaction prices in the equilibrium estimate's window [L]
OMEGA = 0.9  # weight decay of older prices in the equilibrium estimate [L]
BETA_RANGE = (0.1, 0.5)  # learning rates beta_1, beta_2 are drawn from this range [L]
# Starting r by risk attitude: risk-averse wants to trade for sure, so it starts aggressive [L]
INITIAL_AGGRESSIVENESS = {"averse": 0.5, "neutral": 0.0, "seeking": -0.5}

_TINY_THETA = 1e-12  # below this |theta| the curve ratio is x to within 1e-13; avoids 0/0


def _require(name: str, value: float, low: float = -math.inf, high: float = math.inf) -> None:
    """A ValueError naming the argument unless `value` is finite and within [low, high]."""
    if not (math.isfinite(value) and low <= value <= high):
        raise ValueError(f"{name} must be a finite number in [{low}, {high}], got {value!r}")


def _check_estimate(estimate: float) -> None:
    """A ValueError unless the equilibrium estimate p̂ is finite and > 0 (the curves divide by it)."""
    if not (math.isfinite(estimate) and estimate > 0):
        raise ValueError(f"estimate must be finite and > 0, got {estimate!r}")


def _side_sign(side: str) -> int:
    """+1 for a buyer, -1 for a seller: the direction in which a price becomes more aggressive."""
    if side == "buy":
        return 1
    if side == "sell":
        return -1
    raise ValueError(f"side must be 'buy' or 'sell', got {side!r}")


def _curve(
    side: str, limit: float, estimate: float, theta: float, p_max: float, p_min: float
) -> tuple[int, bool, float, float]:
    """Validated shared geometry: side sign, whether the agent is intra-marginal, θ̄, passive end.

    θ̄ = θ·|ℓ − p̂|/p̂ shapes the passive branch of intra-marginal agents; the passive end is the
    price r = -1 reaches before clipping (0 for a buyer, p_max for a seller).
    """
    sign = _side_sign(side)
    for name, value in (("limit", limit), ("theta", theta), ("p_max", p_max), ("p_min", p_min)):
        _require(name, value)
    _check_estimate(estimate)
    if p_min > p_max:
        raise ValueError(f"p_min ({p_min!r}) must not exceed p_max ({p_max!r})")
    theta_bar = 0.0 if theta == 0 else theta * abs(limit - estimate) / estimate
    return sign, sign * (limit - estimate) > 0, theta_bar, (0.0 if sign > 0 else p_max)


def _ratio(x: float, theta: float) -> float:
    """(e^{xθ} − 1)/(e^θ − 1) for x in [0, 1], without overflow or 0/0; tends to x as θ → 0.

    For θ > 0 the mirror identity R(x, θ) = 1 − R(1 − x, −θ) keeps every exponent non-positive.
    """
    if abs(theta) < _TINY_THETA:
        return x
    if theta > 0:
        return 1.0 - _ratio(1.0 - x, -theta)
    return math.expm1(x * theta) / math.expm1(theta)


def _ratio_inverse(y: float, theta: float) -> float:
    """The x in [0, 1] with _ratio(x, θ) = y, i.e. ln(y(e^θ − 1) + 1)/θ, computed stably."""
    if y in (0.0, 1.0) or abs(theta) < _TINY_THETA:
        return y
    if theta > 0:
        return 1.0 - _ratio_inverse(1.0 - y, -theta)
    return math.log1p(y * math.expm1(theta)) / theta  # argument in (-1, 0] for y < 1: finite


def _lerp(start: float, end: float, t: float) -> float:
    """The point a share t of the way from start to end."""
    return start + (end - start) * t


def _share(part: float, whole: float) -> float:
    """part/whole for a distance part >= 0, clipped to [0, 1]; 1 when whole <= part (out of reach)."""
    return 1.0 if part >= whole else part / whole


def target_price(
    side: str, limit: float, estimate: float, r: float, theta: float, p_max: float, p_min: float
) -> float:
    """The AA target price for aggressiveness r (§B.3.2), clipped.

    The formulas share one shape: for r > 0 the target moves from the anchor towards the limit by
    R(r, θ); for r <= 0 from the anchor towards the passive end by R(−r, ·). The anchor is p̂ with
    shape θ̄ for intra-marginal agents (a buyer's ℓ > p̂, a seller's ℓ < p̂), and ℓ with shape θ
    for extra-marginal ones, who therefore never go beyond their limit. The seller's
    ℓ + (p̂ − ℓ)(1 − R) equals the buyer's p̂ + (ℓ − p̂)R. The result is clipped to the limit (a
    buyer's target <= ℓ, a seller's >= ℓ) and then to [p_min, p_max]; the band clip comes last, so
    when ℓ itself lies outside the band the band wins.
    """
    sign, intra, theta_bar, passive_end = _curve(side, limit, estimate, theta, p_max, p_min)
    _require("r", r, -1.0, 1.0)
    anchor, passive_theta = (estimate, theta_bar) if intra else (limit, theta)
    if r > 0:
        target = _lerp(anchor, limit, _ratio(r, theta))
    else:
        target = _lerp(anchor, passive_end, _ratio(-r, passive_theta))
    if sign * (target - limit) > 0:
        target = limit
    return min(max(target, p_min), p_max)


def aggressiveness_for(
    side: str, price: float, limit: float, estimate: float, theta: float, p_max: float, p_min: float
) -> float:
    """The r whose unclipped target is `price` (the paper's explicit inverses), in [-1, 1].

    Extra-marginal agents get 0: their curve never passes p̂. A price beyond what r = ±1 reaches
    maps to ±1; a seller's price above p̂ when p_max <= p̂ counts as beyond r = -1.
    """
    sign, intra, theta_bar, passive_end = _curve(side, limit, estimate, theta, p_max, p_min)
    _require("price", price)
    if not intra:
        return 0.0
    offset = sign * (price - estimate)  # >= 0: between p̂ and the limit (or past it)
    if offset >= 0:
        return _ratio_inverse(_share(offset, sign * (limit - estimate)), theta)
    return -_ratio_inverse(_share(-offset, sign * (estimate - passive_end)), theta_bar)


def short_term_update(
    side: str,
    r: float,
    target: float,
    reference_price: float,
    r_shout: float,
    beta_1: float,
    lambda_r: float,
    lambda_a: float,
) -> float:
    """One step of short-term learning: r moves by beta_1 towards a perturbed r_shout.

    r_shout is the aggressiveness that would have quoted `reference_price`. If the target was too
    passive (a buyer's below the reference, a seller's above it) the desired r is
    (1 + λ_r)·r_shout + λ_a, else (1 − λ_r)·r_shout − λ_a. As published, the relative term points
    the other way for r_shout < −λ_a/λ_r, so only above that is the direction guaranteed.
    """
    sign = _side_sign(side)
    _require("r", r, -1.0, 1.0)
    _require("target", target)
    _require("reference_price", reference_price)
    _require("r_shout", r_shout, -1.0, 1.0)
    _require("beta_1", beta_1, 0.0, 1.0)
    _require("lambda_r", lambda_r, 0.0)
    _require("lambda_a", lambda_a, 0.0)
    push = 1 if sign * (reference_price - target) > 0 else -1  # +1: quote was too passive
    desired = (1 + push * lambda_r) * r_shout + push * lambda_a
    return min(max(r + beta_1 * (desired - r), -1.0), 1.0)


def learn(
    side: str,
    r: float,
    limit: float,
    estimate: float,
    theta: float,
    p_max: float,
    p_min: float,
    reference_price: float,
    beta_1: float,
    lambda_r: float,
    lambda_a: float,
) -> float:
    """Short-term learning from a reference price, computing the target and r_shout itself."""
    target = target_price(side, limit, estimate, r, theta, p_max, p_min)
    r_shout = aggressiveness_for(side, reference_price, limit, estimate, theta, p_max, p_min)
    return short_term_update(side, r, target, reference_price, r_shout, beta_1, lambda_r, lambda_a)


def _check_prices(prices: Sequence[float]) -> None:
    """A ValueError naming the argument unless `prices` is non-empty and all finite."""
    if len(prices) == 0:
        raise ValueError("prices must not be empty")
    for price in prices:
        _require("prices", price)


def equilibrium_estimate(prices: Sequence[float], omega: float) -> float:
    """p̂: the ω^k-weighted mean of `prices` (oldest first, k = 0 for the most recent).

    The caller passes the window (typically the last N_PRICES trades); ω = 1 gives the plain mean.
    """
    _check_prices(prices)
    _require("omega", omega, 0.0, 1.0)
    weights = [omega**k for k in range(len(prices) - 1, -1, -1)]
    return math.fsum(w * p for w, p in zip(weights, prices, strict=True)) / math.fsum(weights)


def smith_alpha(prices: Sequence[float], estimate: float) -> float:
    """Smith's alpha: the root-mean-square deviation of `prices` from p̂, relative to p̂."""
    _check_prices(prices)
    _check_estimate(estimate)
    return math.sqrt(math.fsum((p - estimate) ** 2 for p in prices) / len(prices)) / estimate


def theta_star(alpha_hat: float, theta_min: float, theta_max: float, gamma: float) -> float:
    """The theta long-term learning aims at: θmax in a calm market (α̂ = 0), θmin at α̂ = 1.

    gamma >= 0 is required: it keeps θ* within [θmin, θmax] and decreasing in α̂.
    """
    _require("alpha_hat", alpha_hat, 0.0, 1.0)
    _require("theta_min", theta_min)
    _require("theta_max", theta_max, theta_min)
    _require("gamma", gamma, 0.0)
    # θmin + (θmax − θmin)(1 − α̂·e^{γ(α̂ − 1)}), rearranged so that α̂ = 0 gives θmax exactly
    return theta_max - (theta_max - theta_min) * alpha_hat * math.exp(gamma * (alpha_hat - 1))


def long_term_update(
    theta: float,
    alpha: float,
    alpha_min: float,
    alpha_max: float,
    beta_2: float,
    theta_min: float,
    theta_max: float,
    gamma: float,
) -> float:
    """One step of long-term learning: theta moves by beta_2 towards θ*(α̂), within [θmin, θmax].

    α̂ = (α − α_min)/(α_max − α_min), clipped to [0, 1]. When α_max == α_min (e.g. after the first
    trade) the observed volatility has no spread to normalise by, so theta stays where it is
    (only clipped into range) rather than jumping to an arbitrary end.
    """
    _require("theta", theta)
    _require("alpha", alpha)
    _require("alpha_min", alpha_min)
    _require("alpha_max", alpha_max, alpha_min)
    _require("beta_2", beta_2, 0.0, 1.0)
    spread = alpha_max - alpha_min
    alpha_hat = min(max((alpha - alpha_min) / spread, 0.0), 1.0) if spread > 0 else 0.0
    goal = theta_star(alpha_hat, theta_min, theta_max, gamma)
    step = beta_2 if spread > 0 else 0.0  # no spread, no evidence: theta stays
    return min(max(theta + step * (goal - theta), theta_min), theta_max)
