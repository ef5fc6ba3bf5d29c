"""Settling forecast errors after delivery (§B.3.6): what was metered against what was traded.

A DNO bids at gate closure on what it expects its deviation to be; after the hour the metering
party reports what it actually supplied or drew. The difference is settled per DNO, for any
real-time market:

* a seller that delivers less than it sold P2P: the grid supplies its buyers the shortfall and the
  seller pays the TOU price for it, plus a penalty per MWh on the part of the shortfall beyond the
  tolerance band (a share of its contracted volume) only; its buyers pay their contract price;
* a seller that delivers more: the surplus is sold to the grid at the feed-in price;
* a buyer that draws more than it bought: the extra is bought from the grid at TOU;
* a buyer that draws less: take-or-pay at the contract price, and what it did not take is sold to
  the grid at the feed-in price for its account.

Delivery goes to P2P contracts first, then to the grid: the residual the clearing already settled
with the grid is corrected to what was metered (more or less sold or bought at the same prices).
Penalties are paid to the market operator. Per trade the penalty is the same as here: shortfall
shared pro rata over a seller's trades leaves each beyond its own band by the same fraction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pydantic import Field

from market.stages import StageParams


class DeliveryParams(StageParams):
    """`design.delivery`: whether forecast errors are settled after delivery, and how."""

    settle: bool = Field(False, description="bid at gate closure on the expected deviation and settle what is "
                         "metered after the hour; false: bids are placed on the hour's actuals (the paper); [R] §B.3.6")
    tolerance: float = Field(0.05, ge=0, lt=1, description="penalty-free band, share of contracted P2P volume; [A] §B.3.6")
    penalty_tou_share: float = Field(0.1, ge=0, le=10, description="penalty per MWh of shortfall beyond the band, "
                                     "as a share of the hour's TOU price; [A] §B.3.6")


@dataclass(frozen=True)
class Contracted:
    """What a DNO's hour settled at clearing: P2P volumes sold and bought, and the residuals the
    grid took (bought from it at feed-in) or supplied (sold to it at TOU)."""

    p2p_sold_mwh: float = 0.0
    p2p_bought_mwh: float = 0.0
    grid_took_mwh: float = 0.0
    grid_supplied_mwh: float = 0.0


@dataclass(frozen=True)
class DeliverySettlement:
    """One DNO's correction for one hour. Volumes are the grid's beyond what the clearing settled:
    `grid_sold_mwh` at TOU (replacement of a shortfall, extra draw; negative: a purchase it did not
    need), `grid_bought_mwh` at feed-in (surplus, untaken P2P energy; negative: a sale it did not
    deliver)."""

    shortfall_mwh: float
    penalty_rmb: float
    grid_sold_mwh: float
    grid_bought_mwh: float
    grid_rmb: float  # net the DNO pays the grid: TOU x grid_sold - feed-in x grid_bought

    @property
    def cost_rmb(self) -> float:
        """What the forecast error cost the DNO beyond its cleared settlement."""
        return self.grid_rmb + self.penalty_rmb


def settle_delivery(contracted: Contracted, supplied_mwh: float, drawn_mwh: float, tou_per_mwh: float,
                    feed_in_per_mwh: float, params: DeliveryParams, tolerance_mwh: float = 0.0) -> DeliverySettlement:
    """The correction for a DNO that cleared `contracted` and was metered supplying `supplied_mwh`
    (its actual deviation as a seller) and drawing `drawn_mwh` (as a buyer; one of them is 0).
    Volumes within `tolerance_mwh` of what cleared count as exact (no dust settlements)."""
    if supplied_mwh < 0 or drawn_mwh < 0:
        raise ValueError("metered volumes are magnitudes: supplied_mwh and drawn_mwh must be >= 0")
    c = contracted

    def snap(mwh: float) -> float:
        return 0.0 if abs(mwh) <= tolerance_mwh else mwh

    to_contracts = min(supplied_mwh, c.p2p_sold_mwh)
    shortfall = snap(c.p2p_sold_mwh - to_contracts)
    from_contracts = min(drawn_mwh, c.p2p_bought_mwh)
    untaken = snap(c.p2p_bought_mwh - from_contracts)
    grid_sold = snap(shortfall + (drawn_mwh - from_contracts) - c.grid_supplied_mwh)
    grid_bought = snap(untaken + (supplied_mwh - to_contracts) - c.grid_took_mwh)
    penalty = params.penalty_tou_share * tou_per_mwh * max(0.0, shortfall - params.tolerance * c.p2p_sold_mwh)
    grid_rmb = math.fsum((tou_per_mwh * grid_sold, -feed_in_per_mwh * grid_bought))
    return DeliverySettlement(shortfall, penalty, grid_sold, grid_bought, grid_rmb)
