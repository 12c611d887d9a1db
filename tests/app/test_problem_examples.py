"""The documented errors show their own problem types: each 4xx/5xx response of every operation
carries examples, and each example's `type` is a problem answered with that very status
(issue 14, item 17: every 400/401/403/422 example showed `not-found`)."""

from collections.abc import Iterator
from typing import Any

from app.errors import Problem
from app.main import create_app
from cooperative.kernel.errors import PROBLEM_BASE, TequioError
from tests.conftest import make_settings


def _problem_classes(base: type[TequioError] = TequioError) -> Iterator[type[TequioError]]:
    for sub in base.__subclasses__():
        yield sub
        yield from _problem_classes(sub)


def _wrong_examples(spec: dict[str, Any]) -> list[str]:
    statuses: dict[str, set[int]] = {}
    for problem in _problem_classes():
        statuses.setdefault(problem.slug, set()).add(problem.status)
    wrong = []
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            for code, response in operation.get("responses", {}).items():
                if code[0] not in "45":
                    continue
                where = f"{method.upper()} {path} {code}"
                examples = response["content"]["application/problem+json"].get("examples", {})
                if not examples:
                    wrong.append(f"{where}: no example")
                for name, example in examples.items():
                    value = example["value"]
                    Problem.model_validate(value)  # each is a problem document
                    slug = value["type"].removeprefix(PROBLEM_BASE)
                    if value["status"] != int(code) or int(code) not in statuses.get(slug, ()):
                        wrong.append(f"{where}: example {name} is {slug} ({value['status']})")
    return wrong


def test_each_error_example_shows_a_problem_of_its_own_status() -> None:
    spec = create_app(make_settings("sqlite+aiosqlite://")).openapi()
    assert _wrong_examples(spec) == []
    # and the ones issue 14 saw as `not-found` now say what they are
    booking = spec["paths"]["/v1/appointments"]["post"]["responses"]
    shown = {
        code: {e["value"]["type"].removeprefix(PROBLEM_BASE) for e in examples.values()}
        for code, examples in (
            (code, booking[code]["content"]["application/problem+json"]["examples"])
            for code in ("400", "401", "403", "404", "422")
        )
    }
    assert shown == {
        "400": {"malformed-body", "invalid-cursor"},
        "401": {"not-authenticated", "invalid-token"},
        "403": {"insufficient-scope", "forbidden"},
        "404": {"not-found"},
        "422": {"validation-error"},
    }
    assert "not-found" not in str(spec["components"]["schemas"]["Problem"])


def test_the_check_sees_an_example_of_another_status() -> None:
    spec = {
        "paths": {
            "/x": {
                "get": {
                    "responses": {
                        "401": {
                            "content": {
                                "application/problem+json": {
                                    "examples": {
                                        "not-found": {
                                            "value": {
                                                "type": PROBLEM_BASE + "not-found",
                                                "title": "Not found",
                                                "status": 404,
                                                "detail": "…",
                                            }
                                        }
                                    }
                                }
                            }
                        },
                        "403": {"content": {"application/problem+json": {}}},
                    }
                }
            }
        }
    }
    assert _wrong_examples(spec) == [
        "GET /x 401: example not-found is not-found (404)",
        "GET /x 403: no example",
    ]
