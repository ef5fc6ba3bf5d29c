"""The market rules of docs/rules.md Part A as pure functions: scheduling MILP, DAF-IDO deviation, bid prices, auction, settlement.

Imports nothing of the project and no Mesa, so every rule can be tested and reused on its own.
"""
