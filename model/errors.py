"""The user-mistake exception, apart from the scenario schema so the command line can catch it
without importing the model (`storagemarket ledger verify` needs none of it)."""


class ScenarioError(ValueError):
    """A user's mistake in a scenario or an override: one line naming the file and field."""
