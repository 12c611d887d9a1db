"""What crosses the API about the access log."""

import uuid

from pydantic import BaseModel, Field

from cooperative.kernel.moments import Moment


class AccessLogEntryPublic(BaseModel):
    at: Moment
    accessor_account_id: uuid.UUID | None
    accessor_role: str
    resource: str = Field(examples=["household:2b1f4c9e-…"])
    action: str
    reason: str | None = Field(
        default=None, description="The reason the reader gave, when they had to give one."
    )
    client_id: uuid.UUID | None = Field(
        default=None, description="The app that made the read on the reader's behalf, if any."
    )
    app_name: str | None = Field(
        default=None,
        description="That app's name, as it was shown at consent.",
        examples=["Citas Fácil"],
    )
