"""What crosses the API about webhooks: an endpoint (its secret only when made or rotated),
its deliveries and their attempts (never the payload's secrets: there are none, and never the
signing secret)."""

import uuid

from pydantic import BaseModel, ConfigDict, Field

from cooperative.kernel.moments import Moment
from cooperative.kernel.schemas import InputModel
from cooperative.webhooks.rules import EventType


class EndpointCreate(InputModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "url": "https://citas.example.org/webhooks/tequio",
                    "event_types": ["appointment.booked", "appointment.cancelled"],
                    "description": "Calendar sync",
                }
            ]
        },
    )

    url: str = Field(min_length=8, max_length=500, description="https; a public host.")
    event_types: list[EventType] = Field(min_length=1, max_length=len(EventType))
    description: str | None = Field(default=None, max_length=200)


class EndpointUpdate(InputModel):
    url: str | None = Field(default=None, min_length=8, max_length=500)
    event_types: list[EventType] | None = Field(
        default=None, min_length=1, max_length=len(EventType)
    )
    description: str | None = Field(default=None, max_length=200)
    is_active: bool | None = Field(
        default=None, description="`true` switches back on an endpoint that was switched off."
    )


class EndpointPublic(BaseModel):
    id: uuid.UUID
    client_id: uuid.UUID
    url: str
    event_types: list[str]
    description: str | None
    is_active: bool
    disabled_at: Moment | None
    disabled_reason: str | None
    previous_secret_until: Moment | None = Field(
        description="Until when the secret before the last rotation still signs too."
    )
    created_at: Moment


class EndpointWithSecret(EndpointPublic):
    secret: str = Field(description="The `whsec_` signing secret: shown this once.")


class AttemptPublic(BaseModel):
    at: Moment
    status_code: int | None
    error: str | None
    duration_ms: int
    replay: bool


class DeliveryPublic(BaseModel):
    id: uuid.UUID
    event_id: str = Field(description="The `webhook-id` header: the same on every attempt.")
    event_type: str
    state: str
    attempts: list[AttemptPublic]
    next_attempt_at: Moment | None
    delivered_at: Moment | None
    created_at: Moment
