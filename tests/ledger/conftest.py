"""Shared fixtures for the ledger tests: a small alliance with seeded keys."""

import pytest

from ledger.alliance import Alliance
from ledger.contracts import genesis_state


@pytest.fixture
def alliance():
    return Alliance.create(7, dnos=["dno1", "dno2", "dno3", "dno4"], validators=["v1", "v2", "v3", "v4"])


@pytest.fixture
def state(alliance):
    return genesis_state(alliance.genesis)
