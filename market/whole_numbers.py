"""Whole numbers written as floats (`days: 2.0`, `--set days=1e1`) read as the integers they are.

The input models are strict so that `true` is not 1 and "3" is not 3, but strict pydantic also
refuses 2.0 for an int field, while a number may be written `1e3` as well as `1000.0` (README).
So before validation, an integral float where a model wants an int becomes that int, guided by
the model's own field types: a float bound for a float field or a free-form block stays as it
is, and `true` and 2.5 are still refused (2.5 as `must be a whole number`).
"""

from __future__ import annotations

import types
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

_SEQUENCES = (list, tuple, set, frozenset)


def whole_numbers(annotation: Any, value: Any) -> Any:
    """`value` (parsed YAML) with every integral float made an int where `annotation` (a model,
    or a field's type) wants an int; everything else as it was."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return whole_numbers(args[0], value)
    if isinstance(value, float):
        return int(value) if value.is_integer() and _wants_int(annotation) else value
    if origin in (Union, types.UnionType):
        fitting = [a for a in args if _holds(a, value)]
        return whole_numbers(fitting[0], value) if len(fitting) == 1 else value
    if _is_model(annotation) and isinstance(value, dict):
        fields = {key: f.annotation for name, f in annotation.model_fields.items() for key in {name, f.alias} if key}
        return {k: whole_numbers(fields[k], v) if k in fields else v for k, v in value.items()}
    if origin is dict and len(args) == 2 and isinstance(value, dict):
        return {whole_numbers(args[0], k): whole_numbers(args[1], v) for k, v in value.items()}
    if origin in _SEQUENCES and args and isinstance(value, list):
        if origin is tuple and args[-1] is not Ellipsis:  # a fixed tuple: one type per position
            return [whole_numbers(a, v) for a, v in zip(args, value)] + value[len(args):]
        return [whole_numbers(args[0], v) for v in value]
    return value


def not_whole(error: dict[str, Any]) -> str | None:
    """The message for a pydantic error on a fractional float given for an int, else None."""
    value = error.get("input")
    if error["type"] in {"int_type", "int_from_float"} and isinstance(value, float):
        return f"must be a whole number, got {value!r}"
    return None


def _wants_int(annotation: Any) -> bool:
    """An int, or a union that admits an int but no float (`int | None`)."""
    if get_origin(annotation) is Annotated:
        return _wants_int(get_args(annotation)[0])
    if get_origin(annotation) in (Union, types.UnionType):
        members = [get_args(a)[0] if get_origin(a) is Annotated else a for a in get_args(annotation)]
        return int in members and float not in members
    return annotation is int


def _holds(annotation: Any, value: Any) -> bool:
    """Whether a union member could hold this mapping or list (so its types may guide the walk)."""
    if get_origin(annotation) is Annotated:
        return _holds(get_args(annotation)[0], value)
    if isinstance(value, dict):
        return _is_model(annotation) or get_origin(annotation) is dict
    return isinstance(value, list) and get_origin(annotation) in _SEQUENCES


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)
