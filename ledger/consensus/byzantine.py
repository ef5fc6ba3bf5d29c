"""Byzantine behaviours for fault injection: an equivocating proposer and voter, colluding.

Byzantine nodes run the honest state machine to follow the chain, but replace what they send:
as proposer they send one valid block to one group of honest validators and a different valid
block to the other; as voters they vote for each group's block towards that group (or, under an
honest proposer, for its block towards one group and nil towards the other). They never relay.
With f Byzantine nodes and n > 3f this cannot make honest nodes commit different blocks; the
negative-control test shows it does once n <= 3f.
"""

from __future__ import annotations

from typing import Any

from ledger.block import Vote
from ledger.consensus.bft import BftNode, VoteMessage
from ledger.consensus.base import Action, Send
from ledger.consensus.cluster import BEHAVIOURS
from ledger.consensus.collusion import Collusion


class EquivocatingBftNode(BftNode):
    def __init__(self, *args: Any, collusion: Collusion, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.collusion = collusion

    def relays(self, msg: Any) -> bool:
        return False

    def make_proposal(self, now: float) -> list[Action]:
        a = self._new_block(now, self.round)
        b = self.chain.build(self.identity, self.round, a.header.time_ms + 1.0, [])  # differs at least in time
        self.collusion.forks[(self.height, self.round)] = (a, b)
        side_a, side_b = self.collusion.split(self.height, self.round)
        pa, pb = self._sign_proposal(a, -1), self._sign_proposal(b, -1)
        return ([Send(n, pa) for n in side_a + self.collusion.byzantine if n != self.id]
                + [Send(n, pb) for n in side_b])

    def cast(self, vote_type: str, block_hash: str | None) -> list[Action]:
        fork = self.collusion.forks.get((self.height, self.round))
        if fork is not None:
            to_a, to_b = fork[0].hash, fork[1].hash
        else:
            known = self.proposals.get((self.height, self.round))
            to_a, to_b = block_hash or (known.block.hash if known else None), None
        side_a, side_b = self.collusion.split(self.height, self.round)
        chain_id = self.chain.genesis.chain_id
        va = Vote.cast(self.identity, vote_type, chain_id, self.height, self.round, to_a)
        vb = Vote.cast(self.identity, vote_type, chain_id, self.height, self.round, to_b)
        self.votes.setdefault((vote_type, self.height, self.round), {})[self.key] = {to_a: va}
        return ([Send(n, VoteMessage(va)) for n in side_a + self.collusion.byzantine if n != self.id]
                + [Send(n, VoteMessage(vb)) for n in side_b])


BEHAVIOURS[("bft", "equivocating")] = EquivocatingBftNode
