"""Who proposes and opens, co-signing, comments, early results, the sweep, refusals, secrecy."""

import logging
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.governance import sweep_once
from app.settings import Settings
from cooperative.bylaws.defaults import default_bylaws
from cooperative.governance.models import Ballot, SealedBallot
from cooperative.kernel import clock
from cooperative.kernel.principal import Role
from tests.factories import PASSWORD, account_with_role, bearer, login, signed_up
from tests.governance_support import (
    bylaws_with,
    close,
    install,
    open_vote,
    patient_owner,
    propose,
    result,
    vote,
)

Sessions = async_sessionmaker[AsyncSession]


async def test_a_member_initiative_opens_once_enough_members_cosign(
    client: httpx.AsyncClient, admin: dict[str, Any], sessionmaker: Sessions
) -> None:
    await install(sessionmaker, bylaws_with(initiative_cosigners=2))
    proposer, *others = [await patient_owner(client, admin) for _ in range(4)]
    draft = await propose(client, proposer, title="Horario nocturno los viernes")
    assert draft["initiative"] is True
    assert draft["cosigners_needed"] == 2
    url = f"/v1/proposals/{draft['id']}"
    closes = {"closes_at": (clock.now() + timedelta(days=4)).isoformat()}
    short = await client.post(f"{url}/open", json=closes, headers=bearer(proposer))
    assert short.status_code == 409
    assert short.json()["type"].endswith("/cosigners-missing")
    own = await client.post(f"{url}/cosign", headers=bearer(proposer))
    assert own.status_code == 403
    signed = await client.post(f"{url}/cosign", headers=bearer(others[0]))
    assert signed.json()["cosigners"] == 1
    twice = await client.post(f"{url}/cosign", headers=bearer(others[0]))
    assert twice.json()["cosigners"] == 1
    await client.post(f"{url}/cosign", headers=bearer(others[1]))
    stranger = await client.post(f"{url}/open", json=closes, headers=bearer(others[2]))
    assert stranger.status_code == 403  # only the proposer (or the board, an admin) opens it
    for bad, why, problem in (
        (
            {"closes_at": (clock.now() + timedelta(hours=5)).isoformat()},
            "72 hours",
            "initiative-voting-too-short",
        ),
        ({**closes, "record_date": "2026-01-05"}, "on the day it opens", "initiative-record-date"),
    ):
        refused = await client.post(
            f"{url}/open", json=bad, headers={**bearer(proposer), "Accept-Language": "en"}
        )
        assert refused.status_code == 422
        assert why in refused.json()["detail"]
        assert refused.json()["type"].endswith(f"/{problem}")
    opened = await client.post(f"{url}/open", json=closes, headers=bearer(proposer))
    assert opened.status_code == 200, opened.text
    assert opened.json()["status"] == "open"
    late = await client.post(f"{url}/cosign", headers=bearer(others[2]))
    assert late.status_code == 409
    _, outsider = await signed_up(client)  # not a member: may not propose
    refused = await client.post(
        "/v1/proposals", json={"kind": "resolution", "title": "Hola"}, headers=bearer(outsider)
    )
    assert refused.status_code == 403


async def test_the_board_proposes_and_opens_without_cosigners(
    client: httpx.AsyncClient, admin: dict[str, Any], sessionmaker: Sessions, settings: Settings
) -> None:
    await install(sessionmaker, default_bylaws())
    board = await login(client, await account_with_role(sessionmaker, settings, Role.BOARD))
    await patient_owner(client, admin)
    draft = await propose(client, board)
    assert draft["initiative"] is False
    assert draft["cosigners_needed"] == 0
    opened = await open_vote(client, board, draft["id"])
    assert opened["turnout"]["eligible"]["patient"] == 1


async def test_members_discuss_a_proposal_in_a_thread(
    client: httpx.AsyncClient, admin: dict[str, Any], sessionmaker: Sessions
) -> None:
    await install(sessionmaker, default_bylaws())
    rosa, juan = await patient_owner(client, admin), await patient_owner(client, admin)
    draft = await propose(client, admin)
    url = f"/v1/proposals/{draft['id']}/comments"
    for tokens, text in ((rosa, "¿Cuánto costaría?"), (juan, "Menos que el transporte.")):
        posted = await client.post(url, json={"body": text}, headers=bearer(tokens))
        assert posted.status_code == 201
    empty = await client.post(url, json={"body": ""}, headers=bearer(rosa))
    assert empty.status_code == 422
    page = (await client.get(url, params={"limit": 1}, headers=bearer(juan))).json()
    assert [c["body"] for c in page["items"]] == ["¿Cuánto costaría?"]
    rest = (
        await client.get(url, params={"cursor": page["next_cursor"]}, headers=bearer(juan))
    ).json()
    assert [c["body"] for c in rest["items"]] == ["Menos que el transporte."]
    _, outsider = await signed_up(client)
    assert (await client.get(url, headers=bearer(outsider))).status_code == 404


async def test_the_list_filters_by_status_and_kind_with_a_cursor(
    client: httpx.AsyncClient, admin: dict[str, Any], sessionmaker: Sessions
) -> None:
    await install(sessionmaker, default_bylaws())
    member = await patient_owner(client, admin)
    first = await propose(client, admin, title="Primera")
    await propose(client, admin, title="Segunda")
    await propose(client, admin, "priorities", title="Tercera", options=["a", "b"])
    await open_vote(client, admin, first["id"])
    opened = (
        await client.get("/v1/proposals", params={"status": "open"}, headers=bearer(member))
    ).json()
    assert [p["title"] for p in opened["items"]] == ["Primera"]
    kinds = (
        await client.get("/v1/proposals", params={"kind": "priorities"}, headers=bearer(member))
    ).json()
    assert [p["title"] for p in kinds["items"]] == ["Tercera"]
    page = (await client.get("/v1/proposals", params={"limit": 2}, headers=bearer(member))).json()
    assert [p["title"] for p in page["items"]] == ["Tercera", "Segunda"]
    rest = (
        await client.get(
            "/v1/proposals", params={"cursor": page["next_cursor"]}, headers=bearer(member)
        )
    ).json()
    assert [p["title"] for p in rest["items"]] == ["Primera"]
    bad = await client.get("/v1/proposals", params={"status": "won"}, headers=bearer(member))
    assert bad.status_code == 422


async def test_a_running_count_is_shown_only_where_the_bylaws_allow(
    client: httpx.AsyncClient, admin: dict[str, Any], sessionmaker: Sessions
) -> None:
    await install(sessionmaker, bylaws_with(results_hidden_until_close=False))
    owners = [await patient_owner(client, admin) for _ in range(2)]
    draft = await propose(client, admin)
    await open_vote(client, admin, draft["id"])
    await vote(client, owners[0], draft["id"], vote="no")
    running = await result(client, owners[1], draft["id"])
    assert running["final"] is False
    assert running["passed"] is None
    assert running["result"]["majority"]["total"]["no"] == 1
    ballots = await client.get(f"/v1/proposals/{draft['id']}/ballots.json", headers=bearer(admin))
    assert ballots.status_code == 409  # the ballots themselves wait for the close


@pytest.mark.parametrize(
    ("body", "why", "problem"),
    [
        ({"kind": "resolution", "title": "x"}, "title too short", "validation-error"),
        ({"kind": "referendum", "title": "Votemos"}, "unknown kind", "validation-error"),
        (
            {"kind": "resolution", "title": "Votemos", "options": ["a", "b"]},
            "another kind's field",
            "validation-error",
        ),
        ({"kind": "bylaw_amendment", "title": "Votemos"}, "no document", "validation-error"),
        (
            {
                "kind": "bylaw_amendment",
                "title": "Votemos",
                "document": {"title": "sin nada más"},
                "effective_from": "2027-01-01T00:00:00Z",
            },
            "the document is not valid bylaws",
            "validation-error",
        ),
        (
            {"kind": "priorities", "title": "Votemos", "options": ["solo una"]},
            "one option",
            "validation-error",
        ),
        (
            {"kind": "priorities", "title": "Votemos", "options": ["Sí", " Sí "]},
            "the same option twice",
            "options-not-distinct",
        ),
        (
            {"kind": "priorities", "title": "Votemos", "options": ["Sí", "  "]},
            "a blank option",
            "options-not-distinct",
        ),
        (
            {"kind": "resolution", "title": "Votemos", "secret": True},
            "unknown field",
            "validation-error",
        ),
    ],
)
async def test_a_bad_draft_is_refused_and_nothing_is_created(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    sessionmaker: Sessions,
    body: dict[str, Any],
    why: str,
    problem: str,
) -> None:
    await install(sessionmaker, default_bylaws())
    answer = await client.post("/v1/proposals", json=body, headers=bearer(admin))
    assert answer.status_code == 422, why
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"].endswith(f"/{problem}"), answer.json()
    listed = (await client.get("/v1/proposals", headers=bearer(admin))).json()
    assert listed["items"] == []


async def test_opening_refuses_bad_times_and_a_second_opening(
    client: httpx.AsyncClient, admin: dict[str, Any], sessionmaker: Sessions
) -> None:
    await install(sessionmaker, default_bylaws())
    draft = await propose(client, admin)
    url = f"/v1/proposals/{draft['id']}/open"
    now = clock.now()
    tomorrow = (now + timedelta(days=1)).isoformat()
    empty = await client.post(url, json={"closes_at": tomorrow}, headers=bearer(admin))
    assert empty.status_code == 422  # nobody on the roll: nothing to vote with
    assert empty.json()["type"].endswith("/empty-roll")
    assert "padrón" in empty.json()["detail"]
    await patient_owner(client, admin)
    for body, problem in (
        ({"closes_at": (now - timedelta(minutes=1)).isoformat()}, "closes-before-opening"),
        ({"closes_at": tomorrow, "record_date": "2999-01-01"}, "record-date-in-future"),
        ({"closes_at": tomorrow, "record_date": "0001-01-05"}, "record-date-too-old"),
        ({"closes_at": "9999-12-31T23:59:59-12:00"}, "voting-too-long"),
        (
            {"closes_at": tomorrow, "opens_at": (now - timedelta(hours=1)).isoformat()},
            "opens-in-the-past",
        ),
        (
            {
                "closes_at": (now + timedelta(days=1)).isoformat(),
                "opens_at": (now + timedelta(days=2)).isoformat(),
            },
            "closes-before-opening",
        ),
        ({"closes_at": "2027-01-01T00:00:00"}, "validation-error"),  # no time zone
    ):
        answer = await client.post(url, json=body, headers=bearer(admin))
        assert answer.status_code == 422, body
        assert answer.json()["type"].endswith(f"/{problem}"), body
    still = (await client.get(f"/v1/proposals/{draft['id']}", headers=bearer(admin))).json()
    assert still["status"] == "draft"
    await open_vote(client, admin, draft["id"])
    again = await client.post(
        url, json={"closes_at": (now + timedelta(days=1)).isoformat()}, headers=bearer(admin)
    )
    assert again.status_code == 409
    amendment = await propose(
        client,
        admin,
        "bylaw_amendment",
        document=default_bylaws().model_dump(mode="json"),
        effective_from=(now + timedelta(hours=1)).isoformat(),
    )
    too_soon = await client.post(
        f"/v1/proposals/{amendment['id']}/open",
        json={"closes_at": (now + timedelta(days=1)).isoformat()},
        headers=bearer(admin),
    )
    assert too_soon.status_code == 422
    assert too_soon.json()["type"].endswith("/effective-before-close")
    assert "antes del cierre" in too_soon.json()["detail"]  # Spanish by default
    far = await client.post(
        "/v1/proposals",
        json={
            "kind": "bylaw_amendment",
            "title": "Para siempre",
            "document": default_bylaws().model_dump(mode="json"),
            "effective_from": "9999-12-31T23:59:59-12:00",
        },
        headers=bearer(admin),
    )
    assert far.status_code == 422
    assert far.json()["type"].endswith("/effective-date-out-of-range")


async def test_a_vote_not_yet_started_takes_no_ballots(
    client: httpx.AsyncClient, admin: dict[str, Any], sessionmaker: Sessions
) -> None:
    await install(sessionmaker, default_bylaws())
    member = await patient_owner(client, admin)
    draft = await propose(client, admin)
    assert (await vote(client, member, draft["id"], vote="yes")).status_code == 409
    now = clock.now()
    await open_vote(
        client,
        admin,
        draft["id"],
        opens_at=(now + timedelta(hours=1)).isoformat(),
        closes_at=now + timedelta(hours=3),
    )
    early = await vote(client, member, draft["id"], vote="yes")
    assert early.status_code == 409
    assert early.json()["type"].endswith("/proposal-not-open")


async def test_the_sweep_closes_what_is_due_once_and_announces_what_closes_soon(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    sessionmaker: Sessions,
    settings: Settings,
) -> None:
    await install(sessionmaker, default_bylaws())
    member = await patient_owner(client, admin)
    soon = await propose(client, admin, title="Cierra pronto")
    later = await propose(client, admin, title="Cierra en una semana")
    await open_vote(client, admin, soon["id"], closes_in=timedelta(minutes=10))
    await open_vote(client, admin, later["id"], closes_in=timedelta(days=7))
    assert (await vote(client, member, soon["id"], vote="yes")).status_code == 200
    assert await sweep_once(settings, sessionmaker) == 0  # not yet due
    with clock.travel(clock.now() + timedelta(minutes=11)):  # however slow the machine is
        assert await sweep_once(settings, sessionmaker) == 1
        assert await sweep_once(settings, sessionmaker) == 0  # closed once
    closed = (await client.get(f"/v1/proposals/{soon['id']}", headers=bearer(member))).json()
    assert closed["status"] == "closed"
    assert closed["passed"] is True
    kinds = [
        e["kind"]
        for e in (
            await client.get(f"/v1/proposals/{soon['id']}/events", headers=bearer(member))
        ).json()["items"]
    ]
    assert kinds.count("result") == 1
    far = (await client.get(f"/v1/proposals/{later['id']}/events", headers=bearer(member))).json()[
        "items"
    ]
    assert [e["kind"] for e in far] == ["opened"]  # a week away is not "soon" (24 h)
    await open_vote(
        client, admin, (await propose(client, admin))["id"], closes_in=timedelta(hours=3)
    )
    await sweep_once(settings, sessionmaker)
    await sweep_once(settings, sessionmaker)
    listed = (await client.get("/v1/proposals", headers=bearer(member))).json()["items"]
    newest = listed[0]["id"]
    events = (await client.get(f"/v1/proposals/{newest}/events", headers=bearer(member))).json()[
        "items"
    ]
    assert [e["kind"] for e in events] == ["opened", "closing_soon"]


async def test_nothing_stored_or_logged_links_a_member_to_their_ballot(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    sessionmaker: Sessions,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with sessionmaker() as session:
        schema = await session.run_sync(
            lambda sync: {
                table: (
                    inspect(sync.connection()).get_columns(table),
                    inspect(sync.connection()).get_foreign_keys(table),
                )
                for table in ("ballot", "sealed_ballot", "proposal_voter")
            }
        )
    ballot_columns = {c["name"] for c in schema["ballot"][0]}
    assert ballot_columns == {"id", "proposal_id", "member_class", "receipt_hash", "content"}
    assert [fk["referred_table"] for fk in schema["ballot"][1]] == ["proposal"]
    sealed_columns = {c["name"] for c in schema["sealed_ballot"][0]}
    assert sealed_columns == {"lookup", "proposal_id", "sealed"}
    assert [fk["referred_table"] for fk in schema["sealed_ballot"][1]] == ["proposal"]
    voter_columns = {c["name"] for c in schema["proposal_voter"][0]}
    assert voter_columns == {"proposal_id", "member_id", "account_id", "member_class", "voted"}

    await install(sessionmaker, bylaws_with(results_hidden_until_close=False))
    member = await patient_owner(client, admin)
    draft = await propose(client, admin)
    await open_vote(client, admin, draft["id"])
    caplog.set_level(logging.DEBUG)
    url = f"/v1/proposals/{draft['id']}"
    cast = (await vote(client, member, draft["id"], vote="yes")).json()
    async with sessionmaker() as session:
        lookup = (await session.execute(select(SealedBallot))).scalar_one().lookup
    await vote(client, member, draft["id"], vote="no", receipt=cast["receipt"].lower())
    await result(client, member, draft["id"])  # a running count opens the sealed ballots
    await close(client, admin, draft["id"])
    async with sessionmaker() as session:
        ballot_id = str((await session.execute(select(Ballot))).scalar_one().id)
    for path in ("ballots.json", "ballots.csv", f"verify?receipt={cast['receipt']}", "result"):
        assert (await client.get(f"{url}/{path}", headers=bearer(member))).status_code == 200
    server_side = [r for r in caplog.records if r.name.split(".")[0] not in ("httpx", "httpcore")]
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in server_side)
    assert "/ballots" in logged  # the requests were logged, without what would identify a ballot
    for secret in (cast["receipt"], cast["receipt_hash"], lookup, ballot_id):
        assert secret not in logged
        assert secret.lower() not in logged.lower()


async def test_a_members_export_holds_their_governance_part_but_never_their_vote(
    client: httpx.AsyncClient, admin: dict[str, Any], sessionmaker: Sessions
) -> None:
    await install(sessionmaker, default_bylaws())
    member = await patient_owner(client, admin)
    draft = await propose(client, admin)
    await client.post(
        f"/v1/proposals/{draft['id']}/comments",
        json={"body": "Vivo en Tlaxiaco y lo necesitamos."},
        headers=bearer(member),
    )
    await open_vote(client, admin, draft["id"])
    cast = (await vote(client, member, draft["id"], vote="no")).json()
    export = await client.get("/v1/me/export", headers=bearer(member))
    governance = export.json()["governance"]
    assert [c["body"] for c in governance["comments"]] == ["Vivo en Tlaxiaco y lo necesitamos."]
    assert [(v["proposal_id"], v["voted"]) for v in governance["rolls"]] == [(draft["id"], True)]
    for secret in (cast["receipt"], cast["receipt_hash"], '"no"'):
        assert secret not in export.text

    erased = await client.post(
        "/v1/me/erasure", json={"password": PASSWORD}, headers=bearer(member)
    )
    assert "your comments on proposals" in erased.json()["erased"]
    thread = (
        await client.get(f"/v1/proposals/{draft['id']}/comments", headers=bearer(admin))
    ).json()["items"]
    assert "Tlaxiaco" not in thread[0]["body"]
    still = (await client.get(f"/v1/proposals/{draft['id']}", headers=bearer(admin))).json()
    assert still["turnout"]["voted"]["patient"] == 1  # turnout stays exact


async def test_the_draft_body_is_documented_as_one_model_per_kind_with_its_problems(
    client: httpx.AsyncClient,
) -> None:
    spec = (await client.get("/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    draft = schemas["ProposalCreate"]
    assert draft["discriminator"]["propertyName"] == "kind"
    by_kind = {
        kind: schemas[ref.rsplit("/", 1)[-1]]
        for kind, ref in draft["discriminator"]["mapping"].items()
    }
    assert set(by_kind) == {
        "resolution",
        "bylaw_amendment",
        "surplus_allocation",
        "board_election",
        "priorities",
    }
    required = {kind: set(model["required"]) - {"kind", "title"} for kind, model in by_kind.items()}
    assert required == {
        "resolution": set(),
        "bylaw_amendment": {"document", "effective_from"},
        "surplus_allocation": {"allocation_run_id"},
        "board_election": {"candidates"},
        "priorities": {"options"},
    }
    assert all(model["additionalProperties"] is False for model in by_kind.values())
    opening = spec["paths"]["/v1/proposals/{proposal_id}/open"]["post"]["responses"]["422"]
    assert "`record-date-in-future`" in opening["description"]
    assert "`empty-roll`" in opening["description"]
