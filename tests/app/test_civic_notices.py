"""What members hear of votes and dues, and a doctor of their waiting room (issue 16).

A vote's opening reaches every member on its roll and nobody else; its closing-soon reminder
reaches only those who have not voted, and the outbox keeps nothing that tells who has beyond
the absent reminder (and not even that after the close); its result reaches the roll. Dues: an
invoice due and a payment confirmed, to the household's holder and its sponsor, with the amounts
in the household's currency and, for the sponsor who pays in dollars, also in dollars, formatted
by Babel in each one's locale. A patient entering the waiting room tells the doctor, once."""

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import httpx
import pytest
from babel.numbers import format_currency
from sqlalchemy import event, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.outbox import Dispatcher
from app.settings import Settings
from cooperative.accounts.models import Account
from cooperative.bylaws.defaults import default_bylaws
from cooperative.kernel import clock
from cooperative.kernel.principal import Role
from cooperative.notifications.models import OutboxMessage
from cooperative.notifications.providers import DevelopmentProvider
from tests.conftest import Database
from tests.factories import (
    account_with_role,
    active_member,
    bearer,
    book,
    dues_period,
    exchange_rate,
    household,
    join_household,
    login,
    open_slots,
    paid,
    practitioner,
    signed_up,
)
from tests.governance_support import install, open_vote, patient_owner, propose, vote

Sessions = async_sessionmaker[AsyncSession]
BASE = "https://tequio.test"
OPENED, SOON, RESULT = (
    "governance.vote_opened",
    "governance.vote_closing_soon",
    "governance.vote_result",
)


@pytest.fixture
def inbox() -> DevelopmentProvider:
    return DevelopmentProvider()


@pytest.fixture
def dispatcher(sessionmaker: Sessions, inbox: DevelopmentProvider) -> Dispatcher:
    # one at a time: the test's sessions share one connection (the suite rolls it back)
    return Dispatcher(sessionmaker, [inbox], base_url=BASE, concurrency=1)


async def _messages(client: httpx.AsyncClient, tokens: dict[str, Any]) -> list[dict[str, Any]]:
    response = await client.get("/v1/me/notifications", headers=bearer(tokens))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    # the code that verified the account at sign-up is not what these tests are about
    return [item for item in items if not item["template"].startswith("code.")]


async def _templates(client: httpx.AsyncClient, tokens: dict[str, Any]) -> list[str]:
    return sorted(m["template"] for m in await _messages(client, tokens))


async def _rows(sessionmaker: Sessions, about: str) -> dict[str, dict[str, Any]]:
    """Every outbox row about the vote, every column, by id."""
    async with sessionmaker() as session:
        found = await session.execute(
            select(OutboxMessage).where(col(OutboxMessage.about).startswith(about))
        )
        return {str(m.id): m.model_dump() for m in found.scalars()}


async def _account_id(client: httpx.AsyncClient, tokens: dict[str, Any]) -> str:
    found: str = (await client.get("/v1/me", headers=bearer(tokens))).json()["id"]
    return found


async def test_a_vote_tells_its_roll_it_opened_reminds_only_non_voters_and_gives_the_result(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    sessionmaker: Sessions,
    settings: Settings,
    database: Database,
    dispatcher: Dispatcher,
    inbox: DevelopmentProvider,
    travel: Callable[[datetime], None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    await install(sessionmaker, default_bylaws())
    board = await login(client, await account_with_role(sessionmaker, settings, Role.BOARD))
    members = [await patient_owner(client, admin) for _ in range(4)]
    _, outsider = await signed_up(client)  # an account, not a member: not on the roll
    draft = await propose(client, board, title="Abrir una clínica en Tlaxiaco")
    closes = clock.now() + timedelta(days=3)

    inserts: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO OUTBOX_MESSAGE"):
            inserts.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", record)
    try:
        await open_vote(client, board, draft["id"], closes_at=closes)
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", record)
    assert len(inserts) == 1  # the roll's eight messages in one statement, not one per member

    for member in members:
        messages = {m["template"]: m for m in await _messages(client, member)}
        assert sorted(messages) == sorted([OPENED, SOON])
        assert messages[OPENED]["body"].startswith(
            "Se abrió una votación en Tequio: «Abrir una clínica en Tlaxiaco». Cierra el "
        )
        assert messages[OPENED]["body"].endswith(f"/v1/proposals/{draft['id']}")
        assert "(hora de Ciudad de México)" in messages[OPENED]["body"]
        soon_at = datetime.fromisoformat(messages[SOON]["not_before"])
        assert soon_at == closes - timedelta(hours=settings.governance_closing_soon_hours)
    assert await _messages(client, outsider) == []

    about = f"proposal:{draft['id']}"
    before = await _rows(sessionmaker, about)
    voters, abstainers = members[:2], members[2:]
    with caplog.at_level(logging.DEBUG):
        for voter in voters:
            cast = await vote(client, voter, draft["id"], vote="yes")
            assert cast.status_code == 200, cast.text
    # no log line of the casts names a voter or a message
    voter_ids = [await _account_id(client, v) for v in voters]
    for line in caplog.records:
        text = line.getMessage() + str(line.__dict__)
        assert not any(a in text for a in voter_ids) and "outbox" not in text.lower()

    after = await _rows(sessionmaker, about)
    # every row left is exactly as it was (no state, reason or time says who voted); the only
    # change is that the voters' own reminders are gone
    assert all(before[key] == row for key, row in after.items())
    gone = [before[key] for key in before.keys() - after.keys()]
    assert sorted(str(r["recipient_account_id"]) for r in gone) == sorted(voter_ids)
    assert {r["template"] for r in gone} == {SOON}
    assert not any(r["state"] == "cancelled" or r["provider_reason"] for r in after.values())
    for voter in voters:
        assert await _templates(client, voter) == [OPENED]

    emails = {(await client.get("/v1/me", headers=bearer(a))).json()["email"] for a in abstainers}
    assert await dispatcher.drain() == 4  # the openings, due now
    inbox.inbox.clear()
    travel(closes - timedelta(hours=24) + timedelta(seconds=1))
    assert await dispatcher.drain() == 2
    addresses = {m.address for m in inbox.inbox}
    assert addresses == emails
    assert all(m.body.startswith("La votación de Tequio «Abrir una clínica") for m in inbox.inbox)

    inbox.inbox.clear()
    travel(closes + timedelta(seconds=1))
    board = await login(client, await account_with_role(sessionmaker, settings, Role.BOARD))
    shown = await client.get(f"/v1/proposals/{draft['id']}/result", headers=bearer(board))
    assert shown.status_code in (200, 403), shown.text  # whoever looks, the vote closes
    left = await _rows(sessionmaker, about)
    assert {r["template"] for r in left.values()} == {OPENED, RESULT}  # no reminder survives
    assert await dispatcher.drain() == 4
    assert len({m.address for m in inbox.inbox}) == 4
    assert all(m.subject == "El resultado de una votación" for m in inbox.inbox)
    assert all("yes" not in m.body and "sí" not in m.body.lower() for m in inbox.inbox)


def _money(minor: int, currency: str, locale: str) -> str:
    return str(format_currency(Decimal(minor) / 100, currency, locale=locale))


@pytest.mark.usefixtures("bylaws_installed")
async def test_invoices_due_and_payments_confirmed_reach_holder_and_sponsor_in_both_currencies(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    treasurer: dict[str, Any],
    sessionmaker: Sessions,
) -> None:
    """Juan, in Los Angeles, reads English and pays his family's pesos dues in dollars; Lupe,
    who lives there, holds the household."""
    lupe_member, lupe = await active_member(client, admin)
    juan_member, juan = await active_member(client, admin, full_name="Juan García")
    async with sessionmaker() as session:
        await session.execute(
            update(Account)
            .where(col(Account.id) == uuid.UUID(juan_member["account_id"]))
            .values(preferred_language="en")
        )
        await session.commit()
    family = await household(
        client, juan, role="sponsor", subdivision="MIC", area="urban", municipality="Morelia"
    )
    await join_household(client, juan, family["id"], lupe_member, lupe)
    await exchange_rate(client, treasurer, "17.25")
    # Juan pays USD 5.00 ahead (MXN 86.25 of credit): he pays in dollars
    payment = await paid(
        client, juan, treasurer, household_id=family["id"], amount_minor=500, currency="USD"
    )
    settled = payment["settled_minor"]
    assert settled == 8625
    confirmed = "dues.payment_confirmed"
    [to_juan] = [m for m in await _messages(client, juan) if m["template"] == confirmed]
    [to_lupe] = [m for m in await _messages(client, lupe) if m["template"] == confirmed]
    assert to_juan["language"] == "en" and to_lupe["language"] == "es"
    assert to_juan["body"].startswith(
        f"Tequio's treasurer confirmed a payment of {_money(500, 'USD', 'en_US')}, "
        f"{_money(settled, 'MXN', 'en_US')} for your household. See it here: "
    )
    assert to_lupe["body"].startswith(
        f"La tesorería de Tequio confirmó un pago de {_money(500, 'USD', 'es_MX')}, "
        f"{_money(settled, 'MXN', 'es_MX')} para su hogar. Véalo aquí: "
    )
    assert to_lupe["body"].endswith(f"/v1/payments/{payment['id']}")

    period = dues_period(1)
    run = await client.post("/v1/dues/runs", json={"period": period}, headers=bearer(admin))
    assert run.status_code == 200, run.text
    due = "dues.invoice_due"
    [juan_due] = [m for m in await _messages(client, juan) if m["template"] == due]
    [lupe_due] = [m for m in await _messages(client, lupe) if m["template"] == due]
    # the credit pays part of it: what is still owed is what they are told
    balance = (
        await client.get(f"/v1/households/{family['id']}/balance", headers=bearer(lupe))
    ).json()
    owed = balance["outstanding_minor"]
    assert 0 < owed < balance["invoiced_minor"]
    dollars = int((Decimal(owed) / Decimal("17.25")).quantize(Decimal(1), ROUND_HALF_EVEN))
    assert (
        f"Your household's Tequio dues for {period} are {_money(owed, 'MXN', 'en_US')} "
        f"(about {_money(dollars, 'USD', 'en_US')}), due on "
    ) in juan_due["body"]
    assert (
        f"La cuota de Tequio de su hogar para {period} es de {_money(owed, 'MXN', 'es_MX')}, "
        "con vencimiento el "
    ) in lupe_due["body"]  # Lupe pays in pesos: one currency
    assert lupe_due["body"].endswith(f"/v1/households/{family['id']}/balance")
    for message in (to_juan, to_lupe, juan_due, lupe_due):
        words = message["body"].lower().split()
        assert not {"fee", "class", "clase", "cuota:"} & set(words), message["body"]


@pytest.mark.usefixtures("bylaws_installed")
async def test_a_patient_in_the_waiting_room_tells_the_doctor_once(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    sessionmaker: Sessions,
    settings: Settings,
    travel: Callable[[datetime], None],
) -> None:
    profile, doctor = await practitioner(
        client, admin, sessionmaker, settings, specialties=("cardiology",)
    )
    doctor_email = (await client.get("/v1/me", headers=bearer(doctor))).json()["email"]
    rosa_account, rosa = await signed_up(client, display_name="Rosa Pérez")
    later = (clock.today() + timedelta(days=2)).isoformat()
    slot = next(
        s
        for s in await open_slots(client, rosa, **{"from": later})
        if s["practitioner_id"] == profile["id"]
    )
    booked = await book(client, rosa, profile["id"], slot["start"], reason="dolor en el pecho")
    assert booked.status_code == 201, booked.text
    appointment = booked.json()["id"]
    consent = {"version": 1, "language": "es"}
    given = await client.post("/v1/me/telehealth-consents", json=consent, headers=bearer(rosa))
    assert given.status_code == 200, given.text
    travel(datetime.fromisoformat(slot["start"]) - timedelta(minutes=5))
    rosa = await login(client, rosa_account["email"])
    url = f"/v1/appointments/{appointment}/consult/join"
    for _ in range(2):  # she comes in twice (a reconnect): the doctor hears it once
        joined = await client.post(url, headers=bearer(rosa))
        assert joined.status_code == 200, joined.text
    doctor = await login(client, doctor_email)
    waiting = [
        m for m in await _messages(client, doctor) if m["template"] == "consult.patient_waiting"
    ]
    assert len(waiting) == 1
    [message] = waiting
    assert message["subject"] == "Su paciente lo espera"
    assert message["state"] == "queued"
    assert message["body"].endswith(f"/consult/{appointment}")
    for private in ("Rosa", "Pérez", "pecho", "dolor", "cardio"):
        assert private not in message["body"]
