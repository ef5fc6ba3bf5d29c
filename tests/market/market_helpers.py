"""Hypothesis strategies for order books and rules, shared by the market tests.

Prices and upload times come from small sets so that ties are common; quantities include zero.
"""

from __future__ import annotations

from collections import defaultdict

from hypothesis import strategies as st

from market.auction import Bid, ClearingResult, Rules

PRICES = st.sampled_from([250.0, 270.0, 300.0, 335.5, 350.0, 400.0, 520.0, 650.0])
QUANTITIES = st.one_of(st.just(0.0), st.floats(0.0, 60.0), st.sampled_from([1.0, 5.0, 10.0]))
TIMES = st.sampled_from([0.0, 1.0, 2.5])


def side(prefix: str, max_size: int = 6) -> st.SearchStrategy[list[Bid]]:
    """Bids of one side with distinct bidder names; may be empty."""
    return st.lists(
        st.tuples(QUANTITIES, PRICES, TIMES), min_size=0, max_size=max_size
    ).map(lambda rows: [Bid(f"{prefix}{k}", q, p, t) for k, (q, p, t) in enumerate(rows)])


def rules_for(matching: str) -> st.SearchStrategy[Rules]:
    """Rules of a random hour and concession set-up under one matching mode."""
    return st.builds(
        Rules,
        matching=st.just(matching),
        seller_concession=st.sampled_from([0.0, 0.05, 0.1, 0.3]),
        buyer_concession=st.sampled_from([0.0, 0.05, 0.1, 0.3]),
        concession_form=st.sampled_from(["multiplicative", "additive"]),
        clamp_to_band=st.booleans(),
        max_rounds=st.integers(1, 5),
        max_idle_rounds=st.integers(1, 3),
        tou_buy_per_mwh=st.sampled_from([270.0, 650.0, 1100.0]),
    )


def traded_by_round(result: ClearingResult) -> dict[int, dict[str, float]]:
    """round -> bidder -> MWh traded in that round (a bidder never sits on both sides)."""
    traded: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for trade in result.trades:
        traded[trade.round][trade.seller] += trade.quantity_mwh
        traded[trade.round][trade.buyer] += trade.quantity_mwh
    return traded


def close(a: float, b: float, scale: float = 1.0) -> bool:
    """Equal up to solver and summation round-off relative to `scale`."""
    return abs(a - b) <= 1e-7 * max(1.0, abs(scale))
