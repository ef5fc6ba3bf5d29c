"""The main grid's time-of-use tariff and feed-in price (§A.2.1, §A.11.2, §A.13.4, §A.13.6).

A DNO buys from the main grid at the TOU price of the hour's period and sells to it at the
feed-in price (flat by default, a 24-value series allowed). Hours are numbered 1..24.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from market.limits import MAX_PRICE_PER_MWH

HOURS = 24
_STRICT = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)
Period = Literal["valley", "flat", "peak"]

# §A.11.2 assumed split: valley {1..7, 24}, peak {9..12, 18..21}, flat otherwise.
_DEFAULT_VALLEY = frozenset({1, 2, 3, 4, 5, 6, 7, 24})
_DEFAULT_PEAK = frozenset({9, 10, 11, 12, 18, 19, 20, 21})


def default_periods() -> list[str]:
    """The TOU period of each hour 1..24 under §A.11.2."""
    return [
        "valley" if t in _DEFAULT_VALLEY else "peak" if t in _DEFAULT_PEAK else "flat"
        for t in range(1, HOURS + 1)
    ]


class TouPrices(BaseModel):
    """Purchase price from the main grid in each TOU period, each in [0, 100 000] RMB/MWh."""

    model_config = _STRICT

    valley_per_mwh: float = Field(270.0, ge=0, le=MAX_PRICE_PER_MWH, description="RMB/MWh; [P] §A.11.1 (hour 2's grid price)")
    flat_per_mwh: float = Field(
        650.0, ge=0, le=MAX_PRICE_PER_MWH, description="RMB/MWh; [A] §A.11.2 assumed default")
    peak_per_mwh: float = Field(
        1100.0, ge=0, le=MAX_PRICE_PER_MWH, description="RMB/MWh; [A] §A.11.2 assumed default")


class Tariff(BaseModel):
    """TOU purchase tariff by period plus the feed-in (grid purchase) price."""

    model_config = _STRICT

    periods: list[Period] = Field(
        default_factory=default_periods,
        min_length=HOURS,
        max_length=HOURS,
        description="TOU period of hours 1..24; [A] §A.11.2",
    )
    prices: TouPrices = Field(default_factory=TouPrices, description="TOU purchase prices, RMB/MWh")
    feed_in_per_mwh: float | list[float] = Field(
        400.0,
        description="price the grid pays a DNO, RMB/MWh in [0, 100 000], flat or 24 values; [R] §A.11.1",
    )

    @field_validator("feed_in_per_mwh")
    @classmethod
    def _feed_in_shape(cls, value: float | list[float]) -> float | list[float]:
        values = value if isinstance(value, list) else [value]
        if isinstance(value, list) and len(value) != HOURS:
            raise ValueError(f"needs {HOURS} hourly values, got {len(value)}")
        if any(not 0 <= v <= MAX_PRICE_PER_MWH for v in values):
            raise ValueError(f"must be in [0, {MAX_PRICE_PER_MWH:,.0f}] RMB/MWh")
        return value

    def buy_per_mwh(self) -> np.ndarray:
        """TOU purchase price of hours 1..24 (index 0 is hour 1)."""
        table = {
            "valley": self.prices.valley_per_mwh,
            "flat": self.prices.flat_per_mwh,
            "peak": self.prices.peak_per_mwh,
        }
        return np.array([table[p] for p in self.periods], dtype=float)

    def sell_per_mwh(self) -> np.ndarray:
        """Feed-in price of hours 1..24 (index 0 is hour 1)."""
        if isinstance(self.feed_in_per_mwh, list):
            return np.array(self.feed_in_per_mwh, dtype=float)
        return np.full(HOURS, float(self.feed_in_per_mwh))

    def is_valley(self, hour: int) -> bool:
        """Whether hour (1..24) is a valley hour (valley compensation applies, §A.8)."""
        return self.periods[hour - 1] == "valley"
