"""Mechanism parameters of §A.13, with units, defaults and source tags.

One pydantic model shared by the scenario schema (its `mechanism:` block) and the auction's
`Rules`, so each default lives in exactly one place. Tags: [P] paper, [R] reconstruction,
[L] literature, [A] assumption (docs/rules.md, provenance tags).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from market.limits import MAX_PRICE_PER_MWH


class MechanismParams(BaseModel):
    """How bids are priced, matched, conceded and settled (§A.4-A.9, decisions §A.13).

    Strict like every stage's parameters (market/stages.py): numbers finite and never booleans,
    rates in [0, 1), money at most 100 000 RMB/MWh (market/limits.py).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)

    # §A.4 bid prices
    bid_price_rule: str = Field(
        "band_interpolation",
        description="initial bid-price rule: band_interpolation (R1), anchor_scaling (R2) or band_interpolation_net "
        "(R1 within the band of the two sides' reservation prices, net of fees and compensation); [R] §A.4, [A] net",
    )
    ratio_scope: Literal["own", "market"] = Field(
        "own", description="quantity ratio against own capacity/load or the market's; [R] §A.4.2"
    )
    price_adjustment_k: float = Field(
        0.5, ge=0, le=1, description="adjustment coefficient k, dimensionless; [P] §A.4.1"
    )
    participation: str = Field(
        "always", description="who offers its deviation: always (every DNO, the paper's) or rational (only when "
        "the band's middle price, net of its fee share and any compensation, beats the grid); [P] §A.4 always, "
        "[A] rational")
    # §A.5 matching
    matching: str = Field(
        "merit_order",
        description="winner determination: merit_order, pairwise_rounds, block or net_surplus_greedy; [R] §A.5.3, §A.13.2, §B.3.3",
    )
    block_solver: Literal["HIGHS", "GSCIP"] = Field(
        "HIGHS",
        description="MathOpt MIP solver for the block winner determination (never CP-SAT); [A] §A.13.2",
    )
    # §A.6 concession
    seller_concession: float = Field(
        0.05, ge=0, lt=1, description="seller concession rate per round, fraction in [0, 1); [A] §A.6.2"
    )
    buyer_concession: float = Field(
        0.05, ge=0, lt=1, description="buyer concession rate per round, fraction in [0, 1); [A] §A.6.2"
    )
    concession_form: Literal["multiplicative", "additive"] = Field(
        "multiplicative", description="price update form between rounds; [A] §A.6.2"
    )
    max_rounds: int = Field(3, ge=1, le=1000, description="rounds per hour including the first, at most 1000; [P] §A.6.2")
    clamp_to_band: bool = Field(
        False, description="clamp conceded prices to the tariff band; [A] §A.6.2"
    )
    max_idle_rounds: int = Field(
        3,
        ge=1,
        le=1000,
        description="stop after this many consecutive rounds with no trade and no price move; [A] §A.6.3",
    )
    # §A.8 compensation
    valley_compensation_per_mwh: float = Field(
        100.0, ge=0, le=MAX_PRICE_PER_MWH, description="paid to both sides of a valley trade, RMB/MWh; [P] §A.8"
    )
    comp_payer: Literal["platform", "pro_rata_dnos"] = Field(
        "platform",
        description="who funds valley compensation: the platform's fee pool, or the DNOs pro rata "
        "to their daily P2P volume; [R/A] §A.8",
    )
    # §A.9 fees
    service_fee_per_mwh: float = Field(
        100.0, ge=0, le=MAX_PRICE_PER_MWH, description="blockchain service fee per traded MWh, RMB/MWh; [P] §A.9"
    )
    fee_payer: Literal["split", "buyer", "seller", "both"] = Field(
        "split", description="who pays the service fee; [A] §A.9"
    )
    sched_fee_share: float = Field(
        0.2, ge=0, le=1, description="share of platform revenue paid to DNOs as scheduling fee; [P] §A.9"
    )
    sched_fee_base: Literal["gross_fees", "net_of_compensation"] = Field(
        "gross_fees",
        description="base of the scheduling fee (a negative net base pays no fee); [A] §A.9",
    )
    sched_fee_allocation: Literal["pro_rata", "equal"] = Field(
        "pro_rata", description="how the scheduling fee is shared among DNOs; [A] §A.9"
    )
    # §A.10 scenario switches
    p2p_enabled: bool = Field(
        True, description="False settles every quantity with the grid (scenario S0); [P] §A.10"
    )
    valley_p2p: bool = Field(
        True, description="False settles valley hours with the grid (scenario S3); [P] §A.10"
    )
    # §A.13.7 upload order
    upload_order: Literal["network", "index", "random"] = Field(
        "network",
        description="bid timestamps: proposer receipt time, DNO index order, or seeded permutation; [A] §A.13.7",
    )
    # §A.3 the deviation
    deviation_rule: Literal["magnitude", "signed_gap"] = Field(
        "magnitude", description="the DAF-IDO quantity: magnitude Q = |P_ID| - |P_DA| (the paper's; a reversal "
        "-9 -> +9 MW trades nothing) or signed_gap Q = P_ID - P_DA (a reversal trades its whole change); "
        "[R] §A.3.2, [A] signed_gap")
    quantity_tolerance_mwh: float = Field(
        1e-6, gt=0, le=1, description="|Q| below this is zero, MWh, at most 1; [A] §A.3.2"
    )

    # fields added after chains were founded: a genesis document carries them only when they are not
    # the default, so a chain of the default mechanism keeps its bytes
    LATER_FIELDS: ClassVar[tuple[str, ...]] = ("deviation_rule", "participation")

    def document(self) -> dict:
        """The parameters as a chain's genesis document writes them."""
        doc = self.model_dump(mode="json")
        for name in self.LATER_FIELDS:
            if doc[name] == type(self).model_fields[name].default:
                del doc[name]
        return doc

    @field_validator("bid_price_rule")
    @classmethod
    def _known_bid_price_rule(cls, value: str) -> str:
        from market.bidding import BID_PRICE_RULES  # lazy: rules refer back to Rules(params)

        return _known(value, BID_PRICE_RULES)

    @field_validator("participation")
    @classmethod
    def _known_participation(cls, value: str) -> str:
        from market.participation import PARTICIPATION

        return _known(value, PARTICIPATION)

    @field_validator("matching")
    @classmethod
    def _known_matching(cls, value: str) -> str:
        from market.matching import MATCHERS  # lazy: matchers refer back to Rules(params)

        return _known(value, MATCHERS)


def _known(value: str, registry: Mapping[str, object]) -> str:
    """One clear message for a name missing from a registry."""
    if value not in registry:
        raise ValueError(f"unknown {value!r}; known: {', '.join(sorted(registry))}")
    return value
