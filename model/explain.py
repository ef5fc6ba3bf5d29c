"""`storagemarket scenario show --explain`: every field of a scenario with its value, its meaning
and unit, and where it comes from (its provenance tag and the section of docs/rules.md).

Field descriptions end with their source, e.g. "...; [A] §A.6.2": a tag ([P] the paper, [R] a
reconstruction, [L] the literature, [A] an assumption) and the sections (§) of docs/rules.md that
define the rule. A list of models (the DNOs) is explained once, by its first element.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel

from market.design import StageChoice

HEADER = ("# each field: value | meaning and unit | source: [P] the paper, [R] reconstructed, [L] literature, "
          "[A] assumption; § a section of docs/rules.md")
SECTION = re.compile(r"§([AB]\.\d+(?:\.\d+)*)")


def fields(model: BaseModel, prefix: str = "") -> Iterator[tuple[str, Any, str]]:
    """(dotted path, value, description) of every leaf field of `model`, in declaration order."""
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        path = f"{prefix}{name}"
        if isinstance(value, StageChoice):
            yield f"{path}.stage", value.stage, info.description or ""
            if isinstance(value.params, BaseModel):
                yield from fields(value.params, f"{path}.")
        elif isinstance(value, BaseModel):
            yield from fields(value, f"{path}.")
        elif isinstance(value, list) and value and isinstance(value[0], BaseModel):
            yield from fields(value[0], f"{path}[0].")
        else:
            yield path, value, info.description or ""


def _shown(value: Any) -> str:
    if isinstance(value, list) and len(value) > 4:
        return f"[{len(value)} values]"
    if isinstance(value, str) and "\n" in value:
        return repr(value.splitlines()[0] + " ...")
    return repr(value) if isinstance(value, str) else str(value)


def explain(scenario: BaseModel) -> list[str]:
    """One line per field: path = value | description (its source tag and sections included)."""
    return [HEADER] + [f"{path} = {_shown(value)}" + (f"  | {text}" if text else "")
                       for path, value, text in fields(scenario)]


def cited_sections(scenario: BaseModel) -> set[str]:
    """The docs/rules.md sections the scenario's field descriptions cite."""
    return {m for _, _, text in fields(scenario) for m in SECTION.findall(text)}
