"""Requests and answers of governance."""

import uuid
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, Discriminator, Field, RootModel

from cooperative.bylaws.schema import Bylaws
from cooperative.governance.rules import Choice, ProposalKind, ProposalStatus
from cooperative.kernel.moments import Moment
from cooperative.kernel.schemas import InputModel

Kind = Literal[
    ProposalKind.RESOLUTION,
    ProposalKind.BYLAW_AMENDMENT,
    ProposalKind.SURPLUS_ALLOCATION,
    ProposalKind.BOARD_ELECTION,
    ProposalKind.PRIORITIES,
]
Status = Literal[ProposalStatus.DRAFT, ProposalStatus.OPEN, ProposalStatus.CLOSED]


class _Draft(InputModel):
    title: str = Field(min_length=3, max_length=200)
    body: str = Field(default="", max_length=20_000)


class ResolutionCreate(_Draft):
    """A question members answer yes, no or abstain."""

    kind: Literal[ProposalKind.RESOLUTION]


class AmendmentCreate(_Draft):
    """New bylaws, whole, adopted if the vote passes."""

    kind: Literal[ProposalKind.BYLAW_AMENDMENT]
    document: Bylaws = Field(description="The whole proposed bylaws, validated now.")
    effective_from: AwareDatetime = Field(
        description="When the new bylaws take effect if adopted (within ten years; never before "
        "the vote closes)."
    )


class AllocationCreate(_Draft):
    """The assembly's approval of a draft surplus allocation run."""

    kind: Literal[ProposalKind.SURPLUS_ALLOCATION]
    allocation_run_id: uuid.UUID = Field(description="The allocation run put to the vote.")


class ElectionCreate(_Draft):
    """Board seats: each class elects its own with ranked ballots."""

    kind: Literal[ProposalKind.BOARD_ELECTION]
    candidates: dict[str, list[uuid.UUID]] = Field(
        min_length=1, description="Candidate member ids for each class's race."
    )


class PrioritiesCreate(_Draft):
    """Options members approve of; the top N win."""

    kind: Literal[ProposalKind.PRIORITIES]
    options: list[str] = Field(
        min_length=2, max_length=50, description="The options members approve of (2 to 50)."
    )


ProposalDraft = Annotated[
    ResolutionCreate | AmendmentCreate | AllocationCreate | ElectionCreate | PrioritiesCreate,
    Discriminator(
        "kind",
        custom_error_type="proposal_kind",
        custom_error_message="kind must be one of: " + ", ".join(ProposalKind),
        custom_error_context={"expected": ", ".join(ProposalKind)},
    ),
]


class ProposalCreate(RootModel[ProposalDraft]):
    """A draft: the part its kind needs (`document` and `effective_from` for an amendment,
    `allocation_run_id` for a surplus allocation, `candidates` for a board election, `options`
    for priorities), and nothing another kind needs."""


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
    created_at: Moment


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
    opens_at: Moment | None
    closes_at: Moment | None
    record_date: date | None
    bylaws_version: int | None
    rule: dict[str, Any] | None
    turnout: Turnout | None
    you: YourPart | None
    passed: bool | None
    adopted_bylaws_version: int | None
    created_at: Moment
    closed_at: Moment | None


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
    at: Moment
    data: dict[str, Any]
