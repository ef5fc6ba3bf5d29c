"""How participants price their bids: the paper's first-round price rules (`price_rules`), and
bid strategies that adapt round by round (`aa`, the adaptive-aggressiveness target price)."""

from market.bidding.price_rules import BID_PRICE_RULES, RATIO_SCOPES, Position, price_bids, quantity_ratio

__all__ = ["BID_PRICE_RULES", "RATIO_SCOPES", "Position", "price_bids", "quantity_ratio"]
