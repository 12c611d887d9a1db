"""The query parameters FHIR searches share, and the answers' OpenAPI description."""

from typing import Annotated, Any

from fastapi import Query

from app.errors import problem_responses

from .bundles import FHIR_JSON

CountParam = Annotated[int, Query(alias="_count", ge=1, le=200, description="Entries per page.")]
CursorParam = Annotated[
    str | None,
    Query(alias="_cursor", max_length=500, description="From the previous page's `next` link."),
]


def fhir_responses(*statuses: int, what: str = "A FHIR R4 resource.") -> dict[int | str, Any]:
    """A FHIR answer (`application/fhir+json`) and the problems: `application/problem+json`,
    or an OperationOutcome with the same text when the request asks for FHIR JSON."""
    return {
        200: {"description": what, "content": {FHIR_JSON: {"schema": {"type": "object"}}}},
        **problem_responses(*statuses),
    }


SEARCH = "A searchset Bundle: `link` self and next (`_cursor`), `total` when it is one page."
