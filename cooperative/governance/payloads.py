"""What a proposal stores of its kind (`proposal.payload`), read back through typed models.

Each kind stores its own part at the draft: the amended bylaws, the allocation run, the races, the
options. The opening adds what the rule in force then says (`results_hidden_until_close`, each
race's `seats`, the priorities' `top_n`); until then those fields are absent from the stored JSON.
"""

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, PlainSerializer

from cooperative.bylaws.schema import Bylaws
from cooperative.governance.models import Proposal
from cooperative.governance.rules import ProposalKind


def _absent(value: object) -> bool:
    return value is None


Instant = Annotated[AwareDatetime, PlainSerializer(datetime.isoformat, return_type=str)]


class Stored(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Candidate(Stored):
    id: str
    name: str


class Race(Stored):
    candidates: list[Candidate]
    seats: int | None = Field(default=None, exclude_if=_absent, description="Set at the opening.")


class Option(Stored):
    id: str
    label: str


class Payload(Stored):
    results_hidden_until_close: bool | None = Field(
        default=None, exclude_if=_absent, description="The bylaws' choice at the opening."
    )

    def hides_results(self) -> bool:
        """Whether the result waits for the close (it does until the opening says otherwise)."""
        return self.results_hidden_until_close is not False


class ResolutionPayload(Payload):
    pass


class AmendmentPayload(Payload):
    document: Bylaws
    effective_from: Instant
    amends_version: int = Field(description="The bylaws version the amendment was drafted from.")


class AllocationPayload(Payload):
    allocation_run_id: uuid.UUID
    fiscal_year: int
    input_digest: str


class ElectionPayload(Payload):
    races: dict[str, Race]


class PrioritiesPayload(Payload):
    options: list[Option]
    top_n: int | None = Field(default=None, exclude_if=_absent, description="Set at the opening.")


KINDS: dict[ProposalKind, type[Payload]] = {
    ProposalKind.RESOLUTION: ResolutionPayload,
    ProposalKind.BYLAW_AMENDMENT: AmendmentPayload,
    ProposalKind.SURPLUS_ALLOCATION: AllocationPayload,
    ProposalKind.BOARD_ELECTION: ElectionPayload,
    ProposalKind.PRIORITIES: PrioritiesPayload,
}


def read(proposal: Proposal) -> Payload:
    """The proposal's stored part, as the model of its kind."""
    return KINDS[ProposalKind(proposal.kind)].model_validate(proposal.payload)


def stored(payload: Payload) -> dict[str, object]:
    """The JSON a payload is stored as."""
    return payload.model_dump(mode="json")
