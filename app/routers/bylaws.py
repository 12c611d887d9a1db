"""The cooperative's bylaws: the version in force, and every version ever adopted."""

from typing import Annotated

from fastapi import APIRouter, status
from fastapi import Path as FastAPIPath
from pydantic import Field

from app.auth import AdminPrincipal
from app.context import LawDep
from app.db import SessionDep
from app.errors import problem_responses
from app.pagination import CursorParam, LimitParam, Page
from cooperative.bylaws import service as bylaws_service
from cooperative.bylaws.defaults import default_bylaws
from cooperative.bylaws.schema import Bylaws
from cooperative.bylaws.schemas import BylawsVersionPublic, BylawsVersionSummary
from cooperative.kernel.schemas import InputModel

router = APIRouter(prefix="/v1/bylaws", tags=["bylaws"])


class BylawsInstall(InputModel):
    document: Bylaws | None = Field(
        default=None, description="The bylaws to install; the shipped default when omitted."
    )
    note: str | None = Field(default=None, max_length=500)


@router.get("", summary="The bylaws in force", responses=problem_responses(409))
async def current(session: SessionDep, law: LawDep) -> BylawsVersionPublic:
    """The bylaws version in force now, with its number: every figure Tequio computes names it.

    Public: the bylaws of a cooperative are open to anyone who may join it.
    """
    return bylaws_service.version_public(await bylaws_service.version(session, law.number))


@router.get("/versions", summary="Every bylaws version", responses=problem_responses(400))
async def versions(
    session: SessionDep, cursor: CursorParam = None, limit: LimitParam = 50
) -> Page[BylawsVersionSummary]:
    """All versions, oldest first: the install, then each amendment a governance vote adopted."""
    return await bylaws_service.versions(session, cursor=cursor, limit=limit)


@router.get("/versions/{number}", summary="One bylaws version", responses=problem_responses(404))
async def version(
    session: SessionDep, number: Annotated[int, FastAPIPath(ge=1, le=2_147_483_647)]
) -> BylawsVersionPublic:
    """A version's full document, so that any past computation can be reproduced."""
    return bylaws_service.version_public(await bylaws_service.version(session, number))


@router.post(
    "/versions",
    status_code=status.HTTP_201_CREATED,
    summary="Install the first bylaws (admin)",
    responses=problem_responses(401, 403, 409, 422),
)
async def install(
    session: SessionDep, principal: AdminPrincipal, data: BylawsInstall
) -> BylawsVersionPublic:
    """Install version 1 on a new cooperative, the shipped default unless a document is given.

    Only once: every later version is adopted by a governance vote (409 otherwise).
    """
    row = await bylaws_service.install(
        session, data.document or default_bylaws(), account_id=principal.account_id, note=data.note
    )
    return bylaws_service.version_public(row)
