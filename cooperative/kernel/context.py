"""Per-request context the shell sets and the domains may read (for audit records)."""

from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
