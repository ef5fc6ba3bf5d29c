"""The validator set and its quorum rules: who signs commit certificates and how many suffice.

Quorum rules sit in a registry so the verifier checks a certificate by the rule named in the
genesis document, whichever engine produced it. BFT needs more than two thirds of voting power;
Raft needs a majority of nodes, whatever their credit (§B.2.4: credit never moves the
majority rule). Proof of work needs no votes: validators are its miners, and the genesis target
decides which blocks are sealed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping


@dataclass(frozen=True)
class QuorumRule:
    name: str
    vote_type: str  # the vote kind a certificate under this rule must carry
    reached: Callable[["ValidatorSet", frozenset[str]], bool]


QUORUM_RULES: dict[str, QuorumRule] = {}


def register_quorum_rule(rule: QuorumRule) -> QuorumRule:
    QUORUM_RULES[rule.name] = rule
    return rule


register_quorum_rule(QuorumRule(
    "two_thirds_power", "precommit",
    lambda vs, signers: 3 * sum(vs.powers[v] for v in signers) > 2 * vs.total_power))
register_quorum_rule(QuorumRule(
    "majority_nodes", "ack", lambda vs, signers: 2 * len(signers) > len(vs.powers)))
# Proof of work seals a block with its header's nonce, not with votes: no set of signers is a
# quorum, so a certificate never finalises anything on such a chain.
register_quorum_rule(QuorumRule("proof_of_work", "", lambda vs, signers: False))


@dataclass(frozen=True)
class ValidatorSet:
    """Validators by public key (hex) with integer voting power, and the quorum rule's name."""

    powers: Mapping[str, int]
    quorum: str

    def __post_init__(self) -> None:
        if self.quorum not in QUORUM_RULES:
            raise ValueError(f"unknown quorum rule {self.quorum!r}; known: {sorted(QUORUM_RULES)}")
        if not self.powers or any(p <= 0 for p in self.powers.values()):
            raise ValueError("every validator needs positive voting power")

    @property
    def rule(self) -> QuorumRule:
        return QUORUM_RULES[self.quorum]

    @property
    def total_power(self) -> int:
        return sum(self.powers.values())

    @property
    def members(self) -> list[str]:
        return sorted(self.powers)

    def has_quorum(self, signers: frozenset[str] | set[str]) -> bool:
        return self.rule.reached(self, frozenset(signers) & frozenset(self.powers))

    def to_doc(self) -> dict:
        return {"powers": dict(sorted(self.powers.items())), "quorum": self.quorum}

    @classmethod
    def from_doc(cls, doc: Mapping) -> "ValidatorSet":
        return cls(dict(doc["powers"]), doc["quorum"])


def voting_powers(credits: Mapping[str, float], cap_of_mean: float = 1.25,
                  scale: int = 1000) -> dict[str, int]:
    """Credit in [0, 1] as integer voting power, each capped at `cap_of_mean` times the mean.

    The cap stops a high-credit validator from piling up power until its own fault alone breaks
    the n > 3f bound that BFT safety rests on; the floor of 1 keeps every member in the set.
    """
    if not credits:
        raise ValueError("no validators")
    if any(not 0.0 <= c <= 1.0 for c in credits.values()):
        raise ValueError("credit must lie in [0, 1]")
    mean = sum(credits.values()) / len(credits)
    cap = max(1, round(scale * cap_of_mean * mean))  # in power units, so capping never re-rounds
    return {v: max(1, min(round(scale * c), cap)) for v, c in sorted(credits.items())}
