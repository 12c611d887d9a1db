"""The apps domain's errors. The OAuth2 ones are problem details that also carry RFC 6749's
`error` member (`invalid_grant`, …), so an OAuth2 client library and a Tequio client both read
them."""

from typing import Any, ClassVar

from cooperative.kernel.errors import Conflict, TequioError, Text


class OAuthError(TequioError):
    """An RFC 6749 §5.2 error: `error` (and `error_description`) beside the problem's members."""

    error: ClassVar[str] = "invalid_request"

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.extensions = {
            "error": self.error,
            "error_description": self.detail_in("en"),
            **self.extensions,
        }


class InvalidRequest(OAuthError):
    slug = "oauth-invalid-request"
    error = "invalid_request"
    title = Text("Invalid OAuth2 request", "Solicitud OAuth2 no válida")
    detail = Text("{problem}", "{problem}")


class InvalidClient(OAuthError):
    status = 401
    slug = "oauth-invalid-client"
    error = "invalid_client"
    title = Text("Unknown app or wrong credentials", "App desconocida o credenciales incorrectas")
    detail = Text(
        "The app is unknown, not approved, switched off, or its credentials are wrong.",
        "La app es desconocida, no está aprobada, está desactivada o sus credenciales son "
        "incorrectas.",
    )

    def __init__(self) -> None:
        super().__init__(headers={"WWW-Authenticate": 'Basic realm="tequio"'})


class InvalidGrant(OAuthError):
    slug = "oauth-invalid-grant"
    error = "invalid_grant"
    title = Text("Invalid grant", "Autorización no válida")
    detail = Text(
        "The code is unknown, expired, already used, issued to another app or redirect URI, or "
        "the code_verifier does not match its challenge.",
        "El código es desconocido, venció, ya se usó, se emitió para otra app o URI de "
        "redirección, o el code_verifier no corresponde a su desafío.",
    )


class CodeReplayed(InvalidGrant):
    """A spent code came back: whatever was issued from it is revoked, and that is kept."""

    slug = "oauth-code-replayed"
    detail = Text(
        "This code was already used. For safety, the tokens issued from it were revoked.",
        "Este código ya se usó. Por seguridad se revocaron los tokens emitidos con él.",
    )
    persist_changes: ClassVar[bool] = True


class UnauthorizedClient(OAuthError):
    slug = "oauth-unauthorized-client"
    error = "unauthorized_client"
    title = Text("Grant not allowed for this app", "Este tipo de acceso no se permite a esta app")
    detail = Text(
        "This app may not use this grant type. Third-party apps sign members in through "
        "/oauth/authorize (authorization code with PKCE), never with their password.",
        "Esta app no puede usar este tipo de acceso. Las apps de terceros inician la sesión de "
        "los miembros en /oauth/authorize (código de autorización con PKCE), nunca con su "
        "contraseña.",
    )


class UnsupportedGrantType(OAuthError):
    slug = "oauth-unsupported-grant-type"
    error = "unsupported_grant_type"
    title = Text("Unsupported grant type", "Tipo de acceso no admitido")
    detail = Text(
        "grant_type must be password, refresh_token, authorization_code or client_credentials.",
        "grant_type debe ser password, refresh_token, authorization_code o client_credentials.",
    )


class InvalidScope(OAuthError):
    slug = "oauth-invalid-scope"
    error = "invalid_scope"
    title = Text("Scope not allowed", "Permiso no permitido")
    detail = Text(
        "This app may not ask for these scopes: {scopes}.",
        "Esta app no puede pedir estos permisos: {scopes}.",
    )


class NoSecret(Conflict):
    slug = "app-without-secret"
    title = Text("This app has no secret", "Esta app no tiene secreto")
    detail = Text(
        "A public app (a phone or browser app) keeps no secret: it proves itself with PKCE.",
        "Una app pública (de teléfono o navegador) no guarda secreto: se identifica con PKCE.",
    )
