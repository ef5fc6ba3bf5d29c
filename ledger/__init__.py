"""The permissioned chain: identities, transactions, blocks, store, gossip network, consensus, contracts. No Mesa.

Where to look: identity (Ed25519 keys, registry), transactions (kinds, signed envelopes),
mempool, merkle (RFC 6962), block (headers, votes, certificates), store (SQLite), verify
(`ledger verify`), network and gossip (simulated links and flooding), clock (discrete events),
consensus/ (engine registry, Raft with double credit, Tendermint-style BFT, Byzantine behaviours,
the cluster driver), credit (the double-credit rules), contracts/ (runtime, market clearing,
agreements, the credit contract that keeps double credit on chain), chain (one replica),
service (the model's entry point).
"""
