"""A day's settlement (§A.7-A.10): the whole system's money balances, and the S1-S2 gap is
exactly the valley compensation."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from market.auction import Rules
from market.bidding import Position, price_bids
from market.params import MechanismParams
from market.settlement import HourBook, settle_day
from market.tariff import Tariff
from market.variants import variant

DNOS = ("DN1", "DN2", "DN3", "DN4")
TARIFF = Tariff()
QUANTITIES = st.sampled_from([-20.0, -7.5, -1.0, 0.0, 3.0, 12.5])  # + buy, - sell, MWh


@st.composite
def day_books(draw) -> list[HourBook]:
    """Hours with a DAF-IDO quantity per DNO (+ buy, - sell, 0 idle), priced by the default rule."""
    books = []
    for hour in draw(st.lists(st.integers(1, 24), min_size=1, max_size=5, unique=True)):
        rules = Rules.for_hour(MechanismParams(), TARIFF, hour)
        quantities = draw(st.lists(QUANTITIES, min_size=4, max_size=4))
        scales = draw(st.lists(st.sampled_from([10.0, 40.0]), min_size=4, max_size=4))
        rows = [(k, name, q, scale) for k, (name, q, scale) in enumerate(zip(DNOS, quantities, scales))]
        sellers, buyers = price_bids(
            [Position(name, -q, scale, float(k)) for k, name, q, scale in rows if q < 0],
            [Position(name, q, scale, float(k)) for k, name, q, scale in rows if q > 0],
            rules,
        )
        books.append(HourBook(hour, tuple(sellers), tuple(buyers)))
    return books


PARAMS = st.builds(
    MechanismParams,
    matching=st.sampled_from(["merit_order", "pairwise_rounds"]),
    seller_concession=st.sampled_from([0.05, 0.2]),
    buyer_concession=st.sampled_from([0.05, 0.2]),
    valley_compensation_per_mwh=st.sampled_from([0.0, 100.0, 180.0]),
    service_fee_per_mwh=st.sampled_from([0.0, 100.0]),
    fee_payer=st.sampled_from(["split", "buyer", "seller", "both"]),
    comp_payer=st.sampled_from(["platform", "pro_rata_dnos"]),
    sched_fee_base=st.sampled_from(["gross_fees", "net_of_compensation"]),
    sched_fee_allocation=st.sampled_from(["pro_rata", "equal"]),
)


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(1.0, abs(a), abs(b))


@settings(max_examples=150)
@given(books=day_books(), params=PARAMS, name=st.sampled_from(["S0", "S1", "S2", "S3"]))
def test_whole_system_money_balance_is_zero(books, params, name):
    day = settle_day(books, TARIFF, variant(params, name), members=DNOS)
    dnos = sum(a.revenue_rmb for a in day.accounts.values())
    assert _close(dnos + day.grid_net_rmb + day.platform.net_rmb, 0.0)
    for account in day.accounts.values():  # every MWh went P2P or to the grid
        assert _close(account.p2p_volume_mwh + account.grid_volume_mwh, account.deviation_mwh)
        assert name != "S0" or _close(account.gain_rmb, 0.0)  # S0 is the baseline itself


@settings(max_examples=100)
@given(books=day_books(), params=PARAMS)
def test_s1_minus_s2_is_compensation_rate_times_valley_volume(books, params):
    """With the platform funding compensation and the scheduling fee on gross fees, nothing but
    the compensation depends on its rate, so R(S1) - R(S2) = c_v * V_valley for every DNO."""
    params = params.model_copy(update={"comp_payer": "platform", "sched_fee_base": "gross_fees"})
    s1 = settle_day(books, TARIFF, variant(params, "S1"), members=DNOS)
    s2 = settle_day(books, TARIFF, variant(params, "S2"), members=DNOS)
    rate = params.valley_compensation_per_mwh
    for name in DNOS:
        a1, a2 = s1.accounts[name], s2.accounts[name]
        assert a1.valley_volume_mwh == a2.valley_volume_mwh
        assert _close(a1.revenue_rmb - a2.revenue_rmb, rate * a1.valley_volume_mwh)
