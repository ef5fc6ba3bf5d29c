"""Contracts: the runtime (registry, execution, state root) and the market-clearing contracts.

Only this package imports `market`: the clearing contracts call its rules so every validator
computes the same trades, grid settlements, compensation and fees from the same block. The credit
contract keeps double credit on chains whose genesis document asks for it.
"""

from ledger.contracts.runtime import (  # noqa: F401
    CONTRACTS, END_OF_BLOCK_CHECKS, BlockContext, ContractError, admission_problem, contract,
    dedup_token, execute_block, genesis_state, hour_key, state_root)
from ledger.contracts.clearing import market_document, system_transactions  # noqa: F401,E402
from ledger.contracts import agreement, delivery  # noqa: F401,E402  (registration)
from ledger.contracts.agreement import OPERATOR  # noqa: F401,E402
from ledger.contracts.credit import (  # noqa: F401,E402
    Evidence, credit_document, evidence_transactions, participant_credits, validator_credits)
