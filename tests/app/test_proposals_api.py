"""Proposals through the API: each kind end to end, each rule's pass and fail paths."""

import csv
import io
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.settings import Settings
from cooperative.bylaws.defaults import default_bylaws
from cooperative.dues.models import Invoice
from cooperative.governance import rules
from cooperative.governance.sealing import receipt_hash
from cooperative.kernel import clock
from cooperative.membership.models import Member
from tests.factories import attest, bearer, household, signed_up
from tests.governance_support import (
    amended,
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


async def test_a_resolution_from_draft_to_a_published_recountable_result(
    client: httpx.AsyncClient, admin: dict[str, Any], sessionmaker: Sessions
) -> None:
    await install(sessionmaker, default_bylaws())
    owners = [await patient_owner(client, admin) for _ in range(5)]
    draft = await propose(client, admin)
    assert draft["status"] == "draft"
    opened = await open_vote(client, admin, draft["id"])
    assert opened["status"] == "open"
    assert opened["turnout"] == {
        "eligible": {"doctor": 0, "patient": 5},
        "voted": {"doctor": 0, "patient": 0},
    }
    assert opened["bylaws_version"] == 1
    receipts = []
    for tokens, choice in zip(owners, ["yes", "yes", "yes", "no", "abstain"], strict=True):
        cast = await vote(client, tokens, draft["id"], vote=choice)
        assert cast.status_code == 200, cast.text
        receipts.append(cast.json()["receipt"])
    hidden = await client.get(f"/v1/proposals/{draft['id']}/result", headers=bearer(owners[0]))
    assert hidden.status_code == 409
    assert hidden.json()["type"].endswith("/proposal-not-closed")
    early = await client.get(f"/v1/proposals/{draft['id']}/ballots.json", headers=bearer(admin))
    assert early.status_code == 409
    seen = (await client.get(f"/v1/proposals/{draft['id']}", headers=bearer(owners[0]))).json()
    assert seen["turnout"]["voted"] == {"doctor": 0, "patient": 5}
    assert seen["you"] == {"eligible": True, "member_class": "patient", "voted": True}

    closed = await close(client, admin, draft["id"])
    assert closed["status"] == "closed"
    assert closed["passed"] is True
    outcome = await result(client, owners[1], draft["id"])
    majority = outcome["result"]["majority"]
    assert majority["total"] == {"eligible": 5, "yes": 3, "no": 1, "abstain": 1, "cast": 5}
    assert outcome["final"] is True

    published = (
        await client.get(f"/v1/proposals/{draft['id']}/ballots.json", headers=bearer(owners[2]))
    ).json()
    assert len(published["ballots"]) == 5
    assert {b["receipt_hash"] for b in published["ballots"]} == {receipt_hash(r) for r in receipts}
    assert rules.tally(published) == outcome["result"]  # anyone's recount gives the same
    as_csv = await client.get(f"/v1/proposals/{draft['id']}/ballots.csv", headers=bearer(admin))
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert sorted(r["vote"] for r in rows) == ["abstain", "no", "yes", "yes", "yes"]

    check = await client.get(
        f"/v1/proposals/{draft['id']}/verify",
        params={"receipt": receipts[3].lower()},
        headers=bearer(owners[0]),
    )
    assert check.json() == {
        "receipt_hash": receipt_hash(receipts[3]),
        "included": True,
        "content": {"vote": "no"},
    }
    events = (
        await client.get(f"/v1/proposals/{draft['id']}/events", headers=bearer(admin))
    ).json()["items"]
    assert [e["kind"] for e in events] == ["opened", "result"]


async def test_a_resolution_fails_on_a_missed_quorum_and_on_a_tie(
    client: httpx.AsyncClient, admin: dict[str, Any], sessionmaker: Sessions
) -> None:
    await install(sessionmaker, bylaws_with(rules={"resolution": {"quorum_bp": 5000}}))
    owners = [await patient_owner(client, admin) for _ in range(5)]
    thin = await propose(client, admin)
    await open_vote(client, admin, thin["id"])
    for tokens in owners[:2]:  # 2 of 5 voted: 40% < the 50% quorum, though both said yes
        assert (await vote(client, tokens, thin["id"], vote="yes")).status_code == 200
    await close(client, admin, thin["id"])
    outcome = (await result(client, admin, thin["id"]))["result"]
    assert outcome["passed"] is False
    assert outcome["majority"]["quorum_met"] is False
    assert outcome["majority"]["threshold_met"] is True
    assert "quorum not met" in outcome["majority"]["reasons"]

    tie = await propose(client, admin)
    await open_vote(client, admin, tie["id"])
    for tokens, choice in zip(owners, ["yes", "yes", "no", "no", "abstain"], strict=True):
        assert (await vote(client, tokens, tie["id"], vote=choice)).status_code == 200
    await close(client, admin, tie["id"])
    outcome = (await result(client, admin, tie["id"]))["result"]
    assert outcome["majority"]["quorum_met"] is True
    assert outcome["passed"] is False  # a tie keeps the status quo
    assert outcome["majority"]["reasons"] == ["no majority voted yes"]


async def test_an_amendment_with_two_thirds_overall_fails_when_one_class_is_against(
    client: httpx.AsyncClient, admin: dict[str, Any], sessionmaker: Sessions, settings: Settings
) -> None:
    document = default_bylaws()
    await install(sessionmaker, document)
    patients = [await patient_owner(client, admin) for _ in range(6)]
    doctors = [await doctor_owner(client, admin, sessionmaker, settings) for _ in range(2)]
    draft = await propose(
        client,
        admin,
        "bylaw_amendment",
        document=document.model_dump(mode="json"),
        effective_from=(clock.now() + timedelta(days=30)).isoformat(),
    )
    await open_vote(client, admin, draft["id"])
    for tokens in patients:
        assert (await vote(client, tokens, draft["id"], vote="yes")).status_code == 200
    for tokens in doctors:
        assert (await vote(client, tokens, draft["id"], vote="no")).status_code == 200
    closed = await close(client, admin, draft["id"])
    outcome = (await result(client, admin, draft["id"]))["result"]["majority"]
    assert outcome["total"]["yes"] * 3 >= (outcome["total"]["yes"] + outcome["total"]["no"]) * 2
    assert outcome["threshold_met"] is True
    assert outcome["classes_met"] is False
    assert outcome["reasons"] == ["no majority among doctor members"]
    assert closed["passed"] is False
    assert closed["adopted_bylaws_version"] is None
    versions = (await client.get("/v1/bylaws/versions")).json()["items"]
    assert [v["number"] for v in versions] == [1]


async def test_ineligible_voters_are_told_why_and_change_nothing(
    client: httpx.AsyncClient, admin: dict[str, Any], sessionmaker: Sessions, settings: Settings
) -> None:
    await install(sessionmaker, default_bylaws())
    early = await patient_owner(client, admin)
    lapsed = await patient_owner(client, admin)
    newer = await patient_owner(client, admin)
    async with sessionmaker() as session:
        # the early member was admitted a week ago; the lapsed one's share is long overdue
        await session.execute(
            update(Member)
            .where(
                col(Member.id).in_(
                    [uuid.UUID(early["member"]["id"]), uuid.UUID(lapsed["member"]["id"])]
                )
            )
            .values(decided_at=clock.now() - timedelta(days=7))
        )
        await session.execute(
            update(Invoice)
            .where(col(Invoice.member_id) == uuid.UUID(lapsed["member"]["id"]))
            .values(due_on=clock.today() - timedelta(days=120))
        )
        await session.commit()
    draft = await propose(client, admin)
    yesterday = clock.today() - timedelta(days=1)
    opened = await open_vote(client, admin, draft["id"], record_date=yesterday.isoformat())
    # only the early member: the newer one joined after the record date, the other had lapsed
    assert opened["turnout"]["eligible"] == {"doctor": 0, "patient": 1}
    refused = await vote(client, newer, draft["id"], vote="yes")
    assert refused.status_code == 403
    problem = refused.json()
    assert problem["type"].endswith("/not-eligible-to-vote")
    # the record date in words, in Spanish: "1 de diciembre de 2026", never "2026-12-01"
    months = ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
              "septiembre", "octubre", "noviembre", "diciembre"]  # fmt: skip
    spoken = f"{yesterday.day} de {months[yesterday.month - 1]} de {yesterday.year}"
    assert spoken in problem["detail"] and yesterday.isoformat() not in problem["detail"]
    assert (await vote(client, lapsed, draft["id"], vote="yes")).status_code == 403
    assert (await vote(client, early, draft["id"], vote="yes")).status_code == 200

    today_vote = await propose(client, admin)
    opened = await open_vote(client, admin, today_vote["id"])
    assert opened["turnout"]["eligible"] == {"doctor": 0, "patient": 2}  # the lapsed one is not
    assert (await vote(client, newer, today_vote["id"], vote="yes")).status_code == 200
    refused = await vote(client, lapsed, today_vote["id"], vote="yes")
    assert refused.status_code == 403
    spanish = await client.post(
        f"/v1/proposals/{today_vote['id']}/ballots",
        json={"vote": "yes"},
        headers={**bearer(lapsed), "Accept-Language": "es-MX"},
    )
    assert "padrón" in spanish.json()["detail"]
    _, outsider = await signed_up(client)  # not a member at all: sees no proposal
    hidden = await client.get(f"/v1/proposals/{today_vote['id']}", headers=bearer(outsider))
    assert hidden.status_code == 404
    listed = await client.get("/v1/proposals", headers=bearer(outsider))
    assert listed.json()["items"] == []
    after = (await client.get(f"/v1/proposals/{today_vote['id']}", headers=bearer(admin))).json()
    assert after["turnout"]["voted"] == {"doctor": 0, "patient": 1}
    # a member who joins after the opening is not added to the roll either
    newcomer = await patient_owner(client, admin)
    assert (await vote(client, newcomer, today_vote["id"], vote="no")).status_code == 403


async def test_a_ballot_is_replaced_with_its_receipt_and_the_latest_counts(
    client: httpx.AsyncClient, admin: dict[str, Any], sessionmaker: Sessions
) -> None:
    await install(sessionmaker, default_bylaws())
    voter, other = await patient_owner(client, admin), await patient_owner(client, admin)
    draft = await propose(client, admin)
    await open_vote(client, admin, draft["id"])
    first = (await vote(client, voter, draft["id"], vote="no")).json()
    again = await vote(client, voter, draft["id"], vote="yes")
    assert again.status_code == 409
    assert again.json()["type"].endswith("/already-voted")
    wrong = await vote(client, voter, draft["id"], vote="yes", receipt="AAAA-BBBB-CCCC-DDDD")
    assert wrong.status_code == 404
    replaced = await vote(client, voter, draft["id"], vote="yes", receipt=first["receipt"])
    assert replaced.status_code == 200
    assert replaced.json()["replaced"] is True
    assert replaced.json()["receipt_hash"] == first["receipt_hash"]
    # another member holding the receipt cannot use it: they have not voted yet
    stolen = await vote(client, other, draft["id"], vote="no", receipt=first["receipt"])
    assert stolen.status_code == 404
    bad = await vote(client, voter, draft["id"], ranking=["x"])
    assert bad.status_code == 422
    assert bad.json()["type"].endswith("/wrong-ballot-shape")  # a resolution takes a `vote`
    await close(client, admin, draft["id"])
    published = (
        await client.get(f"/v1/proposals/{draft['id']}/ballots.json", headers=bearer(admin))
    ).json()
    assert [b["content"] for b in published["ballots"]] == [{"vote": "yes"}]
    late = await vote(client, voter, draft["id"], vote="no", receipt=first["receipt"])
    assert late.status_code == 409
    assert late.json()["type"].endswith("/proposal-not-open")
    missing = await client.get(
        f"/v1/proposals/{draft['id']}/verify",
        params={"receipt": "ZZZZ-ZZZZ-ZZZZ-ZZZZ"},
        headers=bearer(other),
    )
    assert missing.json()["included"] is False


async def test_a_passed_amendment_installs_new_bylaws_and_fees_follow_them(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    sessionmaker: Sessions,
    settings: Settings,
    travel: Callable[[datetime], None],
) -> None:
    document = default_bylaws()
    await install(sessionmaker, document)
    patients = [await patient_owner(client, admin) for _ in range(3)]
    doctors = [await doctor_owner(client, admin, sessionmaker, settings) for _ in range(2)]
    home = await household(client, patients[0])
    await attest(client, patients[0], home["id"], income_minor=0, household_size=4)
    before = (
        await client.get(f"/v1/households/{home['id']}/fee-class", headers=bearer(patients[0]))
    ).json()
    assert before["bylaws_version"] == 1
    assert before["dues"]["amount_minor"] == 2000
    closes = clock.now() + timedelta(minutes=10)
    draft = await propose(
        client,
        admin,
        "bylaw_amendment",
        title="Cuota nominal de MXN 15",
        document=amended(document, MXN=1500),
        effective_from=closes.isoformat(),
    )
    rival = await propose(  # drafted from version 1 too, opened only after the first passes
        client,
        admin,
        "bylaw_amendment",
        title="Cuota nominal de MXN 25",
        document=amended(document, MXN=2500),
        effective_from=(closes + timedelta(days=30)).isoformat(),
    )
    await open_vote(client, admin, draft["id"], closes_at=closes)
    for tokens in [*patients, *doctors]:
        assert (await vote(client, tokens, draft["id"], vote="yes")).status_code == 200
    travel(closes + timedelta(seconds=1))  # the close passes, however slow the machine
    outcome = await result(client, patients[1], draft["id"])  # closes it: time is up
    assert outcome["passed"] is True
    proposal = (await client.get(f"/v1/proposals/{draft['id']}", headers=bearer(admin))).json()
    assert proposal["adopted_bylaws_version"] == 2
    version = (await client.get("/v1/bylaws/versions/2")).json()
    assert version["proposal_id"] == draft["id"]
    assert version["adopted_by"] == "governance"
    after = (
        await client.get(f"/v1/households/{home['id']}/fee-class", headers=bearer(patients[0]))
    ).json()
    assert after["bylaws_version"] == 2
    assert after["dues"]["amount_minor"] == 1500
    stale = await client.post(
        f"/v1/proposals/{rival['id']}/open",
        json={"closes_at": (clock.now() + timedelta(days=2)).isoformat()},
        headers={**bearer(admin), "Accept-Language": "en"},
    )
    assert stale.status_code == 422  # it would silently undo the amendment just adopted
    assert stale.json()["type"].endswith("/amendment-outdated")
    assert "version 2" in stale.json()["detail"]
