"""The permissioned chain: identities, transactions, blocks, store, gossip network, consensus, contracts. No Mesa."""
