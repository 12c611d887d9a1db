"""One error hierarchy for every domain; the HTTP shell renders it as RFC 9457 problem details.

Each subclass names a stable problem `slug` (its `type` URI is `PROBLEM_BASE + slug`), an HTTP
status, and a title and detail in English and Spanish. Details are format strings filled from the
keyword arguments the error is raised with.
"""

import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, ClassVar, Literal

from babel import Locale
from babel.dates import format_date, format_datetime, get_timezone_location

from cooperative.kernel import moments

Language = Literal["en", "es"]
LANGUAGES: tuple[Language, ...] = ("en", "es")

PROBLEM_BASE = "https://tequio.coop/problems/"


@dataclass(frozen=True, slots=True)
class Text:
    """A message in every language Tequio answers in.

    Its templates are filled for the reader (`Wording`): a count takes its plural form from a
    spec such as `{seconds:# segundo|# segundos}` (CLDR's `one` form, then the others; `#` is the
    number), an instant reads as a date and time in the reader's zone, a date as a date, and a
    `Text` in its own language. `words` gives a parameter's vocabulary (an enum's values, in
    the gender the sentence needs)."""

    en: str
    es: str

    def render(
        self,
        language: Language,
        params: dict[str, Any] | None = None,
        words: Mapping[str, Mapping[str, "Text"]] | None = None,
    ) -> str:
        template = self.es if language == "es" else self.en
        if not params:
            return template
        return Wording(language, words or {}).format(template, **params)


def using(**vocabularies: Mapping[str, Text]) -> Mapping[str, Mapping[str, Text]]:
    """An error's `words`: the vocabulary of each parameter that holds an enum's value."""
    return vocabularies


def moment_phrase(value: datetime, language: Language) -> str:
    """An instant as a sentence says it, in the reader's zone: "2 de diciembre de 2026 a las
    10:00 (hora de Ciudad de México)", "December 2, 2026 at 10:00 AM (Mexico City time)"."""
    zone = moments.reader_zone()
    local = moments.shown(value)
    city = get_timezone_location(zone, locale=language, return_city=True)
    if language == "es":
        when = format_datetime(local, "d 'de' MMMM 'de' y 'a las' HH:mm", locale="es")
        return f"{when} (hora de {city})"
    when = format_datetime(local, "MMMM d, y 'at' h:mm a", locale="en")
    return f"{when} ({city} time)"


class Wording(string.Formatter):
    """Fills a template for a reader: plural forms, dates, times and vocabularies."""

    def __init__(self, language: Language, words: Mapping[str, Mapping[str, Text]]) -> None:
        self.language = language
        self.words = words

    def get_value(self, key: int | str, args: Any, kwargs: Any) -> Any:
        value = super().get_value(key, args, kwargs)
        vocabulary = self.words.get(str(key))
        if vocabulary is not None and str(value) in vocabulary:
            return vocabulary[str(value)]
        return value

    def format_field(self, value: Any, format_spec: str) -> str:
        if "|" in format_spec and isinstance(value, int) and not isinstance(value, bool):
            one, _, other = format_spec.partition("|")
            form = Locale.parse(self.language).plural_form(value)
            return (one if form == "one" else other).replace("#", str(value))
        if isinstance(value, Text):
            return value.render(self.language)
        if isinstance(value, datetime):
            return moment_phrase(value, self.language)
        if isinstance(value, date):
            return format_date(value, format="long", locale=self.language)
        return str(super().format_field(value, format_spec))


class TequioError(Exception):
    """Base of every error a service raises on purpose; never raise HTTPException in a domain."""

    status: ClassVar[int] = 400
    slug: ClassVar[str] = "bad-request"
    title: ClassVar[Text] = Text("Bad request", "Solicitud incorrecta")
    detail: ClassVar[Text] = Text("The request cannot be processed.", "No se puede procesar.")
    # An error that records something on purpose (a failed login, a revoked token family) keeps
    # the request's changes: the session commits instead of rolling back.
    persist_changes: ClassVar[bool] = False
    # the vocabulary of a parameter that holds an enum's value (see `Text`)
    words: ClassVar[Mapping[str, Mapping[str, Text]]] = {}

    def __init__(
        self,
        *,
        headers: dict[str, str] | None = None,
        extensions: dict[str, Any] | None = None,
        **params: Any,
    ) -> None:
        super().__init__(self.detail.render("en", params, self.words))
        self.params = params
        self.headers = headers or {}
        self.extensions = extensions or {}

    def detail_in(self, language: Language) -> str:
        return self.detail.render(language, self.params, self.words)

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
