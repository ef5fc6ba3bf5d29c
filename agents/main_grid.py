"""The main grid: counterparty of last resort at the TOU and feed-in prices (§A.7)."""

from __future__ import annotations

import mesa


class MainGrid(mesa.Agent):
    """Takes every compulsory trade; keeps its volumes and takings."""

    name = "main_grid"

    def __init__(self, model: mesa.Model, tariff) -> None:
        super().__init__(model)
        self.tariff = tariff
        self.sold_mwh = 0.0  # to DNOs, at the TOU price
        self.bought_mwh = 0.0  # from DNOs, at the feed-in price
        self.net_rmb = 0.0  # what DNOs paid it minus what it paid them

    def take(self, side: str, quantity_mwh: float, price_per_mwh: float) -> None:
        """Book one compulsory trade; `side` is the DNO's ("sell" to the grid or "buy" from it)."""
        if side == "buy":
            self.sold_mwh += quantity_mwh
            self.net_rmb += quantity_mwh * price_per_mwh
        else:
            self.bought_mwh += quantity_mwh
            self.net_rmb -= quantity_mwh * price_per_mwh

    def settle_delivery(self, sold_mwh: float, bought_mwh: float, net_rmb: float) -> None:
        """Book a forecast error settled after delivery: energy it supplied (or no longer had to) at
        TOU, energy it took (or no longer got) at feed-in, and the net money (market.delivery)."""
        self.sold_mwh += sold_mwh
        self.bought_mwh += bought_mwh
        self.net_rmb += net_rmb
