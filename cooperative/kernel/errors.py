"""One error hierarchy for every domain; the HTTP shell renders it as RFC 9457 problem details.

Each subclass names a stable problem `slug` (its `type` URI is `PROBLEM_BASE + slug`), an HTTP
status, and a title and detail in English and Spanish. Details are format strings filled from the
keyword arguments the error is raised with.
"""

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

Language = Literal["en", "es"]
LANGUAGES: tuple[Language, ...] = ("en", "es")

PROBLEM_BASE = "https://tequio.coop/problems/"


@dataclass(frozen=True, slots=True)
class Text:
    """A message in every language Tequio answers in."""

    en: str
    es: str

    def render(self, language: Language, params: dict[str, Any] | None = None) -> str:
        template = self.es if language == "es" else self.en
        return template.format(**params) if params else template


class TequioError(Exception):
    """Base of every error a service raises on purpose; never raise HTTPException in a domain."""

    status: ClassVar[int] = 400
    slug: ClassVar[str] = "bad-request"
    title: ClassVar[Text] = Text("Bad request", "Solicitud incorrecta")
    detail: ClassVar[Text] = Text("The request cannot be processed.", "No se puede procesar.")
    # An error that records something on purpose (a failed login, a revoked token family) keeps
    # the request's changes: the session commits instead of rolling back.
    persist_changes: ClassVar[bool] = False

    def __init__(
        self,
        *,
        headers: dict[str, str] | None = None,
        extensions: dict[str, Any] | None = None,
        **params: Any,
    ) -> None:
        super().__init__(self.detail.en.format(**params) if params else self.detail.en)
        self.params = params
        self.headers = headers or {}
        self.extensions = extensions or {}

    @classmethod
    def type_uri(cls) -> str:
        return PROBLEM_BASE + cls.slug


class NotFound(TequioError):
    """Also what a caller gets for an object they may not see, so nothing leaks by existence."""

    status = 404
    slug = "not-found"
    title = Text("Not found", "No encontrado")
    detail = Text("Nothing exists here that you may see.", "Aquí no hay nada que pueda ver.")


class Forbidden(TequioError):
    status = 403
    slug = "forbidden"
    title = Text("Forbidden", "Prohibido")
    detail = Text(
        "Your account may not do this ({reason}).",
        "Su cuenta no puede hacer esto ({reason}).",
    )


class Conflict(TequioError):
    status = 409
    slug = "conflict"
    title = Text("Conflict", "Conflicto")
    detail = Text(
        "The request conflicts with the current state.",
        "La solicitud está en conflicto con el estado actual.",
    )


class IdempotencyKeyReused(TequioError):
    status = 422
    slug = "idempotency-key-reused"
    title = Text("Idempotency key reused", "Clave de idempotencia reutilizada")
    detail = Text(
        "This Idempotency-Key was already used for a different request; use a new key.",
        "Esta Idempotency-Key ya se usó para otra solicitud; use una clave nueva.",
    )
