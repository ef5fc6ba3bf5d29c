"""Helpers shared by the ledger tests (imported by name; tests/ledger is on sys.path)."""

from ledger.transactions import sign_transaction

CHAIN = "storagemarket-1"


def bid_payload(hour=1, side="sell", quantity=2.0, price=300.0, day=0, round_=1):
    return {"day": day, "hour": hour, "round": round_, "side": side, "quantity_mwh": quantity,
            "price_per_mwh": price}


def signed_bid(alliance, dno, nonce, **kw):
    return sign_transaction(alliance.identity(dno, "dno"), CHAIN, "bid", nonce, bid_payload(**kw))


def certify(block, signers, vote_type="precommit", round_=0):
    """A commit certificate for `block` signed by `signers` (identities), as a quorum would."""
    from ledger.block import CommitCertificate, Vote

    votes = [Vote.cast(i, vote_type, block.header.chain_id, block.height, round_, block.hash) for i in signers]
    return CommitCertificate.from_votes(votes)


def build_chain(alliance, store_path=None, n_blocks=4, bids_per_block=3):
    """A chain of blocks carrying DNO bids, committed by every validator's signature."""
    from ledger.chain import Chain

    chain = Chain(alliance.genesis, store_path)
    dnos = ["dno1", "dno2", "dno3", "dno4"]
    proposer = alliance.validators[0]
    nonce = {d: 0 for d in dnos}
    for h in range(1, n_blocks + 1):
        for k in range(bids_per_block):
            dno = dnos[(h + k) % len(dnos)]
            nonce[dno] += 1
            side = "sell" if k % 2 else "buy"
            chain.mempool.admit(signed_bid(alliance, dno, nonce[dno], hour=h, side=side, price=300.0 + k),
                                now_ms=h * 1000.0 + k)
        block = chain.build(proposer, 0, h * 1000.0 + 500.0)
        chain.commit(block, certify(block, alliance.validators))
    return chain
