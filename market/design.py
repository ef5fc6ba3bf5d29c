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

import difflib
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_serializer

from market.coordination import COORDINATION
from market.realtime import REAL_TIME
from market.stages import Registry, StageParams
from market.whole_numbers import not_whole, whole_numbers

SLOTS: dict[str, Registry] = {"coordination": COORDINATION, "real_time": REAL_TIME}
DEFAULT_STAGES = {"coordination": "independent", "real_time": "concession_auction"}


class StageFieldError(ValueError):
    """A bad stage name or parameter; `path` is relative to the stage block ('' for `stage`)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path, self.message = path, message


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


def validated(model: type[BaseModel], raw: Any, prefix: str = "") -> Any:
    """`raw` validated by `model`; the first bad field raises StageFieldError naming its path
    (after `prefix`), so a scenario error names e.g. `ledger.engine_params.confirmations`.
    Whole numbers written as floats are read as ints where the model wants one."""
    try:
        return model.model_validate(whole_numbers(model, raw))
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join([prefix] * bool(prefix) + [str(p) for p in first["loc"]])
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            top = len(first["loc"]) == 1  # a nested block's names are not the model's own
            close = difflib.get_close_matches(str(first["loc"][-1]), list(model.model_fields) * top, n=1)
            message = "unknown field" + (f" (did you mean {close[0]!r}?)" if close else "")
        elif first["type"] == "finite_number":
            message = "must be a finite number (NaN and infinity are not allowed)"
        elif (whole := not_whole(first)) is not None:
            message = whole
        elif isinstance(first.get("input"), bool) and first["type"] in {"int_type", "float_type"}:
            message = f"must be a number, not {str(first['input']).lower()}"
        raise StageFieldError(where, message) from None


class Design(BaseModel):
    """Which stage fills each slot of the market (defaults: the paper's design)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    coordination: StageChoice = Field(
        default_factory=lambda: choose("coordination", {"stage": DEFAULT_STAGES["coordination"]}),
        description="day-ahead coordination stage and its parameters; `storagemarket designs` lists them; [A]")
    real_time: StageChoice = Field(
        default_factory=lambda: choose("real_time", {"stage": DEFAULT_STAGES["real_time"]}),
        description="hourly real-time market stage and its parameters; [P] concession_auction")

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
