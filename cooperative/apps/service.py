"""App registry and authorization-code use cases over an AsyncSession: they flush, never commit.

Who sees an app: its owner and admins; anyone else is answered 404, as for an app that does
not exist."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.accounts import service as accounts_service
from cooperative.apps import rules
from cooperative.apps.errors import (
    CodeReplayed,
    InvalidClient,
    InvalidGrant,
    InvalidScope,
    NoSecret,
)
from cooperative.apps.models import AuthorizationCode, ClientAssertion, OAuthClient
from cooperative.apps.schemas import (
    AppApproval,
    AppCreate,
    AppCreated,
    AppPublic,
    AppSecret,
    AppUpdate,
    MyAppPublic,
)
from cooperative.audit import service as audit
from cooperative.kernel import clock
from cooperative.kernel.errors import NotFound
from cooperative.kernel.pagination import Cursor, Page, clamp_limit, page, paginate
from cooperative.kernel.principal import Principal

OAuthClientRow = OAuthClient  # the type the token endpoint names


def app_public(client: OAuthClient) -> AppPublic:
    return AppPublic(
        client_id=client.id,
        name=client.name,
        kind="public" if client.kind == "public" else "confidential",
        redirect_uris=client.redirect_uris,
        scopes=client.scopes,
        owner_account_id=client.owner_account_id,
        contact=client.contact,
        clinic_id=client.clinic_id,
        first_party=client.first_party,
        is_active=client.is_active,
        approved=client.approved_at is not None,
        approved_at=client.approved_at,
        has_secret=client.secret_hash is not None,
        secret_set_at=client.secret_set_at,
        token_endpoint_auth_method=(
            "none"
            if client.kind == "public"
            else "private_key_jwt"
            if client.jwks
            else "client_secret_basic"
        ),
        created_at=client.created_at,
    )


async def register(
    session: AsyncSession, principal: Principal, data: AppCreate, *, key: bytes
) -> AppCreated:
    """A new app, owned by the caller, waiting for an admin's approval; a confidential app's
    secret is in the answer, once."""
    now = clock.now()
    client = OAuthClient(
        name=data.name,
        kind=data.kind,
        redirect_uris=data.redirect_uris,
        scopes=sorted(str(s) for s in data.scopes),
        owner_account_id=principal.account_id,
        contact=data.contact,
        clinic_id=data.clinic_id,
        jwks=data.jwks,
        created_at=now,
        updated_at=now,
    )
    secret = None
    if data.kind == "confidential" and data.jwks is None:
        secret = rules.new_secret()
        client.secret_hash = rules.hash_secret(secret, key)
        client.secret_set_at = now
    session.add(client)
    await session.flush()
    return AppCreated(**app_public(client).model_dump(), client_secret=secret)


async def visible(session: AsyncSession, principal: Principal, client_id: uuid.UUID) -> OAuthClient:
    """The app, to its owner or an admin; NotFound to anyone else."""
    client = await session.get(OAuthClient, client_id)
    if client is None or not (
        principal.is_admin or client.owner_account_id == principal.account_id
    ):
        raise NotFound()
    return client


async def listed(
    session: AsyncSession, principal: Principal, *, cursor: str | None, limit: int | None
) -> Page[AppPublic]:
    """The caller's apps (an admin's: every app, to approve them), newest first."""
    statement = select(OAuthClient)
    if not principal.is_admin:
        statement = statement.where(col(OAuthClient.owner_account_id) == principal.account_id)
    rows = await paginate(
        session,
        statement,
        time_column=col(OAuthClient.created_at),
        id_column=col(OAuthClient.id),
        cursor=cursor,
        limit=limit,
        descending=True,
    )
    return page(rows, app_public)


async def approve(
    session: AsyncSession, principal: Principal, client_id: uuid.UUID, data: AppApproval
) -> AppPublic:
    """An admin approves the app (again: changes its first-party flag)."""
    client = await visible(session, principal, client_id)
    now = clock.now()
    client.approved_at = client.approved_at or now
    client.approved_by = principal.account_id
    client.first_party = data.first_party
    client.updated_at = now
    await session.flush()
    return app_public(client)


async def needs_service_account(session: AsyncSession, client_id: uuid.UUID) -> OAuthClient | None:
    """The approved clinic app that has no staff account yet, if this is one."""
    client = await session.get(OAuthClient, client_id)
    if client is None or client.clinic_id is None or client.approved_at is None:
        return None
    return client if client.service_account_id is None else None


async def acts_through(session: AsyncSession, client: OAuthClient, account_id: uuid.UUID) -> None:
    client.service_account_id = account_id
    await session.flush()


def client_credentials_scopes(client: OAuthClient, scope: str | None) -> list[str]:
    """What a clinic app's own token may carry: what it asks (default: all it registered),
    within what it registered, and never `me` (it is no member)."""
    asked = rules.split_scopes(scope) or sorted(client.scopes)
    if not set(asked) <= set(client.scopes):
        raise InvalidScope(scopes=" ".join(sorted(set(asked) - set(client.scopes))))
    return [s for s in asked if s != "me"]


async def update_app(
    session: AsyncSession, principal: Principal, client_id: uuid.UUID, data: AppUpdate
) -> AppPublic:
    """Switch the app off (every member's grant to it ends at once) or on, or change its
    redirect URIs (codes already issued to a removed URI stop working)."""
    client = await visible(session, principal, client_id)
    if data.redirect_uris is not None:
        client.redirect_uris = data.redirect_uris
    if data.is_active is not None:
        client.is_active = data.is_active
        if not data.is_active:
            await accounts_service.end_app_sessions(session, client.id, reason="app-off")
    client.updated_at = clock.now()
    await session.flush()
    return app_public(client)


async def rotate_secret(
    session: AsyncSession, principal: Principal, client_id: uuid.UUID, *, key: bytes
) -> AppSecret:
    """A new secret for a confidential app, shown once; the old one stops working now."""
    client = await visible(session, principal, client_id)
    if client.kind != "confidential" or client.jwks:
        raise NoSecret()
    secret = rules.new_secret()
    client.secret_hash = rules.hash_secret(secret, key)
    client.secret_set_at = client.updated_at = clock.now()
    await session.flush()
    return AppSecret(client_id=client.id, client_secret=secret)


def _client_uuid(client_id: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(client_id) if client_id else None
    except ValueError:
        return None


async def usable(session: AsyncSession, client_id: str | None) -> OAuthClient | None:
    """The app if it exists, is approved and switched on; None otherwise."""
    ident = _client_uuid(client_id)
    client = await session.get(OAuthClient, ident) if ident is not None else None
    if client is None or not client.is_active or client.approved_at is None:
        return None
    return client


@dataclass(frozen=True, slots=True)
class Assertion:
    """A `private_key_jwt` client assertion and the audiences it may name."""

    token: str
    audiences: tuple[str, ...]


async def _assertion_valid(
    session: AsyncSession, client: OAuthClient, assertion: Assertion | None
) -> bool:
    """Signed by the app's key, for this token endpoint, and never seen before (its `jti`)."""
    if assertion is None or not client.jwks:
        return False
    jti = rules.assertion_jti(
        assertion.token,
        client.jwks,
        client_id=str(client.id),
        audiences=assertion.audiences,
        now=lambda: int(clock.now().timestamp()),
    )
    if jti is None:
        return False
    try:
        async with session.begin_nested():
            session.add(
                ClientAssertion(
                    jti_hash=rules.hash_jti(str(client.id), jti),
                    client_id=client.id,
                    expires_at=clock.now() + timedelta(seconds=rules.ASSERTION_MAX_SECONDS),
                )
            )
    except IntegrityError:
        return False
    return True


async def authenticated(
    session: AsyncSession,
    client_id: str | None,
    secret: str | None,
    *,
    key: bytes,
    assertion: Assertion | None = None,
) -> OAuthClient:
    """The app presenting these credentials at the token endpoint: a confidential app sends
    its secret, or a `private_key_jwt` assertion if it registered keys; a public app sends
    none (PKCE proves it). InvalidClient otherwise."""
    client = await usable(session, client_id)
    if client is None:
        raise InvalidClient()
    if client.kind == "confidential" and not (
        await _assertion_valid(session, client, assertion)
        if client.jwks
        else secret and rules.secret_matches(secret, client.secret_hash, key)
    ):
        raise InvalidClient()
    if client.kind == "public" and secret:
        raise InvalidClient()
    return client


@dataclass(frozen=True, slots=True)
class CodeRequest:
    """What an app asked at the authorization endpoint, checked."""

    client: OAuthClient
    redirect_uri: str
    code_challenge: str
    scopes: list[str]
    state: str | None


async def issue_code(
    session: AsyncSession,
    request: CodeRequest,
    account_id: uuid.UUID,
    granted: Sequence[str],
    *,
    ttl: timedelta,
) -> str:
    """A code for the app, bound to its redirect URI, the PKCE challenge and what the member
    granted; only its hash is kept."""
    code = rules.new_code()
    now = clock.now()
    session.add(
        AuthorizationCode(
            code_hash=rules.hash_code(code),
            client_id=request.client.id,
            account_id=account_id,
            redirect_uri=request.redirect_uri,
            code_challenge=request.code_challenge,
            scope=" ".join(sorted(granted)),
            created_at=now,
            expires_at=now + ttl,
        )
    )
    await session.flush()
    return code


async def spend_code(
    session: AsyncSession,
    client: OAuthClient,
    code: str,
    *,
    redirect_uri: str | None,
    verifier: str | None,
) -> AuthorizationCode:
    """Spend a code once (a conditional UPDATE: of concurrent exchanges one wins). A code seen
    again ends the sign-in issued from it, and that is kept (RFC 6749 §4.1.2)."""
    stored = (
        await session.execute(
            select(AuthorizationCode).where(
                col(AuthorizationCode.code_hash) == rules.hash_code(code)
            )
        )
    ).scalar_one_or_none()
    if stored is None or stored.client_id != client.id:
        raise InvalidGrant()
    now = clock.now()
    spent = await session.execute(
        update(AuthorizationCode)
        .where(col(AuthorizationCode.id) == stored.id, col(AuthorizationCode.used_at).is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(spent, "rowcount", 0) != 1:
        await session.refresh(stored)
        if stored.session_id is not None:
            await accounts_service.revoke_session(session, stored.session_id, reason="code-replay")
        raise CodeReplayed()
    if (
        stored.expires_at <= now
        or redirect_uri != stored.redirect_uri
        or not verifier
        or not rules.verifier_matches(verifier, stored.code_challenge)
    ):
        raise InvalidGrant()
    return stored


async def code_started(
    session: AsyncSession, code: AuthorizationCode, session_id: uuid.UUID
) -> None:
    """Remember the sign-in a code's exchange started (a replay of the code ends it)."""
    await session.execute(
        update(AuthorizationCode)
        .where(col(AuthorizationCode.id) == code.id)
        .values(session_id=session_id)
        .execution_options(synchronize_session=False)
    )


async def live(session: AsyncSession, client_ids: set[uuid.UUID]) -> dict[uuid.UUID, OAuthClient]:
    """The apps among these that are switched on and approved (what webhooks go to)."""
    if not client_ids:
        return {}
    found = await session.scalars(
        select(OAuthClient).where(
            col(OAuthClient.id).in_(client_ids),
            col(OAuthClient.is_active).is_(True),
            col(OAuthClient.approved_at).is_not(None),
        )
    )
    return {client.id: client for client in found.all()}


async def names(session: AsyncSession, client_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The apps' names, for the access log."""
    found = await session.execute(
        select(col(OAuthClient.id), col(OAuthClient.name)).where(
            col(OAuthClient.id).in_(client_ids)
        )
    )
    return {ident: name for ident, name in found.all()}


async def my_apps(
    session: AsyncSession, account_id: uuid.UUID, *, cursor: str | None, limit: int | None
) -> Page[MyAppPublic]:
    """The apps holding the member's grants: what each was allowed, since when, its last use;
    oldest grant first."""
    grants: dict[uuid.UUID, list[accounts_service.AuthSession]] = {}
    for signed in await accounts_service.app_sessions(session, account_id):
        assert signed.client_id is not None
        grants.setdefault(signed.client_id, []).append(signed)
    apps = []
    for client_id, sessions in grants.items():
        client = await session.get(OAuthClient, client_id)
        if client is None:
            continue
        used = [
            t
            for t in (
                await accounts_service.last_token_at(session, [s.id for s in sessions]),
                await audit.last_app_read(session, account_id, client_id),
            )
            if t is not None
        ]
        scopes = {scope for s in sessions for scope in (s.scope or "").split()}
        apps.append(
            MyAppPublic(
                client_id=client.id,
                name=client.name,
                contact=client.contact,
                scopes=sorted(scopes),
                granted_at=min(s.created_at for s in sessions),
                last_used_at=max(used) if used else None,
            )
        )
    return _paged(apps, cursor, limit)


def _paged(apps: list[MyAppPublic], cursor: str | None, limit: int | None) -> Page[MyAppPublic]:
    """A page of the member's apps (a handful: ordered and cut here, not in SQL)."""
    after = Cursor.decode(cursor)
    ordered = sorted(apps, key=lambda a: (a.granted_at, str(a.client_id)))
    if after is not None:
        ordered = [
            a
            for a in ordered
            if (a.granted_at, str(a.client_id)) > (after.after_time, after.after_id)
        ]
    size = clamp_limit(limit)
    if len(ordered) <= size:
        return Page(items=ordered, next_cursor=None)
    last = ordered[size - 1]
    return Page(
        items=ordered[:size], next_cursor=Cursor(last.granted_at, str(last.client_id)).encode()
    )


async def revoke_mine(session: AsyncSession, account_id: uuid.UUID, client_id: uuid.UUID) -> None:
    """End every grant of the member to this app: its tokens stop on their next request.
    NotFound when the app holds none."""
    ended = await accounts_service.end_app_sessions(
        session, client_id, reason="member-revoked", account_id=account_id
    )
    if not ended:
        raise NotFound()
