"""The cooperative's own domain: bylaws, members and households, governance, patronage, ledger.

Depends on nothing else in Tequio; `telehealth` and `app` build on it.
"""
