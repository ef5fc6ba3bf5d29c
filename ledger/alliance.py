"""Setting up the alliance of a run: every member's keys from the seed, and the genesis document."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from ledger.genesis import Genesis
from ledger.identity import Identity, Registry, Role
from ledger.validators import ValidatorSet, voting_powers


@dataclass(frozen=True)
class Alliance:
    genesis: Genesis
    identities: Mapping[tuple[str, Role], Identity]

    def identity(self, organisation: str, role: Role | str) -> Identity:
        return self.identities[(organisation, Role(role))]

    @property
    def validators(self) -> list[Identity]:
        """Validator identities in the validator set's (public key) order."""
        keys = self.genesis.validators.members
        by_key = {i.public_hex: i for i in self.identities.values() if i.role is Role.VALIDATOR}
        return [by_key[k] for k in keys]

    @classmethod
    def create(cls, run_seed: int, *, dnos: Sequence[str], validators: Sequence[str],
               main_grid: str | None = "main_grid", storage_owners: Sequence[str] = (),
               quorum: str = "two_thirds_power", credits: Mapping[str, float] | None = None,
               chain_id: str = "storagemarket-1", market: Mapping[str, Any] | None = None,
               gate_offset_ms: float = 600_000.0, hour_ms: float = 3_600_000.0,
               horizon_hours: int | None = None, pow_target_bits: int | None = None) -> "Alliance":
        """Keys for each (organisation, role); validator powers from credit (equal by default)."""
        roles = [(d, Role.DNO) for d in dnos] + [(s, Role.STORAGE_OWNER) for s in storage_owners]
        roles += [(v, Role.VALIDATOR) for v in validators]
        if main_grid is not None:
            roles.append((main_grid, Role.MAIN_GRID))
        identities = {(org, role): Identity.derive(run_seed, org, role) for org, role in roles}
        credit = {v: (credits or {}).get(v, 0.8) for v in validators}
        by_name = voting_powers(credit)
        powers = {identities[(v, Role.VALIDATOR)].public_hex: p for v, p in by_name.items()}
        genesis = Genesis(chain_id, Registry.of(list(identities.values())), ValidatorSet(powers, quorum),
                          dict(market or {}), gate_offset_ms, hour_ms, horizon_hours, pow_target_bits)
        return cls(genesis, identities)
