"""A block's copy-on-write working state behaves as a deep copy would, and roots stay the same.

Random programs of the ways contracts touch state (index and mutate, set, setdefault and append,
pop, delete, update, iterate items and mutate, dict() and mutate) run on `derive(parent)` and on a
deep copy side by side, over several generations: the parent never changes, the derived state
equals the copy, and `encode_state` (with its cached fragments) gives `canonical_bytes` of it.
"""

from __future__ import annotations

import copy

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.canonical import canonical_bytes
from ledger.contracts import state_root
from ledger.working_state import Section, derive, encode_state

KEYS = st.sampled_from(["a", "b", "c", "1:2", "1:10", "z\u00e9", "dedup"])
SCALARS = st.none() | st.booleans() | st.integers(-5, 5) | st.floats(-1e3, 1e3, allow_nan=False) | st.text(max_size=3)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
                      max_leaves=8)
STATES = st.fixed_dictionaries({
    "bids": st.dictionaries(KEYS, st.lists(VALUES, max_size=3), max_size=5),
    "dedup": st.dictionaries(KEYS, VALUES, max_size=5),
    "height": st.integers(0, 9),
    "expected": st.lists(VALUES, max_size=2),
})
OPS = st.lists(st.tuples(st.sampled_from(["mutate", "set", "append", "pop", "del", "update", "items", "dict",
                                          "merge", "get", "height"]),
                         st.sampled_from(["bids", "dedup"]), KEYS, VALUES), max_size=12)


def run(state: dict, ops: list) -> None:
    """The same program on a working state or on a plain deep copy."""
    for op, section, key, value in ops:
        part = state[section]
        if op == "mutate" and key in part:
            _touch(part[key], value)
        elif op == "set":
            part[key] = copy.deepcopy(value)
        elif op == "append" and isinstance(part.get(key, []), list):
            part.setdefault(key, []).append(copy.deepcopy(value))
        elif op == "pop":
            _touch(part.pop(key, None), value)
        elif op == "del" and key in part:
            del part[key]
        elif op == "update":
            part.update({key: copy.deepcopy(value)})
        elif op == "items":
            for _, v in sorted(part.items(), key=lambda kv: kv[0]):
                _touch(v, value)
        elif op == "dict":
            for v in dict(part).values():
                _touch(v, value)
        elif op == "merge":
            for v in (part | {}).values():
                _touch(v, value)
        elif op == "get":
            _touch(part.get(key), value)
        elif op == "height":
            state["height"] += 1


def _touch(target, value) -> None:
    """Change a value in place, as a contract appending to a book or updating an account does."""
    if isinstance(target, list):
        target.append(copy.deepcopy(value))
    elif isinstance(target, dict):
        target["touched"] = copy.deepcopy(value)


@settings(max_examples=300, deadline=None)
@given(STATES, st.lists(OPS, min_size=1, max_size=4))
def test_working_states_behave_as_deep_copies_and_keep_the_root(genesis, programs):
    state, reference = genesis, copy.deepcopy(genesis)
    for ops in programs:
        before = canonical_bytes(state)
        working = derive(state)
        run(working, ops)
        run(reference, ops)
        assert canonical_bytes(state) == before  # the parent is never changed
        assert working == reference
        assert encode_state(working) == canonical_bytes(reference)
        assert state_root(working) == state_root(copy.deepcopy(reference))
        state = working
    assert all(type(state[name]) is Section for name in ("bids", "dedup"))
    assert copy.deepcopy(state) == reference and type(copy.deepcopy(state)["bids"]) is dict


def test_a_committed_state_read_after_its_root_was_taken_still_encodes_what_it_holds():
    """Reading a committed state (the model reads bids from it) hands out a copy and drops that
    entry's cached encoding, so even a careless change through it shows in the next encoding."""
    state = derive({"bids": {"1:1": [1]}, "height": 0})
    root = state_root(state)
    state["bids"]["1:1"].append(2)
    assert state_root(state) != root and encode_state(state) == canonical_bytes({"bids": {"1:1": [1, 2]}, "height": 0})
