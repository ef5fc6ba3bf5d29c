"""The state a block runs on, without copying the whole chain state: copy-on-write sections.

`derive(state)` is the state a block starts from: a new top-level dict whose dict-valued sections
(bids, dedup, results, ...) are `Section`s, shallow copies of the parent's. A section deep-copies
an entry the first time the block reads it and replaces it when the block writes it, so the
entries a block never touches stay shared with the parent, which is never changed after it is
committed. A block then costs what it touches plus one pointer copy per section entry, where a
deep copy of the whole state grew with every hour of history.

Each section also keeps the canonical encoding of each entry, shared with its parent's for the
entries nobody touched, so the state root re-encodes only those a block touched. The root itself
is unchanged: the SHA-256 of the whole state's canonical bytes (`encode_state` gives the bytes
`canonical_bytes` would; tests/ledger/test_working_state.py checks both).
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterator
from typing import Any

from ledger.canonical import canonical_bytes

_MISSING = object()


def copy_value(value: Any) -> Any:
    """A deep copy of a JSON-like value (dicts, lists, tuples and scalars)."""
    kind = type(value)
    if kind is dict or kind is Section:
        return {k: copy_value(v) for k, v in dict.items(value)}
    if kind is list:
        return [copy_value(v) for v in value]
    if kind is tuple:
        return tuple(copy_value(v) for v in value)
    return value


def _fragment(key: str, value: Any) -> str:
    """`"key":value` as the canonical encoding of a dict spells it (a section from its caches)."""
    text = value.encoded() if type(value) is Section else canonical_bytes(value).decode("ascii")
    return json.dumps(key, ensure_ascii=True) + ":" + text


class Section(dict):
    """One top-level part of a block's working state (see the module docstring).

    Every way of reaching a value (indexing, get, setdefault, pop, items, values, iteration that
    feeds dict() or **) hands out the block's own copy; only keys, membership and length read the
    shared storage directly.
    """

    __slots__ = ("_owned", "_fragments", "_order", "_order_shared")

    def __init__(self, parent: dict) -> None:
        super().__init__(dict.items(parent))  # the raw entries: dict(parent) would copy each one
        self._owned: set[str] = set()
        fragments = parent._fragments if type(parent) is Section else {}
        self._fragments: dict[str, str] = dict(fragments)
        order = parent._order if type(parent) is Section else None
        self._order: list[str] | None = order  # sorted keys, shared with the parent until a key comes or goes
        self._order_shared = order is not None

    # --- reads that hand out values: the block's own copy ---------------------------------------
    def __getitem__(self, key: str) -> Any:
        if key in self._owned:
            self._fragments.pop(key, None)  # it may change through what we hand out
            return dict.__getitem__(self, key)
        value = copy_value(dict.__getitem__(self, key))
        dict.__setitem__(self, key, value)
        self._own(key)
        return value

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self else default

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key in self:
            return self[key]
        self[key] = default
        return default

    def pop(self, key: str, default: Any = _MISSING) -> Any:
        if key not in self:
            if default is _MISSING:
                raise KeyError(key)
            return default
        value = self[key]
        del self[key]
        return value

    def popitem(self) -> tuple[str, Any]:
        key = next(reversed(dict.keys(self)))
        return key, self.pop(key)

    def items(self):  # a list, not a view: each value is the block's copy
        return [(k, self[k]) for k in list(dict.keys(self))]

    def values(self):
        return [self[k] for k in list(dict.keys(self))]

    def __iter__(self) -> Iterator[str]:  # defined so dict(section) and {**section} go through __getitem__
        return iter(list(dict.keys(self)))

    def copy(self) -> dict:
        return {k: self[k] for k in list(dict.keys(self))}

    # --- writes ---------------------------------------------------------------------------------
    def __setitem__(self, key: str, value: Any) -> None:
        if key not in self:
            self._insert_key(key)
        dict.__setitem__(self, key, value)
        self._own(key)

    def __delitem__(self, key: str) -> None:
        dict.__delitem__(self, key)
        self._owned.discard(key)
        self._fragments.pop(key, None)
        if self._order is not None:
            self._unshare_order()
            del self._order[bisect.bisect_left(self._order, key)]

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def clear(self) -> None:
        for key in list(dict.keys(self)):
            del self[key]

    def __ior__(self, other: Any) -> Section:
        self.update(other)
        return self

    def __or__(self, other: Any) -> dict:  # a new dict of the block's copies, as dict(section) gives
        return {**self.copy(), **other}

    def __ror__(self, other: Any) -> dict:
        return {**other, **self.copy()}

    def __reduce__(self):  # copies and pickles are plain dicts
        return dict, (copy_value(self),)

    # --- the canonical encoding -----------------------------------------------------------------
    def encoded(self) -> str:
        """This section's canonical JSON, re-encoding only the entries this block touched."""
        if self._order is None:
            if not all(type(k) is str for k in dict.keys(self)):
                return canonical_bytes(copy_value(self)).decode("ascii")
            self._order, self._order_shared = sorted(dict.keys(self)), False
        fragments = self._fragments
        for key in self._owned:  # touched or new in this block
            if key not in fragments:
                fragments[key] = _fragment(key, dict.__getitem__(self, key))
        if len(fragments) < dict.__len__(self):  # entries never encoded (a fresh state, or read since)
            for key in dict.keys(self) - fragments.keys():
                fragments[key] = _fragment(key, dict.__getitem__(self, key))
        return "{" + ",".join(map(fragments.__getitem__, self._order)) + "}"

    def _own(self, key: str) -> None:
        self._owned.add(key)
        self._fragments.pop(key, None)  # the block may change it through the copy it was handed

    def _insert_key(self, key: str) -> None:
        if self._order is None:
            return
        if type(key) is not str:
            self._order = None
            return
        self._unshare_order()
        bisect.insort(self._order, key)

    def _unshare_order(self) -> None:
        if self._order_shared:
            self._order, self._order_shared = list(self._order), False


def derive(state: dict) -> dict:
    """The working state of a block on `state`: sections copied on write, other values copied."""
    return {key: Section(value) if isinstance(value, dict) else copy_value(value)
            for key, value in dict.items(state)}


def encode_state(state: dict) -> bytes:
    """The canonical bytes of a state (as `canonical_bytes(state)`), from its sections' caches."""
    if not all(type(k) is str for k in state):
        return canonical_bytes(copy_value(state))
    return ("{" + ",".join(_fragment(key, dict.__getitem__(state, key)) for key in sorted(state)) + "}").encode("ascii")
