"""The outbox's refusals: programming errors of a writer, never a member's input."""


class UnknownParameters(ValueError):
    """A message with a parameter its template has no place for (health data stays out by
    construction: a writer that tries to store one fails loudly in its tests)."""


class UnknownTemplate(ValueError):
    """A message for a template that does not exist."""
