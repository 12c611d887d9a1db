"""Accounts: people who sign in (by email or phone number), their sessions and refresh tokens."""
