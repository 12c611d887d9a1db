"""The app registry (`/v1/apps`: owners and admins) and the apps a member has let in
(`/v1/me/apps`)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Request, Response, status

from app.auth import AdminPrincipal, CurrentPrincipal
from app.db import SessionDep
from app.errors import problem_responses
from app.pagination import CursorParam, LimitParam
from app.settings import Settings
from cooperative.accounts import service as accounts_service
from cooperative.apps import service as apps
from cooperative.apps.errors import NoSecret
from cooperative.apps.schemas import (
    AppApproval,
    AppCreate,
    AppCreated,
    AppPublic,
    AppSecret,
    AppUpdate,
    MyAppPublic,
)
from cooperative.kernel.pagination import Page
from telehealth.clinics import service as clinics

router = APIRouter(prefix="/v1", tags=["apps"])


def _key(request: Request) -> bytes:
    settings: Settings = request.app.state.settings
    return settings.client_secret_key


@router.post(
    "/apps",
    status_code=status.HTTP_201_CREATED,
    summary="Register an app",
    responses=problem_responses(400, 401, 403, 404, 413, 422),
)
async def register_app(
    request: Request,
    response: Response,
    session: SessionDep,
    principal: CurrentPrincipal,
    data: Annotated[AppCreate, Body()],
) -> AppCreated:
    """Register an app that will use Tequio on members' behalf (`public`: a phone or browser
    app, authorization code + PKCE) or as itself (`confidential`: a server with a secret).

    You own it; an admin approves it before anyone can sign in to it. A confidential app's
    `client_secret` is in this answer only: Tequio keeps its hash (rotate it with
    `POST /v1/apps/{client_id}/secret`). A clinic's app (`clinic_id`) is registered by that
    clinic's staff or an admin; for anyone else the clinic is not found (`404`)."""
    response.headers["Cache-Control"] = "no-store"
    if data.clinic_id is not None:  # only its staff (or an admin) register a clinic's app
        await clinics.visible(session, principal, data.clinic_id)
    return await apps.register(session, principal, data, key=_key(request))


@router.get(
    "/apps", summary="My apps (admins: every app)", responses=problem_responses(400, 401, 403)
)
async def list_apps(
    session: SessionDep,
    principal: CurrentPrincipal,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
) -> Page[AppPublic]:
    """The apps you registered, newest first; an admin sees every app, to approve them."""
    return await apps.listed(session, principal, cursor=cursor, limit=limit)


@router.get(
    "/apps/{client_id}", summary="One of my apps", responses=problem_responses(401, 403, 404)
)
async def get_app(
    session: SessionDep, principal: CurrentPrincipal, client_id: uuid.UUID
) -> AppPublic:
    """The app, to its owner or an admin (anyone else: 404, as if it did not exist)."""
    return apps.app_public(await apps.visible(session, principal, client_id))


@router.patch(
    "/apps/{client_id}",
    summary="Switch an app off or on, or change its redirect URIs",
    responses=problem_responses(400, 401, 403, 404, 413, 422),
)
async def update_app(
    session: SessionDep,
    principal: CurrentPrincipal,
    client_id: uuid.UUID,
    data: Annotated[AppUpdate, Body()],
) -> AppPublic:
    """`is_active: false` switches the app off: every member's grant to it ends at once (its
    tokens stop on their next request). Owner or admin."""
    return await apps.update_app(session, principal, client_id, data)


@router.post(
    "/apps/{client_id}/approve",
    summary="Approve an app (admin)",
    responses=problem_responses(400, 401, 403, 404, 413, 422),
)
async def approve_app(
    request: Request,
    session: SessionDep,
    principal: AdminPrincipal,
    client_id: uuid.UUID,
    data: Annotated[AppApproval | None, Body()] = None,
) -> AppPublic:
    """Members can sign in to an app once an admin approved it. `first_party: true` marks the
    cooperative's own app, the only kind that may use the password grant. A clinic's app gets
    its own staff account at that clinic, which its `client_credentials` tokens act through."""
    approved = await apps.approve(session, principal, client_id, data or AppApproval())
    clinic_app = await apps.needs_service_account(session, client_id)
    if clinic_app is not None and clinic_app.clinic_id is not None:
        account = await accounts_service.service_account(
            session,
            clinic_app.name,
            client_id=clinic_app.id,
            hasher=request.app.state.password_hasher,
        )
        await clinics.grant_staff(
            session,
            clinic_app.clinic_id,
            account.id,
            reason=f"app {clinic_app.name} approved",
            by=principal.account_id,
        )
        await apps.acts_through(session, clinic_app, account.id)
    return approved


@router.post(
    "/apps/{client_id}/secret",
    summary="Rotate a confidential app's secret",
    responses=problem_responses(401, 403, 404, 409, problems=(NoSecret,)),
)
async def rotate_secret(
    request: Request,
    response: Response,
    session: SessionDep,
    principal: CurrentPrincipal,
    client_id: uuid.UUID,
) -> AppSecret:
    """A new `client_secret`, shown once; the previous one stops working at once."""
    response.headers["Cache-Control"] = "no-store"
    return await apps.rotate_secret(session, principal, client_id, key=_key(request))


@router.get("/me/apps", summary="Apps I let in", responses=problem_responses(401, 403))
async def my_apps(
    session: SessionDep,
    principal: CurrentPrincipal,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
) -> Page[MyAppPublic]:
    """Every app holding a grant of yours: what you allowed it, since when, and when it last
    used it. Each read an app makes is in your access log under its name."""
    return await apps.my_apps(session, principal.account_id, cursor=cursor, limit=limit)


@router.delete(
    "/me/apps/{client_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke an app",
    responses=problem_responses(401, 403, 404),
)
async def revoke_app(
    session: SessionDep, principal: CurrentPrincipal, client_id: uuid.UUID
) -> None:
    """The app loses every grant you gave it, at once: its tokens stop on their next request."""
    await apps.revoke_mine(session, principal.account_id, client_id)
