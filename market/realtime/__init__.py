"""Real-time stages (one file each) and their registry, `REAL_TIME`."""

from market.realtime.base import REAL_TIME, RealTimeStage
from market.realtime import best_response, bilateral_rounds, concession_auction, vcg  # noqa: F401  (registration)

__all__ = ["REAL_TIME", "RealTimeStage"]
