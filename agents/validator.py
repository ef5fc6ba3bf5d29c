"""A validator node of the alliance chain, as seen from the model (the node itself lives in ledger/)."""

from __future__ import annotations

import mesa


class Validator(mesa.Agent):
    """Index into the ledger's cluster, who runs it, and its fault status for display and data."""

    def __init__(self, model: mesa.Model, index: int, host: str | None, status: str) -> None:
        super().__init__(model)
        self.index = index
        self.host = host
        self.status = status  # "honest", "crashed" (some time in the run) or a Byzantine behaviour

    @property
    def name(self) -> str:
        return f"validator{self.index + 1}"

    @property
    def height(self) -> int:
        return self.model.ledger.cluster.nodes[self.index].chain.height
