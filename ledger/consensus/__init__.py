"""Consensus engines behind one interface, in a registry: a new engine is one file and one line.

Importing this package registers the bundled engines ("raft", "bft", "pow").
"""

from ledger.consensus.base import ENGINES, ConsensusNode, register_engine  # noqa: F401
from ledger.consensus import bft, byzantine, pow, raft  # noqa: F401,E402  (registration side effects)
