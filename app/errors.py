"""Every error leaves as RFC 9457 `application/problem+json`, in English or Spanish."""

import logging
import re
from collections.abc import Iterable
from functools import cache
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.i18n import negotiate, validation_message
from app.outage import RETRY_AFTER_SECONDS, OutageLog, database_unreachable
from cooperative.kernel.context import request_id_var
from cooperative.kernel.errors import Language, NotFound, TequioError, Text

log = logging.getLogger("tequio.errors")

PROBLEM_JSON = "application/problem+json"


class FieldProblem(BaseModel):
    field: str = Field(description="Where the problem is, e.g. `body.phone` or `query.cursor`.")
    message: str
    code: str = Field(description="A stable machine-readable code (pydantic's error type).")


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str = Field(
        description="A stable URI naming the problem: `https://tequio.coop/problems/<slug>`; "
        "each response's examples show the types of its status."
    )
    title: str
    status: int
    detail: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldProblem] | None = None


class ValidationFailed(TequioError):
    status = 422
    slug = "validation-error"
    title = Text("Invalid request", "Solicitud no válida")
    detail = Text(
        "Some fields are missing or not valid; see `errors`.",
        "Faltan campos o no son válidos; vea `errors`.",
    )


class MalformedBody(TequioError):
    status = 400
    slug = "malformed-body"
    title = Text("Malformed body", "Cuerpo mal formado")
    detail = Text(
        "The request body could not be read as {expected}.",
        "No se pudo leer el cuerpo de la solicitud como {expected}.",
    )


class InvalidParameter(TequioError):
    status = 422
    slug = "invalid-parameter"
    title = Text("Invalid parameter", "Parámetro no válido")
    detail = Text("`{name}` is not valid: {reason}", "`{name}` no es válido: {reason}")


class MalformedRequest(TequioError):
    status = 400
    slug = "malformed-request"
    title = Text("Malformed request", "Solicitud mal formada")
    detail = Text(
        "The address contains characters that are not allowed.",
        "La dirección contiene caracteres no permitidos.",
    )


class UnsupportedMediaType(TequioError):
    status = 415
    slug = "unsupported-media-type"
    title = Text("Unsupported media type", "Tipo de contenido no admitido")
    detail = Text("Send {expected}.", "Envíe {expected}.")


class MethodNotAllowed(TequioError):
    status = 405
    slug = "method-not-allowed"
    title = Text("Method not allowed", "Método no permitido")
    detail = Text("This resource does not accept {method}.", "Este recurso no acepta {method}.")


class PayloadTooLarge(TequioError):
    status = 413
    slug = "payload-too-large"
    title = Text("Request too large", "Solicitud demasiado grande")
    detail = Text(
        "The body may be at most {limit:# byte|# bytes}.",
        "El cuerpo puede tener como máximo {limit:# byte|# bytes}.",
    )


class NotReady(TequioError):
    status = 503
    slug = "not-ready"
    title = Text("Not ready", "No está listo")
    detail = Text(
        "The service cannot reach its database right now.",
        "El servicio no puede comunicarse con su base de datos en este momento.",
    )


class DatabaseUnavailable(TequioError):
    """The database could not be reached (stopped, restarting, unreachable): nothing is wrong
    with the request, which may be sent again after `Retry-After` seconds."""

    status = 503
    slug = "database-unavailable"
    title = Text("Database unavailable", "Base de datos no disponible")
    detail = Text(
        "The service cannot reach its database for a moment. Try again in a few seconds; with "
        "the same Idempotency-Key a retry never does the same thing twice.",
        "El servicio no puede comunicarse con su base de datos por un momento. Intente de nuevo "
        "en unos segundos; con la misma Idempotency-Key, un reintento nunca hace lo mismo dos "
        "veces.",
    )

    def __init__(self) -> None:
        super().__init__(headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


class InternalError(TequioError):
    status = 500
    slug = "internal-error"
    title = Text("Internal error", "Error interno")
    detail = Text(
        "Something went wrong on our side; it has been logged. Quote the request id if you "
        "contact us.",
        "Algo falló de nuestro lado y quedó registrado. Cite el identificador de la solicitud si "
        "nos contacta.",
    )


class HTTPProblem(TequioError):
    """Any other HTTP error the framework raises, kept with its own status."""

    slug = "http-error"
    title = Text("Request failed", "La solicitud falló")
    detail = Text("{message}", "{message}")


def language_of(request: Request) -> Language:
    default: Language = request.app.state.settings.default_language
    return negotiate(request.headers.get("accept-language"), default)


def render(request: Request, error: TequioError, *, status: int | None = None) -> JSONResponse:
    language = language_of(request)
    body: dict[str, Any] = {
        "type": error.type_uri(),
        "title": error.title.render(language),
        "status": status or error.status,
        "detail": error.detail_in(language),
        "instance": request.url.path,
        "request_id": request_id_var.get(),
    }
    body.update(error.extensions)
    if request.url.path.startswith("/fhir/"):
        from app.fhir import bundles  # a FHIR client gets the problem as an OperationOutcome

        if bundles.wants_fhir(request):
            return bundles.operation_outcome(request, error, body)
    headers = {"Content-Language": language, **error.headers}
    return JSONResponse(body, status_code=body["status"], media_type=PROBLEM_JSON, headers=headers)


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc)


async def _on_tequio_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TequioError)
    return render(request, exc)


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(error.get("type") == "json_invalid" for error in errors):
        return render(request, MalformedBody(expected="JSON"))
    language = language_of(request)
    fields = [
        {
            "field": _field(error.get("loc", ())),
            "message": validation_message(dict(error), language),
            "code": str(error.get("type", "invalid")),
        }
        for error in errors
    ]
    return render(request, ValidationFailed(extensions={"errors": fields}))


async def _on_http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 404:
        return render(request, NotFound(headers=headers))
    if exc.status_code == 400:  # the framework could not parse the body
        form = "form" in request.headers.get("content-type", "")
        return render(request, MalformedBody(expected="form data" if form else "JSON"))
    if exc.status_code == 413:
        detail = str(exc.detail)
        limit = int(detail) if detail.isdigit() else request.app.state.settings.max_body_bytes
        return render(request, PayloadTooLarge(limit=limit))
    if exc.status_code == 405:
        return render(request, MethodNotAllowed(method=request.method, headers=headers))
    return render(
        request, HTTPProblem(message=str(exc.detail), headers=headers), status=exc.status_code
    )


async def render_unexpected(request: Request, exc: Exception) -> JSONResponse:
    """An exception no handler took. The database gone: 503 `database-unavailable`, and no
    traceback (the worker's outage log notes it, at most every few seconds). Anything else is a
    bug: logged with its traceback, 500 `internal-error`."""
    if database_unreachable(exc):
        outage: OutageLog = request.app.state.outage
        outage.failed(exc)
        return render(request, DatabaseUnavailable())
    log.exception("unhandled error", exc_info=exc)
    return render(request, InternalError())


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's last resort, for an exception raised outside the routes and the middleware
    that answers them (`UnexpectedErrorMiddleware`)."""
    return await render_unexpected(request, exc)


async def render_problem(request: Request, error: TequioError) -> JSONResponse:
    return render(request, error)


def install(app: FastAPI) -> None:
    app.add_exception_handler(TequioError, _on_tequio_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    app.add_exception_handler(Exception, _on_unexpected)


class _Unfilled(dict[str, str]):
    """Leaves a detail's placeholders (`{days}`) as they are in an example."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


_PLACEHOLDER = re.compile(r"\{(\w+):[^{}]*\}")  # `{n:# byte|# bytes}` shown as `{n}`


def _example(problem: type[TequioError], **extra: Any) -> dict[str, Any]:
    """An example of the problem document `problem` is answered with (in English)."""
    return {
        "summary": problem.title.en,
        "value": {
            "type": problem.type_uri(),
            "title": problem.title.en,
            "status": problem.status,
            "detail": _PLACEHOLDER.sub(r"{\1}", problem.detail.en).format_map(_Unfilled()),
            "request_id": "01JE6Q0V8J5W3M2XKQ7R9T4B6C",
            **extra,
        },
    }


@cache
def _default_examples() -> dict[int, list[dict[str, Any]]]:
    """What each status is usually answered with, to show under operations that name none."""
    from app.ratelimits import TooManyRequests
    from app.security import InsufficientScope, InvalidToken, NotAuthenticated
    from cooperative.kernel.errors import Conflict, Forbidden
    from cooperative.kernel.pagination import InvalidCursor

    field_problem = {"field": "body.start", "message": "Field required", "code": "missing"}
    return {
        400: [_example(MalformedBody), _example(InvalidCursor)],
        401: [_example(NotAuthenticated), _example(InvalidToken)],
        403: [_example(InsufficientScope), _example(Forbidden)],
        404: [_example(NotFound)],
        409: [_example(Conflict)],
        413: [_example(PayloadTooLarge)],
        415: [_example(UnsupportedMediaType)],
        422: [_example(ValidationFailed, errors=[field_problem])],
        429: [_example(TooManyRequests)],
        503: [_example(DatabaseUnavailable)],
    }


def examples_for(status: int, named: Iterable[dict[str, Any]] = ()) -> dict[str, Any]:
    """The examples a status's problem documents show, by slug: those an operation names,
    then the usual ones of that status."""
    examples = [*named, *_default_examples().get(status, [])]
    return {example["value"]["type"].rsplit("/", 1)[-1]: example for example in examples}


def problem_responses(
    *statuses: int, problems: Iterable[type[TequioError]] = ()
) -> dict[int | str, dict[str, Any]]:
    """The `responses=` entries documenting the problems an endpoint can return; `problems`
    named there are listed by type under their status, and each status shows examples of its
    own problem types (those named, else the usual ones)."""
    types: dict[int, list[str]] = {}
    named: dict[int, list[dict[str, Any]]] = {}
    for problem in problems:
        assert problem.status in statuses, f"{problem.slug}: {problem.status} is not documented"
        types.setdefault(problem.status, []).append(f"`{problem.slug}`")
        named.setdefault(problem.status, []).append(_example(problem))
    descriptions = {
        400: "Malformed request body.",
        401: "Missing, invalid or expired credentials.",
        403: "The token lacks a scope or the role this needs.",
        404: "Not found, or not yours to see.",
        409: "Conflicts with the current state.",
        413: "Request body too large.",
        415: "Unsupported content type.",
        422: "Validation failed; `errors` lists the fields.",
        429: "Too many requests or attempts; wait `Retry-After` seconds.",
        503: "Unavailable for now; `detail` says why (the database does not answer, or the "
        "server's ballot secret is not the one the vote opened with).",
    }
    responses: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        content: dict[str, Any] = {"schema": {"$ref": "#/components/schemas/Problem"}}
        content["examples"] = examples_for(status, named.get(status, []))
        responses[status] = {
            "model": Problem,
            "description": descriptions.get(status, "Problem.")
            + (f" Problem types: {', '.join(types[status])}." if status in types else ""),
            "content": {PROBLEM_JSON: content},
        }
    return responses
