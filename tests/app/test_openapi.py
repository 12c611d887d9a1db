"""The API documents itself completely, and its docs page loads nothing from other hosts."""

import re
from typing import Any

import httpx

from tests.factories import PASSWORD, bearer, signed_up

DOCUMENTED_PROBLEMS = {
    ("/v1/auth/register", "post"): {"400", "413", "422", "429"},
    ("/v1/auth/token", "post"): {"400", "401", "413", "415", "422", "429"},
    ("/v1/auth/refresh", "post"): {"400", "401", "422"},
    ("/v1/auth/logout", "post"): {"401", "422"},
    ("/v1/me", "get"): {"401", "403", "404"},
    ("/healthz/ready", "get"): {"503"},
}


def _objects(spec: dict[str, Any], schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The object schemas a body schema may be: itself, its $ref, the arms of anyOf/oneOf."""
    if "$ref" in schema:
        return _objects(spec, spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]])
    arms = schema.get("anyOf", []) + schema.get("oneOf", [])
    if arms:
        return [found for arm in arms for found in _objects(spec, arm)]
    return [schema] if schema.get("type") == "object" else []


async def test_openapi_documents_every_operation_and_its_problems(
    client: httpx.AsyncClient,
) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert spec["openapi"].startswith("3.1")
    assert spec["info"]["title"] == "Tequio API"
    assert {tag["name"] for tag in spec["tags"]} >= {"auth", "accounts", "health"}
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            assert operation.get("summary"), (path, method)
            assert operation.get("description"), (path, method)
            assert operation.get("tags"), (path, method)
            for code, response in operation["responses"].items():
                if code[0] in "45":
                    assert list(response["content"]) == ["application/problem+json"], (path, code)
            # the request guards answer 400 for any malformed request, 413 for a body too large;
            # any request may find the database away (503)
            assert {"400", "413", "503"} <= operation["responses"].keys(), (path, method)
            if operation.get("security"):
                assert {"401", "403"} <= operation["responses"].keys(), (path, method)
            if "requestBody" in operation:
                body = operation["requestBody"]["content"].get("application/json")
                if body:  # a request model refuses unknown fields: it derives from InputModel
                    for model in _objects(spec, body["schema"]):
                        assert model.get("additionalProperties") is False, (path, method, model)
    for (path, method), codes in DOCUMENTED_PROBLEMS.items():
        assert codes <= spec["paths"][path][method]["responses"].keys(), (path, method)
    assert "Problem" in spec["components"]["schemas"]
    scheme = spec["components"]["securitySchemes"]["OAuth2PasswordBearer"]
    assert scheme["flows"]["password"]["tokenUrl"] == "/v1/auth/token"
    login_body = spec["paths"]["/v1/auth/token"]["post"]["requestBody"]["content"]
    assert {"application/json", "application/x-www-form-urlencoded"} <= login_body.keys()


async def test_docs_page_uses_only_local_assets(client: httpx.AsyncClient) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    urls += re.findall(r"""url: ?["']([^"']+)["']""", page.text)
    assert urls, page.text
    assert all(url.startswith("/") for url in urls), urls
    assert not re.search(r"https?://", page.text)
    for asset in ("/static/swagger-ui/swagger-ui-bundle.js", "/static/swagger-ui/swagger-ui.css"):
        response = await client.get(asset)
        assert response.status_code == 200
        assert len(response.content) > 10_000


async def test_personal_answers_are_not_stored_or_sniffed_and_the_docs_cannot_be_framed(
    client: httpx.AsyncClient,
) -> None:
    _, tokens = await signed_up(client)
    for response in (
        await client.get("/v1/me", headers=bearer(tokens)),
        await client.get("/v1/me"),  # a problem too
        await client.get("/openapi.json"),
    ):
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-content-type-options"] == "nosniff"
    asset = await client.get("/static/swagger-ui/swagger-ui.css")
    assert "no-store" not in asset.headers.get("cache-control", "")
    assert asset.headers["x-content-type-options"] == "nosniff"
    for page in (await client.get("/docs"), await client.get("/docs/oauth2-redirect")):
        policy = page.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy and page.headers["x-frame-options"] == "DENY"
        assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
        assert page.headers["cache-control"] == "no-store"


async def test_a_token_narrowed_to_fewer_scopes_gets_the_documented_403(
    client: httpx.AsyncClient,
) -> None:
    """A client that asked for `consults:join` alone got 403 from operations whose document
    did not list it."""
    account, _ = await signed_up(client)
    narrow = (
        await client.post(
            "/v1/auth/token",
            json={"username": account["email"], "password": PASSWORD, "scope": "consults:join"},
        )
    ).json()
    spec = (await client.get("/openapi.json")).json()
    for path in ("/v1/me/roles", "/v1/practitioners", "/v1/clinics", "/v1/slots"):
        response = await client.get(path, headers=bearer(narrow))
        assert response.status_code == 403, (path, response.text)
        assert "403" in spec["paths"][path]["get"]["responses"], path


def test_the_router_order_changes_no_route() -> None:
    """The routers are included with the busiest first (`app.main.ROUTERS`); that is safe only
    while no path and method of one router is also served by another, which would then be
    taken by whichever comes first."""
    from app.main import ROUTERS

    def sample(path: str) -> str:
        return re.sub(r"\{[^}:]+(:path)?\}", lambda m: "a/b" if m.group(1) else "sample", path)

    served: list[tuple[str, Any]] = [
        (module.__name__, route)
        for module in ROUTERS
        for route in module.router.routes
        if hasattr(route, "path_regex")
    ]
    assert len(served) > 100
    crossing = [
        (method, sample(route.path), mine, theirs)
        for mine, route in served
        for method in sorted(getattr(route, "methods", None) or {"GET"})
        for theirs, other in served
        if theirs != mine
        and other.path_regex.match(sample(route.path))
        and method in (getattr(other, "methods", None) or {"GET"})
    ]
    assert crossing == []
