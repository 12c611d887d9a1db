"""Board elections, priorities and surplus-allocation approvals through the API."""

import asyncio
import json
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.settings import Settings
from cooperative.governance import rules
from tests.factories import apply, bearer, signed_up
from tests.governance_support import (
    bylaws_with,
    close,
    doctor_owner,
    install,
    open_vote,
    patient_owner,
    propose,
    result,
    vote,
)

Sessions = async_sessionmaker[AsyncSession]


async def test_each_class_elects_its_own_seats_and_every_round_is_published(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    sessionmaker: Sessions,
    settings: Settings,
    tmp_path: Path,
) -> None:
    await install(
        sessionmaker,
        bylaws_with(rules={"board_election": {"seats": {"patient": 2, "doctor": 1}}}),
    )
    patients = [await patient_owner(client, admin) for _ in range(7)]
    doctors = [await doctor_owner(client, admin, sessionmaker, settings) for _ in range(5)]
    p = [t["member"]["id"] for t in patients[:4]]  # four patients stand for two seats
    d = [t["member"]["id"] for t in doctors[:3]]  # three doctors for one seat
    draft = await propose(
        client,
        admin,
        "board_election",
        title="Consejo 2027",
        candidates={"patient": p, "doctor": d},
    )
    opened = await open_vote(client, admin, draft["id"])
    assert opened["payload"]["races"]["patient"]["seats"] == 2
    assert opened["turnout"]["eligible"] == {"doctor": 5, "patient": 7}
    # patients: Droop quota floor(7/3)+1 = 3; p0 has 4 first preferences, a surplus of 1
    rankings = [
        [p[0], p[1]],
        [p[0], p[1]],
        [p[0], p[2]],
        [p[0], p[1]],
        [p[2], p[3]],
        [p[3]],
        [p[2]],
    ]
    for tokens, ranking in zip(patients, rankings, strict=True):
        assert (await vote(client, tokens, draft["id"], ranking=ranking)).status_code == 200
    # doctors, one seat by instant runoff: d2 is excluded, their ballot elects d1
    for tokens, ranking in zip(
        doctors, [[d[0]], [d[0]], [d[1]], [d[1]], [d[2], d[1]]], strict=True
    ):
        assert (await vote(client, tokens, draft["id"], ranking=ranking)).status_code == 200
    crossing = await vote(client, patients[0], draft["id"], ranking=[d[0]])
    assert crossing.status_code in (409, 422)  # a patient cannot vote in the doctors' race
    await close(client, admin, draft["id"])
    races = (await result(client, admin, draft["id"]))["result"]["races"]
    assert races["patient"]["method"] == "scottish_stv_2007"
    assert races["patient"]["quota"] == "3.00000"
    assert races["patient"]["elected"][0] == p[0]
    assert len(races["patient"]["elected"]) == 2
    assert races["patient"]["rounds"][0]["votes"][p[0]] == "4.00000"
    assert races["doctor"]["method"] == "instant_runoff"
    assert races["doctor"]["elected"] == [d[1]]
    assert races["doctor"]["excluded"][0] == d[2]
    published = (
        await client.get(f"/v1/proposals/{draft['id']}/ballots.json", headers=bearer(doctors[0]))
    ).json()
    assert rules.tally(published)["races"] == races
    downloaded = tmp_path / "ballots.json"
    downloaded.write_text(json.dumps(published), "utf-8")
    recount = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "tequio"),
        "governance",
        "recount",
        str(downloaded),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(recount.communicate(), timeout=60)
    assert recount.returncode == 0, err.decode()
    assert json.loads(out)["races"] == races


async def test_a_ballot_must_rank_candidates_of_the_voters_own_race(
    client: httpx.AsyncClient, admin: dict[str, Any], sessionmaker: Sessions, settings: Settings
) -> None:
    await install(sessionmaker, bylaws_with())
    patient = await patient_owner(client, admin)
    doctor = await doctor_owner(client, admin, sessionmaker, settings)
    draft = await propose(
        client, admin, "board_election", candidates={"patient": [patient["member"]["id"]]}
    )
    opened = await open_vote(client, admin, draft["id"])
    assert opened["turnout"]["eligible"] == {"patient": 1}  # only the race's class is on the roll
    refused = await vote(client, doctor, draft["id"], ranking=[patient["member"]["id"]])
    assert refused.status_code == 403
    for bad, problem in (
        ([], "ranking-not-distinct"),
        ([str(uuid.uuid4())], "not-in-race"),
        ([patient["member"]["id"]] * 2, "ranking-not-distinct"),
    ):
        answer = await vote(client, patient, draft["id"], ranking=bad)
        assert answer.status_code == 422, bad
        assert answer.json()["type"].endswith(f"/{problem}"), bad
    wrong_kind = await vote(client, patient, draft["id"], vote="yes")
    assert wrong_kind.status_code == 422
    assert wrong_kind.json()["type"].endswith("/wrong-ballot-shape")
    assert (await vote(client, patient, draft["id"], ranking=[patient["member"]["id"]])).is_success


async def test_a_candidate_must_be_an_active_member_of_the_race_class(
    client: httpx.AsyncClient, admin: dict[str, Any], sessionmaker: Sessions, settings: Settings
) -> None:
    await install(sessionmaker, bylaws_with())
    patient = await patient_owner(client, admin)
    doctor = await doctor_owner(client, admin, sessionmaker, settings)
    for candidates, problem in (
        ({"patient": [doctor["member"]["id"]]}, "candidate-not-eligible"),
        ({"patient": [str(uuid.uuid4())]}, "candidate-not-eligible"),
        ({"clinic": [patient["member"]["id"]]}, "no-board-seats"),
        ({"patient": []}, "candidates-not-distinct"),
        ({"patient": [patient["member"]["id"]] * 2}, "candidates-not-distinct"),
        ({}, "validation-error"),
    ):
        answer = await client.post(
            "/v1/proposals",
            json={"kind": "board_election", "title": "Consejo", "candidates": candidates},
            headers=bearer(admin),
        )
        assert answer.status_code == 422, candidates
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["type"].endswith(f"/{problem}"), candidates


async def test_priorities_by_approval_take_the_top_n_and_everyone_tied_at_the_cutoff(
    client: httpx.AsyncClient, admin: dict[str, Any], sessionmaker: Sessions
) -> None:
    await install(sessionmaker, bylaws_with(rules={"priorities": {"top_n": 2}}))
    owners = [await patient_owner(client, admin) for _ in range(4)]
    options = ["Pediatría en línea", "Clínica móvil", "Intérpretes mixtecos", "Salud mental"]
    draft = await propose(client, admin, "priorities", options=options)
    ids = [o["id"] for o in draft["payload"]["options"]]
    opened = await open_vote(client, admin, draft["id"])
    assert opened["payload"]["top_n"] == 2
    approvals = [[ids[0], ids[1]], [ids[0], ids[2]], [ids[0], ids[1], ids[2]], []]
    for tokens, approve in zip(owners, approvals, strict=True):
        assert (await vote(client, tokens, draft["id"], approve=approve)).status_code == 200
    await close(client, admin, draft["id"])
    counted = (await result(client, owners[3], draft["id"]))["result"]["approval"]
    assert counted["counts"] == {ids[0]: 3, ids[1]: 2, ids[2]: 2, ids[3]: 0}
    assert counted["winners"] == [ids[0], ids[1], ids[2]]  # 2nd place is tied: both are in
    assert sorted(counted["tied_at_cutoff"]) == sorted([ids[1], ids[2]])


async def test_a_surplus_allocation_names_its_run_and_needs_each_class(
    client: httpx.AsyncClient, admin: dict[str, Any], sessionmaker: Sessions, settings: Settings
) -> None:
    await install(sessionmaker, bylaws_with())
    patients = [await patient_owner(client, admin) for _ in range(2)]
    doctor = await doctor_owner(client, admin, sessionmaker, settings)
    missing = await client.post(
        "/v1/proposals",
        json={"kind": "surplus_allocation", "title": "Excedentes 2026"},
        headers=bearer(admin),
    )
    assert missing.status_code == 422
    assert [e["field"] for e in missing.json()["errors"]] == [
        "body.surplus_allocation.allocation_run_id"
    ]
    unknown = await client.post(
        "/v1/proposals",
        json={
            "kind": "surplus_allocation",
            "title": "Excedentes 2026",
            "allocation_run_id": str(uuid.uuid4()),
        },
        headers=bearer(admin),
    )
    assert unknown.status_code == 422
    assert unknown.json()["type"].endswith("/allocation-run-not-draft")
    computed = await client.post(
        "/v1/surplus/runs",
        json={"fiscal_year": 2026, "net_surplus_minor": 100_000, "currency": "MXN"},
        headers=bearer(admin),
    )
    run = computed.json()
    draft = await propose(client, admin, "surplus_allocation", allocation_run_id=run["id"])
    assert draft["payload"] == {
        "allocation_run_id": run["id"],
        "fiscal_year": 2026,
        "input_digest": run["input_digest"],
    }
    opened = await open_vote(client, admin, draft["id"])
    assert opened["rule"]["majority_in_each_class"] is True
    for tokens in [*patients, doctor]:
        assert (await vote(client, tokens, draft["id"], vote="yes")).status_code == 200
    closed = await close(client, admin, draft["id"])
    assert closed["passed"] is True


async def test_a_race_nobody_voted_in_elects_nobody(
    client: httpx.AsyncClient, admin: dict[str, Any], sessionmaker: Sessions, settings: Settings
) -> None:
    await install(
        sessionmaker,
        bylaws_with(
            rules={"board_election": {"seats": {"patient": 1, "doctor": 1}, "quorum_bp": 0}}
        ),
    )
    patient = await patient_owner(client, admin)
    doctor = await doctor_owner(client, admin, sessionmaker, settings)
    draft = await propose(
        client,
        admin,
        "board_election",
        candidates={"patient": [patient["member"]["id"]], "doctor": [doctor["member"]["id"]]},
    )
    await open_vote(client, admin, draft["id"])
    assert (
        await vote(client, patient, draft["id"], ranking=[patient["member"]["id"]])
    ).status_code == 200
    closed = await close(client, admin, draft["id"])
    assert closed["passed"] is False
    races = (await result(client, admin, draft["id"]))["result"]["races"]
    assert races["patient"]["quorum_met"] is True
    assert races["doctor"]["quorum_met"] is False  # no doctor voted: the seat stays open


async def test_applicants_do_not_take_part_in_governance(
    client: httpx.AsyncClient, admin: dict[str, Any], sessionmaker: Sessions
) -> None:
    await install(sessionmaker, bylaws_with())
    await patient_owner(client, admin)
    draft = await propose(client, admin)
    _, tokens = await signed_up(client)
    await apply(client, tokens)  # applied, not yet admitted
    seen = await client.get(f"/v1/proposals/{draft['id']}", headers=bearer(tokens))
    assert seen.status_code == 404
    said = await client.post(
        f"/v1/proposals/{draft['id']}/comments", json={"body": "hola"}, headers=bearer(tokens)
    )
    assert said.status_code == 404
