"""Proposals, the roll of eligible voters taken when one opens, and the ballots cast.

Secrecy is a property of the schema: `proposal_voter` says who took part, `ballot` says what was
voted, and nothing joins them. While the vote runs a ballot is only a `sealed_ballot`, readable
with the server's ballot secret alone (see `sealing`); the close opens them all and writes the
published `ballot` rows, with no member, no account, no time and no order of arrival (SQLite
keeps them in a table without rowid, ordered by a random id), found again only by the hash of the
receipt each voter was shown once.
"""

import uuid
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Column, Field, SQLModel

from cooperative.governance.rules import ProposalEventKind, ProposalKind, ProposalStatus
from cooperative.kernel import (
    clock,
    tables,  # noqa: F401
)
from cooperative.kernel.types import UTCDateTime


class Proposal(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    kind: str = Field(max_length=24, index=True, description=", ".join(ProposalKind))
    status: str = Field(default=ProposalStatus.DRAFT, max_length=12, index=True)
    title: str = Field(max_length=200)
    body: str = Field(max_length=20_000)
    payload: dict[str, Any] = Field(
        default_factory=dict,
        sa_column=Column(JSON, nullable=False),
        description="What the kind needs: the amended bylaws, the allocation run, the races...",
    )
    proposed_by: uuid.UUID = Field(foreign_key="account.id", index=True)
    initiative: bool = Field(
        default=False, description="Proposed by a member, who needs co-signers to open it."
    )
    opens_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closes_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    record_date: date | None = None
    bylaws_version: int | None = Field(default=None, foreign_key="bylaws_version.number")
    rule: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    eligible: dict[str, int] | None = Field(
        default=None,
        sa_column=Column(JSON, nullable=True),
        description="The snapshot's size per member class.",
    )
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    passed: bool | None = None
    adopted_bylaws_version: int | None = Field(default=None, foreign_key="bylaws_version.number")
    opened_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closing_soon_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, index=True)
    seal_check: str | None = Field(
        default=None,
        max_length=64,
        description="A keyed digest of the keys its ballots are sealed with (set at the "
        "opening): ballots are never sealed or opened under another ballot secret.",
    )
    scrubbed_at: datetime | None = Field(
        default=None,
        sa_type=UTCDateTime,
        description="When, after the close, the database files were made to forget what the "
        "casts wrote (SQLite's log emptied; PostgreSQL's sealed ballots rewritten, the roll "
        "vacuumed).",
    )


class ProposalCosigner(SQLModel, table=True):
    """A member co-signing a member initiative (once each)."""

    __tablename__ = "proposal_cosigner"

    proposal_id: uuid.UUID = Field(foreign_key="proposal.id", ondelete="CASCADE", primary_key=True)
    member_id: uuid.UUID = Field(foreign_key="member.id", primary_key=True)
    signed_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)


class ProposalComment(SQLModel, table=True):
    __tablename__ = "proposal_comment"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    proposal_id: uuid.UUID = Field(foreign_key="proposal.id", ondelete="CASCADE", index=True)
    account_id: uuid.UUID = Field(foreign_key="account.id")
    author: str = Field(max_length=200)
    body: str = Field(max_length=5000)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, index=True)


class ProposalVoter(SQLModel, table=True):
    """The roll taken when the proposal opened, and whether each eligible member took part.

    No time, no ballot: only that they voted, so turnout is exact and one member casts one
    ballot, while what they voted stays in `ballot`, out of reach of this row.
    """

    __tablename__ = "proposal_voter"

    proposal_id: uuid.UUID = Field(foreign_key="proposal.id", ondelete="CASCADE", primary_key=True)
    member_id: uuid.UUID = Field(foreign_key="member.id", primary_key=True)
    account_id: uuid.UUID = Field(foreign_key="account.id", index=True)
    member_class: str = Field(max_length=32)
    voted: bool = False


class SealedBallot(SQLModel, table=True):
    """A ballot while its vote runs: class, receipt hash and choice sealed together, found by
    a keyed hash of the receipt. Deleted by the close, which publishes it as a `ballot`."""

    __tablename__ = "sealed_ballot"

    lookup: str = Field(max_length=64, primary_key=True)
    proposal_id: uuid.UUID = Field(foreign_key="proposal.id", ondelete="CASCADE", index=True)
    sealed: bytes = Field(sa_column=Column(sa.LargeBinary, nullable=False))


class Ballot(SQLModel, table=True):
    """What one voter voted, under their receipt's hash, as published at the close."""

    __table_args__ = ({"sqlite_with_rowid": False},)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    proposal_id: uuid.UUID = Field(foreign_key="proposal.id", ondelete="CASCADE", index=True)
    member_class: str = Field(
        max_length=32, description="The voter's class: per-class rules and races need it."
    )
    receipt_hash: str = Field(max_length=64, unique=True)
    content: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


class ProposalEvent(SQLModel, table=True):
    """Opening, closing soon and result, for notifications."""

    __tablename__ = "proposal_event"
    __table_args__ = (sa.UniqueConstraint("proposal_id", "kind", name="uq_proposal_event_once"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    proposal_id: uuid.UUID = Field(foreign_key="proposal.id", ondelete="CASCADE", index=True)
    kind: str = Field(max_length=16, description=", ".join(ProposalEventKind))
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, index=True)
