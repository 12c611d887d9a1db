"""Every list is a list: each GET whose answer lists things answers `{items, next_cursor}` and
takes `cursor` and `limit`, as the README promises, read from the served OpenAPI document so
that a new bare array fails the suite (issue 14, item 15)."""

from typing import Any

from fastapi import FastAPI

from app.main import create_app
from app.pagination import CursorParam, LimitParam, Page
from tests.conftest import make_settings


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema


def _lists(spec: dict[str, Any], schema: dict[str, Any]) -> bool:
    """Whether a JSON answer is a list of things: a bare array, or an object holding one as
    `items`."""
    schema = _resolve(spec, schema)
    if schema.get("type") == "array" or "prefixItems" in schema:
        return True
    items = schema.get("properties", {}).get("items")
    return items is not None and _resolve(spec, items).get("type") == "array"


def bare_lists(spec: dict[str, Any]) -> list[str]:
    """The GETs whose answer is a list but not the envelope, with what is wrong."""
    wrong = []
    for path, methods in spec["paths"].items():
        operation = methods.get("get")
        if operation is None:
            continue
        for status, response in operation.get("responses", {}).items():
            if not status.startswith("2"):
                continue
            for media, content in response.get("content", {}).items():
                schema = content.get("schema")
                if "json" not in media or not schema or not _lists(spec, schema):
                    continue
                shape = _resolve(spec, schema)
                if shape.get("type") == "array" or "prefixItems" in shape:
                    wrong.append(f"GET {path}: a bare array")
                    continue
                # beside them, what the items refer to (a page of slots names each doctor once)
                if not {"items", "next_cursor"} <= set(shape.get("properties", {})):
                    wrong.append(f"GET {path}: {sorted(shape.get('properties', {}))}")
                params = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
                if not {"cursor", "limit"} <= params:
                    wrong.append(f"GET {path}: no cursor/limit parameters")
    return wrong


def test_every_list_the_api_serves_is_an_envelope_with_a_cursor() -> None:
    spec = create_app(make_settings("sqlite+aiosqlite://")).openapi()
    assert bare_lists(spec) == []
    # and the seven of issue 14 are among those checked
    for path in (
        "/v1/appointments/{appointment_id}/events",
        "/v1/proposals/{proposal_id}/events",
        "/v1/appointments/{appointment_id}/consult/participants",
        "/v1/appointments/{appointment_id}/consult/consents",
        "/v1/appointments/{appointment_id}/consult/recordings",
        "/v1/surplus/runs/{run_id}/journal",
        "/v1/surplus/notices",
    ):
        schema = spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
        assert _lists(spec, schema["schema"]), path


def test_the_check_catches_a_bare_array_and_a_list_without_a_cursor() -> None:
    made = FastAPI()

    @made.get("/bare")
    async def bare() -> list[int]:
        return []

    @made.get("/uncursored")
    async def uncursored() -> Page[int]:
        return Page(items=[], next_cursor=None)

    @made.get("/fine")
    async def fine(cursor: CursorParam = None, limit: LimitParam = 50) -> Page[int]:
        return Page(items=[], next_cursor=None)

    assert bare_lists(made.openapi()) == [
        "GET /bare: a bare array",
        "GET /uncursored: no cursor/limit parameters",
    ]
