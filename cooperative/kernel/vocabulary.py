"""Closed sets of words a domain stores and sends as plain strings (statuses, kinds)."""

from enum import StrEnum


class Vocabulary(StrEnum):
    """A StrEnum shown as its word: a validation message lists 'draft' or 'open', not
    <ProposalStatus.DRAFT: 'draft'>."""

    def __repr__(self) -> str:
        return repr(self.value)
