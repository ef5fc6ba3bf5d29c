"""Use-of-system charges: calibration to the mean, the split, and the charge steering the clearing
from distant to near pairs at equal welfare."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from market.network.congestion import Trades, exact
from market.network.feeder import Feeder
from market.network.uos import split_prices, uos_charges, uos_rate
from network_helpers import feeders


@given(feeders(min_buses=3), st.data(), st.floats(0.0, 200.0))
def test_mean_charge_over_ordered_pairs_is_the_target(feeder, data, target):
    buses = data.draw(st.lists(st.integers(0, feeder.n_buses - 1), min_size=2, max_size=8))
    if len(set(buses)) == 1:
        buses.append((buses[0] + 1) % feeder.n_buses)
    d = feeder.resistance_distance()
    u = uos_charges(d, buses, uos_rate(d, buses, target))
    n = len(buses)
    assert (u.sum() - np.trace(u)) / (n * (n - 1)) == pytest.approx(target, rel=1e-9, abs=1e-9)
    assert np.all(u >= 0) and np.allclose(u, u.T) and np.all(np.diag(u) == 0)
    scaled = uos_charges(3 * d, buses, uos_rate(3 * d, buses, target))
    assert np.allclose(scaled, u), "only the pattern of distances matters, not their unit"


def test_rate_edge_cases():
    d = np.array([[0.0, 2.0], [2.0, 0.0]])
    assert uos_rate(d, [0, 1], 0.0) == 0.0 and uos_rate(d, [1], 30.0) == 0.0
    assert uos_rate(d, [0, 1], 30.0) == 15.0
    with pytest.raises(ValueError, match="all participants sit at one bus"):
        uos_rate(d, [1, 1, 1], 30.0)
    with pytest.raises(ValueError, match="negative"):
        uos_rate(d, [0, 1], -1.0)


@given(st.floats(200, 700), st.floats(200, 700), st.floats(0, 80), st.sampled_from(["equal", "seller"]))
def test_split_moves_exactly_the_charge_to_the_network_operator(ask, bid, u, split):
    price, receives, pays = split_prices(np.array([ask]), np.array([bid]), np.array([u]), split)
    assert pays[0] - receives[0] == pytest.approx(u, abs=1e-9)
    mid = (ask + bid) / 2
    assert receives[0] == pytest.approx(mid - u / 2) and pays[0] == pytest.approx(mid + u / 2)
    if bid - ask >= u:  # a tradable pair: both sides within their limits
        assert ask - 1e-9 <= receives[0] and pays[0] <= bid + 1e-9
    billed = 0.5 if split == "equal" else 1.0  # the seller's bill out of the price
    assert price[0] - billed * u == pytest.approx(receives[0]) and price[0] + (1 - billed) * u == pytest.approx(pays[0])


def test_unknown_split_is_named():
    with pytest.raises(ValueError, match="unknown UoS split 'buyer'"):
        split_prices(np.zeros(1), np.zeros(1), np.zeros(1), "buyer")


def test_charge_switches_the_clearing_from_a_distant_to_a_near_pair_at_equal_welfare():
    """One buyer at the feeder's end; two sellers asking the same, one next to it and one near the
    slack. Without a charge both pairs are worth the same (the earlier, distant one is taken);
    with the charge the near pair wins, and the energy welfare b - a is unchanged."""
    feeder = Feeder(buses=(0, 1, 2, 3), slack_bus=0, lines=(0, 1, 2), from_bus=(0, 1, 2), to_bus=(1, 2, 3),
                    r_ohm=(0.3, 0.3, 0.3), x_ohm=(0.2, 0.2, 0.2), limit_mw=(5.0,) * 3, base_kv=11.0)
    far, near, buyer = 1, 2, 3  # bus positions
    d = feeder.resistance_distance()
    participants = [far, near, buyer]
    gross = np.array([60.0, 60.0])  # bid - ask of (far -> buyer) and (near -> buyer)

    def clear(mean_charge: float) -> np.ndarray:
        u = uos_charges(d, participants, uos_rate(d, participants, mean_charge))
        trades = Trades(np.array([0, 1]), np.array([0, 0]), np.array([far, near]), np.array([buyer, buyer]),
                        np.array([1.0, 1.0]), gross - np.array([u[0, 2], u[1, 2]]))
        return exact(None, trades, seller_cap_mw=np.array([1.0, 1.0]), buyer_cap_mw=np.array([1.0])).quantity_mw

    without, with_charge = clear(0.0), clear(30.0)
    assert without.tolist() == [1.0, 0.0] and with_charge.tolist() == [0.0, 1.0]
    assert gross @ without == gross @ with_charge
