"""A distribution feeder as plain arrays: the linear network model every validator rebuilds.

The feeder is what the clearing contract needs of a pandapower net (docs/network.md): buses,
the slack bus, and the in-service lines with their series impedance and flow limit. It travels in
the genesis document as `to_doc()`, so every validator rebuilds the same arrays from the same
numbers without pandapower. Bus and line numbers are pandapower's indices; matrices and vectors
are indexed by position in `buses` and `lines` (`position(bus)` maps one to the other).

Sign conventions: an injection is + into the network; a line flow is + from `from_bus` to `to_bus`.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, fields
from functools import cached_property
from typing import Any, Mapping

import numpy as np


class FeederError(ValueError):
    """A feeder that is malformed, or cannot serve the computation asked of it (one line)."""


_INT_FIELDS = {"buses", "slack_bus", "lines", "from_bus", "to_bus"}
_SEQUENCES = {"buses", "lines", "from_bus", "to_bus", "r_ohm", "x_ohm", "limit_mw"}
_SENSITIVITY_EPS = 1e-12  # PTDF entries below this are rounding noise of a meshed DC solve


def _readonly(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


@dataclass(frozen=True)
class Feeder:
    """Buses, slack and in-service lines of a single-voltage-level feeder, with limits and band."""

    buses: tuple[int, ...]  # pandapower bus indices, ascending
    slack_bus: int
    lines: tuple[int, ...]  # pandapower line indices, ascending (kept for outputs)
    from_bus: tuple[int, ...]
    to_bus: tuple[int, ...]
    r_ohm: tuple[float, ...]
    x_ohm: tuple[float, ...]
    limit_mw: tuple[float, ...]
    base_kv: float
    v_min_pu: float = 0.95
    v_max_pu: float = 1.05
    v_slack_pu: float = 1.0

    def __post_init__(self) -> None:
        for f in fields(self):  # canonical types, so equal feeders give equal documents
            kind = int if f.name in _INT_FIELDS else float
            value = getattr(self, f.name)
            try:
                value = tuple(kind(v) for v in value) if f.name in _SEQUENCES else kind(value)
            except (TypeError, ValueError):
                raise FeederError(f"{f.name}: expected {'a list of ' * (f.name in _SEQUENCES)}numbers") from None
            object.__setattr__(self, f.name, value)
        n_lines = len(self.lines)
        for name in ("from_bus", "to_bus", "r_ohm", "x_ohm", "limit_mw"):
            if len(getattr(self, name)) != n_lines:
                raise FeederError(f"{name} has {len(getattr(self, name))} entries for {n_lines} lines")
        if list(self.buses) != sorted(set(self.buses)) or not self.buses:
            raise FeederError("buses must be distinct and ascending")
        if list(self.lines) != sorted(set(self.lines)):
            raise FeederError("lines must be distinct and ascending")
        if self.slack_bus not in self.buses:
            raise FeederError(f"slack bus {self.slack_bus} is not one of the buses")
        known = set(self.buses)
        for k, line in enumerate(self.lines):
            a, b = self.from_bus[k], self.to_bus[k]
            if a not in known or b not in known or a == b:
                raise FeederError(f"line {line}: joins buses {a} and {b}, which are not two distinct buses")
            r, x, limit = self.r_ohm[k], self.x_ohm[k], self.limit_mw[k]
            if not (math.isfinite(r) and math.isfinite(x) and r >= 0 and x >= 0 and r + x > 0):
                raise FeederError(f"line {line}: impedance {r} + j{x} ohm must be finite, non-negative and not zero")
            if not (math.isfinite(limit) and limit > 0):
                raise FeederError(f"line {line}: limit {limit} MW must be a positive number")
        if not (self.base_kv > 0 and 0 < self.v_min_pu < self.v_max_pu and self.v_slack_pu > 0):
            raise FeederError(f"base {self.base_kv} kV or voltage band [{self.v_min_pu}, {self.v_max_pu}] is invalid")
        unreached = set(self.buses) - {self.buses[i] for i in self._tree[2]}
        if unreached:
            raise FeederError(f"bus {min(unreached)} is not connected to the slack bus {self.slack_bus}")

    # --- canonical document ---------------------------------------------------------------------

    def to_doc(self) -> dict[str, Any]:
        """Plain JSON-able dict (ints, floats, sorted keys); `from_doc` rebuilds an equal feeder."""
        doc: dict[str, Any] = {}
        for f in sorted(fields(self), key=lambda f: f.name):
            value = getattr(self, f.name)
            doc[f.name] = list(value) if isinstance(value, tuple) else value
        return doc

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Feeder:
        names = {f.name for f in fields(cls)}
        if not isinstance(doc, Mapping) or set(doc) - names:
            raise FeederError(f"feeder document has unknown fields {sorted(set(doc) - names)}")
        try:
            values = {k: tuple(v) if isinstance(v, list) else v for k, v in doc.items()}
            return cls(**values)
        except TypeError as exc:
            raise FeederError(f"feeder document is incomplete: {exc}") from None

    # --- indexing ---------------------------------------------------------------------------------

    @property
    def n_buses(self) -> int:
        return len(self.buses)

    @property
    def n_lines(self) -> int:
        return len(self.lines)

    @cached_property
    def _positions(self) -> dict[int, int]:
        return {bus: i for i, bus in enumerate(self.buses)}

    def position(self, bus: int) -> int:
        """Position of pandapower bus `bus` in vectors and matrices."""
        try:
            return self._positions[bus]
        except KeyError:
            raise FeederError(f"bus {bus} is not a bus of the feeder") from None

    def bus_vector(self, by_bus: Mapping[int, float]) -> np.ndarray:
        """A per-bus vector from {bus: value}, summing values given for the same bus."""
        v = np.zeros(self.n_buses)
        for bus, value in by_bus.items():
            v[self.position(bus)] += value
        return v

    @cached_property
    def _ends(self) -> tuple[np.ndarray, np.ndarray]:
        return (np.array([self._positions[b] for b in self.from_bus], dtype=np.int64),
                np.array([self._positions[b] for b in self.to_bus], dtype=np.int64))

    @cached_property
    def _tree(self) -> tuple[np.ndarray, np.ndarray, list[int]]:
        """Breadth-first search from the slack: parent line of each bus (-1 at the slack or unreached),
        the line's orientation (+1 when its from_bus is the upstream end) and the visiting order."""
        frm, to = self._ends
        adjacent: list[list[tuple[int, int]]] = [[] for _ in self.buses]
        for k in range(self.n_lines):
            adjacent[frm[k]].append((to[k], k))
            adjacent[to[k]].append((frm[k], k))
        parent_line = np.full(self.n_buses, -1, dtype=np.int64)
        orientation = np.zeros(self.n_lines, dtype=np.int64)
        root = self._positions[self.slack_bus]
        seen, order, queue = {root}, [root], deque([root])
        while queue:
            bus = queue.popleft()
            for other, k in sorted(adjacent[bus]):
                if other not in seen:
                    seen.add(other)
                    order.append(other)
                    queue.append(other)
                    parent_line[other] = k
                    orientation[k] = 1 if frm[k] == bus else -1
        return parent_line, orientation, order

    @property
    def is_radial(self) -> bool:
        """A tree: connected (checked on construction) with one line fewer than buses."""
        return self.n_lines == self.n_buses - 1

    def _require_radial(self, what: str) -> None:
        if not self.is_radial:
            raise FeederError(
                f"{what} needs a radial feeder; this one has {self.n_lines} in-service lines for "
                f"{self.n_buses} buses (a tree has {self.n_buses - 1})"
            )

    @cached_property
    def path_matrix(self) -> np.ndarray:
        """Lines x buses: 1 where the line lies on the path from the slack to the bus (radial only)."""
        self._require_radial("the path matrix")
        parent_line, _, order = self._tree
        frm, to = self._ends
        paths = np.zeros((self.n_lines, self.n_buses))
        for bus in order[1:]:  # a bus's path is its parent's path plus the line to the parent
            k = parent_line[bus]
            upstream = frm[k] if to[k] == bus else to[k]
            paths[:, bus] = paths[:, upstream]
            paths[k, bus] = 1.0
        return _readonly(paths)

    # --- sensitivities and distances ----------------------------------------------------------

    @cached_property
    def _ptdf(self) -> np.ndarray:
        if self.is_radial:  # an injection returns to the slack along its path, against orientation
            return _readonly(-self._tree[1][:, None] * self.path_matrix + 0.0)  # + 0.0: no -0.0
        x = np.asarray(self.x_ohm)
        if np.any(x <= 0):
            raise FeederError("a meshed feeder's DC PTDF needs a positive reactance on every line")
        incidence = self._incidence()
        b_line = 1.0 / x
        keep = np.arange(self.n_buses) != self._positions[self.slack_bus]
        b_bus = incidence.T @ (b_line[:, None] * incidence)
        ptdf = np.zeros((self.n_lines, self.n_buses))
        ptdf[:, keep] = (b_line[:, None] * incidence[:, keep]) @ np.linalg.inv(b_bus[np.ix_(keep, keep)])
        ptdf[np.abs(ptdf) < _SENSITIVITY_EPS] = 0.0
        return _readonly(ptdf)

    def ptdf(self) -> np.ndarray:
        """Lines x buses: MW on each line (from_bus -> to_bus) per MW injected at a bus and withdrawn
        at the slack. On a radial feeder the path incidence (0 or -1/+1, independent of impedance);
        on a meshed one the DC approximation with line reactances."""
        return self._ptdf

    def _incidence(self) -> np.ndarray:
        frm, to = self._ends
        incidence = np.zeros((self.n_lines, self.n_buses))
        incidence[np.arange(self.n_lines), frm] = 1.0
        incidence[np.arange(self.n_lines), to] = -1.0
        return incidence

    @cached_property
    def _zbus(self) -> np.ndarray:
        incidence = self._incidence()
        y_line = 1.0 / (np.asarray(self.r_ohm) + 1j * np.asarray(self.x_ohm))
        y_bus = incidence.T @ (y_line[:, None] * incidence)
        keep = np.arange(self.n_buses) != self._positions[self.slack_bus]
        z_bus = np.zeros((self.n_buses, self.n_buses), dtype=complex)
        z_bus[np.ix_(keep, keep)] = np.linalg.inv(y_bus[np.ix_(keep, keep)])
        return _readonly((z_bus + z_bus.T) / 2)

    def zbus_ohm(self) -> np.ndarray:
        """Bus impedance matrix in ohm with the slack grounded (its row and column are zero);
        series impedances only (line charging and shunts are left out)."""
        return self._zbus

    @cached_property
    def _resistance_distance(self) -> np.ndarray:
        r = self._zbus.real
        d = np.diag(r)[:, None] + np.diag(r)[None, :] - 2 * r
        np.fill_diagonal(d, 0.0)
        return _readonly(np.maximum((d + d.T) / 2, 0.0))

    def resistance_distance(self) -> np.ndarray:
        """Buses x buses, ohm: Klein's resistance distance R_mm + R_nn - 2 R_mn, R = Re(Zbus).
        The path resistance on a radial feeder; on a meshed one whose lines differ in x/r it is
        symmetric and positive but need not obey the triangle inequality."""
        return self._resistance_distance

    def ptdf_distance(self, weights: np.ndarray | None = None) -> np.ndarray:
        """Buses x buses: sum over lines of w_l |PTDF_lm - PTDF_ln|; weights default to the line
        resistances (ohm), which makes it the path resistance on a radial feeder."""
        w = np.asarray(self.r_ohm if weights is None else weights, dtype=float)
        if w.shape != (self.n_lines,):
            raise FeederError(f"{w.size} line weights for {self.n_lines} lines")
        d = np.zeros((self.n_buses, self.n_buses))
        for row, weight in zip(self._ptdf, w):
            d += weight * np.abs(row[:, None] - row[None, :])
        return _readonly(d)

    # --- flows and voltages -----------------------------------------------------------------------

    def flows(self, injection_mw: np.ndarray) -> np.ndarray:
        """Linear line flows (MW, from_bus -> to_bus) of per-bus injections; the slack balances them."""
        return self._ptdf @ self._per_bus(injection_mw, "injection_mw")

    def lindistflow_voltages(self, p_mw: np.ndarray, q_mvar: np.ndarray | None = None) -> np.ndarray:
        """Bus voltages (pu) by LinDistFlow on a radial feeder, losses neglected:
        V_n = V_0 - sum over lines on the slack-to-n path of (r_l P_l + x_l Q_l) / V_0 (kV), where
        P_l, Q_l are what the line carries away from the slack. With the path matrix K this is
        V_0 + (K^T r K p + K^T x K q) / V_0 for net injections p, q."""
        self._require_radial("LinDistFlow")
        paths = self.path_matrix
        p = self._per_bus(p_mw, "p_mw")
        q = np.zeros(self.n_buses) if q_mvar is None else self._per_bus(q_mvar, "q_mvar")
        to_slack_p, to_slack_q = paths @ p, paths @ q  # what each line sends towards the slack
        rise = paths.T @ (np.asarray(self.r_ohm) * to_slack_p + np.asarray(self.x_ohm) * to_slack_q)
        v0_kv = self.v_slack_pu * self.base_kv
        return (v0_kv + rise / v0_kv) / self.base_kv

    def _per_bus(self, values: np.ndarray, name: str) -> np.ndarray:
        v = np.asarray(values, dtype=float)
        if v.shape != (self.n_buses,):
            raise FeederError(f"{name} has shape {v.shape}; expected one value per bus ({self.n_buses})")
        return v


