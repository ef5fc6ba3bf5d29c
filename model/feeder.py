"""pandapower at the edge of the model: load a net, turn it into a `Feeder`, run AC power flows.

pandapower is used for what needs a real power-flow engine: reading the built-in IEEE 33-bus
case or a user's JSON net, the base-case AC flows behind a `base_flow_multiple` line-limit rule,
and the hour's AC power flow (the physical truth the linear checks are compared with). Everything
the clearing contract computes uses the `Feeder` arrays instead (market/network/, docs/network.md).

Scope: one voltage level, lines only. In-service transformers, impedances, DC lines and closed
bus-bus switches are refused by name; an open line switch takes its line out of service.
"""

from __future__ import annotations

import copy
import functools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from market.network.feeder import Feeder, FeederError


def _case33bw() -> Any:
    import pandapower.networks as pn

    return pn.case33bw()


@functools.lru_cache(maxsize=None)
def _built_in(case: str) -> Any:
    """A built-in case, read once per process (pandapower takes seconds to read case33bw)."""
    return CASES[case]()


CASES: dict[str, Callable[[], Any]] = {"case33bw": _case33bw}  # IEEE 33-bus, Baran & Wu 1989
_UNSUPPORTED = ("trafo", "trafo3w", "impedance", "dcline", "tcsc", "ssc", "vsc")


def load_net(case: str | None = None, file: str | Path | None = None) -> Any:
    """A fresh pandapower net: a built-in case by name, or a pandapower JSON file."""
    if (case is None) == (file is None):
        raise FeederError("give either a built-in case or a pandapower JSON file")
    if case is not None:
        if case not in CASES:
            raise FeederError(f"unknown case {case!r}; built in: {', '.join(CASES)}")
        return copy.deepcopy(_built_in(case))
    import pandapower as pp

    path = Path(file)  # type: ignore[arg-type]
    if not path.is_file():
        raise FeederError(f"{path}: no such file")
    try:
        return pp.from_json(str(path))
    except Exception as exc:  # pandapower raises many kinds on a bad file; all mean the same here
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise FeederError(f"{path}: not a pandapower JSON net ({first})") from None


def feeder_of(
    net: Any,
    limit_mw: float | None = None,
    base_flow_multiple: float | None = None,
    floor_mw: float = 0.0,
    voltage_band: tuple[float, float] = (0.95, 1.05),
) -> Feeder:
    """The feeder of `net`'s energised part, with one line-limit rule: `limit_mw` on every line,
    or `base_flow_multiple` x |base-case AC flow| (at least `floor_mw`). A rule is required: nets
    often carry no usable ratings (case33bw's max_i_ka is 99999 kA on every line)."""
    if (limit_mw is None) == (base_flow_multiple is None):
        raise FeederError("give one line-limit rule: limit_mw or base_flow_multiple")
    for table in _UNSUPPORTED:
        frame = getattr(net, table, None)
        if frame is not None and len(frame) and bool(frame.in_service.any()):
            raise FeederError(f"in-service {table} elements are not supported (one voltage level, lines only)")
    switch = getattr(net, "switch", None)
    if switch is not None and len(switch):
        if bool((switch.et.eq("b") & switch.closed).any()):
            raise FeederError("closed bus-bus switches are not supported")
    slacks = net.ext_grid[net.ext_grid.in_service]
    if len(slacks) != 1:
        raise FeederError(f"the net needs exactly one in-service ext_grid (slack bus), it has {len(slacks)}")
    slack = int(slacks.bus.iloc[0])
    lines = _in_service_lines(net)
    buses = _energised(slack, lines)
    lines = lines[lines.from_bus.isin(buses) & lines.to_bus.isin(buses)]
    levels = sorted({float(v) for v in net.bus.vn_kv.loc[sorted(buses)]})
    if len(levels) != 1:
        raise FeederError(f"buses at several voltage levels {levels} kV; one level only")
    if limit_mw is not None:
        limits = np.full(len(lines), float(limit_mw))
    else:
        base = AcPowerFlow(net, lines.index).base_flow_mw()
        limits = np.maximum(float(base_flow_multiple) * base, float(floor_mw))  # type: ignore[arg-type]
        limits = np.round(limits, 6)  # 1 W: the genesis document stays readable and stable
    parallel = lines.parallel.to_numpy(dtype=float)
    return Feeder(
        buses=tuple(sorted(buses)),
        slack_bus=slack,
        lines=tuple(int(i) for i in lines.index),
        from_bus=tuple(lines.from_bus),
        to_bus=tuple(lines.to_bus),
        r_ohm=tuple(lines.r_ohm_per_km.to_numpy(float) * lines.length_km.to_numpy(float) / parallel),
        x_ohm=tuple(lines.x_ohm_per_km.to_numpy(float) * lines.length_km.to_numpy(float) / parallel),
        limit_mw=tuple(limits),
        base_kv=levels[0],
        v_min_pu=voltage_band[0],
        v_max_pu=voltage_band[1],
        v_slack_pu=float(slacks.vm_pu.iloc[0]),
    )


def base_injection(net: Any, feeder: Feeder) -> tuple[np.ndarray, np.ndarray]:
    """Per feeder bus, the net's own in-service loads and static generators as injections (MW and
    Mvar, + into the network, scaled): the base case the market's trades sit on."""
    by_bus: tuple[dict[int, float], dict[int, float]] = ({}, {})
    for table, sign in (("load", -1.0), ("sgen", 1.0)):
        frame = getattr(net, table, None)
        if frame is None or not len(frame):
            continue
        live = frame[frame.in_service & frame.bus.isin(feeder.buses)]
        scaling = live.scaling.to_numpy(float)
        for values, column in zip(by_bus, ("p_mw", "q_mvar")):
            for bus, v in zip(live.bus, live[column].to_numpy(float) * scaling):
                values[int(bus)] = values.get(int(bus), 0.0) + sign * float(v)
    p, q = (np.round(feeder.bus_vector(values), 9) for values in by_bus)  # 1 mW: stable genesis bytes
    return p, q


def _in_service_lines(net: Any) -> Any:
    """In-service lines between in-service buses, minus those an open line switch cuts."""
    lines = net.line[net.line.in_service].sort_index()
    live_buses = set(net.bus.index[net.bus.in_service])
    lines = lines[lines.from_bus.isin(live_buses) & lines.to_bus.isin(live_buses)]
    switch = getattr(net, "switch", None)
    if switch is not None and len(switch):
        cut = switch[switch.et.eq("l") & ~switch.closed.astype(bool)].element
        lines = lines[~lines.index.isin(set(cut))]
    return lines


def _energised(slack: int, lines: Any) -> set[int]:
    """Buses reached from the slack over the given lines."""
    adjacent: dict[int, set[int]] = {}
    for a, b in zip(lines.from_bus, lines.to_bus):
        adjacent.setdefault(int(a), set()).add(int(b))
        adjacent.setdefault(int(b), set()).add(int(a))
    seen, stack = {slack}, [slack]
    while stack:
        for other in adjacent.get(stack.pop(), ()):
            if other not in seen:
                seen.add(other)
                stack.append(other)
    return seen


@dataclass(frozen=True)
class AcFlow:
    """One AC power flow, in the feeder's line and bus order; NaN everywhere if it did not converge."""

    converged: bool
    flow_mw: np.ndarray  # active power entering each line at from_bus (+ towards to_bus)
    loading_pct: np.ndarray  # 100 x the larger end's |P| / limit_mw
    v_pu: np.ndarray
    losses_mw: float  # line losses

    def overloaded(self) -> np.ndarray:
        """Mask of lines above their limit (false where the flow did not converge)."""
        return self.loading_pct > 100.0

    def out_of_band(self, feeder: Feeder) -> np.ndarray:
        """Mask of buses outside the feeder's voltage band (false where it did not converge)."""
        return (self.v_pu < feeder.v_min_pu) | (self.v_pu > feeder.v_max_pu)


class AcPowerFlow:
    """pandapower's `runpp` on a private copy of a net, with the participants added as one extra
    load per bus (p = -injection). The case's own loads stay: participants trade on top of the
    feeder's existing demand. Each run starts flat, so an hour's result never depends on the last."""

    def __init__(self, net: Any, lines: Any, buses: tuple[int, ...] = (), limit_mw: tuple[float, ...] = ()):
        import pandapower as pp

        self._pp = pp
        self._net = copy.deepcopy(net)
        self._lines = np.asarray(list(lines), dtype=np.int64)
        self._buses = np.asarray(buses, dtype=np.int64)
        self._limit = np.asarray(limit_mw, dtype=float)
        self._loads = (
            np.asarray(pp.create_loads(self._net, buses=list(self._buses), p_mw=0.0, q_mvar=0.0,
                                       name="storagemarket participants"))
            if len(self._buses) else np.zeros(0, dtype=np.int64)
        )

    @classmethod
    def of(cls, net: Any, feeder: Feeder) -> AcPowerFlow:
        return cls(net, feeder.lines, feeder.buses, feeder.limit_mw)

    def _run(self) -> bool:
        try:
            self._pp.runpp(self._net, numba=False, init="flat", calculate_voltage_angles=True)
        except self._pp.LoadflowNotConverged:
            return False
        return bool(self._net.converged)

    def base_flow_mw(self) -> np.ndarray:
        """|P| at the larger end of each line with no participants (the case's own loads)."""
        if not self._run():
            raise FeederError("the base case's AC power flow does not converge")
        res = self._net.res_line.loc[self._lines]
        return np.maximum(res.p_from_mw.abs(), res.p_to_mw.abs()).to_numpy(float)

    def run(self, injection_mw: np.ndarray, q_mvar: np.ndarray | None = None) -> AcFlow:
        """The AC power flow with net injections per feeder bus (+ into the network, MW; reactive
        zero unless given, i.e. participants at unity power factor)."""
        p = np.asarray(injection_mw, dtype=float)
        q = np.zeros_like(p) if q_mvar is None else np.asarray(q_mvar, dtype=float)
        if p.shape != self._buses.shape or q.shape != self._buses.shape:
            raise FeederError(f"expected one injection per feeder bus ({len(self._buses)})")
        self._net.load.loc[self._loads, "p_mw"] = -p
        self._net.load.loc[self._loads, "q_mvar"] = -q
        if not self._run():
            nan_lines, nan_buses = np.full(len(self._lines), np.nan), np.full(len(self._buses), np.nan)
            return AcFlow(False, nan_lines, nan_lines.copy(), nan_buses, math.nan)
        res = self._net.res_line.loc[self._lines]
        larger = np.maximum(res.p_from_mw.abs(), res.p_to_mw.abs()).to_numpy(float)
        return AcFlow(
            converged=True,
            flow_mw=res.p_from_mw.to_numpy(float),
            loading_pct=100.0 * larger / self._limit,
            v_pu=self._net.res_bus.vm_pu.loc[self._buses].to_numpy(float),
            losses_mw=float(res.pl_mw.sum()),
        )


def ac_power_flow(net: Any, feeder: Feeder, injection_mw: np.ndarray, q_mvar: np.ndarray | None = None) -> AcFlow:
    """One AC power flow (build an `AcPowerFlow` once instead when running every hour)."""
    return AcPowerFlow.of(net, feeder).run(injection_mw, q_mvar)
