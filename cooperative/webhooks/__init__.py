"""Webhooks: an app's endpoints, the thin events they are sent, and the log of each delivery."""
