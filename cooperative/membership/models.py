"""Members, households, dependents and income attestations. The minimum, and never immigration
status or a US SSN."""

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from cooperative.kernel import (
    clock,
    tables,  # noqa: F401
)
from cooperative.kernel.types import UTCDateTime


class Member(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    account_id: uuid.UUID = Field(foreign_key="account.id", unique=True)
    member_class: str = Field(max_length=32, index=True)
    status: str = Field(max_length=16, index=True)
    full_name: str = Field(max_length=200)
    curp: str | None = Field(
        default=None, max_length=18, unique=True, description="On one membership at most."
    )
    curp_pending: str | None = Field(
        default=None,
        max_length=18,
        index=True,
        description="A CURP given when applying that another membership already holds: kept "
        "here, not in `curp`, until an admin decides who holds it. The applicant is not told.",
    )
    curp_reviewed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    curp_reviewed_by: uuid.UUID | None = None
    matricula_consular: str | None = Field(default=None, max_length=32)
    bylaws_version: int = Field(foreign_key="bylaws_version.number")
    applied_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decided_by: uuid.UUID | None = None
    status_reason: str | None = Field(default=None, max_length=500)
    status_changed_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, index=True)


class Household(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(max_length=120)
    country: str = Field(max_length=2)
    subdivision: str = Field(max_length=6, description="ISO 3166-2, e.g. MX-OAX or US-CA.")
    municipality: str = Field(max_length=120)
    area: str = Field(max_length=8, description="urban or rural")
    currency: str = Field(max_length=3)
    sponsor_member_id: uuid.UUID | None = Field(
        default=None, foreign_key="member.id", ondelete="SET NULL", index=True
    )
    created_by: uuid.UUID = Field(foreign_key="account.id")
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, index=True)


class HouseholdMember(SQLModel, table=True):
    """A member covered by a household (once they accept); one household per member at most."""

    __tablename__ = "household_member"

    household_id: uuid.UUID = Field(
        foreign_key="household.id", ondelete="CASCADE", primary_key=True
    )
    member_id: uuid.UUID = Field(
        foreign_key="member.id", ondelete="CASCADE", primary_key=True, unique=True
    )
    joined_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime)
    accepted_at: datetime | None = Field(
        default=None,
        sa_type=UTCDateTime,
        description="When the member accepted (invitations wait in `household_invitation`).",
    )


class HouseholdInvitation(SQLModel, table=True):
    """A household's invitation to a member. It covers nothing and blocks nothing: the member
    stays free to create or join another household, and accepts or declines it."""

    __tablename__ = "household_invitation"
    __table_args__ = (
        sa.Index(
            "uq_household_invitation_pending",
            "household_id",
            "member_id",
            unique=True,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    household_id: uuid.UUID = Field(foreign_key="household.id", ondelete="CASCADE", index=True)
    member_id: uuid.UUID = Field(foreign_key="member.id", ondelete="CASCADE", index=True)
    invited_by: uuid.UUID | None = Field(
        default=None, foreign_key="account.id", ondelete="SET NULL"
    )
    status: str = Field(default="pending", max_length=16, description="pending, accepted, declined")
    invited_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, index=True)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Dependent(SQLModel, table=True):
    """Someone covered by a household who is not an owner (a child, an elder)."""

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    household_id: uuid.UUID = Field(foreign_key="household.id", ondelete="CASCADE", index=True)
    full_name: str = Field(max_length=200)
    birth_year: int | None = None
    relationship: str | None = Field(default=None, max_length=32)
    curp: str | None = Field(default=None, max_length=18)
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, index=True)


class IncomeAttestation(SQLModel, table=True):
    """Household income and size, as the household declares them; effective for a period."""

    __tablename__ = "income_attestation"
    __table_args__ = (sa.CheckConstraint("household_size >= 1", name="size_positive"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    household_id: uuid.UUID = Field(foreign_key="household.id", ondelete="CASCADE", index=True)
    income_minor: int = Field(ge=0, sa_type=sa.BigInteger)
    currency: str = Field(max_length=3)
    period: str = Field(max_length=8, description="annual or monthly")
    household_size: int
    effective_on: date
    expires_on: date
    attested_by: uuid.UUID | None = Field(
        default=None, foreign_key="account.id", ondelete="SET NULL"
    )
    created_at: datetime = Field(default_factory=clock.now, sa_type=UTCDateTime, index=True)
