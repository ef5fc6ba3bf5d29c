"""Double credit (§B.2.4): transaction credit TC and node credit NC, their updates and gates.

Credit decides who may stand for leader and how soon (election timeouts), whether a vote is
granted, and when followers stop accepting a leader; it never changes the majority rule, which is
what Raft's safety rests on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ledger.network import NodeIndex


class CreditParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)
    w_transaction: float = Field(0.5, ge=0, le=1, description="weight w_T of TC in the composite; [A] §B.2.4")
    w_node: float = Field(0.5, ge=0, le=1, description="weight w_N of NC in the composite; [A] §B.2.4")
    theta_transaction: float = Field(0.6, ge=0, le=1, description="TC needed to stand; [A] §B.2.4")
    theta_node: float = Field(0.6, ge=0, le=1, description="NC needed to stand or stay leader; [A] §B.2.4")
    theta_composite: float = Field(0.6, ge=0, le=1, description="candidate CC needed for a vote; [A] §B.2.4")
    vote_needs_higher_credit: bool = Field(False, description="option: grant only if CC_cand >= CC_voter; [A]")
    a_plus: float = Field(0.02, ge=0, le=1, description="TC gain per fulfilled share, in [0, 1]; [A] §B.2.4")
    a_minus: float = Field(0.1, ge=0, le=1, description="TC loss per deviation or late payment, in [0, 1]; [A] §B.2.4")
    b_plus: float = Field(0.01, ge=0, le=1, description="NC gain per good epoch, in [0, 1]; [A] §B.2.4")
    b_minus: float = Field(0.1, ge=0, le=1, description="NC loss per timeout or invalid block, in [0, 1]; [A] §B.2.4")
    initial: float = Field(0.8, ge=0, le=1, description="starting TC and NC; [A] §B.2.4")
    theta_trade: float = Field(
        0.6, ge=0, le=1, description="TC a DNO needs for its bids to enter the market; [A] §B.2.4")
    delivery_tolerance: float = Field(
        0.05, ge=0, le=1, description="metered delivery may differ from the contracted volume by this share; [A] §B.3.6")
    timeout_blocks: int = Field(
        3, ge=1, le=10_000, description="blocks in a row a validator missing from the commit evidence has timed out; "
        "each further miss is another timeout; [A]")


@dataclass(frozen=True)
class Credit:
    transaction: float
    node: float

    def composite(self, p: CreditParams) -> float:
        return p.w_transaction * self.transaction + p.w_node * self.node


def _clip(x: float) -> float:
    return min(1.0, max(0.0, x))


def update_transaction_credit(c: Credit, fulfilled_share: float, violated: bool, p: CreditParams) -> Credit:
    return Credit(_clip(c.transaction + p.a_plus * fulfilled_share - p.a_minus * violated), c.node)


def update_node_credit(c: Credit, behaved: bool, misbehaved: bool, p: CreditParams) -> Credit:
    return Credit(c.transaction, _clip(c.node + p.b_plus * behaved - p.b_minus * misbehaved))


def may_stand(c: Credit, p: CreditParams) -> bool:
    """Constraint 1: only nodes with enough of both credits may become candidates."""
    return c.transaction >= p.theta_transaction and c.node >= p.theta_node


def may_grant_vote(candidate: Credit, voter: Credit, p: CreditParams) -> bool:
    """Constraint 2 (on top of Raft's term and log checks)."""
    cc = candidate.composite(p)
    return cc >= p.theta_composite and (not p.vote_needs_higher_credit or cc >= voter.composite(p))


def may_lead(c: Credit, p: CreditParams) -> bool:
    """Constraint 4: followers stop accepting a leader whose node credit has fallen too low."""
    return c.node >= p.theta_node


def election_timeout_ms(c: Credit, p: CreditParams, min_ms: float, max_ms: float, jitter_ms: float,
                        rng: np.random.Generator) -> float:
    """Constraint 3: tau = tau_min + (tau_max - tau_min)(1 - CC) + U(0, j); high credit stands first."""
    return min_ms + (max_ms - min_ms) * (1.0 - c.composite(p)) + float(rng.uniform(0.0, jitter_ms))


Unit = Annotated[float, Field(ge=0, le=1)]


class _Switch(BaseModel):
    enabled: bool = Field(False, description="keep double credit on chain and let it gate bids and Raft; [A]")


class ChainCredit(CreditParams, _Switch):  # bases in this order put `enabled` first in the block
    """Double credit kept on chain by the credit contract: a scenario's `ledger.credit` block.

    Off by default, so a chain without it is byte for byte the chain it was before credit existed.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)
    participants: dict[str, Unit] = Field(
        default_factory=dict, description="DNO -> starting transaction credit; unlisted DNOs start at `initial`")
    validators: dict[NodeIndex, Unit] = Field(
        default_factory=dict, description="validator index -> starting node credit; unlisted ones start at `initial`")

    @property
    def rules(self) -> CreditParams:
        """The rules alone, as the genesis document carries them."""
        return CreditParams(**self.model_dump(include=set(CreditParams.model_fields)))
