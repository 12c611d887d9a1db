"""The signed-in account."""

from fastapi import APIRouter

from app.auth import CurrentPrincipal
from app.db import SessionDep
from app.errors import problem_responses
from cooperative.accounts import service as accounts_service
from cooperative.accounts.schemas import AccountPublic, MePublic
from cooperative.kernel.errors import NotFound

router = APIRouter(prefix="/v1", tags=["accounts"])


@router.get("/me", summary="Who am I", responses=problem_responses(401, 403, 404))
async def me(session: SessionDep, principal: CurrentPrincipal) -> MePublic:
    """The account behind the access token, with the scopes this token carries."""
    account = await accounts_service.get(session, principal.account_id)
    if account is None:
        raise NotFound()
    public = AccountPublic.model_validate(account, from_attributes=True)
    return MePublic(**public.model_dump(), scopes=sorted(principal.scopes))
