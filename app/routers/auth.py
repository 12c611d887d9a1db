"""Sign-up, sign-in, token refresh and sign-out."""

import hashlib
import json
import uuid
from datetime import timedelta
from typing import Annotated, Any, Literal

from authlib.oauth2.rfc6749.util import extract_basic_authorization
from fastapi import APIRouter, Body, Depends, Request, Response, status
from fastapi.exceptions import RequestValidationError
from jose import JOSEError, jwt
from pwdlib import PasswordHash
from pydantic import ConfigDict, Field, SecretStr, ValidationError

from app.auth import TOKEN_URL, bearer, token_issuer
from app.db import SessionDep
from app.errors import MalformedBody, UnsupportedMediaType, language_of, problem_responses
from app.security import InvalidToken, NotAuthenticated
from app.settings import Settings
from cooperative.accounts import codes
from cooperative.accounts import rules as account_rules
from cooperative.accounts import service as accounts_service
from cooperative.accounts.errors import (
    CodeExpired,
    CodeUsed,
    TooManyCodes,
    TooManySignUps,
    WeakPassword,
    WrongCode,
)
from cooperative.accounts.models import Account
from cooperative.accounts.schemas import (
    SIGN_UP_ACCEPTED,
    AccountCreate,
    CodeRequest,
    CodeSent,
    LoginRequest,
    LogoutRequest,
    RecoverConfirm,
    RefreshRequest,
    SignUpAccepted,
    TokenResponse,
    VerifyAccepted,
    VerifyRequest,
)
from cooperative.apps import service as apps
from cooperative.apps.errors import (
    InvalidClient,
    InvalidGrant,
    InvalidScope,
    UnauthorizedClient,
    UnsupportedGrantType,
)
from cooperative.kernel.errors import Text
from cooperative.kernel.principal import scopes_for
from cooperative.kernel.schemas import InputModel
from cooperative.notifications import codes as notification_codes

router = APIRouter(prefix="/v1/auth", tags=["auth"])


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _hasher(request: Request) -> PasswordHash:
    hasher: PasswordHash = request.app.state.password_hasher
    return hasher


@router.post(
    "/register",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Sign up",
    responses=problem_responses(400, 413, 422, 429),
)
async def register(
    request: Request, session: SessionDep, data: Annotated[AccountCreate, Body()]
) -> SignUpAccepted:
    """Create an account with an email or a phone number (E.164) and a password.

    Nothing else is asked: no identity document, no immigration status. The new account is a
    patient account; doctor, clinic staff and admin roles are granted by the cooperative.

    A new account gets a six-digit code at its email (or else its phone): `POST
    /v1/auth/verify` with it. Until then the account may sign in and read, but not book a
    consult or vote.

    The answer is the same `202` whether or not the email or phone was already registered, so
    nobody can use sign-up to find out who uses Tequio: if it was new, sign in with it and this
    password; if it was registered, nothing changed, its own password still signs in, and its
    owner gets a message that someone tried to sign up with it (no code). Weak
    passwords are refused (`422`) alike in both cases. Many sign-ups from one address, or for
    one contact, slow down (`429` with `Retry-After`); a steady pace, like a clinic signing its
    patients up one after another, does not.
    """
    settings = _settings(request)
    contacts = [c for c in (data.email, data.phone) if c]
    address = request.client.host if request.client else "unknown"
    await accounts_service.charge(
        session, settings.signup_throttles(contacts, address), refusal=TooManySignUps
    )
    await session.commit()  # the charge stands even if the sign-up fails; no lock during argon2
    done = await accounts_service.sign_up(
        session,
        data,
        hasher=_hasher(request),
        min_password_length=settings.password_min_length,
    )
    if done is not None and done.created:
        await _send_code(session, settings, done.account, codes.Purpose.VERIFY, done.contact)
    elif done is not None:
        await notification_codes.tell_sign_up_tried(session, done.account, done.contact)
    return SignUpAccepted(
        username=contacts[0],
        detail=SIGN_UP_ACCEPTED.render(language_of(request)),
    )


class RefreshGrant(RefreshRequest):
    """Refresh through the token endpoint, as OAuth2 clients do (`POST /v1/auth/refresh` is the
    same)."""

    grant_type: Literal["refresh_token"]
    client_id: str | None = Field(default=None, max_length=200)
    client_secret: SecretStr | None = Field(default=None, max_length=200)
    client_assertion_type: (
        Literal["urn:ietf:params:oauth:client-assertion-type:jwt-bearer"] | None
    ) = None
    client_assertion: SecretStr | None = Field(default=None, max_length=8000)


class CodeGrant(InputModel):
    """An app exchanges the code it got at `/oauth/authorize` (RFC 6749 §4.1.3, PKCE)."""

    model_config = ConfigDict(extra="forbid")

    grant_type: Literal["authorization_code"]
    code: str = Field(min_length=1, max_length=200)
    redirect_uri: str = Field(min_length=1, max_length=500)
    code_verifier: str = Field(min_length=43, max_length=128)
    client_id: str | None = Field(default=None, max_length=200)
    client_secret: SecretStr | None = Field(default=None, max_length=200)
    client_assertion_type: (
        Literal["urn:ietf:params:oauth:client-assertion-type:jwt-bearer"] | None
    ) = None
    client_assertion: SecretStr | None = Field(default=None, max_length=8000)


class ClientCredentialsGrant(InputModel):
    """A clinic's server asks for a token of its own (RFC 6749 §4.4), authenticated with HTTP
    Basic or `client_id` and `client_secret`."""

    model_config = ConfigDict(extra="forbid")

    grant_type: Literal["client_credentials"]
    scope: str | None = Field(default=None, max_length=1000)
    client_id: str | None = Field(default=None, max_length=200)
    client_secret: SecretStr | None = Field(default=None, max_length=200)
    client_assertion_type: (
        Literal["urn:ietf:params:oauth:client-assertion-type:jwt-bearer"] | None
    ) = None
    client_assertion: SecretStr | None = Field(default=None, max_length=8000)


# What the token endpoint takes: the password grant, the refresh-token grant, or a code
_LOGIN_SCHEMA = {
    "oneOf": [
        LoginRequest.model_json_schema(),
        RefreshGrant.model_json_schema(),
        CodeGrant.model_json_schema(),
        ClientCredentialsGrant.model_json_schema(),
    ],
}
GRANT_PROBLEMS = (
    InvalidClient,
    InvalidGrant,
    InvalidScope,
    UnauthorizedClient,
    UnsupportedGrantType,
)


async def _login_form(request: Request) -> dict[str, Any]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/x-www-form-urlencoded" or content_type == "multipart/form-data":
        form = await request.form()
        return {key: value for key, value in form.items() if isinstance(value, str) and value}
    if content_type == "application/json" or content_type.endswith("+json"):
        try:
            payload = json.loads(await request.body())
        except (ValueError, RecursionError) as exc:  # bad JSON, bad UTF-8, absurd nesting
            raise MalformedBody(expected="JSON") from exc
        if not isinstance(payload, dict):
            raise MalformedBody(expected=Text("a JSON object", "un objeto JSON"))
        return payload
    raise UnsupportedMediaType(
        expected=Text(
            "application/json or application/x-www-form-urlencoded",
            "application/json o application/x-www-form-urlencoded",
        )
    )


def _validated(
    model: type[LoginRequest | RefreshGrant | CodeGrant | ClientCredentialsGrant],
    payload: dict[str, Any],
) -> Any:
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        errors = [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]
        raise RequestValidationError(errors) from exc


async def _token_response(
    request: Request,
    response: Response,
    issued: accounts_service.IssuedRefresh,
    *,
    refresh: bool = True,
) -> TokenResponse:
    settings = _settings(request)
    response.headers["Cache-Control"] = "no-store"  # RFC 6749 §5.1: tokens are never cached
    account: Account = issued.account
    roles = frozenset(account.roles)
    scopes = scopes_for(roles, issued.scope.split() if issued.scope is not None else None)
    access = token_issuer(request).issue(
        account_id=account.id,
        session_id=issued.session_id,
        roles=roles,
        scopes=scopes,
        now=issued.issued_at,
        jti=hashlib.sha256(b"access:" + issued.token.encode()).hexdigest()[:32],
        client_id=issued.client_id,
        verified=account.is_verified,
    )
    return TokenResponse(
        access_token=access,
        expires_in=settings.access_token_minutes * 60,
        refresh_token=issued.token if refresh else None,
        refresh_token_expires_in=settings.refresh_token_days * 86400 if refresh else None,
        scope=" ".join(sorted(scopes)),
    )


@router.post(
    "/token",
    summary="Sign in (password grant, first-party only), exchange a code, or refresh",
    response_model_exclude_none=True,
    responses=problem_responses(400, 401, 413, 415, 422, 429, problems=GRANT_PROBLEMS),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": _LOGIN_SCHEMA},
                "application/x-www-form-urlencoded": {"schema": _LOGIN_SCHEMA},
            },
        }
    },
)
async def token(request: Request, response: Response, session: SessionDep) -> TokenResponse:
    """Exchange an email or phone number and password for an access and a refresh token.

    The phone number is taken as people write it. Mexican numbers with or without the country
    code, spaces, dashes or the old mobile `1` (`951 123 4567`, `9511234567`, `52 951 123 4567`,
    `+52 1 951 123 4567`, `044 951 123 4567`) and US numbers (`(213) 555-0100`, `213-555-0100`,
    `1 213 555 0100`, `+1 213 555 0100`) all sign in to the account registered with that
    number. A number without its country code is read as Mexican first, then as a US one.
    A wrong number or password gets the same `401` either way.

    El teléfono se escribe como se acostumbra: con o sin `+52`, con espacios o guiones, con el
    `1` de celular de antes o `044` (`951 123 4567`, `+52 1 951 123 4567`), o un número de
    EE. UU. (`(213) 555-0100`, `1 213 555 0100`).

    Accepts a JSON body or the OAuth2 form (so the docs' **Authorize** button works); with the
    form, `grant_type=refresh_token` and `refresh_token` refresh instead. `scope` may narrow the
    token to fewer scopes than the account's roles grant.

    Repeated failures slow sign-in down for that account and for the client address: after a few,
    each further attempt must wait twice as long as the last (429 with `Retry-After`).

    **Apps** (see "Build an app on Tequio"): `grant_type=authorization_code` with `code`,
    `redirect_uri`, `code_verifier` (PKCE S256) and `client_id` (a confidential app also
    authenticates: HTTP Basic or `client_secret`). The password grant is for Tequio's own
    first-party apps only: without `client_id` (Tequio's own app) or with a first-party app's;
    any other app gets `unauthorized_client` (RFC 9700). A clinic's server app:
    `grant_type=client_credentials` (its secret by HTTP Basic or `client_secret`): it acts for
    its clinic only, never as a member. OAuth2 errors are problem details
    that also carry RFC 6749's `error` member (`invalid_grant`, `invalid_client`, …).
    """
    payload = await _login_form(request)
    if payload.get("grant_type") not in (None, "password"):
        return await _other_grant(request, response, session, payload)
    data: LoginRequest = _validated(LoginRequest, payload)
    await _first_party_only(request, session, data.client_id, data.client_secret)
    settings = _settings(request)
    identifier = account_rules.canonical_identifier(data.username)
    address = request.client.host if request.client else "unknown"
    attempt = await accounts_service.begin_attempt(
        session, data.username, settings.login_throttles(identifier, address)
    )
    # Commit the charge before the slow hash: concurrent guesses all count, and no lock or
    # SQLite write transaction is held while argon2 runs.
    await session.commit()
    valid, new_hash = await accounts_service.check_password(
        attempt, data.password.get_secret_value(), hasher=_hasher(request)
    )
    account = await accounts_service.finish_attempt(
        session, attempt, valid=valid, new_hash=new_hash
    )
    issued = await accounts_service.start_session(
        session, account, ttl=timedelta(days=settings.refresh_token_days), scope=data.scope
    )
    return await _token_response(request, response, issued)


def _client_of(
    request: Request, client_id: str | None, secret: SecretStr | None
) -> tuple[str | None, str | None]:
    """The client's id and secret: HTTP Basic (RFC 6749 §2.3.1) or the body's. An empty id is
    no client at all: the docs' Authorize dialog sends `Basic Og==` (an empty id and secret)
    with the password grant when its client fields are left blank."""
    try:
        basic_id, basic_secret = extract_basic_authorization(request.headers)
    except (UnicodeDecodeError, ValueError):
        raise InvalidClient() from None
    if basic_id:
        return basic_id, basic_secret
    return client_id or None, secret.get_secret_value() if secret else None


async def _app(
    request: Request, session: SessionDep, data: "RefreshGrant | CodeGrant | ClientCredentialsGrant"
) -> apps.OAuthClientRow:
    """The app calling the token endpoint, authenticated: its secret (HTTP Basic or the body),
    a `private_key_jwt` assertion (RFC 7523 §2.2), or nothing but its id (a public app)."""
    client_id, plain = _client_of(request, data.client_id, data.client_secret)
    assertion = None
    if data.client_assertion is not None and data.client_assertion_type is not None:
        token = data.client_assertion.get_secret_value()
        if client_id is None:
            try:
                client_id = str(jwt.get_unverified_claims(token).get("sub") or "")
            except JOSEError:
                raise InvalidClient() from None
        own = str(request.url.replace(query=""))
        public = _settings(request).public_url + TOKEN_URL
        assertion = apps.Assertion(token, (own, public))
    return await apps.authenticated(
        session, client_id, plain, key=_settings(request).client_secret_key, assertion=assertion
    )


async def _first_party_only(
    request: Request, session: SessionDep, client_id: str | None, secret: SecretStr | None
) -> None:
    """The password grant: Tequio's own app (no client_id) or a first-party app only."""
    client_id, plain = _client_of(request, client_id, secret)
    if client_id is None:
        return
    client = await apps.authenticated(
        session, client_id, plain, key=_settings(request).client_secret_key
    )
    if not client.first_party:
        raise UnauthorizedClient()


async def _code_exchange(
    request: Request, response: Response, session: SessionDep, data: CodeGrant
) -> TokenResponse:
    """A code for a session of the member with the app, holding the scopes they granted."""
    settings = _settings(request)
    client = await _app(request, session, data)
    code = await apps.spend_code(
        session, client, data.code, redirect_uri=data.redirect_uri, verifier=data.code_verifier
    )
    account = await accounts_service.get(session, code.account_id)
    if account is None or not account.is_active:
        raise InvalidGrant()
    issued = await accounts_service.start_session(
        session,
        account,
        ttl=timedelta(days=settings.refresh_token_days),
        scope=code.scope,
        client_id=client.id,
    )
    await apps.code_started(session, code, issued.session_id)
    return await _token_response(request, response, issued)


async def _client_credentials(
    request: Request, response: Response, session: SessionDep, data: ClientCredentialsGrant
) -> TokenResponse:
    """A clinic app's token: it acts through its own staff account at its clinic, within the
    scopes it registered, never as a member (no `me`)."""
    settings = _settings(request)
    client = await _app(request, session, data)
    if client.kind != "confidential" or client.service_account_id is None:
        raise UnauthorizedClient()
    account = await accounts_service.get(session, client.service_account_id)
    if account is None or not account.is_active:
        raise UnauthorizedClient()
    scopes = apps.client_credentials_scopes(client, data.scope)
    # no refresh token (RFC 6749 §4.4.3): the sign-in lasts as long as its access token, and
    # the app asks again with its credentials
    issued = await accounts_service.start_session(
        session,
        account,
        ttl=timedelta(minutes=settings.access_token_minutes),
        scope=" ".join(scopes),
        client_id=client.id,
    )
    return await _token_response(request, response, issued, refresh=False)


async def _other_grant(
    request: Request, response: Response, session: SessionDep, payload: dict[str, Any]
) -> TokenResponse:
    """The token endpoint's grants other than the password: refresh, a code, client credentials."""
    grant = payload.get("grant_type")
    if grant == "refresh_token":
        refresh = _validated(RefreshGrant, payload)
        return await _refresh(request, response, session, refresh)
    if grant == "authorization_code":
        return await _code_exchange(request, response, session, _validated(CodeGrant, payload))
    if grant == "client_credentials":
        data = _validated(ClientCredentialsGrant, payload)
        return await _client_credentials(request, response, session, data)
    raise UnsupportedGrantType()


async def _refresh(
    request: Request, response: Response, session: SessionDep, data: RefreshRequest
) -> TokenResponse:
    settings = _settings(request)
    issued = await accounts_service.rotate_refresh(
        session,
        data.refresh_token.get_secret_value(),
        policy=accounts_service.RefreshPolicy(
            ttl=timedelta(days=settings.refresh_token_days),
            grace=timedelta(seconds=settings.refresh_reuse_grace_seconds),
            successor_key=settings.refresh_successor_key,
        ),
    )
    if issued.client_id is not None:  # an app's grant: the app still approved, and itself
        client = await apps.usable(session, str(issued.client_id))
        if client is None:
            raise InvalidGrant()
        if client.kind == "confidential":  # it authenticates, as when it got the grant
            given = (
                data
                if isinstance(data, RefreshGrant)
                else RefreshGrant(grant_type="refresh_token", refresh_token=data.refresh_token)
            )
            if (await _app(request, session, given)).id != client.id:
                raise InvalidClient()
    return await _token_response(request, response, issued)


@router.post(
    "/refresh",
    summary="Rotate a refresh token",
    responses=problem_responses(400, 401, 413, 422),
)
async def refresh(
    request: Request, response: Response, session: SessionDep, data: RefreshRequest
) -> TokenResponse:
    """Spend a refresh token for a new access token and a new refresh token.

    Each refresh token works once. A retry of the very same token shortly after (30 seconds by
    default, `TEQUIO_REFRESH_REUSE_GRACE_SECONDS`), while the new refresh token has not been
    used, gets the very same answer again: a phone whose answer was lost on a bad link stays
    signed in. The refresh token is its own idempotency key. Presenting a spent one later, or
    after its successor was used, ends the whole sign-in session (every token descended from
    the same login), because it may have been stolen.
    """
    return await _refresh(request, response, session, data)


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Sign out",
    responses=problem_responses(400, 401, 422),
)
async def logout(
    request: Request,
    session: SessionDep,
    token: Annotated[str | None, Depends(bearer)],
    data: LogoutRequest | None = None,
) -> None:
    """End the sign-in session of the refresh token in the body, or of the bearer token.

    Its refresh tokens stop working, and so do its access tokens, at once. An expired access
    token does not stop a sign-out with the refresh token (a phone back online after an hour).
    """
    session_ids: set[uuid.UUID] = set()
    if data is not None and data.refresh_token is not None:
        found = await accounts_service.session_of_refresh_token(
            session, data.refresh_token.get_secret_value()
        )
        if found is not None:
            session_ids.add(found)
    if token:
        try:
            claimed = token_issuer(request).verify(token)
        except InvalidToken:
            if not session_ids:
                raise
        else:
            assert claimed.session_id is not None
            session_ids.add(claimed.session_id)
    if not session_ids:
        raise NotAuthenticated(headers={"WWW-Authenticate": "Bearer"})
    for session_id in session_ids:
        await accounts_service.revoke_session(session, session_id, reason="logout")


async def _send_code(
    session: SessionDep,
    settings: Settings,
    account: Account,
    purpose: codes.Purpose,
    address: str,
) -> None:
    """A code to `address`, throttled per account and per address (429 `too-many-codes`)."""
    await accounts_service.charge(
        session, settings.code_throttles(str(account.id), address), refusal=TooManyCodes
    )
    await notification_codes.send_code(session, account, purpose, address, settings.code_policy)


async def _charge_unknown(session: SessionDep, settings: Settings, username: str) -> None:
    """An unknown username pays the same throttle as a known one, so a 429 tells nothing."""
    canonical = account_rules.canonical_identifier(username)
    await accounts_service.charge(
        session, settings.code_throttles(canonical, canonical), refusal=TooManyCodes
    )


CODE_SENT = Text(
    "If this account exists and needs it, a code is on its way to its email or phone; it works "
    "for a few minutes.",
    "Si esta cuenta existe y lo necesita, va en camino un código a su correo o teléfono; sirve "
    "por unos minutos.",
)
VERIFIED = Text(
    "Your contact is verified: you may book consults and vote.",
    "Su contacto quedó verificado: ya puede reservar consultas y votar.",
)
PASSWORD_CHANGED = Text(
    "Your password changed, and every sign-in of your account ended: sign in with the new one.",
    "Su contraseña cambió y se cerraron todas las sesiones de su cuenta: inicie sesión con la "
    "nueva.",
)
CODE_PROBLEMS = (WrongCode, CodeExpired, CodeUsed)


@router.post(
    "/verify",
    summary="Verify your contact with its code",
    responses=problem_responses(400, 413, 422, problems=CODE_PROBLEMS),
)
async def verify(
    request: Request, session: SessionDep, data: Annotated[VerifyRequest, Body()]
) -> VerifyAccepted:
    """Type the six-digit code sent at sign-up (or resent, `POST /v1/auth/verify/resend`).
    A code works for 10 minutes (`TEQUIO_CODE_MINUTES`), once, and dies after 5 wrong tries
    (`TEQUIO_CODE_MAX_ATTEMPTS`). A wrong code is `wrong-code`, always, and so is any code for
    an account that does not exist; the right code once expired or dead is `code-expired`, and
    a second time `code-used`."""
    account = await accounts_service.find_by_identifier(session, data.username)
    spent = await codes.spend(
        session, account, codes.Purpose.VERIFY, data.code, _settings(request).code_policy
    )
    assert account is not None
    codes.mark_verified(account, spent.address)
    await notification_codes.spent(session, account.id, codes.Purpose.VERIFY)
    await session.flush()
    return VerifyAccepted(detail=VERIFIED.render(language_of(request)))


@router.post(
    "/verify/resend",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send the verification code again",
    responses=problem_responses(400, 413, 422, 429),
)
async def resend(
    request: Request, session: SessionDep, data: Annotated[CodeRequest, Body()]
) -> CodeSent:
    """A new code to an unverified account's contact (the previous one stops working). The
    answer is the same `202` for any username, registered or not, verified or not. A few codes
    per account and per contact, then `429` with `Retry-After`."""
    settings = _settings(request)
    account = await accounts_service.find_by_identifier(session, data.username)
    if account is None or not account.is_active or account.is_verified:
        await _charge_unknown(session, settings, data.username)
    else:
        contact = account.email or account.phone
        assert contact is not None
        await _send_code(session, settings, account, codes.Purpose.VERIFY, contact)
    return CodeSent(detail=CODE_SENT.render(language_of(request)))


def _verified_contact(account: Account, username: str) -> str | None:
    """Where a recovery code goes: the contact signed in with, if verified; else the other
    verified one; None when no contact is verified (recovery would prove nothing)."""
    canonical = account_rules.canonical_identifier(username)
    verified = [
        c
        for c, at in (
            (account.email, account.email_verified_at),
            (account.phone, account.phone_verified_at),
        )
        if c and at is not None
    ]
    return canonical if canonical in verified else next(iter(verified), None)


@router.post(
    "/recover",
    status_code=status.HTTP_202_ACCEPTED,
    summary="I forgot my password: send a code",
    responses=problem_responses(400, 413, 422, 429),
)
async def recover(
    request: Request, session: SessionDep, data: Annotated[CodeRequest, Body()]
) -> CodeSent:
    """A code to the account's verified phone or email, to choose a new password with
    `POST /v1/auth/recover/confirm`. The answer is the same `202` whether or not the account
    exists. A few codes per account and per contact, then `429` with `Retry-After`."""
    settings = _settings(request)
    account = await accounts_service.find_by_identifier(session, data.username)
    address = _verified_contact(account, data.username) if account and account.is_active else None
    if account is None or address is None:
        await _charge_unknown(session, settings, data.username)
    else:
        await _send_code(session, settings, account, codes.Purpose.RECOVER, address)
    return CodeSent(detail=CODE_SENT.render(language_of(request)))


@router.post(
    "/recover/confirm",
    summary="Choose a new password with the recovery code",
    responses=problem_responses(400, 413, 422, problems=(*CODE_PROBLEMS, WeakPassword)),
)
async def recover_confirm(
    request: Request, session: SessionDep, data: Annotated[RecoverConfirm, Body()]
) -> VerifyAccepted:
    """The new password (the same rules as at sign-up) replaces the old one and every sign-in
    of the account ends, on every device: its refresh tokens and access tokens stop working.
    A weak password is refused (`weak-password`) before the code is spent."""
    settings = _settings(request)
    account = await accounts_service.find_by_identifier(session, data.username)
    password = data.new_password.get_secret_value()
    # checked alike for any username, so a weak password's answer tells nothing either
    contacts = (
        tuple(c for c in (account.email, account.phone) if c)
        if account is not None
        else (account_rules.canonical_identifier(data.username),)
    )
    problem = account_rules.password_problem(
        password, min_length=settings.password_min_length, identifiers=contacts
    )
    if problem:
        raise WeakPassword(
            reason_en=problem.en, reason_es=problem.es, extensions={"reason": problem.code}
        )
    await codes.spend(session, account, codes.Purpose.RECOVER, data.code, settings.code_policy)
    assert account is not None
    await accounts_service.set_password(
        session,
        account,
        password,
        hasher=_hasher(request),
        min_password_length=settings.password_min_length,
    )
    await accounts_service.end_sessions(session, account.id, reason="recovery")
    await notification_codes.spent(session, account.id, codes.Purpose.RECOVER)
    return VerifyAccepted(detail=PASSWORD_CHANGED.render(language_of(request)))
