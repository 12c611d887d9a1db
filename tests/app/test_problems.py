"""Every error is an RFC 9457 problem in English or Spanish; bad input never causes a 500."""

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.settings import Settings
from tests.factories import PASSWORD, bearer, practitioner, register, signed_up, unique_email


@pytest.mark.parametrize(
    ("accept", "title"),
    [
        ("es", "No encontrado"),
        ("es-MX,es;q=0.9,en;q=0.8", "No encontrado"),
        ("en-US,en;q=0.9", "Not found"),
        ("fr-FR, en;q=0.5", "Not found"),
        ("en;q=0.2, es;q=0.8", "No encontrado"),
    ],
)
async def test_problem_language_follows_accept_language(
    client: httpx.AsyncClient, accept: str, title: str
) -> None:
    response = await client.get("/v1/nothing-here", headers={"Accept-Language": accept})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["title"] == title
    assert body["type"] == "https://tequio.coop/problems/not-found"
    assert body["status"] == 404
    assert body["instance"] == "/v1/nothing-here"
    assert response.headers["content-language"] == ("es" if title == "No encontrado" else "en")


async def test_without_accept_language_the_default_is_spanish(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/nothing-here")
    assert response.json()["title"] == "No encontrado"


async def test_wrong_method_is_a_405_problem(client: httpx.AsyncClient) -> None:
    response = await client.delete("/v1/me", headers={"Accept-Language": "en"})
    assert response.status_code == 405
    assert response.json()["type"].endswith("/method-not-allowed")
    assert "DELETE" in response.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [b"{", b'{"email": "a@b.org", "password": }', b"\xff\xfe\x00", b"[1, 2"],
)
async def test_malformed_json_is_a_400_problem(client: httpx.AsyncClient, body: bytes) -> None:
    for path in ("/v1/auth/register", "/v1/auth/token", "/v1/auth/refresh"):
        response = await client.post(
            path, content=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400, (path, response.text)
        assert response.json()["type"].endswith("/malformed-body")


async def test_validation_errors_name_the_fields_in_spanish(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/auth/register",
        json={"email": "not-an-email", "phone": "12345", "password": 12, "nickname": "x"},
        headers={"Accept-Language": "es"},
    )
    assert response.status_code == 422
    body = response.json()
    assert body["type"] == "https://tequio.coop/problems/validation-error"
    assert body["title"] == "Solicitud no válida"
    fields = {error["field"]: error for error in body["errors"]}
    assert {"body.email", "body.phone", "body.password", "body.display_name", "body.nickname"} <= (
        fields.keys()
    )
    assert fields["body.display_name"]["message"] == "Este campo es obligatorio."
    assert fields["body.nickname"]["message"] == "Este campo no está permitido."
    assert fields["body.phone"]["message"].startswith("No es un teléfono válido de México")


async def test_validation_errors_in_english(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/auth/register",
        json={"password": PASSWORD, "display_name": "Rosa"},
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 422
    messages = [error["message"] for error in response.json()["errors"]]
    assert any("email or a phone number" in message for message in messages)


@pytest.mark.parametrize(
    "body",
    [[], "text", 42, None, {"email": ["a@b.org"]}, {"display_name": {"x": 1}}],
)
async def test_wrong_shapes_are_422_never_500(client: httpx.AsyncClient, body: object) -> None:
    raw, headers = json.dumps(body), {"Content-Type": "application/json"}
    response = await client.post("/v1/auth/register", content=raw, headers=headers)
    assert response.status_code == 422
    response = await client.post("/v1/auth/token", content=raw, headers=headers)
    assert response.status_code in (400, 422)
    assert response.headers["content-type"] == "application/problem+json"


async def test_sign_in_with_an_unsupported_content_type_is_415(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/auth/token", content=b"username=x", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 415
    assert response.json()["type"].endswith("/unsupported-media-type")


async def test_oversize_body_is_413_and_creates_nothing(client: httpx.AsyncClient) -> None:
    email = unique_email()
    huge = {"email": email, "password": PASSWORD, "display_name": "x" * 2_000_000}
    response = await client.post("/v1/auth/register", json=huge)
    assert response.status_code == 413
    assert response.json()["type"].endswith("/payload-too-large")
    await register(client, email=email)  # the email is still free


async def test_oversize_streamed_body_without_length_is_413(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(40):
            yield b"x" * 65536

    response = await client.post(
        "/v1/auth/register", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["type"].endswith("/payload-too-large")


async def test_request_id_is_returned_and_a_safe_one_is_kept(client: httpx.AsyncClient) -> None:
    made = await client.get("/healthz/live")
    assert len(made.headers["x-request-id"]) == 32
    kept = await client.get("/healthz/live", headers={"X-Request-ID": "clinic-42.abc"})
    assert kept.headers["x-request-id"] == "clinic-42.abc"
    unsafe = await client.get("/healthz/live", headers={"X-Request-ID": "a b<script>"})
    assert unsafe.headers["x-request-id"] != "a b<script>"
    problem = await client.get("/nope", headers={"X-Request-ID": "trace-1"})
    assert problem.json()["request_id"] == "trace-1"


@pytest.mark.parametrize(
    "raw",
    [b"[" * 100_000, b'{"username": ' + b"9" * 5000 + b', "password": "x"}'],
)
async def test_absurd_json_is_400_not_500(client: httpx.AsyncClient, raw: bytes) -> None:
    for path in ("/v1/auth/token", "/v1/auth/register"):
        response = await client.post(
            path, content=raw, headers={"Content-Type": "application/json"}
        )
        assert response.status_code in (400, 422), (path, response.status_code)
        assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (
            "/v1/auth/register",
            '{"email": "a@example.org", "password": "abc\\ud800defghijk", "display_name": "Rosa"}',
        ),
        (
            "/v1/auth/register",
            '{"email": "a@example.org", "password": "larga y rara 123", '
            '"display_name": "Ro\\u0000sa"}',
        ),
        ("/v1/auth/token", '{"username": "a\\u0000@example.org", "password": "x"}'),
        ("/v1/auth/token", '{"username": "a@example.org", "password": "\\udfff"}'),
        ("/v1/auth/refresh", '{"refresh_token": "\\ud800"}'),
    ],
)
async def test_control_characters_and_lone_surrogates_are_refused(
    client: httpx.AsyncClient, path: str, body: str
) -> None:
    """PostgreSQL refuses NUL and UTF-8 cannot encode a lone surrogate: 422, never 500."""
    response = await client.post(path, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert any(e["code"] == "control_character" for e in response.json()["errors"])


async def test_nul_in_the_query_string_is_400(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/bylaws/versions?cursor=a%00b")
    assert response.status_code == 400
    assert response.json()["type"].endswith("/malformed-request")


@pytest.mark.usefixtures("bylaws_installed")
async def test_a_value_of_another_json_type_than_documented_is_refused_not_coerced(
    client: httpx.AsyncClient,
    admin: dict[str, object],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    """Lax parsing once took `"expires_on": 0` for 1970-01-01, `"rural": 0` for false and
    `"min_notice_minutes": false` for 0, none of which the OpenAPI document allows."""
    profile, doctor = await practitioner(client, admin, sessionmaker, settings, licences=())
    cases = [
        (
            f"/v1/practitioners/{profile['id']}/licences",
            {"jurisdiction": "US-TX", "number": "123", "expires_on": 0},
            admin,
            "body.expires_on",
        ),
        (
            "/v1/clinics",
            {
                "name": "Clínica Tlacotepec",
                "jurisdiction": "MX-OAX",
                "municipality": "Tlacotepec",
                "rural": 0,
                "timezone": "America/Mexico_City",
            },
            admin,
            "body.rural",
        ),
    ]
    for path, body, tokens, field in cases:
        response = await client.post(path, json=body, headers=bearer(tokens))
        assert response.status_code == 422, (path, response.text)
        errors = {e["field"]: e for e in response.json()["errors"]}
        assert errors[field]["code"] == "json_type"
        assert "(llegó número entero)" in errors[field]["message"]
    availability = await client.put(
        f"/v1/practitioners/{profile['id']}/availability",
        json={"windows": [], "min_notice_minutes": False},
        headers={**bearer(doctor), "Accept-Language": "en"},
    )
    assert availability.status_code == 422
    [error] = availability.json()["errors"]
    assert error == {
        "field": "body.min_notice_minutes",
        "message": "must be integer (got boolean)",
        "code": "json_type",
    }
    clinics = (await client.get("/v1/clinics", headers=bearer(admin))).json()["items"]
    assert clinics == []  # nothing was created


@pytest.mark.parametrize(
    "query",
    [
        "/v1/appointments?starts_before=0.5",
        "/v1/appointments?starts_after=1700000000",
        "/v1/slots?from=0",
    ],
)
async def test_a_date_in_a_query_is_iso_text_not_seconds_since_1970(
    client: httpx.AsyncClient, query: str
) -> None:
    """Pydantic read `?starts_before=0.5` as half a second after 1970 and answered 200."""
    _, tokens = await signed_up(client)
    response = await client.get(query, headers={**bearer(tokens), "Accept-Language": "es"})
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["code"] == "iso_format"
    assert "ISO 8601" in error["message"]


@pytest.mark.usefixtures("bylaws_installed")
async def test_a_number_is_not_an_instant_in_a_body_either(
    client: httpx.AsyncClient, admin: dict[str, object]
) -> None:
    """`"closes_at": 1800000000` once opened a vote closing on 2027-01-15: pydantic's
    AwareDatetime is a class of its own, which the JSON-type check did not know."""
    draft = await client.post(
        "/v1/proposals",
        json={"kind": "resolution", "title": "Abrir una clínica", "body": "¿Sí o no?"},
        headers=bearer(admin),
    )
    assert draft.status_code == 201, draft.text
    opened = await client.post(
        f"/v1/proposals/{draft.json()['id']}/open",
        json={"closes_at": 1_800_000_000},
        headers=bearer(admin),
    )
    assert opened.status_code == 422, opened.text
    assert [e["code"] for e in opened.json()["errors"]] == ["json_type"]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("/v1/dues?unpaid=yes", "bool_parsing"),
        ("/v1/slots?limit=5.0", "int_parsing"),
        ("/v1/slots?from=2027-01-04T00:00:00", "date_format"),
        ("/v1/payments?limit=1e1", "int_parsing"),
    ],
)
async def test_a_query_takes_its_values_as_documented_not_as_lax_parsing_reads_them(
    client: httpx.AsyncClient, query: str, code: str
) -> None:
    """`?unpaid=yes`, `?limit=5.0` and a date-time for a date were taken; the document says a
    boolean, an integer and a date."""
    _, tokens = await signed_up(client)
    response = await client.get(query, headers=bearer(tokens))
    assert response.status_code == 422, response.text
    assert [e["code"] for e in response.json()["errors"]] == [code]
