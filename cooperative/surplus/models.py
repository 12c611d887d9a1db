"""Patronage, allocation runs, their member lines, and the journal they are posted to.

The journal is append-only: a posted entry is never changed; a correction is a reversing entry.
"""

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Column, Field, SQLModel

from cooperative.kernel import (
    clock,
    tables,  # noqa: F401
)
from cooperative.kernel.types import UTCDateTime
from cooperative.surplus.rules import JournalKind, RunStatus


class PatronageRecord(SQLModel, table=True):
    """What a member did with the cooperative in a fiscal year: fees and dues paid (money, in
    `unit` = its currency) or consult minutes (`unit` = "minutes"). A reversal is a record with
    the opposite amount pointing at the one it reverses."""

    __tablename__ = "patronage_record"
    __table_args__ = (sa.UniqueConstraint("source", "kind", name="uq_patronage_source_kind"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    member_id: uuid.UUID = Field(foreign_key="member.id", index=True)
    fiscal_year: int = Field(index=True)
    kind: str = Field(max_length=32)
    amount: int = Field(sa_type=sa.BigInteger)
    unit: str = Field(max_length=8, description="A currency code, or `minutes`.")
    source: str = Field(
        max_length=120, description="What it comes from: `payment:<id>`, `appointment:<id>`..."
    )
    reverses_id: uuid.UUID | None = Field(default=None, foreign_key="patronage_record.id")
    recorded_by: uuid.UUID | None = Field(default=None, foreign_key="account.id")
    note: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, index=True)


class AllocationRun(SQLModel, table=True):
    __tablename__ = "allocation_run"
    __table_args__ = (
        sa.Index(
            "uq_allocation_run_posted_year",
            "fiscal_year",
            unique=True,
            sqlite_where=sa.text(f"status = '{RunStatus.POSTED}'"),
            postgresql_where=sa.text(f"status = '{RunStatus.POSTED}'"),
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    fiscal_year: int = Field(index=True)
    currency: str = Field(max_length=3)
    status: str = Field(default=RunStatus.DRAFT, max_length=12, description=", ".join(RunStatus))
    net_surplus_minor: int = Field(sa_type=sa.BigInteger)
    rates: dict[str, str] = Field(
        default_factory=dict,
        sa_column=Column(JSON, nullable=False),
        description="Year-end rates used to convert patronage in other currencies.",
    )
    bylaws_version: int = Field(foreign_key="bylaws_version.number")
    input_digest: str = Field(max_length=64)
    summary: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    members: int
    created_by: uuid.UUID | None = Field(default=None, foreign_key="account.id")
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, index=True)
    proposal_id: uuid.UUID | None = Field(default=None, foreign_key="proposal.id")
    posted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reversed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AllocationLine(SQLModel, table=True):
    """One member's part of a run: what the notice of allocation tells them."""

    __tablename__ = "allocation_line"

    run_id: uuid.UUID = Field(foreign_key="allocation_run.id", ondelete="CASCADE", primary_key=True)
    member_id: uuid.UUID = Field(foreign_key="member.id", primary_key=True, index=True)
    member_class: str = Field(max_length=32)
    patronage: int = Field(sa_type=sa.BigInteger)
    eligible: bool
    share_minor: int = Field(sa_type=sa.BigInteger)
    cash_minor: int = Field(sa_type=sa.BigInteger)
    retained_minor: int = Field(sa_type=sa.BigInteger)
    redemption_year: int


class JournalEntry(SQLModel, table=True):
    """A balanced set of journal lines, written once. `reverses_id` names the entry a
    correction reverses; a posting is unique per run, and so is its reversal."""

    __tablename__ = "journal_entry"
    __table_args__ = (sa.UniqueConstraint("run_id", "kind", name="uq_journal_entry_run_kind"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    run_id: uuid.UUID | None = Field(default=None, foreign_key="allocation_run.id", index=True)
    kind: str = Field(max_length=16, description=" or ".join(JournalKind))
    memo: str = Field(max_length=500)
    reverses_id: uuid.UUID | None = Field(default=None, foreign_key="journal_entry.id")
    posted_by: uuid.UUID | None = Field(default=None, foreign_key="account.id")
    posted_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, index=True)


class JournalLine(SQLModel, table=True):
    __tablename__ = "journal_line"
    __table_args__ = (
        sa.CheckConstraint(
            "(debit_minor = 0) <> (credit_minor = 0) AND debit_minor >= 0 AND credit_minor >= 0",
            name="one_side",
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    entry_id: uuid.UUID = Field(foreign_key="journal_entry.id", index=True)
    account: str = Field(
        max_length=64,
        index=True,
        description="surplus, reserve_fund, education_fund, welfare_fund, cash_payable, "
        "or member_capital (with member_id)",
    )
    member_id: uuid.UUID | None = Field(default=None, foreign_key="member.id", index=True)
    currency: str = Field(max_length=3)
    debit_minor: int = Field(default=0, sa_type=sa.BigInteger)
    credit_minor: int = Field(default=0, sa_type=sa.BigInteger)
