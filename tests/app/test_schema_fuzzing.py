"""Schema fuzzing: schemathesis walks every operation of a real `tequio serve` as a patient, a
doctor with an open consult, a clinic's staff and an admin (and anonymously through sign-up and
sign-in), on each database. No answer may be a 5xx, break its documented schema, carry a status
code or content type the document does not list, or accept a request the schema forbids.

Known defects are listed in KNOWN with their issue: each must still be found (a fix turns this
red until its line goes) and nothing else may be. Deterministic generation makes every run the
same; MAX_EXAMPLES bounds it. The admin's run also takes schemathesis' coverage phase (every
boundary and wrong type of every field), which is most of the time.
"""

import asyncio
import base64
import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import BACKENDS
from tests.fuzz_support import ADMIN_EMAIL, PASSWORD, seed
from tests.live_server import environment, serving, tequio

ST = str(Path(sys.executable).parent / "st")
MAX_EXAMPLES = 10
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
)
# who, the phases their run takes, and which operations (signing out would end the run's session)
RUNS = (
    ("anonymous", "examples,coverage,fuzzing", ("--include-tag", "auth")),
    ("patient", "examples,fuzzing", ("--exclude-path", "/v1/auth/logout")),
    ("doctor", "examples,fuzzing", ("--exclude-path", "/v1/auth/logout")),
    ("clinic_staff", "examples,fuzzing", ("--exclude-path", "/v1/auth/logout")),
    ("admin", "examples,coverage,fuzzing", ("--exclude-path", "/v1/auth/logout")),
)


@dataclass(frozen=True)
class Finding:
    who: str
    operation: str
    code: str  # schemathesis' failure code: ST101 server error, ST103 undocumented status…
    message: str
    status: int | None
    problem: str | None  # the problem's type slug, for an application/problem+json answer
    request: str

    def __str__(self) -> str:
        return (
            f"{self.code} {self.operation} as {self.who}: {self.status} {self.problem or ''}\n"
            f"    {self.message.splitlines()[-1] if self.message else ''}\n    {self.request}"
        )


@dataclass(frozen=True)
class Known:
    reason: str
    matches: Callable[[Finding], bool]


# Known defects, each with its issue: empty when every fix has landed. Each entry must still
# be found (a fix turns this red until its line goes) and nothing else may be.
KNOWN: tuple[Known, ...] = ()


def _findings(who: str, events: Path) -> tuple[list[Finding], int, int]:
    """Each failed check of the run, with the test case's request and answer; and how many
    operations and test cases the run had."""
    findings: list[Finding] = []
    operations: set[str] = set()
    cases = 0
    with events.open() as lines:
        for line in lines:
            scenario = json.loads(line).get("ScenarioFinished")
            if scenario is None:
                continue
            recorder = scenario["recorder"]
            operations.add(recorder["label"])
            cases += len(recorder.get("cases", {}))
            for case_id, checks in recorder.get("checks", {}).items():
                for check in checks:
                    if check["status"] != "failure":
                        continue
                    failure = check["failure_info"]["failure"]
                    findings.append(_finding(who, failure, recorder["interactions"].get(case_id)))
    return findings, len(operations), cases


def _finding(who: str, failure: dict[str, Any], interaction: dict[str, Any] | None) -> Finding:
    status = problem = None
    request = ""
    if interaction is not None:
        sent = interaction["request"]
        body = sent.get("body")
        if isinstance(body, dict) and "$base64" in body:
            body = base64.b64decode(body["$base64"]).decode("utf-8", "replace")
        request = f"{sent['method']} {sent['uri']} {(body or '')[:300]!r}"
        answer = interaction.get("response") or {}
        status = answer.get("status_code")
        content = (answer.get("content") or {}).get("$base64")
        if content:
            try:
                problem = str(json.loads(base64.b64decode(content)).get("type", "")).rsplit("/")[-1]
            except (ValueError, AttributeError):
                problem = None
    return Finding(
        who, failure["operation"], failure["code"], failure["message"], status, problem, request
    )


def _fuzz(base: str, who: str, token: str | None, ids: dict[str, str], folder: Path) -> Path:
    phases, selection = next((p, s) for w, p, s in RUNS if w == who)
    config = folder / f"{who}.toml"
    overrides = [f'"path.{name}" = "{value}"' for name, value in ids.items()]
    config.write_text("[cache]\nenabled = false\n\n[parameters]\n" + "\n".join(overrides) + "\n")
    events = folder / f"{who}.ndjson"
    command = [
        ST,
        "--config-file",
        str(config),
        "run",
        f"{base}/openapi.json",
        *selection,
        "--checks",
        ",".join(CHECKS),
        "--phases",
        phases,
        "--max-examples",
        str(MAX_EXAMPLES),
        "--generation-deterministic",
        "--no-shrink",
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--warnings",
        "off",
        "--no-color",
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(events),
    ]
    if token is not None:
        command += ["--header", f"Authorization: Bearer {token}"]
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=600)
    assert events.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    return events


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
async def test_fuzzing_finds_no_defect_but_the_known_ones(
    backend: str,
    empty_database_url: Callable[[str], Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    started = time.monotonic()
    url = await empty_database_url(backend)
    env = environment(
        url,
        access_token_minutes="120",
        log_level="WARNING",
        recordings_dir=str(tmp_path / "recordings"),
        attachments_dir=str(tmp_path / "attachments"),
    )
    await asyncio.to_thread(tequio, env, "migrate")
    await asyncio.to_thread(
        tequio, env, "create-admin", "--email", ADMIN_EMAIL, "--password-stdin", stdin=PASSWORD
    )
    findings: list[Finding] = []
    figures = []
    with serving(env, tmp_path) as server:
        async with httpx.AsyncClient(base_url=server.base, timeout=30) as http:
            seeded = await seed(http, url)
        for who, _, _ in RUNS:
            token = seeded.tokens.get(who)
            began = time.monotonic()
            events = await asyncio.to_thread(_fuzz, server.base, who, token, seeded.ids, tmp_path)
            found, operations, cases = _findings(who, events)
            events.unlink()  # tens of megabytes: every request and answer of the run
            findings += found
            figures.append(
                f"{who}: {operations} operations, {cases} cases, {len(found)} failures "
                f"({time.monotonic() - began:.0f} s)"
            )
    with capsys.disabled():
        print(
            f"\nschema fuzzing on {backend} in {time.monotonic() - started:.0f} s — "
            + "; ".join(figures)
        )

    unexpected = [f for f in findings if not any(k.matches(f) for k in KNOWN)]
    assert not unexpected, "the fuzzer found new defects:\n" + "\n".join(
        sorted({str(f) for f in unexpected})
    )
    gone = [k.reason for k in KNOWN if not any(k.matches(f) for f in findings)]
    assert not gone, f"known defects no longer found (fixed? remove them from KNOWN): {gone}"
