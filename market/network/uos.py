"""Use-of-system (UoS) charges by electrical distance (docs/network.md).

A trade from a seller at bus m to a buyer at bus n pays u = c * d_mn per MWh to the network
operator. The rate c is calibrated once per run so that the mean charge over all ordered pairs of
distinct participants equals a target (30 RMB/MWh by default), which keeps the charge's level a
scenario choice and its pattern a property of the network.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

SELLER_SHARE = {"equal": 0.5, "seller": 1.0}  # share of u the seller bears; the buyer bears the rest


def _pair_distances(distance: np.ndarray, participant_buses: Sequence[int]) -> np.ndarray:
    buses = np.asarray(participant_buses, dtype=np.int64)
    return np.asarray(distance, dtype=float)[np.ix_(buses, buses)]


def uos_rate(distance: np.ndarray, participant_buses: Sequence[int], mean_charge_per_mwh: float = 30.0) -> float:
    """c (RMB/MWh per unit of distance) making the mean of c * d over ordered pairs of distinct
    participants equal `mean_charge_per_mwh`. `participant_buses` are bus positions, one per
    participant (several may share a bus; such a pair has distance 0)."""
    if mean_charge_per_mwh < 0:
        raise ValueError(f"mean charge {mean_charge_per_mwh} RMB/MWh is negative")
    d = _pair_distances(distance, participant_buses)
    n = d.shape[0]
    if n < 2 or mean_charge_per_mwh == 0:
        return 0.0  # no pair to charge, or no charge asked for
    mean = (d.sum() - np.trace(d)) / (n * (n - 1))
    if mean <= 0:
        raise ValueError("all participants sit at one bus, so no distance-based rate can reach the mean charge")
    return float(mean_charge_per_mwh / mean)


def uos_charges(distance: np.ndarray, participant_buses: Sequence[int], rate: float) -> np.ndarray:
    """Participants x participants, RMB/MWh: u_ij = rate * d between their buses (0 on the diagonal)."""
    u = rate * _pair_distances(distance, participant_buses)
    np.fill_diagonal(u, 0.0)
    return u


def split_prices(ask: np.ndarray, bid: np.ndarray, uos: np.ndarray, split: str = "equal") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(trade price, seller receives, buyer pays) per MWh. Each side gets half of the net surplus
    b - a - u (§B.3.3's midpoint): the seller receives (a + b)/2 - u/2 and the buyer pays
    (a + b)/2 + u/2, both within their limits whenever b - a >= u. `split` says who is billed the
    charge, and so the price written on the trade: `equal` bills half each at the midpoint price,
    `seller` bills the seller all of u at the price (a + b)/2 + u/2."""
    if split not in SELLER_SHARE:
        raise ValueError(f"unknown UoS split {split!r}; choose from {', '.join(SELLER_SHARE)}")
    mid = (np.asarray(ask, dtype=float) + np.asarray(bid, dtype=float)) / 2
    u = np.asarray(uos, dtype=float)
    receives, pays = mid - u / 2, mid + u / 2
    return receives + SELLER_SHARE[split] * u, receives, pays
