"""Winner-determination modes of one round: merit_order, pairwise_rounds and block (SPEC A.5.3).

Each mode is a stateless function from the round's book to fills; the auction turns fills into
trades, so pricing and bookkeeping are shared and every mode is judged by the same tests.
"""

from market.matching import block, merit_order, pairwise_rounds  # noqa: F401  (registration)
from market.matching.registry import MATCHERS, Fill, Matcher, register

__all__ = ["MATCHERS", "Fill", "Matcher", "register"]
