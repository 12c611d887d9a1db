"""What crosses the API about the access log."""

import uuid
from datetime import datetime

from pydantic import BaseModel, Field


class AccessLogEntryPublic(BaseModel):
    at: datetime
    accessor_account_id: uuid.UUID | None
    accessor_role: str
    resource: str = Field(examples=["household:2b1f4c9e-…"])
    action: str
