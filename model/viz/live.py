"""The model the browser watches: StorageMarketModel built from the viewer's knobs, remembering
what one step did on the chain (which links carried messages, which blocks were committed).

Mesa's SolaraViz re-creates the model with keyword arguments on reset, hence the flat signature;
the scenario's name is `scenario_name` because Mesa 3.5's reset passes its own `scenario=`.
Each instance writes its chain to its own temporary directory (one per browser tab and reset), so
the page can offer the run's ledger file; `discard` removes it (the page calls it when a reset or
a closed tab drops the model; Mesa keeps every model alive in `Agent._ids`, so garbage collection
would not), and whatever is left goes when the server exits.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from pathlib import Path

from model.market_model import ChainStalled, StorageMarketModel
from model.viz.knobs import Knobs, knobs_for, scenario_for


class LiveModel(StorageMarketModel):
    def __init__(
        self,
        scenario_name: str = "paper-4dn",
        coordination: str | None = None,
        real_time: str | None = None,
        seller_concession: float | None = None,
        buyer_concession: float | None = None,
        compensation_per_mwh: float | None = None,
        service_fee_per_mwh: float | None = None,
        forecast_error_scale: float | None = None,
        n_dnos: int | None = None,
        engine: str | None = None,
        faulty_validators: int | None = None,
        credit: bool | None = None,
        seed: int = 0,
    ) -> None:
        """Knobs left at None keep the scenario's own value."""
        given = {k: v for k, v in locals().items() if k in Knobs.__dataclass_fields__ and v is not None}
        self.knobs = knobs_for(scenario_name, given)
        self.scenario_name = scenario_name
        built = scenario_for(scenario_name, self.knobs)
        self.store_dir = Path(tempfile.mkdtemp(prefix="storagemarket-viz-"))
        self.store_path = self.store_dir / "ledger.sqlite"
        super().__init__(built, rng=int(seed), store_path=self.store_path)
        self.discard = weakref.finalize(self, _discard, self.ledger, self.store_dir)  # runs once, at the latest on exit
        self.error: str | None = None
        self.step_links: dict[tuple[int, int], int] = {}  # messages per link during the last step
        self.step_blocks: list = []  # blocks committed during the last step

    def step(self) -> None:
        chain, network = self.ledger.chain, self.ledger.cluster.network
        height, links = chain.height, dict(network.link_messages)
        try:
            super().step()
        except ChainStalled as exc:  # shown on the page; the run is over
            self.error, self.running = str(exc), False
        self.step_links = {k: n - links.get(k, 0) for k, n in network.link_messages.items() if n > links.get(k, 0)}
        self.step_blocks = chain.blocks[height + 1 :]


def _discard(ledger, directory: Path) -> None:
    ledger.close()
    shutil.rmtree(directory, ignore_errors=True)
