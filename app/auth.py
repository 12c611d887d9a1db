"""Typed auth dependencies: who is calling, with which scopes."""

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import OAuth2PasswordBearer, SecurityScopes

from app.db import SessionDep
from app.security import InsufficientScope, NotAuthenticated, TokenIssuer
from cooperative.accounts import service as accounts_service
from cooperative.audit import service as audit
from cooperative.kernel import moments
from cooperative.kernel.principal import SCOPE_DESCRIPTIONS, Principal, Scope, scopes_for

TOKEN_URL = "/v1/auth/token"  # noqa: S105  (a path, not a secret)

bearer = OAuth2PasswordBearer(
    tokenUrl=TOKEN_URL,
    scopes={str(scope): text for scope, text in SCOPE_DESCRIPTIONS.items()},
    auto_error=False,
)


def token_issuer(request: Request) -> TokenIssuer:
    issuer: TokenIssuer = request.app.state.tokens
    return issuer


async def _principal(
    security_scopes: SecurityScopes,
    request: Request,
    session: SessionDep,
    token: Annotated[str | None, Depends(bearer)],
) -> Principal:
    if not token:
        raise NotAuthenticated(headers={"WWW-Authenticate": "Bearer"})
    claimed = token_issuer(request).verify(token)
    assert claimed.session_id is not None
    account = await accounts_service.signed_in(session, claimed.account_id, claimed.session_id)
    moments.read_in(account.timezone)  # the answer's times are in the caller's zone
    roles = frozenset(account.roles)
    principal = Principal(
        account_id=claimed.account_id,
        session_id=claimed.session_id,
        roles=roles,
        scopes=claimed.scopes & scopes_for(roles),
        verified=account.is_verified,
        client_id=claimed.client_id,
    )
    missing = sorted(set(security_scopes.scopes) - principal.scopes)
    if missing:
        raise InsufficientScope(
            scopes=", ".join(missing),
            headers={
                "WWW-Authenticate": (
                    f'Bearer error="insufficient_scope", scope="{" ".join(missing)}"'
                )
            },
        )
    if principal.client_id is not None and request.method in ("GET", "HEAD"):
        route = request.scope.get("route")
        operation = f"{request.method} {getattr(route, 'path', request.url.path)}"
        await audit.app_read(session, principal, resource=operation)
    return principal


def require_scopes(*scopes: Scope) -> Principal:
    """`Annotated[Principal, require_scopes(Scope.X)]`-style dependency for a route."""
    return Security(_principal, scopes=[str(s) for s in scopes])  # type: ignore[no-any-return]


def insufficient_scope(*scopes: Scope) -> InsufficientScope:
    names = " ".join(str(s) for s in scopes)
    return InsufficientScope(
        scopes=", ".join(str(s) for s in scopes),
        headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{names}"'},
    )


def require_any_scope(*scopes: Scope) -> Principal:
    """A route open to callers holding at least one of `scopes` (it decides what each may do)."""

    async def dependency(
        principal: Annotated[Principal, Security(_principal, scopes=[str(Scope.ME)])],
    ) -> Principal:
        if not principal.scopes & {str(s) for s in scopes}:
            raise insufficient_scope(*scopes)
        return principal

    return Depends(dependency)  # type: ignore[no-any-return]


CurrentPrincipal = Annotated[Principal, Security(_principal, scopes=[str(Scope.ME)])]
AdminPrincipal = Annotated[Principal, Security(_principal, scopes=[str(Scope.ADMIN)])]
