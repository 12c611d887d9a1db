"""An app's webhook endpoints (`/v1/apps/{client_id}/webhooks`): its owner and admins manage
them, read each endpoint's delivery log and replay a delivery; anyone else gets 404."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Request, Response, status

from app.auth import CurrentPrincipal
from app.db import SessionDep
from app.errors import problem_responses
from app.pagination import CursorParam, LimitParam
from app.settings import Settings
from app.webhooks import config_of
from cooperative.kernel.pagination import Page
from cooperative.webhooks import service as webhooks
from cooperative.webhooks.errors import EndpointDisabled, UnsafeWebhookUrl
from cooperative.webhooks.schemas import (
    DeliveryPublic,
    EndpointCreate,
    EndpointPublic,
    EndpointUpdate,
    EndpointWithSecret,
)

router = APIRouter(prefix="/v1/apps/{client_id}/webhooks", tags=["webhooks"])
E = "/{endpoint_id}"


def _config(request: Request) -> webhooks.Config:
    settings: Settings = request.app.state.settings
    return config_of(settings)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Add a webhook endpoint",
    responses=problem_responses(400, 401, 403, 404, 413, 422, problems=(UnsafeWebhookUrl,)),
)
async def create_endpoint(
    request: Request,
    response: Response,
    session: SessionDep,
    principal: CurrentPrincipal,
    client_id: uuid.UUID,
    data: Annotated[EndpointCreate, Body()],
) -> EndpointWithSecret:
    """An endpoint receiving the event types it names, for the members who granted the app
    the scope each needs (see README, Webhooks). Its `whsec_` secret is in this answer only.
    The URL must be https and its host a public address (`unsafe-webhook-url` otherwise)."""
    response.headers["Cache-Control"] = "no-store"
    return await webhooks.create(session, principal, client_id, data, _config(request))


@router.get(
    "", summary="The app's webhook endpoints", responses=problem_responses(400, 401, 403, 404)
)
async def list_endpoints(
    session: SessionDep,
    principal: CurrentPrincipal,
    client_id: uuid.UUID,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
) -> Page[EndpointPublic]:
    """Oldest first; never their secrets."""
    return await webhooks.listed(session, principal, client_id, cursor=cursor, limit=limit)


@router.get(E, summary="A webhook endpoint", responses=problem_responses(401, 403, 404))
async def get_endpoint(
    session: SessionDep, principal: CurrentPrincipal, client_id: uuid.UUID, endpoint_id: uuid.UUID
) -> EndpointPublic:
    """The endpoint, to its app's owner or an admin (anyone else: 404)."""
    endpoint = await webhooks.visible(session, principal, client_id, endpoint_id)
    return webhooks.endpoint_public(endpoint)


@router.patch(
    E,
    summary="Change a webhook endpoint, switch it off or on",
    responses=problem_responses(400, 401, 403, 404, 413, 422, problems=(UnsafeWebhookUrl,)),
)
async def update_endpoint(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    client_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    data: Annotated[EndpointUpdate, Body()],
) -> EndpointPublic:
    """`is_active: true` switches back on an endpoint switched off for failing (its failures
    start over); its dead deliveries can then be replayed."""
    return await webhooks.update_endpoint(
        session, principal, client_id, endpoint_id, data, _config(request)
    )


@router.delete(
    E,
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a webhook endpoint",
    responses=problem_responses(401, 403, 404),
)
async def delete_endpoint(
    session: SessionDep, principal: CurrentPrincipal, client_id: uuid.UUID, endpoint_id: uuid.UUID
) -> None:
    """The endpoint and its delivery log are gone; nothing more is sent to it."""
    await webhooks.remove(session, principal, client_id, endpoint_id)


@router.post(
    E + "/secret",
    summary="Rotate a webhook endpoint's secret",
    responses=problem_responses(401, 403, 404),
)
async def rotate_endpoint_secret(
    request: Request,
    response: Response,
    session: SessionDep,
    principal: CurrentPrincipal,
    client_id: uuid.UUID,
    endpoint_id: uuid.UUID,
) -> EndpointWithSecret:
    """A new `whsec_` secret, shown once. Until `previous_secret_until` (the grace,
    `TEQUIO_WEBHOOKS_ROTATION_GRACE_HOURS`) each delivery carries two signatures, one per
    secret: switch your receiver to the new one meanwhile."""
    response.headers["Cache-Control"] = "no-store"
    return await webhooks.rotate(session, principal, client_id, endpoint_id, _config(request))


@router.get(
    E + "/deliveries",
    summary="A webhook endpoint's delivery log",
    responses=problem_responses(400, 401, 403, 404),
)
async def list_deliveries(
    session: SessionDep,
    principal: CurrentPrincipal,
    client_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
) -> Page[DeliveryPublic]:
    """Newest first: each event (`event_id` is its `webhook-id`), its state (`queued`,
    `sending`, `failed` and waiting for `next_attempt_at`, `delivered`, `dead`) and every
    attempt with the receiver's status code."""
    return await webhooks.deliveries(
        session, principal, client_id, endpoint_id, cursor=cursor, limit=limit
    )


@router.post(
    E + "/deliveries/{delivery_id}/replay",
    summary="Send a delivery again",
    responses=problem_responses(401, 403, 404, 409, problems=(EndpointDisabled,)),
)
async def replay_delivery(
    session: SessionDep,
    principal: CurrentPrincipal,
    client_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    delivery_id: uuid.UUID,
) -> DeliveryPublic:
    """Queued again now, with the same `webhook-id` (a receiver that has it already ignores
    it) and a fresh set of retries."""
    return await webhooks.replay(session, principal, client_id, endpoint_id, delivery_id)
