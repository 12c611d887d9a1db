"""The house rule on responses, checked: a row becomes its response model in its domain (a
`public`/`x_public` builder beside the use cases), never in a router (README, "Working on
Tequio")."""

import ast
from pathlib import Path

ROUTERS = Path(__file__).resolve().parents[1] / "app" / "routers"

# What routers may still build, and why: only the HTTP layer's own answer (every domain's row is
# built in its domain since issue 12, item 4). Shrink it; never add a domain's row to it.
ALLOWED: dict[str, set[str]] = {
    # the HTTP layer's own answer: a consult token, the ICE servers, the socket's URL
    "consults.py": {"JoinPublic"},
}


def _built(tree: ast.AST) -> set[str]:
    """The response models a module constructs or validates: `XPublic(...)`,
    `XPublic.model_validate(...)` (and `…Summary`)."""
    names = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        callee = node.func
        if isinstance(callee, ast.Attribute) and callee.attr == "model_validate":
            callee = callee.value
        name = callee.id if isinstance(callee, ast.Name) else None
        if name is not None and name.endswith(("Public", "Summary")):
            names.add(name)
    return names


def test_routers_leave_responses_to_their_domains() -> None:
    found = {
        path.name: _built(ast.parse(path.read_text("utf-8"))) - ALLOWED.get(path.name, set())
        for path in sorted(ROUTERS.glob("*.py"))
    }
    assert {name: models for name, models in found.items() if models} == {}, (
        "build these in the domain's service layer (a `public` builder, lists as a Page)"
    )


def test_the_check_sees_a_router_that_builds_a_response() -> None:
    module = ast.parse(
        "def get(row):\n"
        "    return InvoicePublic.model_validate(row, from_attributes=True)\n"
        "def put(row):\n"
        "    return ClinicPublic(id=row.id)\n"
    )
    assert _built(module) == {"InvoicePublic", "ClinicPublic"}
