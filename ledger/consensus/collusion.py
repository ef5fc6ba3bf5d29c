"""What colluding Byzantine nodes share: which honest nodes get which fork, and the forks."""

from __future__ import annotations

import numpy as np

from ledger.block import Block


class Collusion:
    """What the Byzantine nodes share: the honest nodes' split per (height, round) and their forks."""

    def __init__(self, honest: list[int], byzantine: list[int], seed: int,
                 fixed_split: tuple[frozenset[int], frozenset[int]] | None = None):
        self.honest, self.byzantine, self.seed = sorted(honest), sorted(byzantine), seed
        self.fixed_split = fixed_split
        self.forks: dict[tuple[int, int], tuple[Block, Block]] = {}

    def split(self, height: int, round_: int) -> tuple[list[int], list[int]]:
        if self.fixed_split is not None:
            return sorted(self.fixed_split[0]), sorted(self.fixed_split[1])
        rng = np.random.default_rng([self.seed, height, round_])
        order = [self.honest[i] for i in rng.permutation(len(self.honest))]
        cut = max(1, len(order) // 2)
        return sorted(order[:cut]), sorted(order[cut:])
