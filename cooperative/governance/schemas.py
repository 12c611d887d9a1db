"""Requests and answers of governance."""

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field

from cooperative.bylaws.schema import Bylaws
from cooperative.governance.rules import Choice
from cooperative.kernel.schemas import InputModel

Kind = Literal[
    "resolution", "bylaw_amendment", "surplus_allocation", "board_election", "priorities"
]
Status = Literal["draft", "open", "closed"]


class ProposalCreate(InputModel):
    """A draft. Each kind needs its own part: `document` and `effective_from` for an amendment,
    `allocation_run_id` for a surplus allocation, `candidates` (member ids per member class) for a
    board election, `options` for priorities."""

    kind: Kind
    title: str = Field(min_length=3, max_length=200)
    body: str = Field(default="", max_length=20_000)
    document: Bylaws | None = Field(
        default=None, description="bylaw_amendment: the whole proposed bylaws, validated now."
    )
    effective_from: AwareDatetime | None = Field(
        default=None, description="bylaw_amendment: when the new bylaws take effect if adopted."
    )
    allocation_run_id: uuid.UUID | None = Field(
        default=None, description="surplus_allocation: the allocation run put to the vote."
    )
    candidates: dict[str, list[uuid.UUID]] | None = Field(
        default=None, description="board_election: candidate member ids for each class's race."
    )
    options: list[str] | None = Field(
        default=None, description="priorities: the options members approve of (2 to 50)."
    )


class ProposalOpen(InputModel):
    closes_at: AwareDatetime
    opens_at: AwareDatetime | None = Field(default=None, description="Now when omitted.")
    record_date: date | None = Field(
        default=None,
        description="Who is on the roll: members in good standing on this date (today if omitted).",
    )


class CommentCreate(InputModel):
    body: str = Field(min_length=1, max_length=5000)


class CommentPublic(BaseModel):
    id: uuid.UUID
    author: str
    body: str
    created_at: datetime


class BallotCast(InputModel):
    """One of `vote` (resolutions, amendments, allocations), `ranking` (elections: candidate ids
    in order of preference) or `approve` (priorities: the option ids you approve of). With
    `receipt`, it replaces the ballot you cast before."""

    vote: Choice | None = None
    ranking: list[str] | None = Field(default=None, max_length=100)
    approve: list[str] | None = Field(default=None, max_length=100)
    receipt: str | None = Field(default=None, min_length=8, max_length=64)


class BallotReceipt(BaseModel):
    receipt: str = Field(description="Shown once: keep it to change your vote or to check it.")
    receipt_hash: str = Field(description="How your ballot appears in the published list.")
    replaced: bool


class Turnout(BaseModel):
    eligible: dict[str, int]
    voted: dict[str, int]


class YourPart(BaseModel):
    eligible: bool
    member_class: str | None
    voted: bool


class ProposalPublic(BaseModel):
    id: uuid.UUID
    kind: str
    status: Status
    title: str
    body: str
    payload: dict[str, Any]
    initiative: bool
    cosigners: int
    cosigners_needed: int
    opens_at: datetime | None
    closes_at: datetime | None
    record_date: date | None
    bylaws_version: int | None
    rule: dict[str, Any] | None
    turnout: Turnout | None
    you: YourPart | None
    passed: bool | None
    adopted_bylaws_version: int | None
    created_at: datetime
    closed_at: datetime | None


class ResultPublic(BaseModel):
    proposal_id: uuid.UUID
    status: Status
    final: bool = Field(description="False for a running count the bylaws let members see.")
    bylaws_version: int
    passed: bool | None
    result: dict[str, Any]


class PublishedBallot(BaseModel):
    receipt_hash: str
    member_class: str
    content: dict[str, Any]


class PublishedBallots(BaseModel):
    """Everything a recount needs: `tally(this)` gives the published result."""

    proposal: dict[str, Any]
    ballots: list[PublishedBallot]


class Verification(BaseModel):
    receipt_hash: str
    included: bool
    content: dict[str, Any] | None


class ProposalEventPublic(BaseModel):
    kind: str
    at: datetime
    data: dict[str, Any]
