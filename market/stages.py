"""What every market-design stage shares: a parameter block, a registry, a self-description.

A design is one stage per slot (coordination before the day, real time every hour). A new stage
is one file with a subclass plus one `@REGISTRY.register`; the scenario schema, `storagemarket
designs`, the chain's contracts and the live view all read the same registries, so nothing else
needs to learn its name.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from market.whole_numbers import not_whole, whole_numbers


class StageParams(BaseModel):
    """A stage's own parameters: strict (unknown keys, NaN, infinity and `true` for a number
    refused), immutable.

    Each field's description gives its unit and its bounds (money within market/limits.py's
    100 000 RMB/MWh, rates in [0, 1) where a rate of 1 means nothing is left), and ends with its
    source tag ([P] paper, [R] reconstruction, [L] literature, [A] assumption), as the
    scenario's other fields do. Fields that take a list for a tuple say `strict=False`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)


class Stage:
    """A stage of a market design. `summary` is the one line `storagemarket designs` prints."""

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    Params: ClassVar[type[StageParams]] = StageParams
    # Where the stage's parameters live in a scenario, when not beside `stage:` in its design
    # block (the concession auction keeps the paper's `mechanism:` block).
    params_at: ClassVar[str | None] = None
    # A stage whose trades respect a distribution network (its limits and charges) says so; a
    # scenario with a network refuses the others.
    supports_network: ClassVar[bool] = False


@dataclass(frozen=True)
class ParamInfo:
    """One parameter as `storagemarket designs` lists it."""

    name: str
    default: object
    description: str


S = TypeVar("S", bound=Stage)


class Registry(Generic[S]):
    """Stages of one slot by name, in registration order."""

    def __init__(self, slot: str) -> None:
        self.slot = slot
        self._stages: dict[str, S] = {}

    def register(self, cls: type[S]) -> type[S]:
        if not cls.name:
            raise ValueError(f"{cls.__name__} has no name")
        self._stages[cls.name] = cls()
        return cls

    def unregister(self, name: str) -> None:
        self._stages.pop(name, None)

    def __getitem__(self, name: str) -> S:
        try:
            return self._stages[name]
        except KeyError:
            raise KeyError(f"unknown {self.slot} stage {name!r}; known: {', '.join(self._stages)}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._stages

    def __iter__(self):
        return iter(self._stages)

    def items(self):
        return self._stages.items()


def describe_params(stage: Stage) -> list[ParamInfo]:
    """The stage's parameters with their defaults and descriptions (unit and source tag)."""
    return describe_fields(stage.Params)


def describe_fields(model: type[BaseModel]) -> list[ParamInfo]:
    """A parameter block's fields with their defaults and descriptions."""
    return [
        ParamInfo(name, None if f.is_required() else f.get_default(call_default_factory=True), f.description or "")
        for name, f in model.model_fields.items()
    ]


class StageFieldError(ValueError):
    """A bad stage name or parameter; `path` is relative to the stage block ('' for `stage`)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path, self.message = path, message


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
        nested = (first.get("ctx") or {}).get("error")
        if isinstance(nested, StageFieldError):  # a nested block's own field (e.g. a bid strategy's)
            where, message = ".".join(p for p in (where, nested.path) if p), nested.message
        elif first["type"] == "extra_forbidden":
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
