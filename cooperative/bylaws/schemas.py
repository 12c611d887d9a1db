"""What crosses the API about bylaws versions (the document's own shape is `schema.py`)."""

import uuid

from pydantic import BaseModel, Field

from cooperative.bylaws.schema import Bylaws
from cooperative.kernel.moments import Moment


class BylawsVersionSummary(BaseModel):
    number: int
    effective_from: Moment
    adopted_by: str = Field(description="`install` (the first version) or `governance`.")
    proposal_id: uuid.UUID | None
    digest: str
    note: str | None
    created_at: Moment


class BylawsVersionPublic(BylawsVersionSummary):
    document: Bylaws
