"""The columnar clearing of the default hour gives, bit for bit, what the round loop gives.

The round loop (`market.auction._round_loop`, which every other mode still runs) is the
reference: same trades in the same order, same round books, same residuals, compared as the hex
of every float so a different rounding or a -0.0 for a 0.0 fails. Books draw prices and upload
times from small sets so ties (and the name tie-break) are common, with negative and zero prices,
quantities under the tolerance, both concession forms, clamping and long idle stretches.
"""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from market.auction import Bid, Rules, _round_loop, clear_hour
from market.book import RoundBook, Trade
from market.columnar_clearing import Deferred, DeferredDict

PRICES = st.sampled_from([-50.0, -0.0, 0.0, 120.5, 270.0, 400.0, 525.0, 650.0]) | st.floats(-100, 900)
QUANTITIES = st.sampled_from([0.0, 1e-9, 0.5, 1.0, 2.5]) | st.floats(0, 30)


@st.composite
def books(draw):
    names = draw(st.lists(st.text("abAB\u00e9 ", min_size=1, max_size=3), min_size=0, max_size=24, unique=True))
    split = draw(st.integers(0, len(names)))
    hour = draw(st.sampled_from([None, 7]))
    as_numpy = draw(st.booleans())  # bid rules price with numpy, so books hold np.float64 too
    number = np.float64 if as_numpy else float

    def bid(name: str) -> Bid:
        return Bid(name, number(draw(QUANTITIES)), number(draw(PRICES)),
                   number(draw(st.sampled_from([0.0, 0.25, 0.5]))), hour=hour)

    return [bid(n) for n in names[:split]], [bid(n) for n in names[split:]]


@st.composite
def rules(draw):
    tou, feed_in = draw(st.sampled_from([(270.0, 400.0), (650.0, 400.0), (400.0, 400.0)]))
    return Rules(
        tou_buy_per_mwh=tou, feed_in_per_mwh=feed_in,
        seller_concession=draw(st.sampled_from([0.0, 0.05, 0.3])),
        buyer_concession=draw(st.sampled_from([0.0, 0.05, 0.3])),
        concession_form=draw(st.sampled_from(["multiplicative", "additive"])),
        clamp_to_band=draw(st.booleans()),
        max_rounds=draw(st.integers(1, 12)), max_idle_rounds=draw(st.integers(1, 4)),
    )


def exact(value) -> object:
    """Floats as their hex (sign of zero and every bit), everything else as it is."""
    return float(value).hex() if isinstance(value, float) else value


def trade_bits(trade: Trade) -> tuple:
    return tuple(exact(getattr(trade, f)) for f in Trade.__slots__)


def book_bits(book: RoundBook) -> tuple:
    return book.round, [[tuple(exact(getattr(b, f)) for f in Bid.__slots__) for b in side] for side in (book.offers, book.bids)]


@settings(max_examples=400, deadline=None)
@given(books(), rules())
def test_columnar_clearing_matches_the_round_loop_bit_for_bit(book, rules):
    offers, bids = book
    fast = clear_hour(offers, bids, rules)
    reference = _round_loop(tuple(offers), tuple(bids), rules, None, None)
    assert isinstance(fast.trades, Deferred)  # the fast path ran
    assert [trade_bits(t) for t in fast.trades] == [trade_bits(t) for t in reference.trades]
    assert [book_bits(b) for b in fast.rounds] == [book_bits(b) for b in reference.rounds]
    assert [(k, exact(v)) for k, v in fast.residual_by_hour.items()] == \
        [(k, exact(v)) for k, v in reference.residual_by_hour.items()]
    assert fast == reference and fast.welfare_rmb == reference.welfare_rmb


def test_books_it_cannot_read_exactly_take_the_round_loop():
    """Integers, block bids and bad books keep the loop, which names the fault."""
    result = clear_hour([Bid("s", 1, 100)], [Bid("b", 1, 300)])
    assert type(result.trades) is tuple and type(result.trades[0].quantity_mwh) is int
    with pytest.raises(ValueError, match="more than one bid"):
        clear_hour([Bid("a", 1.0, 1.0), Bid("a", 2.0, 2.0)], [Bid("b", 1.0, 3.0)])
    with pytest.raises(ValueError, match="both sells and buys"):
        clear_hour([Bid("a", 1.0, 1.0)], [Bid("a", 1.0, 3.0)])
    with pytest.raises(ValueError, match="need matching='block'"):
        clear_hour([Bid("a", 1.0, 1.0, hour=1)], [Bid("b", 1.0, 3.0, hour=2)])


def test_deferred_results_read_like_tuples_and_dicts():
    result = clear_hour([Bid("s", 2.0, 100.0)], [Bid("b", 1.0, 300.0)], Rules(max_rounds=2))
    assert isinstance(result.trades, Deferred) and isinstance(result.residual_by_hour, DeferredDict)
    assert result.trades == (Trade("s", "b", 1, 1.0, 200.0, 100.0, 300.0),) == tuple(result.trades)
    assert result.rounds[1:] == () and len(result.rounds) == 1 and result.rounds[0].offers[0].bidder == "s"
    assert result.residual_by_hour == {("s", None): 1.0, ("b", None): 0.0} and result.residual == {"s": 1.0, "b": 0.0}
    assert result.trades != (Trade("s", "b", 1, 1.0, 201.0, 100.0, 300.0),) and result.trades != "s"
    sent = pickle.loads(pickle.dumps(result))  # to another process, as plain tuples and dicts
    assert sent == result and type(sent.trades) is tuple and type(sent.residual_by_hour) is dict
    assert copy.deepcopy(result) == result
