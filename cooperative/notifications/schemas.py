"""A member's view of the messages sent to them, and of how they want to be reached."""

import re
import uuid
from datetime import time
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from cooperative.kernel.moments import Moment
from cooperative.kernel.schemas import InputModel


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


ChosenChannel = Literal["email", "sms", "whatsapp"]

_LOCAL_TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"
_FORMAT = (
    "give a time of day on your own clock as HH:MM or HH:MM:SS (24-hour, e.g. 21:00), "
    "without a UTC offset: your time zone applies"
)


def _local_time(value: object) -> time:
    """A time of day on the member's clock: `HH:MM` or `HH:MM:SS`; an offset is refused, never
    dropped (`21:00+05:00` is not 21:00 in the member's zone)."""
    if isinstance(value, time) and value.tzinfo is None and not value.microsecond:
        return value
    if not isinstance(value, str) or not re.fullmatch(_LOCAL_TIME_PATTERN, value):
        raise PydanticCustomError("wall_time", _FORMAT)
    return time.fromisoformat(value)


LocalTime = Annotated[
    time,
    BeforeValidator(_local_time),
    PlainSerializer(lambda value: value.isoformat(timespec="minutes"), return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": _LOCAL_TIME_PATTERN,
            "examples": ["21:00", "08:00"],
            "description": "A time of day on your own clock (your time zone), HH:MM or "
            "HH:MM:SS on the 24-hour clock, without a UTC offset.",
        }
    ),
]


class QuietHoursIn(InputModel):
    start: LocalTime = Field(description="Local time quiet hours begin, e.g. 21:00.")
    end: LocalTime = Field(description="Local time they end, e.g. 08:00 (the next morning).")


class PreferencesUpdate(InputModel):
    """The whole of your preferences (what is left out takes its default)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "channels": ["whatsapp", "sms"],
                    "language": "es",
                    "quiet_hours": {"start": "21:00", "end": "08:00"},
                    "sponsor_reminders": True,
                }
            ]
        }
    )

    channels: list[ChosenChannel] = Field(
        max_length=3,
        description="The channels you opt in to, the one you prefer first; those left out are "
        "opted out. Each needs its address on your account (email; a phone for SMS and "
        "WhatsApp). With none, messages go by email if you have one, else by SMS.",
    )
    language: Literal["es", "en"] | None = Field(
        default=None, description="Language of your messages; null: your account's."
    )
    quiet_hours: QuietHoursIn | None = Field(
        default=None,
        description="Nothing is sent between these local times of your zone (your account's "
        "time zone, else the cooperative's), except one-time codes; a reminder that cannot "
        "wait goes just before they begin. Null: none.",
    )
    sponsor_reminders: bool = Field(
        default=False,
        description="Your household's sponsor may receive your consult reminders (and your "
        "dependents'): the time only, never why. Withdrawing cancels those not yet sent.",
    )


class OptIn(BaseModel):
    opted_in: bool
    opted_in_at: Moment | None = Field(description="When you last opted in.")
    opted_out_at: Moment | None = Field(description="When you last opted out.")


class QuietHoursPublic(BaseModel):
    start: LocalTime
    end: LocalTime


class PreferencesPublic(BaseModel):
    channels: list[str] = Field(description="The channels you opted in to, preferred first.")
    channel: str = Field(description="The channel your messages go by now.")
    opt_ins: dict[str, OptIn] = Field(description="Each channel's opt-in and when.")
    language: str = Field(description="Language of your messages.")
    timezone: str = Field(description="The zone your quiet hours are read in.")
    quiet_hours: QuietHoursPublic | None
    sponsor_reminders: bool
    sponsor_consented_at: Moment | None
    sponsor_withdrawn_at: Moment | None
