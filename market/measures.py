"""The outcome measures every market design is judged by, each defined once.

Money is RMB, energy MWh, one-hour periods (so MW and MWh coincide per hour). A participant is a
DNO. Its cost over the run is a two-settlement bill: the day-ahead plan it committed to (grid
energy at the tariff, plus what it paid or received in the day-ahead agreement, fees included),
minus what the real-time market paid it for its deviations, plus network charges and carbon cost.
The no-trading baseline is the same DNO planning alone (its own MILP) and settling every
deviation from that plan with the grid: the paper's S0, identical for every design, so gains
compare like with like.
"""

from __future__ import annotations

import math

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

IR_TOLERANCE_RMB = 1e-6  # a gain above -1e-6 RMB is not a loss (solver and float noise)


@dataclass(frozen=True)
class ParticipantBill:
    """One participant's money over the run, RMB."""

    name: str
    day_ahead_energy_rmb: float  # grid purchases minus sales of the committed day-ahead plans
    day_ahead_net_rmb: float  # received in day-ahead agreements: trade sales - purchases + payments - fees
    real_time_revenue_rmb: float  # R^DN of §A.9: real-time P2P, grid, compensation, fees
    baseline_cost_rmb: float  # planning alone, every deviation with the grid (S0)
    network_charges_rmb: float = 0.0
    carbon_cost_rmb: float = 0.0
    heat_cost_rmb: float = 0.0  # gas and heat bought by the committed plans (electric-heat DNOs)

    @property
    def cost_rmb(self) -> float:
        """What the participant pays in all: energy, P2P money, fees, network charges, carbon, heat."""
        return (self.day_ahead_energy_rmb - self.day_ahead_net_rmb - self.real_time_revenue_rmb
                + self.network_charges_rmb + self.carbon_cost_rmb + self.heat_cost_rmb)

    @property
    def gain_rmb(self) -> float:
        """Cost saved against the no-trading baseline (positive: the design helps it)."""
        return self.baseline_cost_rmb - self.cost_rmb


def jain_index(values: Sequence[float], tolerance: float = IR_TOLERANCE_RMB) -> float:
    """Jain's fairness index (sum x)^2 / (n sum x^2): 1 when all are equal, 1/n when one takes
    all; defined as 1 when every value is 0 (nobody is favoured). Values within `tolerance` of 0
    count as 0, so float noise around a zero gain (1e-11 RMB) cannot pass for an unequal split."""
    x = np.asarray(values, dtype=float)
    x = np.where(np.abs(x) <= tolerance, 0.0, x)
    square_sum = float(np.sum(x * x))
    return 1.0 if square_sum == 0.0 else float(np.sum(x)) ** 2 / (len(x) * square_sum)


def individual_rationality(gains: Sequence[float]) -> tuple[int, float]:
    """Participants worse off than planning alone, and the sum of their losses (RMB, >= 0)."""
    losses = [-g for g in gains if g < -IR_TOLERANCE_RMB]
    return len(losses), math.fsum(losses)


def grid_flows(net_import_mw: np.ndarray) -> tuple[float, float, float]:
    """Import (MWh), export (MWh) and peak import (MW) from each participant's net import per
    hour (participants x hours): each participant meters its own connection, so imports and
    exports are summed per participant-hour; the peak is the largest hourly sum of imports."""
    imports = np.clip(net_import_mw, 0.0, None)
    exports = np.clip(-net_import_mw, 0.0, None)
    peak = float(imports.sum(axis=0).max()) if imports.size else 0.0
    return float(imports.sum()), float(exports.sum()), peak


@dataclass(frozen=True)
class Outcomes:
    """Inputs of the measures beyond the bills, gathered by the model from what the chain settled."""

    bills: Sequence[ParticipantBill]
    net_import_mw: np.ndarray  # participants x hours: day-ahead plan plus real-time grid trades
    p2p_volume_mwh: float  # each MWh traded peer to peer counted once, day-ahead and real time
    operator_balance_rmb: float  # the market operator's net; negative is a subsidy
    network_charges_collected_rmb: float
    grid_emission_t_per_mwh: float
    unserved_mwh: float
    chain: Mapping[str, float]  # messages, bytes, finality_p50_ms of consensus
    coordination: Mapping[str, float]  # messages, bytes, iterations, time_ms of the coordination stage
    gas_emission_t: float = 0.0  # what gas-fired output (CHP, gas boilers) emitted, t


def outcome_measures(o: Outcomes) -> dict[str, object]:
    """Every design's outcome measures (see `MEASURES` for each one's meaning and unit)."""
    gains = [b.gain_rmb for b in o.bills]
    losers, losses = individual_rationality(gains)
    grid_import, grid_export, peak = grid_flows(o.net_import_mw)
    traded = o.p2p_volume_mwh + grid_import + grid_export
    return {
        "total_cost_rmb": math.fsum(b.cost_rmb for b in o.bills),
        "cost_by_dno_rmb": {b.name: b.cost_rmb for b in o.bills},
        "gain_rmb": math.fsum(gains),
        "gain_by_dno_rmb": {b.name: b.gain_rmb for b in o.bills},
        "losers": losers,
        "losses_rmb": losses,
        "jain_fairness": jain_index(gains),
        "min_gain_rmb": min(gains) if gains else 0.0,
        "grid_import_mwh": grid_import,
        "grid_export_mwh": grid_export,
        "peak_import_mw": peak,
        "p2p_volume_mwh": o.p2p_volume_mwh,
        "p2p_share": o.p2p_volume_mwh / traded if traded > 0 else 0.0,
        "operator_balance_rmb": o.operator_balance_rmb,
        "network_charges_rmb": o.network_charges_collected_rmb,
        "carbon_cost_rmb": math.fsum(b.carbon_cost_rmb for b in o.bills),
        "emissions_t": grid_import * o.grid_emission_t_per_mwh + o.gas_emission_t,
        "unserved_mwh": o.unserved_mwh,
        "chain_messages": o.chain.get("messages", 0.0),
        "chain_bytes": o.chain.get("bytes", 0.0),
        "chain_finality_p50_ms": o.chain.get("finality_p50_ms", 0.0),
        "coordination_messages": o.coordination.get("messages", 0),
        "coordination_bytes": o.coordination.get("bytes", 0),
        "coordination_iterations": o.coordination.get("iterations", 0),
        "coordination_time_ms": o.coordination.get("time_ms", 0.0),
    }


# name -> (unit, what it means, better when) for reports and `storagemarket compare`.
MEASURES: dict[str, tuple[str, str, str]] = {
    "total_cost_rmb": ("RMB", "all DNOs' bills: grid energy, P2P money, fees, network charges, carbon cost, any heat",
                       "lower"),
    "cost_by_dno_rmb": ("RMB", "each DNO's bill", "lower"),
    "gain_rmb": ("RMB", "total cost saved against planning alone and trading every deviation with the grid", "higher"),
    "gain_by_dno_rmb": ("RMB", "each DNO's gain against that no-trading baseline", "higher"),
    "losers": ("DNOs", "participants with a negative gain (individual rationality violated)", "lower"),
    "losses_rmb": ("RMB", "sum of the negative gains' sizes", "lower"),
    "jain_fairness": ("-", "Jain's index of the gains: 1 equal, 1/n one takes all", "higher"),
    "min_gain_rmb": ("RMB", "the smallest gain of any participant", "higher"),
    "grid_import_mwh": ("MWh", "energy bought from the main grid, summed over DNO connections", "lower"),
    "grid_export_mwh": ("MWh", "energy sold to the main grid", "-"),
    "peak_import_mw": ("MW", "largest hourly import from the main grid", "lower"),
    "p2p_volume_mwh": ("MWh", "energy traded between DNOs (each MWh once), day-ahead and real time", "higher"),
    "p2p_share": ("-", "P2P volume over all traded energy (P2P + grid import + grid export)", "higher"),
    "operator_balance_rmb": ("RMB", "market operator's net: fees minus compensation and scheduling fee; negative is a subsidy", "-"),
    "network_charges_rmb": ("RMB", "use-of-system charges collected", "-"),
    "carbon_cost_rmb": ("RMB", "carbon cost paid when carbon is priced", "lower"),
    "emissions_t": ("t CO2", "grid import times the grid emission factor, plus any gas-fired output times the gas factor",
                    "lower"),
    "unserved_mwh": ("MWh", "load shed because an import limit could not serve it", "lower"),
    "chain_messages": ("messages", "consensus and gossip messages over validator links", "lower"),
    "chain_bytes": ("bytes", "bytes of those messages", "lower"),
    "chain_finality_p50_ms": ("ms", "median time from a transaction's submission to its block's commit", "lower"),
    "coordination_messages": ("messages", "off-chain messages of the coordination stage (links and client hops)", "lower"),
    "coordination_bytes": ("bytes", "bytes of those messages", "lower"),
    "coordination_iterations": ("rounds", "synchronous message rounds of the coordination stage", "lower"),
    "coordination_time_ms": ("ms", "simulated time the coordination stage took", "lower"),
}


# With a distribution network, the run's `network` summary (docs/network.md) adds these, compared
# like the outcomes above: name -> (unit, what it means, better when).
NETWORK_MEASURES: dict[str, tuple[str, str, str]] = {
    "congested_line_hours_before": ("line-hours", "lines the trades overloaded in the linear check, before management", "lower"),
    "curtailed_mwh": ("MWh", "trade volume congestion management cut, summed over rounds", "lower"),
    "ac_overloaded_line_hours": ("line-hours", "lines over their limit in the hourly AC power flow", "lower"),
    "ac_missed_by_linear.line_hours": ("line-hours", "of those, the ones the linear check passed", "lower"),
    "min_v_pu": ("pu", "lowest bus voltage of the AC power flows", "higher"),
    "losses_mwh": ("MWh", "line losses of the AC power flows", "lower"),
    "local_trade_share": ("-", "share of P2P volume between DNOs electrically closer than the median pair", "higher"),
    "mean_trade_distance_ohm": ("ohm", "volume-weighted electrical distance of P2P trades", "lower"),
}

# A design that negotiates bids off chain (best_response) adds its `negotiation` summary.
NEGOTIATION_MEASURES: dict[str, tuple[str, str, str]] = {
    "converged_share": ("-", "share of negotiated hours whose best-response dynamics converged", "higher"),
    "not_converged": ("hours", "negotiated hours that hit the sweep cap", "lower"),
    "cycling": ("hours", "negotiated hours whose dynamics came back to an earlier profile", "lower"),
}

# A design that settles forecast errors after delivery adds its `delivery` summary.
DELIVERY_MEASURES: dict[str, tuple[str, str, str]] = {
    "penalties_rmb": ("RMB", "delivery penalties paid to the market operator", "lower"),
    "shortfall_mwh": ("MWh", "P2P sales not delivered, replaced by the grid", "lower"),
    "paid_to_grid_rmb": ("RMB", "net paid to the grid for what was metered against what cleared", "lower"),
}

# A VCG market adds its budget deficit (also inside operator_balance_rmb).
VCG_MEASURES: dict[str, tuple[str, str, str]] = {
    "deficit_rmb": ("RMB", "what the market operator paid sellers beyond what buyers paid (VCG's deficit)", "lower"),
}

# A coordination stage that iterates towards a central optimum (dual_decomposition) adds how far it got.
DECOMPOSITION_MEASURES: dict[str, tuple[str, str, str]] = {
    "iterations": ("iterations", "subgradient iterations over the run's days", "lower"),
    "cost_gap_share": ("-", "worst day's agreed cost above the central optimum, share of it", "lower"),
    "dual_gap_rmb": ("RMB", "central optimum less the best dual bound reached, summed over days", "lower"),
}

# The cooperative design (nash_bargaining) adds its ADMM and its split.
BARGAINING_MEASURES: dict[str, tuple[str, str, str]] = {
    "saving_rmb": ("RMB", "the coalition's day-ahead saving against every DNO planning alone, split by bargaining", "higher"),
    "iterations": ("iterations", "ADMM iterations over the run's days", "lower"),
    "cost_gap_share": ("-", "worst day's ADMM cost above the central optimum, share of it", "lower"),
}

# Summary sections compared beside the outcomes when a run has them: section -> its measures.
SECTION_MEASURES: dict[str, dict[str, tuple[str, str, str]]] = {
    "network": NETWORK_MEASURES, "negotiation": NEGOTIATION_MEASURES, "delivery": DELIVERY_MEASURES,
    "vcg": VCG_MEASURES, "decomposition": DECOMPOSITION_MEASURES, "bargaining": BARGAINING_MEASURES}
