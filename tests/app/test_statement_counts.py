"""How many SQL statements the hottest requests send, pinned on both databases: a change that
adds one fails here, and the failure lists the statements the request sends now.

What is counted is every statement the request sends to the database (savepoints included):
the test's own savepoint around each request (the suite rolls every test back) is left out,
and so are BEGIN and COMMIT, which every request sends once whatever it does.

Booking is counted on its costliest path: a member in good standing with an attested household
(the sliding-scale fee), with an Idempotency-Key, as the clients send it.
"""

import contextlib
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.settings import Settings
from cooperative.kernel import clock
from tests.conftest import Database
from tests.factories import (
    active_member,
    attest,
    bearer,
    dues_period,
    household,
    open_slots,
    paid,
    practitioner,
    signed_up,
    treasurer_tokens,
)
from tests.governance_support import open_vote, patient_owner, propose, vote

pytestmark = pytest.mark.usefixtures("bylaws_installed")

_HARNESS = re.compile(r"^(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT) (\w+)$")


@contextlib.contextmanager
def sent(database: Database) -> Iterator[list[str]]:
    """The statements sent meanwhile, through a `before_cursor_execute` listener on the engine
    the app uses, less the test's savepoint around the request."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(database.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", record)
    first = _HARNESS.match(seen[0]) if seen else None
    last = _HARNESS.match(seen[-1]) if seen else None
    if first and last and first.group(2) == last.group(2):
        del seen[0], seen[-1]


def _shown(statements: list[str]) -> str:
    return "\n".join(f"  {n}. {s[:160]}" for n, s in enumerate(statements, 1))


@pytest.fixture
async def world(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> tuple[dict[str, Any], str, list[str]]:
    """A patient-owner with an attested household, a doctor and the doctor's open slots."""
    profile, _ = await practitioner(client, admin, sessionmaker, settings)
    _, patient = await active_member(client, admin)
    home = await household(client, patient)
    await attest(client, patient, home["id"], income_minor=100, household_size=3)
    later = (clock.today() + timedelta(days=2)).isoformat()
    slots = await open_slots(client, patient, **{"from": later})
    starts = [s["start"] for s in slots if s["practitioner_id"] == profile["id"]]
    return patient, profile["id"], starts


def _booking(doctor_id: str, start: str) -> dict[str, Any]:
    return {"practitioner_id": doctor_id, "start": start, "patient_jurisdiction": "MX-OAX"}


async def test_an_authenticated_read_of_me_sends_one_statement(
    client: httpx.AsyncClient, database: Database, world: tuple[dict[str, Any], str, list[str]]
) -> None:
    patient, _, _ = world
    with sent(database) as statements:
        response = await client.get("/v1/me", headers=bearer(patient))
    assert response.status_code == 200, response.text
    # the sign-in's session checked and the account read, together
    assert len(statements) == 1, _shown(statements)


async def test_listing_my_appointments_sends_four_statements(
    client: httpx.AsyncClient, database: Database, world: tuple[dict[str, Any], str, list[str]]
) -> None:
    patient, doctor_id, starts = world
    headers = {**bearer(patient), "Idempotency-Key": "lista"}
    booked = await client.post(
        "/v1/appointments", json=_booking(doctor_id, starts[0]), headers=headers
    )
    assert booked.status_code == 201, booked.text
    with sent(database) as statements:
        response = await client.get("/v1/appointments", headers=bearer(patient))
    assert response.status_code == 200, response.text
    assert len(response.json()["items"]) == 1
    # the sign-in, the page of appointments, their doctors, the bylaws' late-cancellation window
    # (until when each may be cancelled free of charge)
    assert len(statements) == 4, _shown(statements)


async def test_a_booking_sends_ten_statements_on_postgresql_and_thirteen_on_sqlite(
    client: httpx.AsyncClient, database: Database, world: tuple[dict[str, Any], str, list[str]]
) -> None:
    patient, doctor_id, starts = world
    headers = {**bearer(patient), "Idempotency-Key": "una-consulta"}
    with sent(database) as statements:
        response = await client.post(
            "/v1/appointments", json=_booking(doctor_id, starts[0]), headers=headers
        )
    assert response.status_code == 201, response.text
    assert response.json()["fee"]["fee_class"] == "A"  # the sliding scale's path
    # the sign-in; the bylaws in force; the doctor, locked; the open slot; licences; the
    # membership with its household and the household's attestation (one SELECT); what the
    # member owes; the doctor's and the patient's notification preferences (one SELECT for
    # both: the channel, language and quiet hours of the doctor's notice and the reminders);
    # the appointment, its "booked" event, its messages in the outbox and the open slots it
    # blocks (one statement of data-modifying CTEs on PostgreSQL; on SQLite, which has none,
    # four); the webhook endpoints listening for it (apps holding the patient's grant, or the
    # clinic's own: one SELECT, and no INSERT when none listens)
    writes = [s for s in statements if s.startswith(("INSERT", "DELETE", "WITH", "UPDATE"))]
    if database.backend == "postgresql":
        assert len(statements) == 10, _shown(statements)
        assert len(writes) == 1 and writes[0].startswith("WITH booked AS (INSERT INTO appointment")
        for table in ("appointment_event", "outbox_message"):
            assert f"INSERT INTO {table}" in writes[0]
        assert "DELETE FROM open_slot" in writes[0]
    else:
        assert len(statements) == 13, _shown(statements)
        assert len(writes) == 4, _shown(statements)


async def test_a_refused_booking_sends_nine_statements(
    client: httpx.AsyncClient, database: Database, world: tuple[dict[str, Any], str, list[str]]
) -> None:
    patient, doctor_id, starts = world
    first = await client.post(
        "/v1/appointments",
        json=_booking(doctor_id, starts[0]),
        headers={**bearer(patient), "Idempotency-Key": "la-primera"},
    )
    assert first.status_code == 201, first.text
    with sent(database) as statements:
        response = await client.post(
            "/v1/appointments",
            json=_booking(doctor_id, starts[0]),
            headers={**bearer(patient), "Idempotency-Key": "otra-vez-la-misma-hora"},
        )
    assert response.status_code == 409, response.text
    assert response.json()["type"].endswith("/slot-taken")
    # up to the open slot, not there: then the rules say why (the doctor's weekly windows, extra
    # windows, time off and booked times, where the slot is found taken), and whether this key
    # booked it already (a retry whose first answer was lost)
    assert len(statements) == 9, _shown(statements)


async def test_a_page_of_the_directory_costs_the_same_statements_for_two_doctors_as_for_six(
    client: httpx.AsyncClient,
    database: Database,
    admin: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    """`GET /v1/practitioners` and the FHIR directory read a page's licences and weekly
    windows in one statement each, not two a doctor; and every doctor still shows them."""
    _, reader = await signed_up(client)
    made = 0
    for doctors in (2, 6):
        while made < doctors:
            await practitioner(client, admin, sessionmaker, settings)
            made += 1
        for path in ("/v1/practitioners", "/fhir/R4/Practitioner", "/fhir/R4/PractitionerRole"):
            with sent(database) as statements:
                response = await client.get(path, headers=bearer(reader))
            assert response.status_code == 200, response.text
            # the sign-in; the page of doctors; their licences; their weekly windows
            assert len(statements) == 4, (path, _shown(statements))
        page = (await client.get("/v1/practitioners", headers=bearer(reader))).json()["items"]
        assert len(page) == doctors
        assert all(doctor["licences"] and doctor["windows"] for doctor in page), page


async def test_the_list_of_proposals_costs_the_same_statements_for_two_as_for_five(
    client: httpx.AsyncClient, database: Database, admin: dict[str, Any]
) -> None:
    """Each proposal's cosigners, turnout by class and the reader's own part are read for the
    whole page at once (three statements a proposal before), and each listed proposal says
    what reading it alone says."""
    owner = await patient_owner(client, admin)
    made: list[str] = []
    for proposals in (2, 5):
        while len(made) < proposals:
            created = await propose(client, admin)
            made.append(created["id"])
            if len(made) % 2:  # every other one open to votes, this owner's cast on the first
                await open_vote(client, admin, created["id"])
                if len(made) == 1:
                    assert (await vote(client, owner, created["id"], vote="yes")).status_code == 200
        with sent(database) as statements:
            listed = await client.get("/v1/proposals", headers=bearer(owner))
        assert listed.status_code == 200, listed.text
        # the sign-in; the bylaws in force; the reader's membership (who may see proposals);
        # the votes whose time is up (closed first: none here); the page of proposals; their
        # cosigners; their turnouts; the reader's place on their rolls
        assert len(statements) == 8, _shown(statements)
        items = listed.json()["items"]
        assert len(items) == proposals
        for item in items:
            alone = await client.get(f"/v1/proposals/{item['id']}", headers=bearer(owner))
            assert item == alone.json()
        first = next(item for item in items if item["id"] == made[0])
        assert first["you"] == {"eligible": True, "member_class": "patient", "voted": True}
        assert first["turnout"]["voted"]["patient"] == 1


async def test_the_treasurers_list_of_payments_costs_the_same_statements_for_two_as_for_five(
    client: httpx.AsyncClient,
    database: Database,
    admin: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    """Each payment's allocations to invoices are read for the whole page at once (one
    statement a payment before), and each listed payment says what reading it alone says."""
    treasurer = await treasurer_tokens(client, sessionmaker, settings)
    _, payer = await active_member(client, admin)
    home = await household(client, payer)
    await attest(client, payer, home["id"], income_minor=100, household_size=3)
    dues = {"period": dues_period()}
    assert (await client.post("/v1/dues/runs", json=dues, headers=bearer(admin))).is_success
    made = 0
    for payments in (2, 5):
        while made < payments:
            await paid(client, payer, treasurer, household_id=home["id"], amount_minor=5000)
            made += 1
        with sent(database) as statements:
            listed = await client.get("/v1/payments", headers=bearer(treasurer))
        assert listed.status_code == 200, listed.text
        # the sign-in; the page of payments; their allocations; the access log's entry
        assert len(statements) == 4, _shown(statements)
        items = listed.json()["items"]
        assert len(items) == payments
        assert items[0]["allocations"], items[0]  # the first paid the household's dues
        for item in items:
            alone = await client.get(f"/v1/payments/{item['id']}", headers=bearer(treasurer))
            assert item == alone.json()
