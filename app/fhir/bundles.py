"""FHIR answers: a resource or a searchset Bundle as `application/fhir+json`, and a problem as
an OperationOutcome for FHIR clients (with the same English or Spanish text)."""

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from app.errors import language_of
from cooperative.kernel import clock
from cooperative.kernel.errors import TequioError

from .resources import Json, instant

FHIR_JSON = "application/fhir+json"
FHIR_NDJSON = "application/fhir+ndjson"
PREFIX = "/fhir/R4"


class FhirResponse(JSONResponse):
    media_type = FHIR_JSON


def base_url(request: Request) -> str:
    return f"{request.app.state.settings.public_url}{PREFIX}"


def resource_response(resource: Json) -> Response:
    return FhirResponse(resource)


def searchset(
    request: Request,
    resource_type: str,
    resources: Sequence[Json],
    *,
    next_cursor: str | None,
    first_page: bool,
) -> Response:
    """A page of a search: `total` when the whole answer is this one page, links to this page
    and to the next (its `_cursor` is the REST API's opaque keyset cursor)."""
    base = base_url(request)
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "_cursor"]
    cursor = request.query_params.get("_cursor")
    here = params + ([("_cursor", cursor)] if cursor else [])
    links = [{"relation": "self", "url": _url(base, resource_type, here)}]
    if next_cursor is not None:
        following = [*params, ("_cursor", next_cursor)]
        links.append({"relation": "next", "url": _url(base, resource_type, following)})
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "timestamp": instant(clock.now()),
        "link": links,
        "entry": [
            {
                "fullUrl": f"{base}/{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in resources
        ],
    }
    if first_page and next_cursor is None:
        bundle["total"] = len(resources)
    return FhirResponse(bundle)


def _url(base: str, resource_type: str, params: list[tuple[str, str]]) -> str:
    query = urlencode(params)
    return f"{base}/{resource_type}" + (f"?{query}" if query else "")


ISSUE_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    409: "conflict",
    413: "too-costly",
    415: "not-supported",
    422: "invalid",
    429: "throttled",
}


def wants_fhir(request: Request) -> bool:
    """A FHIR client: it asks for FHIR JSON (`Accept: application/fhir+json` or
    `_format=json`) from a FHIR address."""
    if not request.url.path.startswith(PREFIX):
        return False
    accept = request.headers.get("accept", "")
    return "fhir" in accept or request.query_params.get("_format") in {"json", FHIR_JSON}


def operation_outcome(
    request: Request, error: TequioError, problem: dict[str, Any]
) -> JSONResponse:
    """The problem as an OperationOutcome: `details.text` the title, `diagnostics` the detail,
    both in the caller's language (with each invalid field's message), and the problem's slug
    as its coding."""
    language = language_of(request)
    status = int(problem["status"])
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error" if status < 500 else "fatal",
                "code": ISSUE_CODES.get(status, "exception"),
                "details": {
                    "coding": [{"system": "https://tequio.coop/problems", "code": error.slug}],
                    "text": problem["title"],
                },
                "diagnostics": " ".join(
                    [problem["detail"]]
                    + [f"{e['field']}: {e['message']}." for e in problem.get("errors") or []]
                ),
            }
        ],
    }
    headers = {"Content-Language": language, **error.headers}
    return FhirResponse(outcome, status_code=status, headers=headers)
