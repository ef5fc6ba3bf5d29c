"""The live view's parts without a browser: knobs to scenario, the model it watches, the tables
it reads, the panels and components it draws, and Solara's asset cache."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import ipyvuetify
import ipywidgets
import numpy as np
import pytest
import solara
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from mesa.visualization.solara_viz import _check_model_params
from mesa.visualization.utils import force_update

from model.colours import SUPPLY_HATCH, dno_colours
from model.scenario import load
from model.viz import assets, components, data, figures
from model.viz.knobs import CRASH_HOUR, fault_note, knobs_for, recipe_for, scenario_for, user_params
from model.viz.live import LiveModel


@pytest.fixture(scope="module")
def stepped():
    """paper-4dn after ten hours: several auctions with concession rounds have cleared."""
    model = LiveModel()
    for _ in range(10):
        model.step()
    return model


@pytest.fixture
def grid_only():
    """A real-time stage registered at run time, as a plug-in would be; unregistered afterwards."""
    from market.auction import ClearingResult
    from market.realtime import REAL_TIME, RealTimeStage

    @REAL_TIME.register
    class GridOnly(RealTimeStage):
        name = "grid_only"
        summary = "no P2P trading: every deviation is settled with the grid"

        def clear(self, offers, bids, rules, params):
            return ClearingResult.unmatched(offers, bids)

    yield GridOnly.name
    REAL_TIME.unregister(GridOnly.name)


# --- knobs ------------------------------------------------------------------------------------


def test_the_controls_start_at_the_scenario_and_match_the_model_signature():
    params = user_params("paper-4dn")
    scenario = load("paper-4dn")
    assert params["seller_concession"]["value"] == scenario.mechanism.seller_concession
    assert params["n_dnos"]["value"] == len(scenario.dnos)
    assert params["engine"]["value"] == scenario.ledger.engine
    assert params["coordination"]["value"] == scenario.design.coordination.stage
    assert params["real_time"]["value"] == scenario.design.real_time.stage
    _check_model_params(LiveModel.__init__, params)  # what SolaraViz checks before it builds the page
    assert set(params) == set(inspect.signature(LiveModel.__init__).parameters) - {"self"}


def test_knobs_at_the_scenarios_values_leave_it_unchanged():
    scenario = load("paper-4dn")
    assert scenario_for("paper-4dn", knobs_for("paper-4dn", {})) == scenario


def test_a_design_knob_sets_its_slots_stage_as_an_override_would(grid_only):
    own = load("paper-4dn").design
    given = {"coordination": own.coordination.stage, "real_time": own.real_time.stage}
    assert scenario_for("paper-4dn", knobs_for("paper-4dn", given)) == load("paper-4dn")
    chosen = scenario_for("paper-4dn", knobs_for("paper-4dn", {"real_time": grid_only}))
    assert chosen == load("paper-4dn", [f"design.real_time.stage={grid_only}"])
    assert chosen.design.real_time.stage == grid_only and chosen.design.coordination == own.coordination
    redrawn = scenario_for("paper-4dn", knobs_for("paper-4dn", {"real_time": grid_only, "n_dnos": 5}))
    assert redrawn.design.real_time.stage == grid_only and len(redrawn.dnos) == 5


def test_knobs_set_the_mechanism_the_day_and_the_faults():
    knobs = knobs_for("paper-4dn", {"seller_concession": 0.1, "service_fee_per_mwh": 50, "n_dnos": 6,
                                    "forecast_error_scale": 2.0, "engine": "raft", "faulty_validators": 2})
    scenario = scenario_for("paper-4dn", knobs)
    assert scenario.mechanism.seller_concession == 0.1 and scenario.mechanism.service_fee_per_mwh == 50
    assert [d.name for d in scenario.dnos] == [f"DN{i}" for i in range(1, 7)]
    assert "forecast-error scale 2" in scenario.description
    assert [(c.node, c.at_hour) for c in scenario.ledger.crashes] == [(2, CRASH_HOUR), (3, CRASH_HOUR)]
    bft = scenario_for("paper-4dn", knobs_for("paper-4dn", {"faulty_validators": 1}))
    assert bft.ledger.byzantine == {3: "equivocating"} and bft.ledger.crashes == []


def test_a_recipe_is_found_only_for_scenarios_made_from_one(tmp_path):
    assert recipe_for("paper-4dn").seed == 2017
    assert recipe_for(str(tmp_path / "mine.yaml")) is None


# --- the model ----------------------------------------------------------------------------------


def test_each_model_writes_its_own_ledger_file_which_the_page_removes_on_reset():
    from model.app import Page

    _, rc = solara.render(solara.AppLayout(children=[Page()]), handle_error=False)  # the layout holds the sidebar
    texts = lambda: " ".join(str(w.children) for w in rc.find(ipyvuetify.Html, tag="span").widgets)  # noqa: E731
    rc.find(ipyvuetify.Btn, children=["Step"]).widget.click()
    assert "Day 1, hour 1" in texts()
    ledger = Path(re.search(r"(/\S+/ledger\.sqlite) \(check it", texts()).group(1))
    assert ledger.exists() and ledger.stat().st_size > 0
    rc.find(ipyvuetify.Btn, children=["Reset"]).widget.click()
    assert "Ready: 24 hours" in texts() and not ledger.parent.exists()
    assert Path(re.search(r"(/\S+/ledger\.sqlite) \(check it", texts()).group(1)) != ledger
    rc.close()


def test_a_stage_registered_at_run_time_is_offered_shown_and_applied_on_reset(grid_only):
    from market.coordination import COORDINATION
    from market.realtime import REAL_TIME
    from model.app import Page

    assert grid_only in user_params("paper-4dn")["real_time"]["values"]
    _, rc = solara.render(solara.AppLayout(children=[Page()]), handle_error=False)
    select = rc.find(ipyvuetify.Select, label="Real-time stage").widget
    assert select.items == list(REAL_TIME) and grid_only in select.items and select.v_model == "concession_auction"
    assert rc.find(ipyvuetify.Select, label="Coordination stage").widget.items == list(COORDINATION)
    design = lambda: [str(w.children) for w in rc.find(ipyvuetify.Html, class_="sm-design").widgets]  # noqa: E731
    assert any("Real-time stage: concession_auction (double auction" in d for d in design())
    guide = f"{grid_only}: no P2P trading"  # the sidebar's folded guide to the stages
    assert any(guide in str(w.children) for w in rc.find(ipyvuetify.Html, tag="span").widgets)
    select.v_model = grid_only
    rc.find(ipyvuetify.Btn, children=["Reset"]).widget.click()
    assert any(f"Real-time stage: {grid_only} (no P2P trading" in d for d in design())
    rc.close()


def test_a_step_records_its_gossip_and_its_blocks(stepped):
    network = stepped.ledger.cluster.network
    assert sum(network.link_messages.values()) == network.messages
    assert stepped.step_links and all(n > 0 for n in stepped.step_links.values())
    assert set(stepped.step_links) <= {(min(u, v), max(u, v)) for u, v in network.graph.edges}
    assert [c.block.height for c in stepped.step_blocks] == [stepped.ledger.chain.height]


def test_the_model_steps_from_another_thread_than_the_one_that_made_it():
    """Mesa's Play steps from a worker thread; the ledger file must take the writes."""
    import threading

    model, errors = LiveModel(), []

    def play():
        try:
            for _ in range(3):
                model.step()
        except Exception as exc:  # noqa: BLE001  (reported below)
            errors.append(exc)

    worker = threading.Thread(target=play)
    worker.start()
    worker.join()
    assert errors == [] and model.hour == 3
    model.discard()
    assert not model.store_dir.exists()


# --- the tables ---------------------------------------------------------------------------------


def test_network_state_marks_the_proposer_and_the_faulty():
    model = LiveModel(engine="raft", faulty_validators=1)
    for _ in range(int(CRASH_HOUR) + 1):
        model.step()
    state = data.network_state(model)
    assert state.status == {0: "honest", 1: "honest", 2: "honest", 3: "crashed"}
    assert model.config.ledger.crashes[0].node == 3 and state.labels[3].startswith("v3\n"), "named as in the scenario"
    proposer = model.ledger.alliance.validators[state.proposers[0]].public_hex
    assert proposer == model.ledger.chain.blocks[-1].block.header.proposer
    byzantine = LiveModel(faulty_validators=1)
    assert data.network_state(byzantine).status[3] == "byzantine"


def test_storage_plans_show_intraday_only_up_to_the_hour(stepped):
    plans = data.storage_plans(stepped)
    assert len(plans) == 24 * len(stepped.dnos)
    done = plans[plans["hour"] <= stepped.hour]
    assert done["intraday_mw"].notna().all() and plans[plans["hour"] > stepped.hour]["intraday_mw"].isna().all()
    dn1 = done[done["dno"] == "DN1"]
    assert np.allclose(dn1["intraday_mw"], [stepped.dnos[0].action_mw(h) for h in dn1["hour"]])
    assert plans["day_ahead_soc"].between(0, 1).all()


def test_the_auction_book_converges_and_volumes_match_the_trades(stepped):
    key, book, trades = data.latest_auction(stepped)
    assert key is not None and key <= (stepped.day, stepped.hour)
    assert len(book["round"].unique()) == len(stepped.clearings[key].rounds)
    for (bidder, side), rows in book.groupby(["bidder", "side"]):
        prices = rows.sort_values("round")["price_per_mwh"].to_numpy()
        assert (np.diff(prices) <= 1e-9).all() if side == "sell" else (np.diff(prices) >= -1e-9).all()
    assert len(trades) == len(stepped.clearings[key].trades)
    volumes = data.volumes(stepped)
    assert volumes.to_numpy().sum() == pytest.approx(sum(r["quantity_mwh"] for r in stepped.trade_rows))


def test_money_and_settlement_follow_the_chain(stepped):
    money = data.money(stepped)
    assert len(money) == stepped.steps
    assert money["welfare_rmb"].iloc[-1] == pytest.approx(stepped.welfare_rmb)
    assert money["fees_rmb"].is_monotonic_increasing
    settled = data.settlement(stepped).set_index("dno")
    for name, account in stepped.accounts.items():
        assert settled.loc[name, "revenue_rmb"] == pytest.approx(account.revenue_rmb)
        parts = settled.loc[name, ["p2p_rmb", "grid_rmb", "compensation_rmb", "fees_rmb"]].sum()
        assert parts == pytest.approx(account.revenue_rmb)


def test_latest_blocks_are_newest_first(stepped):
    blocks = data.latest_blocks(stepped, 4)
    height = stepped.ledger.chain.height
    assert list(blocks["height"]) == [height, height - 1, height - 2, height - 3]
    assert blocks["proposer"].str.fullmatch(r"v\d").all()
    assert blocks.iloc[0]["hash"] == stepped.ledger.chain.blocks[-1].block.header.hash


# --- drawing ------------------------------------------------------------------------------------


def test_panels_redraw_in_place(stepped):
    names = [d.name for d in stepped.dnos]
    panels = [
        (figures.NetworkPanel(data.network_state(LiveModel())), lambda p: p.update(data.network_state(stepped))),
        (figures.StoragePanel(names), lambda p: p.update(data.storage_plans(stepped), data.positions(stepped), 10)),
        (figures.AuctionPanel(names), lambda p: p.update(*data.latest_auction(stepped), data.volumes(stepped), 10)),
        (figures.MoneyPanel(names), lambda p: p.update(data.money(stepped), data.settlement(stepped))),
    ]
    for panel, update in panels:
        empty = panel.png()
        axes = list(panel.fig.axes)
        update(panel)
        assert panel.png()[:8] == b"\x89PNG\r\n\x1a\n" and panel.png() != empty
        assert panel.fig.axes == axes and isinstance(panel.fig, Figure)


def test_components_redraw_their_figures_on_every_step():
    model = LiveModel()

    @solara.component
    def Page():
        for view in components.VIEWS:
            view(model)

    _, rc = solara.render(Page(), handle_error=False)
    pictures = lambda: [w.value for w in rc.find(ipywidgets.Image).widgets]  # noqa: E731
    before = pictures()
    assert len(before) == 4
    model.step()
    force_update()
    after = pictures()
    assert all(a != b for a, b in zip(before, after))
    assert any("Day 1, hour 1" in str(w.children) for w in rc.find(ipyvuetify.Html, tag="span").widgets)
    rc.close()


def test_the_credit_knob_keeps_double_credit_on_chain_and_the_page_shows_it():
    assert user_params("paper-4dn")["credit"] == {"type": "Checkbox", "label": "Double credit on chain",
                                                  "value": False}
    scenario = scenario_for("paper-4dn", knobs_for("paper-4dn", {"credit": True, "engine": "raft"}))
    assert scenario == load("paper-4dn", ["ledger.credit.enabled=true", "ledger.engine=raft"])
    model = LiveModel(engine="raft", credit=True)
    for _ in range(3):
        model.step()
    table = data.credit(model).set_index("name")
    participants, validators = model.ledger.credits()
    assert list(table.index) == ["DN1", "DN2", "DN3", "DN4", "v0", "v1", "v2", "v3"]  # as the scenario numbers them
    assert table.loc["DN1", "transaction_credit"] == participants["DN1"] > 0.8  # two settled hours so far
    v0 = validators[model.ledger.alliance.validators[0].public_hex]
    assert table.loc["v0", ["transaction_credit", "node_credit"]].tolist() == [v0.transaction, v0.node]
    assert table.loc["v0", "status"] == "may stand" and table.loc["DN1", "status"] == "bids admitted"

    def rows(m):
        @solara.component
        def Page():
            components.DoubleCredit(m)

        _, rc = solara.render(Page(), handle_error=False)
        shown = "".join(w.unsafe_innerHTML for w in rc.find(solara.widgets.HTML).widgets)
        rc.close()
        return shown.count("<tr class='sm-credit-row'>")

    assert rows(model) == 8
    assert rows(LiveModel()) == 0 and data.credit(LiveModel()).empty  # no credit, no card


def test_blocks_table_escapes_and_shortens_hashes(stepped):
    table = components.blocks_table(data.latest_blocks(stepped, 2))
    assert table.count("<tr class='sm-block'>") == 2
    assert re.search(r"title='[0-9a-f]{64}'>[0-9a-f]{16}…", table)


# --- Solara's assets ----------------------------------------------------------------------------


def test_the_asset_list_is_read_from_the_installed_solara():
    import solara as package

    template = (Path(package.__file__).parent / "server/templates/solara.html.j2").read_text()
    app = re.search(r"@widgetti/solara-vuetify-app@[\d.]+", template).group(0)
    wanted = assets.wanted()
    assert app in wanted and any(w.startswith("requirejs@") for w in wanted)
    assert any(w.startswith("font-awesome@") for w in wanted)


def test_the_asset_cache_is_filled(tmp_path):
    assert assets.missing(tmp_path) == assets.wanted()
    assert assets.missing() == [], "run `make assets` (make test does) to fill Solara's asset cache"


def test_viz_with_a_bad_scenario_is_one_line_and_exit_2(capsys, tmp_path):
    from experiments.cli import main

    assert main(["viz", str(tmp_path / "missing.yaml"), "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "missing.yaml" in err


def test_faults_beyond_what_an_engine_tolerates_are_named():
    assert fault_note("bft", 1, 4) is None and fault_note("raft", 1, 4) is None
    assert "3f" in fault_note("bft", 2, 4)
    assert "stalls" in fault_note("raft", 2, 4)
    assert fault_note("pow", 3, 4) is None and "no block" in fault_note("pow", 4, 4)


def test_the_view_signs_colours_and_marks_roles_as_the_report_does(stepped):
    """Demand +, supply − (hatched), each DNO in its colour of model.colours; asks ▼, bids ▲."""
    names = [d.name for d in stepped.dnos]
    colours = dno_colours(names)
    positions = data.positions(stepped).set_index("dno")
    assert positions.supply_mwh.sum() > 0, "some DNO supplies in the hour shown"
    panel = figures.StoragePanel(names)
    panel.update(data.storage_plans(stepped), data.positions(stepped), stepped.hour)
    for name, supply, demand in zip(names, panel.supply, panel.demand):
        assert supply.get_width() == pytest.approx(-positions.loc[name, "supply_mwh"]) and supply.get_hatch() == SUPPLY_HATCH
        assert demand.get_width() == pytest.approx(positions.loc[name, "demand_mwh"]) and not demand.get_hatch()
        assert to_hex(supply.get_facecolor()) == to_hex(demand.get_facecolor()) == colours[name]
        assert {to_hex(line.get_color()) for line in panel.lines[name]} == {colours[name]}
    auction = figures.AuctionPanel(names)
    auction.update(*data.latest_auction(stepped), data.volumes(stepped), stepped.hour)
    for line in auction.book.lines:
        bidder, side = line.get_label().split()
        assert to_hex(line.get_color()) == colours[bidder] and line.get_marker() == ("v" if side == "ask" else "^")


def test_the_feeder_panel_shows_for_a_model_with_a_network_and_not_otherwise():
    """The feeder as the report draws it (model.network_figure), redrawn with each hour."""
    from tests.test_network_figure import fits

    networked, plain = LiveModel(scenario_name="feeder-33bus"), LiveModel()

    def shown(model):
        @solara.component
        def Page():
            components.DistributionFeeder(model)

        _, rc = solara.render(Page(), handle_error=False)
        return rc, lambda: [w.value for w in rc.find(ipywidgets.Image).widgets]

    rc, pictures = shown(plain)
    assert pictures() == [] and not rc.find(ipyvuetify.Card).widgets
    rc.close()
    rc, pictures = shown(networked)
    before = pictures()
    assert len(before) == 1 and "sm-feeder" in rc.find(ipyvuetify.Card).widget.class_.split()
    for _ in range(3):
        networked.step()
    force_update()
    assert pictures() != before
    rc.close()
    when, lines, buses, trades = data.feeder_hour(networked)
    assert when == (1, 3) and len(lines) == networked.config.network.feeder.n_lines
    assert len(buses) == networked.config.network.feeder.n_buses
    assert len(trades) == sum(1 for r in networked.trade_rows if (r["day"], r["hour"]) == when)
    panel = figures.FeederPanel(networked.config.network)
    axes = list(panel.fig.axes)
    panel.update(when, lines, buses, trades)
    assert panel.fig.axes == axes and panel.drawing.ax.get_title(loc="left").startswith("Day 1, hour 3")
    assert fits(panel.fig), "laid out once, with room for every hour's title"
    networked.discard()
    plain.discard()
