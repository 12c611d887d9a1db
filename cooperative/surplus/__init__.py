"""Surplus allocation: patronage, the bylaws waterfall, capital accounts."""
