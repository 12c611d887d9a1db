"""The API documents itself completely, and its docs page loads nothing from other hosts."""

import re

import httpx

DOCUMENTED_PROBLEMS = {
    ("/v1/auth/register", "post"): {"400", "413", "422", "429"},
    ("/v1/auth/token", "post"): {"400", "401", "413", "415", "422", "429"},
    ("/v1/auth/refresh", "post"): {"400", "401", "422"},
    ("/v1/auth/logout", "post"): {"401", "422"},
    ("/v1/me", "get"): {"401", "403", "404"},
    ("/healthz/ready", "get"): {"503"},
}


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
