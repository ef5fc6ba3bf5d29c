"""The knobs people sweep, as the live view's controls, and the scenario they make.

A knob left at the scenario's own value leaves the scenario file as it is. The number of DNOs
and the forecast-error level change the day itself, so they need the scenario's recipe (the
bundled recipe of the same name): the day is then drawn again from the recipe, with the recipe's
own seed, so only the knob moves. Faulty validators follow each engine's fault model: under
`bft` the last f validators equivocate (Byzantine), under `raft` and `pow` they crash at `CRASH_HOUR`.
Double credit on chain is one switch (the scenario's `ledger.credit.enabled`).
The market design has a knob per slot, listing the stages registered when the page is built, so
a stage registered at run time is offered too.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from ledger.consensus import ENGINES
from market.design import SLOTS
from model.scenario import Scenario, load, read_yaml, resolve, validate
from model.synthetic import RECIPES_DIR, Recipe, build, load_recipe, with_n_dnos

CRASH_HOUR = 6.0  # crash-fault engines' faulty validators stop after hour 6, so the network shows the change
MAX_DNOS = 8
SEED_MAX = 99


@dataclass(frozen=True)
class Knobs:
    coordination: str  # a stage per slot of market.design.SLOTS
    real_time: str
    seller_concession: float
    buyer_concession: float
    compensation_per_mwh: float
    service_fee_per_mwh: float
    forecast_error_scale: float
    n_dnos: int
    engine: str
    faulty_validators: int
    credit: bool  # double credit kept on chain (ledger.credit.enabled)


def recipe_for(scenario: str) -> Recipe | None:
    """The bundled recipe a scenario was generated from (same name), if there is one."""
    path = RECIPES_DIR / f"{Path(scenario).stem}.yaml"
    return load_recipe(path) if path.exists() else None


def defaults(scenario: Scenario, recipe: Recipe | None) -> Knobs:
    """The knobs as the scenario itself sets them."""
    mech, ledger = scenario.mechanism, scenario.ledger
    return Knobs(
        **{slot: getattr(scenario.design, slot).stage for slot in SLOTS},
        seller_concession=mech.seller_concession,
        buyer_concession=mech.buyer_concession,
        compensation_per_mwh=mech.valley_compensation_per_mwh,
        service_fee_per_mwh=mech.service_fee_per_mwh,
        forecast_error_scale=recipe.errors.scale if recipe else 1.0,
        n_dnos=len(scenario.dnos),
        engine=ledger.engine,
        faulty_validators=0,
        credit=ledger.credit.enabled,
    )


def knobs_for(name: str, given: dict) -> Knobs:
    """The scenario's own knobs with those `given` (by field name) replacing them."""
    own = defaults(load(name), recipe_for(name))
    kinds = {f: type(getattr(own, f)) for f in Knobs.__dataclass_fields__}
    return replace(own, **{k: kinds[k](v) for k, v in given.items()})


def scenario_for(name: str, knobs: Knobs) -> Scenario:
    """The scenario `name` with the knobs applied (validated; a bad value raises ScenarioError)."""
    base = load(name)
    recipe = recipe_for(name)
    own = defaults(base, recipe)
    redraw = (knobs.n_dnos, knobs.forecast_error_scale) != (own.n_dnos, own.forecast_error_scale)
    if redraw and recipe is not None:
        data = build(with_n_dnos(recipe, knobs.n_dnos), error_scale=knobs.forecast_error_scale)
        source = f"{RECIPES_DIR / Path(name).stem}.yaml"
    else:
        source = str(resolve(name))
        data = read_yaml(Path(source))
    data["mechanism"] = {
        **data.get("mechanism", {}),
        "seller_concession": knobs.seller_concession,
        "buyer_concession": knobs.buyer_concession,
        "valley_compensation_per_mwh": knobs.compensation_per_mwh,
        "service_fee_per_mwh": knobs.service_fee_per_mwh,
    }
    data["design"] = _design(data.get("design", {}), knobs, own)
    data["ledger"] = _ledger(data.get("ledger", {}), knobs.engine, knobs.faulty_validators)
    if knobs.credit != own.credit:
        data["ledger"]["credit"] = {**data["ledger"].get("credit", {}), "enabled": knobs.credit}
    return validate(data, source=f"{source} with the viewer's controls")


def _design(design: dict, knobs: Knobs, own: Knobs) -> dict:
    """The design block with each changed slot's new stage, at its default parameters: another
    stage's parameters would not fit it. A slot left at the scenario's stage keeps its block."""
    changed = {slot: {"stage": getattr(knobs, slot)} for slot in SLOTS if getattr(knobs, slot) != getattr(own, slot)}
    return {**design, **changed}


def _ledger(ledger: dict, engine: str, faulty: int) -> dict:
    ledger = {**ledger, "engine": engine}
    if faulty:
        n = ledger.get("network", {}).get("n_validators", 4)
        nodes = range(max(n - faulty, 0), n)
        if engine == "bft":
            ledger["byzantine"] = {i: "equivocating" for i in nodes}
            ledger["crashes"] = []
        else:
            ledger["crashes"] = [{"node": i, "at_hour": CRASH_HOUR} for i in nodes]
            ledger["byzantine"] = {}
    return ledger


def fault_note(engine: str, faulty: int, n_validators: int) -> str | None:
    """What the chosen faults do to the engine's guarantees, when they break one."""
    if engine == "bft" and faulty and 3 * faulty >= n_validators:
        return f"n = {n_validators} <= 3f = {3 * faulty}: BFT no longer guarantees that honest validators agree"
    if engine == "raft" and 2 * faulty >= n_validators:
        return f"{faulty} of {n_validators} validators crash: no majority is left, so the chain stalls after hour {CRASH_HOUR:g}"
    if engine == "pow" and faulty >= n_validators:
        return f"every miner crashes: no block is found after hour {CRASH_HOUR:g}"
    return None


def user_params(name: str) -> dict:
    """Mesa SolaraViz `model_params`: the scenario (fixed) and a control for each knob."""
    scenario = load(name)
    recipe = recipe_for(name)
    own = defaults(scenario, recipe)
    n_validators = scenario.ledger.network.n_validators
    params: dict = {
        "scenario_name": name,
        # the registries are read now, not at import, so stages registered since are offered too
        **{slot: _select(slot_label(slot), getattr(own, slot), list(registry)) for slot, registry in SLOTS.items()},
        "seller_concession": _slider("Seller concession rate", own.seller_concession, 0.0, 0.5, 0.01),
        "buyer_concession": _slider("Buyer concession rate", own.buyer_concession, 0.0, 0.5, 0.01),
        "compensation_per_mwh": _slider("Valley compensation (RMB/MWh)", own.compensation_per_mwh, 0.0, 300.0, 10.0),
        "service_fee_per_mwh": _slider("Service fee (RMB/MWh)", own.service_fee_per_mwh, 0.0, 300.0, 10.0),
    }
    if recipe is not None:  # both redraw the day from the recipe
        params["forecast_error_scale"] = _slider("Forecast error scale", own.forecast_error_scale, 0.0, 3.0, 0.1)
        params["n_dnos"] = {"type": "SliderInt", "label": "Number of DNOs", "value": own.n_dnos,
                            "min": 1, "max": max(MAX_DNOS, own.n_dnos), "step": 1}
    params["engine"] = _select("Consensus engine", own.engine, sorted(ENGINES))
    params["faulty_validators"] = {"type": "SliderInt", "label": "Faulty validators",
                                   "value": 0, "min": 0, "max": n_validators - 1, "step": 1}
    params["credit"] = {"type": "Checkbox", "label": "Double credit on chain", "value": own.credit}
    params["seed"] = {"type": "SliderInt", "label": "Seed", "value": 0, "min": 0, "max": SEED_MAX, "step": 1}
    return params


def slot_label(slot: str) -> str:
    """'real_time' -> 'Real-time stage': the control's label and the page's name for the slot."""
    return f"{slot.replace('_', '-').capitalize()} stage"


def _select(label: str, value: str, values: list[str]) -> dict:
    return {"type": "Select", "label": label, "value": value, "values": values}


def _slider(label: str, value: float, low: float, high: float, step: float) -> dict:
    return {"type": "SliderFloat", "label": label, "value": float(value), "min": low,
            "max": max(high, float(value)), "step": step}
