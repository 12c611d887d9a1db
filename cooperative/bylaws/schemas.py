"""What crosses the API about bylaws versions (the document's own shape is `schema.py`)."""

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from cooperative.bylaws.schema import Bylaws


class BylawsVersionSummary(BaseModel):
    number: int
    effective_from: datetime
    adopted_by: str = Field(description="`install` (the first version) or `governance`.")
    proposal_id: uuid.UUID | None
    digest: str
    note: str | None
    created_at: datetime


class BylawsVersionPublic(BylawsVersionSummary):
    document: Bylaws
