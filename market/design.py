"""A market design: one stage per slot, each with its validated parameters.

In a scenario it is the `design:` block::

    design:
      coordination: {stage: independent}
      real_time: {stage: concession_auction}

A stage's parameters sit beside `stage:` (the concession auction's are the `mechanism:` block).
Unknown stages and parameters raise `StageFieldError`, which names the parameter's path so the
scenario loader can print one line naming the field.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_serializer

from market.coordination import COORDINATION
from market.delivery import DeliveryParams
from market.realtime import REAL_TIME
from market.stages import Registry, StageFieldError, StageParams, validated

__all__ = ["DEFAULT_STAGES", "SLOTS", "Design", "StageChoice", "StageFieldError", "choose", "stage_params", "validated"]

SLOTS: dict[str, Registry] = {"coordination": COORDINATION, "real_time": REAL_TIME}
DEFAULT_STAGES = {"coordination": "independent", "real_time": "concession_auction"}


class StageChoice(BaseModel):
    """A stage name and its parameters; written back as `{stage: name, **params}`."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    stage: str
    params: Any = None

    @model_serializer(mode="plain")
    def _flat(self) -> dict[str, Any]:
        own = self.params.model_dump(mode="json") if isinstance(self.params, StageParams) else {}
        return {"stage": self.stage, **own}


def choose(slot: str, block: Any) -> StageChoice:
    """Validate one slot's block against its registry and the stage's parameter model."""
    if isinstance(block, StageChoice):
        return block
    if not isinstance(block, dict):
        raise StageFieldError("", "expected a mapping with a 'stage' name and its parameters")
    registry = SLOTS[slot]
    name = block.get("stage", DEFAULT_STAGES[slot])  # parameters alone keep the default stage
    if not isinstance(name, str) or name not in registry:
        raise StageFieldError("stage", f"unknown {slot} stage {name!r}; known: {', '.join(registry)}")
    stage = registry[name]
    raw = {k: v for k, v in block.items() if k != "stage"}
    if stage.params_at:
        if raw:
            raise StageFieldError(sorted(raw)[0], f"unknown field ({name}'s parameters are the {stage.params_at}: block)")
        return StageChoice(stage=name, params=None)
    return StageChoice(stage=name, params=validated(stage.Params, raw))


class Design(BaseModel):
    """Which stage fills each slot of the market (defaults: the paper's design)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    coordination: StageChoice = Field(
        default_factory=lambda: choose("coordination", {"stage": DEFAULT_STAGES["coordination"]}),
        description="day-ahead coordination stage and its parameters; `storagemarket designs` lists them; [A]")
    real_time: StageChoice = Field(
        default_factory=lambda: choose("real_time", {"stage": DEFAULT_STAGES["real_time"]}),
        description="hourly real-time market stage and its parameters; [P] concession_auction")
    delivery: DeliveryParams = Field(
        default_factory=DeliveryParams,
        description="settling forecast errors after delivery, for any real-time stage (market.delivery); [R] off")

    @field_validator("delivery", mode="before")
    @classmethod
    def _delivery(cls, block: Any) -> DeliveryParams:
        return block if isinstance(block, DeliveryParams) else validated(DeliveryParams, block)

    @model_serializer(mode="wrap")
    def _without_default_delivery(self, handler: Any) -> dict[str, Any]:
        """`delivery` is written only when set, so designs from before it keep their bytes."""
        out = handler(self)
        if self.delivery == DeliveryParams():
            out.pop("delivery", None)
        return out

    @field_validator("coordination", "real_time", mode="before")
    @classmethod
    def _choose(cls, block: Any, info) -> StageChoice:
        return choose(info.field_name, block)

    @property
    def is_default(self) -> bool:
        """The paper's design with default stage parameters (then nothing extra goes on chain)."""
        return self.model_dump(mode="json") == Design().model_dump(mode="json")


def stage_params(choice: StageChoice, mechanism: BaseModel) -> Any:
    """The parameters a stage runs with: its own block, or the block it names (`params_at`)."""
    return mechanism if choice.params is None else choice.params
