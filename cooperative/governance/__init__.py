"""Governance: proposals, secret ballots, tallies."""
