"""The live view of the market and the chain: `storagemarket viz` or `solara run model/app.py`.

The scenario comes from STORAGEMARKET_VIZ_SCENARIO (default paper-4dn). Each browser tab gets
its own model: `Page` makes it in a hook, so no model at module level is shared between tabs.
"""

from __future__ import annotations

import os

import solara
from mesa.visualization import SolaraViz
from solara.server import settings

from model.viz.components import VIEWS, StageGuide
from model.viz.knobs import user_params
from model.viz.live import LiveModel

settings.telemetry.mixpanel_enable = False  # also under a plain `solara run`: no calls home
SCENARIO = os.environ.get("STORAGEMARKET_VIZ_SCENARIO", "paper-4dn")
# Mesa's sliders show their value only while dragged: keep Vuetify's value bubble on the thumb
# (with room above it), and hide Mesa's tab bar while it holds a single tab ("PAGE 0").
PAGE_CSS = """
.v-slider__thumb-label-container { display: block !important; }
.v-input__slider { margin-top: 26px !important; }
.v-tabs:not(:has(.v-tab ~ .v-tab)) { display: none; }
"""


@solara.component
def Page():
    params = solara.use_memo(lambda: user_params(SCENARIO), [])
    first = solara.use_memo(lambda: LiveModel(**{k: v["value"] if isinstance(v, dict) else v
                                                  for k, v in params.items()}), [])
    model = solara.use_reactive(first)  # Mesa's Reset puts a new model here
    solara.use_effect(lambda: model.value.discard, [model.value])  # drop the old one's ledger directory
    solara.Title("storagemarket")  # the browser tab's name (Solara's default reads "PAGE 0")
    solara.Style(PAGE_CSS)
    with solara.Sidebar():
        StageGuide()
    SolaraViz(model, components=[(view, 0) for view in VIEWS], model_params=params,
              name="storagemarket: DNOs trading storage over a permissioned chain")
