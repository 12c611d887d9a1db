"""A member's view of the messages sent to them."""

import uuid

from pydantic import BaseModel, Field

from cooperative.kernel.moments import Moment


class NotificationPublic(BaseModel):
    id: uuid.UUID
    channel: str = Field(description="email, sms, whatsapp or console (the development inbox).")
    template: str = Field(description="What kind of message, e.g. consult.reminder.")
    language: str
    subject: str
    body: str = Field(description="The text as it is (or was) sent.")
    state: str = Field(
        description="queued (waiting for its time), sending, sent (the provider accepted it), "
        "delivered (the provider's receipt says it arrived; email has none), failed (retried "
        "later), dead (given up; the reason says why), cancelled (what it was about changed)."
    )
    not_before: Moment = Field(description="When it is (or was) due.")
    attempts: int
    reason: str | None = Field(
        description="The provider's reason for the last failure (and, for a WhatsApp message "
        "that failed, that it was sent by SMS instead)."
    )
    fallback_of: uuid.UUID | None = Field(
        default=None,
        description="Set on an SMS sent because a WhatsApp message failed: that message's id.",
    )
    sent_at: Moment | None
    delivered_at: Moment | None
    created_at: Moment
