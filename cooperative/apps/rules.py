"""Pure rules of the app registry and the authorization-code flow: no I/O.

The protocol pieces come from Authlib (framework-independent parts only, since its
AuthorizationServer is synchronous and bound to a web framework): token generation
(`authlib.common.security.generate_token`), the PKCE S256 transform and the verifier's grammar
(`authlib.oauth2.rfc7636`), and query building for redirects (`authlib.common.urls`).
`private_key_jwt` (RFC 7523 §2.2) is checked with joserfc, the JOSE library by Authlib's
author that Authlib's own `authlib.jose` now defers to."""

import hashlib
import hmac
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from authlib.common.security import generate_token
from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oauth2.rfc7636.challenge import CODE_CHALLENGE_PATTERN, CODE_VERIFIER_PATTERN
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

SECRET_PREFIX = "tqs_"  # noqa: S105  (a prefix, so a leaked secret is recognisable)
LOOPBACK = {"127.0.0.1", "localhost", "[::1]", "::1"}


def new_secret() -> str:
    return SECRET_PREFIX + str(generate_token(43))


def hash_secret(secret: str, key: bytes) -> str:
    """A client secret as stored: HMAC-SHA256 with the server's key (secrets are random and
    long, so a slow hash adds nothing but latency at the token endpoint)."""
    return hmac.new(key, b"client-secret:" + secret.encode(), hashlib.sha256).hexdigest()


def secret_matches(secret: str, stored: str | None, key: bytes) -> bool:
    return stored is not None and hmac.compare_digest(hash_secret(secret, key), stored)


def new_code() -> str:
    return str(generate_token(43))


def hash_code(code: str) -> str:
    return hashlib.sha256(b"oauth-code:" + code.encode()).hexdigest()


def valid_challenge(challenge: str) -> bool:
    return bool(CODE_CHALLENGE_PATTERN.match(challenge))


def verifier_matches(verifier: str, challenge: str) -> bool:
    """PKCE S256 (RFC 7636 §4.6): BASE64URL(SHA256(verifier)) equals the stored challenge."""
    if not CODE_VERIFIER_PATTERN.match(verifier):
        return False
    return hmac.compare_digest(str(create_s256_code_challenge(verifier)), challenge)


def redirect_uri_problem(uri: str) -> str | None:
    """Why a redirect URI cannot be registered (None: it can). HTTPS; plain HTTP only to the
    loopback (a desktop or development app); or an app's private scheme (`org.example.app:/cb`,
    RFC 8252 §7.1). Never a fragment; compared exactly when used."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return "not a URI"
    if parts.fragment or "#" in uri:
        return "has a fragment"
    if parts.scheme == "https" and parts.hostname:
        return None
    if parts.scheme == "http" and parts.hostname in LOOPBACK:
        return None
    if parts.scheme not in ("http", "https", "") and "." in parts.scheme:
        return None
    return "not https, loopback http or a private app scheme"


def redirect_origin(uri: str) -> str:
    """What a Content-Security-Policy `form-action` source names for this redirect URI."""
    parts = urlsplit(uri)
    if parts.scheme in ("http", "https"):
        return f"{parts.scheme}://{parts.netloc}"
    return f"{parts.scheme}:"


def with_params(uri: str, params: dict[str, str | None]) -> str:
    """The redirect URI with these query parameters added (the ones given a value)."""
    return str(add_params_to_uri(uri, [(k, v) for k, v in params.items() if v is not None]))


def split_scopes(scope: str | None) -> list[str]:
    return sorted(set((scope or "").split()))


ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA")
ASSERTION_MAX_SECONDS = 300


def jwks_problem(jwks: dict[str, Any]) -> str | None:
    """Why this JWK Set cannot be an app's public keys (None: it can): unreadable, empty, or
    holding a private key (which must never leave the app)."""
    try:
        keys = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError, KeyError):
        return "not a JWK Set"
    if not keys.keys:
        return "no keys"
    if any(key.is_private for key in keys.keys):
        return "holds a private key"
    return None


def assertion_jti(
    assertion: str,
    jwks: dict[str, Any],
    *,
    client_id: str,
    audiences: Sequence[str],
    now: Callable[[], int],
) -> str | None:
    """The `jti` of a valid client assertion (signed by one of the app's keys, `iss` and `sub`
    the client, `aud` the token endpoint, unexpired and short-lived); None if not valid."""
    try:
        token = jwt.decode(assertion, KeySet.import_key_set(jwks), algorithms=ASSERTION_ALGORITHMS)  # type: ignore[arg-type]
        jwt.JWTClaimsRegistry(
            now=now,
            leeway=30,
            iss={"essential": True, "value": client_id},
            sub={"essential": True, "value": client_id},
            aud={"essential": True, "values": list(audiences)},
            exp={"essential": True},
            jti={"essential": True},
        ).validate(token.claims)
    except (JoseError, ValueError, TypeError, KeyError):
        return None
    expires, jti = token.claims.get("exp"), token.claims.get("jti")
    if not isinstance(expires, int) or expires - now() > ASSERTION_MAX_SECONDS:
        return None
    return str(jti) if isinstance(jti, str) and 0 < len(jti) <= 200 else None


def hash_jti(client_id: str, jti: str) -> str:
    return hashlib.sha256(f"assertion:{client_id}:{jti}".encode()).hexdigest()
