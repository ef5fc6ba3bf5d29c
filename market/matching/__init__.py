"""Winner-determination modes of one round: merit_order, pairwise_rounds, block (§A.5.3) and
net_surplus_greedy (§B.3.3's on-chain rule).

Each mode is a stateless function from the round's book to fills; the auction turns fills into
trades, so pricing and bookkeeping are shared and every mode is judged by the same tests.
"""

from market.matching import block, merit_order, net_surplus_greedy, pairwise_rounds  # noqa: F401  (registration)
from market.matching.registry import MATCHERS, Fill, Matcher, register

__all__ = ["MATCHERS", "Fill", "Matcher", "register"]
