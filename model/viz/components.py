"""Solara components of the live view; each view takes the model and redraws when Mesa steps it.

Mesa's SolaraViz bumps `update_counter` after every step; reading it subscribes a component.
Each figure panel is made once per model and redrawn once per step: the (model, steps) version
is passed as a prop, because reacton skips a child whose props compare equal, and it compares
lambdas by code and closure, which do not change between steps.
"""

from __future__ import annotations

import html

import solara
from mesa.visualization.utils import update_counter

from market.design import SLOTS
from model.viz import data, figures
from model.viz.knobs import fault_note, slot_label

BLOCKS_SHOWN = 6


@solara.component
def _Panel(make_panel, update, name: str, version: tuple):
    """A panel made once per model, updated and rendered once per step."""
    panel = solara.use_memo(make_panel, dependencies=[version[0]])

    def render() -> bytes:
        update(panel)
        return panel.png()

    png = solara.use_memo(render, dependencies=[version])
    solara.Image(png, width="100%", classes=[f"sm-figure-{name}"])


def _version(model) -> tuple:
    return id(model), model.steps


@solara.component
def RunStatus(model):
    """Where the run is: day and hour, the chain's height and faults, and any error."""
    update_counter.get()
    k = model.knobs
    faults = "none"
    if k.faulty_validators:
        kind = "Byzantine" if k.engine == "bft" else f"crash after hour {model.config.ledger.crashes[0].at_hour:g}"
        faults = f"{k.faulty_validators} ({kind})"
    with solara.Card("Run", classes=["sm-run"]), solara.Column(gap="6px"):
        solara.Text(f"Day {model.day + 1}, hour {model.hour} (step {model.hour_index} of {model.hours_total})"
                    if model.hour_index else f"Ready: {model.hours_total} hours to run", classes=["sm-hour"],
                    style={"font-size": "18px", "font-weight": "bold"})
        solara.Text(f"{model.config.name}: {len(model.dnos)} DNOs, seed {model.seed}; "
                    f"{k.engine}{' with double credit' if k.credit else ''} over {len(model.validators)} "
                    f"validators, faulty: {faults}; "
                    f"chain height {model.ledger.chain.height}, {model.ledger.cluster.network.messages} messages")
        solara.Text(f"concession {k.seller_concession:g} (sellers) / {k.buyer_concession:g} (buyers) per round; "
                    f"valley compensation {k.compensation_per_mwh:g}, service fee {k.service_fee_per_mwh:g} RMB/MWh; "
                    f"forecast error x{k.forecast_error_scale:g}")
        for slot, stage, summary in data.design(model):
            solara.Text(f"{slot_label(slot)}: {stage} ({summary})", classes=["sm-design"])
        note = fault_note(k.engine, k.faulty_validators, len(model.validators))
        if note:
            solara.Warning(note)
        if model.error:
            solara.Error(model.error)
        elif not model.running:
            solara.Success("The run has ended: every hour and day is settled on chain.")


@solara.component
def StageGuide():
    """What each registered stage does: the help the design controls (Mesa's plain selects) lack.
    Folded, so the controls below stay in view; read when drawn, so late registrations show."""
    with solara.Card(classes=["sm-stages"]), solara.Details("What each design stage does"):
        with solara.Column(gap="4px"):
            for slot, registry in SLOTS.items():
                solara.Text(slot_label(slot), style={"font-weight": "bold"})
                for name, stage in registry.items():
                    solara.Text(f"{name}: {stage.summary}", style={"font-size": "12px"})


@solara.component
def ValidatorNetwork(model):
    update_counter.get()
    with solara.Card("Validator network", classes=["sm-network"]):
        _Panel(lambda: figures.NetworkPanel(data.network_state(model)),
               lambda panel: panel.update(data.network_state(model)), "network", _version(model))


@solara.component
def DnoStorage(model):
    update_counter.get()
    with solara.Card("DNOs: storage plans and the hour's deviation", classes=["sm-dnos"]):
        _Panel(lambda: figures.StoragePanel([d.name for d in model.dnos]),
               lambda panel: panel.update(data.storage_plans(model), data.positions(model), model.hour),
               "dnos", _version(model))


@solara.component
def Auction(model):
    update_counter.get()
    with solara.Card("Auction: order book by round, P2P vs grid", classes=["sm-auction"]):
        _Panel(lambda: figures.AuctionPanel([d.name for d in model.dnos]),
               lambda panel: panel.update(*data.latest_auction(model), data.volumes(model), model.hour),
               "auction", _version(model))


@solara.component
def DistributionFeeder(model):
    """The feeder in the hour just stepped, when the scenario has a network."""
    update_counter.get()
    network = model.config.network
    if network is None:
        return
    with solara.Card("Distribution network: line loading and the hour's trades", classes=["sm-feeder"]):
        _Panel(lambda: figures.FeederPanel(network), lambda panel: panel.update(*data.feeder_hour(model)), "feeder",
               _version(model))


@solara.component
def Money(model):
    update_counter.get()
    with solara.Card("Welfare, platform account and settlement", classes=["sm-money"]):
        _Panel(lambda: figures.MoneyPanel([d.name for d in model.dnos]),
               lambda panel: panel.update(data.money(model), data.settlement(model)), "money", _version(model))


@solara.component
def LatestBlocks(model):
    """The newest committed blocks, and the run's ledger file to download (or verify in place)."""
    update_counter.get()
    with solara.Card("Latest blocks", classes=["sm-blocks"]), solara.Column(gap="6px"):
        solara.HTML(tag="div", unsafe_innerHTML=blocks_table(data.latest_blocks(model, BLOCKS_SHOWN)))
        path = model.store_path
        solara.FileDownload(lambda: path.read_bytes(), filename="ledger.sqlite", label="Ledger file: ledger.sqlite",
                            mime_type="application/vnd.sqlite3")
        solara.Text(f"{path} (check it with: storagemarket ledger verify {path})", style={"font-size": "11px"})


@solara.component
def DoubleCredit(model):
    """Each DNO's and validator's credit as committed, when the chain keeps double credit."""
    update_counter.get()
    table = data.credit(model)
    if table.empty:
        return
    with solara.Card("Double credit on chain", classes=["sm-credit"]):
        solara.HTML(tag="div", unsafe_innerHTML=credit_table(table))


def _table(head: tuple[str, ...], rows: list[str]) -> str:
    cells = "".join(f"<th style='text-align:left;padding:2px 8px'>{h}</th>" for h in head)
    return f"<table style='border-collapse:collapse;font-size:13px'><tr>{cells}</tr>{''.join(rows)}</table>"


_TD = "<td style='padding:2px 8px'>"


def blocks_table(blocks) -> str:
    """An HTML table of blocks; the full hash is in each row's title."""
    return _table(("height", "proposer", "tx", "hash", "time (s)"), [
        f"<tr class='sm-block'>{_TD}{b.height}</td>{_TD}{b.proposer}</td>{_TD}{b.transactions}</td>"
        f"<td style='padding:2px 8px;font-family:monospace' title='{html.escape(b.hash)}'>{b.hash[:16]}…</td>"
        f"{_TD}{b.time_s:g}</td></tr>"
        for b in blocks.itertuples()])


def credit_table(credit) -> str:
    """An HTML table of credits: TC for DNOs; TC, NC and the composite for validators."""
    number = lambda x: "" if x != x else f"{x:.3f}"  # noqa: E731  (NaN: a DNO has no node credit)
    return _table(("", "transaction", "node", "composite", ""), [
        f"<tr class='sm-credit-row'>{_TD}{html.escape(c.name)}</td>{_TD}{number(c.transaction_credit)}</td>"
        f"{_TD}{number(c.node_credit)}</td>{_TD}{number(c.composite)}</td>{_TD}{c.status}</td></tr>"
        for c in credit.itertuples()])


VIEWS = [RunStatus, ValidatorNetwork, DnoStorage, Auction, DistributionFeeder, Money, LatestBlocks, DoubleCredit]
