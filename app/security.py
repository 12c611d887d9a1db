"""Access tokens: JWTs signed and verified with one explicitly named algorithm."""

import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from jose import jwt

from app.settings import Settings
from cooperative.kernel import clock
from cooperative.kernel.errors import TequioError, Text
from cooperative.kernel.principal import Principal


class NotAuthenticated(TequioError):
    status = 401
    slug = "not-authenticated"
    title = Text("Sign-in required", "Se requiere iniciar sesión")
    detail = Text(
        "Send an access token: `Authorization: Bearer <token>`.",
        "Envíe un token de acceso: `Authorization: Bearer <token>`.",
    )


class InvalidToken(TequioError):
    status = 401
    slug = "invalid-token"
    title = Text("Invalid access token", "Token de acceso no válido")
    detail = Text(
        "The access token is expired, malformed or not ours. Refresh it or sign in again.",
        "El token de acceso venció, está mal formado o no es nuestro. Renuévelo o inicie sesión.",
    )


class InsufficientScope(TequioError):
    status = 403
    slug = "insufficient-scope"
    title = Text("Not allowed", "No permitido")
    detail = Text(
        "This needs the scope(s): {scopes}.",
        "Esto requiere el/los permiso(s): {scopes}.",
    )


LEEWAY_SECONDS = 30

# The claims every token must carry. python-jose would check `exp` and `iat` against the host's
# clock (and `require_exp` would turn that check back on); Tequio requires and checks them
# against its one clock (`_check_times`), so a test run can be moved in time.
_REQUIRED_CLAIMS = {
    "require_sub": True,
    "require_jti": True,
    "require_aud": True,
    "require_iss": True,
    "verify_exp": False,
    "verify_iat": False,
    "verify_nbf": False,
}


class _Expired(Exception):
    pass


def _check_times(claims: dict[str, Any]) -> dict[str, Any]:
    """Expired, or issued in the future, by Tequio's clock (with a small leeway for skew)."""
    moment = clock.now().timestamp()
    expires, issued = claims.get("exp"), claims.get("iat")
    if not isinstance(expires, int | float) or not isinstance(issued, int | float):
        raise _Expired()
    if expires + LEEWAY_SECONDS < moment or issued - LEEWAY_SECONDS > moment:
        raise _Expired()
    return claims


@dataclass(frozen=True, slots=True)
class Bearer:
    """Who a valid token's requests are counted against (`app.ratelimits`): its account, and
    the app it was issued to when it names one (`client_id`, RFC 9068), with whether that app
    and whether its account was verified when the token was issued (`unverified`: true
    when not; absent: verified)."""

    account_id: uuid.UUID
    client_id: str | None = None
    verified: bool = True


@dataclass(frozen=True, slots=True)
class _Verified:
    """What a token's signature and claims were found to say, and when it is valid."""

    principal: Principal
    times: dict[str, Any]
    bearer: Bearer


VERIFIED_TOKENS = 10_000  # about 4 MB: the tokens of the people signed in to one worker


class TokenIssuer:
    """Mints and checks access tokens; `algorithms` is always the single configured one.

    A token whose signature and claims were checked once is remembered by its exact text (up to
    VERIFIED_TOKENS of them, the least recently used forgotten first), so a client's next
    requests with it skip the decoding and the HMAC or RSA check; its times are checked on every
    use. What the token names is checked on every request all the same: its sign-in session
    still open and its account still active (`accounts.service.signed_in`).
    """

    def __init__(self, settings: Settings) -> None:
        self.algorithm = settings.jwt_algorithm
        self.signing_key = settings.signing_key
        self.verifying_key = settings.verifying_key
        self.issuer = settings.jwt_issuer
        self.audience = settings.jwt_audience
        self.lifetime = timedelta(minutes=settings.access_token_minutes)
        self._verified: OrderedDict[str, _Verified] = OrderedDict()

    def issue(
        self,
        *,
        account_id: uuid.UUID,
        session_id: uuid.UUID,
        roles: frozenset[str],
        scopes: frozenset[str],
        now: datetime | None = None,
        jti: str | None = None,
        client_id: uuid.UUID | None = None,
        verified: bool = True,
    ) -> str:
        issued = now or clock.now()
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": str(account_id),
            "sid": str(session_id),
            "iat": int(issued.timestamp()),
            "exp": int((issued + self.lifetime).timestamp()),
            "jti": jti or uuid.uuid4().hex,
            "roles": sorted(roles),
            "scope": " ".join(sorted(scopes)),
        }
        if client_id is not None:
            claims["client_id"] = str(client_id)  # RFC 9068 §2.2
        if not verified:
            claims["unverified"] = True  # counted under a tighter rate limit (`app.ratelimits`)
        token: str = jwt.encode(claims, self.signing_key, algorithm=self.algorithm)
        return token

    def verify(self, token: str) -> Principal:
        """The principal a valid token names; InvalidToken for anything else, whatever the cause."""
        return self._checked(token).principal

    def bearer(self, token: str) -> Bearer:
        """Who a valid token's requests count against: checked as `verify` checks it (from the
        same cache), never in the database; InvalidToken for anything else."""
        return self._checked(token).bearer

    def _checked(self, token: str) -> _Verified:
        try:
            verified = self._verified.get(token)
            if verified is None:
                verified = self._decode(token)
                self._verified[token] = verified
                if len(self._verified) > VERIFIED_TOKENS:
                    self._verified.popitem(last=False)
            else:
                self._verified.move_to_end(token)
            _check_times(verified.times)
            return verified
        except Exception as exc:  # python-jose raises several types; all mean "not valid"
            raise InvalidToken(
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
            ) from exc

    def _decode(self, token: str) -> _Verified:
        claims = jwt.decode(
            token,
            self.verifying_key,
            algorithms=[self.algorithm],
            audience=self.audience,
            issuer=self.issuer,
            options=_REQUIRED_CLAIMS,
        )
        principal = Principal(
            account_id=uuid.UUID(claims["sub"]),
            session_id=uuid.UUID(claims["sid"]),
            roles=frozenset(str(r) for r in claims.get("roles", [])),
            scopes=frozenset(str(claims.get("scope", "")).split()),
            client_id=uuid.UUID(claims["client_id"]) if claims.get("client_id") else None,
        )
        times = {"exp": claims.get("exp"), "iat": claims.get("iat")}
        return _Verified(principal, times, _bearer(principal.account_id, claims))


def _bearer(account_id: uuid.UUID, claims: dict[str, Any]) -> Bearer:
    client = claims.get("client_id")
    return Bearer(
        account_id=account_id,
        client_id=str(client) if client else None,
        verified=claims.get("unverified") is not True,
    )


CONSULT_AUDIENCE = "tequio-consult"


@dataclass(frozen=True, slots=True)
class ConsultClaims:
    account_id: uuid.UUID
    appointment_id: uuid.UUID
    role: str


def issue_consult_token(
    issuer: TokenIssuer,
    *,
    account_id: uuid.UUID,
    appointment_id: uuid.UUID,
    role: str,
    minutes: int,
) -> str:
    """A short-lived token for one consult's signaling socket, useless anywhere else."""
    now = clock.now()
    claims: dict[str, Any] = {
        "iss": issuer.issuer,
        "aud": CONSULT_AUDIENCE,
        "sub": str(account_id),
        "apt": str(appointment_id),
        "role": role,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=minutes)).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    token: str = jwt.encode(claims, issuer.signing_key, algorithm=issuer.algorithm)
    return token


def verify_consult_token(issuer: TokenIssuer, token: str) -> ConsultClaims | None:
    try:
        claims = _check_times(
            jwt.decode(
                token,
                issuer.verifying_key,
                algorithms=[issuer.algorithm],
                audience=CONSULT_AUDIENCE,
                issuer=issuer.issuer,
                options=_REQUIRED_CLAIMS,
            )
        )
        return ConsultClaims(
            account_id=uuid.UUID(claims["sub"]),
            appointment_id=uuid.UUID(claims["apt"]),
            role=str(claims["role"]),
        )
    except Exception:  # any failure means "not a valid consult token"
        return None
