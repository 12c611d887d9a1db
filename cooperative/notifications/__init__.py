"""The outbox: messages to people, written with the change that causes them, delivered by a
dispatcher through providers (see `dispatcher` and `providers`)."""
