"""Every message in correct Spanish and English: each catalog entry (every problem's title and
detail, every `Text` a module keeps, the Spanish validation messages) is rendered with counts 1
and 2 and with an instant, and each vocabulary word a parameter may take; the Spanish must hold
no English field name or enum value, no ISO timestamp, and no "1 segundos". The raise sites are
read too: a parameter given as English prose or as `isoformat()` text would reach the reader
as it is."""

import ast
import importlib
import pkgutil
import re
import string
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from app import i18n
from cooperative.kernel import moments
from cooperative.kernel.errors import Language, TequioError, Text

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("app", "cooperative", "telehealth")
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")
# English that must never reach a Spanish reader: enum values, field names, common words
ENGLISH = {
    "booked", "arrived", "fulfilled", "cancelled", "noshow", "entered-in-error", "phone",
    "email", "patient", "doctor", "reported", "confirmed", "rejected", "withdrawn", "pending",
    "active", "suspended", "applicant", "treasurer", "board", "clinic_staff", "resolution",
    "bylaw_amendment", "surplus_allocation", "board_election", "priorities", "the", "and",
    "only", "not", "yet", "must", "cannot", "this", "with", "for", "is", "are", "an", "be",
    "approve", "reject", "suspend", "withdraw", "interpreter", "clinic",
}  # fmt: skip
# names of parameters that carry a vocabulary word (an enum's value): they need `words`
VOCABULARY_PARAMS = {"status", "role", "member_class", "kind", "action", "field"}
NOT_PLURALS = {"mes", "más", "tres", "seis", "dos", "this", "is", "was", "has", "us", "differs"}
WHEN = datetime(2026, 12, 2, 16, 0, tzinfo=UTC)


def _modules() -> Iterator[Any]:
    for package in PACKAGES:
        root = importlib.import_module(package)
        yield root
        for info in pkgutil.walk_packages(root.__path__, package + "."):
            if ".static" in info.name:
                continue
            yield importlib.import_module(info.name)


def _errors() -> list[type[TequioError]]:
    list(_modules())
    seen: list[type[TequioError]] = []
    pending: list[type[TequioError]] = [TequioError]
    while pending:
        cls = pending.pop()
        seen.append(cls)
        pending.extend(cls.__subclasses__())
    return seen


def _texts() -> list[tuple[str, Text, dict[str, Any]]]:
    """(where, text, words) for every catalog entry."""
    found: list[tuple[str, Text, dict[str, Any]]] = []
    for cls in _errors():
        found.append((f"{cls.__module__}.{cls.__name__}.title", cls.title, {}))
        found.append((f"{cls.__module__}.{cls.__name__}.detail", cls.detail, dict(cls.words)))
    for module in _modules():
        for name, value in vars(module).items():
            if isinstance(value, Text):
                found.append((f"{module.__name__}.{name}", value, {}))
    for kind, template in i18n._SPANISH.items():
        found.append((f"app.i18n.{kind}", Text(template, template), {}))
    return found


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _outside_code(text: str) -> str:
    """The prose of a message: without `code`, paths and URLs."""
    text = re.sub(r"`[^`]*`", " ", text)
    return re.sub(r"(https?://|/v1/)\S*", " ", text)


def _problems(text: str, language: Language, count: int | None) -> list[str]:
    problems = []
    prose = _outside_code(text)
    if ISO.search(text):
        problems.append("an ISO timestamp")
    if "{" in prose or "}" in prose:
        problems.append("an unfilled placeholder")
    if language == "es":
        words = set(re.findall(r"[a-záéíóúñ_\-]+", prose.lower()))
        if english := words & ENGLISH:
            problems.append(f"English words {sorted(english)}")
    if count == 1:
        for word in re.findall(r"\b1 ([a-záéíóúñ]+)", prose):
            if word.endswith("s") and word not in NOT_PLURALS:
                problems.append(f"'1 {word}'")
    return problems


def _samples(names: set[str], words: dict[str, Any]) -> Iterator[tuple[int | None, dict[str, Any]]]:
    for value in (1, 2, WHEN):
        count = value if isinstance(value, int) else None
        params: dict[str, Any] = {name: value for name in names}
        vocabularies = {n: list(words[n]) for n in names if n in words}
        if not vocabularies:
            yield count, params
            continue
        longest = max(len(v) for v in vocabularies.values())
        for i in range(longest):
            yield count, params | {n: v[i % len(v)] for n, v in vocabularies.items()}


CATALOG = _texts()


@pytest.mark.parametrize(("where", "text", "words"), CATALOG, ids=[w for w, _, _ in CATALOG])
def test_every_catalog_entry_reads_right_in_both_languages(
    where: str, text: Text, words: dict[str, Any]
) -> None:
    moments.read_in("America/Mexico_City")
    names = _fields(text.es) | _fields(text.en)
    in_code = set(re.findall(r"`[^`]*{(\w+)}[^`]*`", text.es))  # a value quoted as typed
    missing = (names & VOCABULARY_PARAMS & _fields(text.es)) - set(words) - in_code
    assert not missing, f"{where}: give `words` for {sorted(missing)}"
    for count, params in _samples(names, words):
        for language in ("es", "en"):
            rendered = text.render(language, params, words)
            problems = _problems(rendered, language, count)
            assert not problems, f"{where} [{language}] {rendered!r}: {problems}"


def _raise_sites() -> Iterator[tuple[str, int, str, ast.expr]]:
    names = {cls.__name__ for cls in _errors()}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                func = node.func
                called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                if called not in names:
                    continue
                for keyword in node.keywords:
                    if keyword.arg not in (None, "headers", "extensions"):
                        where = f"{path.relative_to(ROOT)}:{node.lineno}"
                        yield where, node.lineno, keyword.arg, keyword.value


def test_no_raise_site_fills_a_message_with_english_prose_or_iso_text() -> None:
    wrong = []
    for where, _, name, value in _raise_sites():
        if isinstance(value, ast.Constant) and isinstance(value.value, str) and " " in value.value:
            wrong.append(f"{where} {name}={value.value!r} (give a Text)")
        for inner in ast.walk(value):
            if isinstance(inner, ast.Attribute) and inner.attr == "isoformat":
                wrong.append(f"{where} {name}=….isoformat() (give the date or instant)")
    assert not wrong, "\n".join(wrong)


def test_a_time_in_a_sentence_is_in_the_readers_zone_and_language() -> None:
    text = Text("The consult starts on {start}.", "La consulta empieza el {start}.")
    moments.read_in("America/Mexico_City")
    assert text.render("es", {"start": WHEN}) == (
        "La consulta empieza el 2 de diciembre de 2026 a las 10:00 (hora de Ciudad de México)."
    )
    moments.read_in("America/Tijuana")
    assert text.render("en", {"start": WHEN}) == (
        "The consult starts on December 2, 2026 at 8:00 AM (Tijuana time)."
    )
    moments.read_in(None)


def test_every_custom_validation_error_has_its_spanish_message() -> None:
    """A validator's own error code (`PydanticCustomError("code", …)`) carries English text;
    the Spanish reader gets the catalog's sentence for that code, which must exist."""
    codes: set[str] = set()
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if (
                    isinstance(node, ast.Call)
                    and getattr(node.func, "id", getattr(node.func, "attr", ""))
                    == "PydanticCustomError"
                    and node.args
                    and isinstance(node.args[0], ast.Constant)
                ):
                    codes.add(str(node.args[0].value))
    assert codes and not codes - set(i18n._SPANISH), sorted(codes - set(i18n._SPANISH))
