"""The live view (`storagemarket viz`, model/app.py): Mesa's SolaraViz over the market and the chain.

knobs: the controls and the scenario they make; live: the model the page steps; data: what the
page shows, as tables; figures: matplotlib panels; components: the Solara cards; assets: Solara's
JavaScript and CSS cached from the npm registry; serve: starts the server.
"""
