"""Alembic on an empty database: upgrade to head, models agree (alembic check), down to base."""

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from app.db import create_engine
from app.migrate import check_on, downgrade_on, upgrade_on
from app.models import metadata
from tests.conftest import BACKENDS, make_settings


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) - {"alembic_version"}


@pytest.mark.parametrize("backend", BACKENDS)
async def test_upgrade_check_downgrade_on_an_empty_database(
    backend: str, empty_database_url: Callable[[str], Any]
) -> None:
    url = await empty_database_url(backend)
    engine = create_engine(make_settings(url))
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_tables) == set()
            await connection.run_sync(upgrade_on)
            await connection.commit()
            assert await connection.run_sync(_tables) == set(metadata.tables)
            await connection.run_sync(check_on)  # raises if models and migrations disagree

            await connection.run_sync(downgrade_on)
            await connection.commit()
            assert await connection.run_sync(_tables) == set()

            await connection.run_sync(upgrade_on)  # and up again from base
            await connection.commit()
            assert await connection.run_sync(_tables) == set(metadata.tables)
    finally:
        await engine.dispose()


def test_migration_files_follow_the_dated_naming() -> None:
    from pathlib import Path

    import migrations

    versions = Path(migrations.__file__).parent / "versions"
    names = sorted(p.name for p in versions.glob("*.py"))
    assert names
    for name in names:
        assert name[:10].count("-") == 2 and name[10] == "_" and name[11:15].isdigit(), name


BEFORE_CONFIRMATIONS = "01fd85b543ec"

_account = sa.table(
    "account",
    *(sa.column(name) for name in ("email", "display_name", "password_hash", "roles")),
    *(sa.column(name) for name in ("preferred_language", "is_active")),
    sa.column("id", sa.Uuid),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)
_household = sa.table(
    "household",
    *(sa.column(name) for name in ("name", "country", "subdivision", "municipality")),
    *(sa.column(name) for name in ("area", "currency")),
    sa.column("id", sa.Uuid),
    sa.column("created_by", sa.Uuid),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
_payment = sa.table(
    "payment",
    *(sa.column(name) for name in ("amount_minor", "currency", "settled_minor")),
    *(sa.column(name) for name in ("settled_currency", "credit_minor", "exchange_rate")),
    sa.column("id", sa.Uuid),
    sa.column("payer_account_id", sa.Uuid),
    sa.column("household_id", sa.Uuid),
    sa.column("received_at", sa.DateTime(timezone=True)),
)
_allocation = sa.table(
    "payment_allocation",
    sa.column("amount_minor"),
    sa.column("id", sa.Uuid),
    sa.column("payment_id", sa.Uuid),
    sa.column("invoice_id", sa.Uuid),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
_invoice = sa.table(
    "invoice",
    *(sa.column(name) for name in ("kind", "dedupe_key", "period", "amount_minor")),
    *(sa.column(name) for name in ("paid_minor", "currency", "bylaws_version")),
    sa.column("id", sa.Uuid),
    sa.column("household_id", sa.Uuid),
    sa.column("due_on", sa.Date),
    sa.column("issued_at", sa.DateTime(timezone=True)),
)
_bylaws = sa.table(
    "bylaws_version",
    *(sa.column(name) for name in ("number", "document", "digest", "adopted_by")),
    sa.column("effective_from", sa.DateTime(timezone=True)),
    sa.column("created_at", sa.DateTime(timezone=True)),
)


def _a_member_paid_before_confirmations(connection: Connection) -> uuid.UUID:
    """A household's dues, paid by a member in dollars at a rate of their choosing, the way
    payments were recorded before a treasurer confirmed them."""
    at = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)
    account, home, invoice, payment = (uuid.uuid4() for _ in range(4))
    connection.execute(
        sa.insert(_account).values(
            id=account, email="rosa@example.org", display_name="Rosa", password_hash="x",
            roles='["patient"]', preferred_language="es", is_active=True, created_at=at,
            updated_at=at,
        )
    )  # fmt: skip
    connection.execute(
        sa.insert(_household).values(
            id=home, name="Familia Martínez", country="MX", subdivision="OAX",
            municipality="Tlacotepec", area="rural", currency="MXN", created_by=account,
            created_at=at,
        )
    )  # fmt: skip
    connection.execute(
        sa.insert(_bylaws).values(
            number=1, document="{}", digest="0" * 64, adopted_by="admin", effective_from=at,
            created_at=at,
        )
    )  # fmt: skip
    connection.execute(
        sa.insert(_invoice).values(
            id=invoice, kind="dues", dedupe_key="dues:x", period="2026-11", amount_minor=2000,
            paid_minor=2000, currency="MXN", bylaws_version=1, household_id=home,
            due_on=date(2026, 11, 16), issued_at=at,
        )
    )  # fmt: skip
    connection.execute(
        sa.insert(_payment).values(
            id=payment, payer_account_id=account, household_id=home, amount_minor=200,
            currency="USD", exchange_rate="17.25", settled_minor=3450, settled_currency="MXN",
            credit_minor=1450, received_at=at,
        )
    )  # fmt: skip
    connection.execute(
        sa.insert(_allocation).values(
            id=uuid.uuid4(), payment_id=payment, invoice_id=invoice, amount_minor=2000,
            created_at=at,
        )
    )  # fmt: skip
    return payment


@pytest.mark.parametrize("backend", BACKENDS)
async def test_payments_recorded_before_confirmations_stay_confirmed_by_nobody(
    backend: str, empty_database_url: Callable[[str], Any]
) -> None:
    url = await empty_database_url(backend)
    engine = create_engine(make_settings(url))
    try:
        async with engine.connect() as connection:
            await connection.run_sync(upgrade_on, BEFORE_CONFIRMATIONS)
            payment = await connection.run_sync(_a_member_paid_before_confirmations)
            await connection.commit()
            await connection.run_sync(upgrade_on)
            await connection.commit()
            row = (
                await connection.execute(
                    sa.text(
                        "SELECT status, confirmed_by, settled_minor, credit_minor, "
                        "exchange_rate, exchange_rate_id, recorded_at FROM payment"
                    )
                )
            ).one()
            assert (row.status, row.confirmed_by, row.settled_minor, row.credit_minor) == (
                "confirmed",
                None,
                3450,
                1450,
            )
            assert (row.exchange_rate, row.exchange_rate_id) == ("17.25", None)
            assert row.recorded_at is not None
            allocated = await connection.execute(
                sa.select(_allocation.c.amount_minor).where(_allocation.c.payment_id == payment)
            )
            assert allocated.scalars().all() == [2000]
            await connection.run_sync(check_on)

            await connection.run_sync(downgrade_on, BEFORE_CONFIRMATIONS)  # and back
            await connection.commit()
            kept = await connection.execute(sa.text("SELECT settled_minor FROM payment"))
            assert kept.scalars().all() == [3450]
    finally:
        await engine.dispose()


BEFORE_ONE_SPELLING = "7446fbffd37a"
_account_with_phone = sa.table(
    "account",
    *(sa.column(name) for name in ("email", "phone", "display_name", "password_hash", "roles")),
    *(sa.column(name) for name in ("preferred_language", "is_active")),
    sa.column("id", sa.Uuid),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)


def _accounts_with_phones(connection: Connection, phones: list[str]) -> None:
    at = datetime(2026, 11, 30, 12, tzinfo=UTC)
    for index, phone in enumerate(phones):
        connection.execute(
            sa.insert(_account_with_phone).values(
                id=uuid.uuid4(), email=None, phone=phone, display_name=f"P{index}",
                password_hash="x", roles='["patient"]', preferred_language="es", is_active=True,
                created_at=at, updated_at=at,
            )
        )  # fmt: skip


@pytest.mark.parametrize("backend", BACKENDS)
async def test_phones_stored_as_typed_before_get_the_one_spelling_sign_in_looks_up(
    backend: str, empty_database_url: Callable[[str], Any]
) -> None:
    url = await empty_database_url(backend)
    engine = create_engine(make_settings(url))
    stored = ["+5219511000002", "+529511000003", "+5219511000003", "+999123456789"]
    try:
        async with engine.connect() as connection:
            await connection.run_sync(upgrade_on, BEFORE_ONE_SPELLING)
            await connection.run_sync(_accounts_with_phones, stored)
            await connection.commit()
            await connection.run_sync(upgrade_on)
            await connection.commit()
            phones = await connection.execute(sa.text("SELECT phone FROM account"))
            # the old mobile 1 is dropped; a spelling another account holds already, and a
            # number that is not a valid one, stay as they were
            assert sorted(phones.scalars()) == sorted(
                ["+529511000002", "+529511000003", "+5219511000003", "+999123456789"]
            )
    finally:
        await engine.dispose()


BEFORE_SIGNED_COUNTER_REFERRALS = "3f0b2c7d9e41"
_TYPED = {
    "findings": "HbA1c 9.8 %",
    "diagnostic_impression": "Diabetes tipo 2 descontrolada",
    "plan": "Agregar glibenclamida",
    "follow_up": None,
}


def _referrals_completed_the_old_way(connection: Connection) -> list[uuid.UUID]:
    """A patient, a clinic, and three referrals: one completed with a typed counter-referral,
    one answered in writing, one already holding a signed note's snapshot."""
    at = datetime(2026, 12, 2, 20, tzinfo=UTC)
    patient, clinic = uuid.uuid4(), uuid.uuid4()
    connection.execute(
        sa.insert(_account_with_phone).values(
            id=patient, email="rosa@example.org", phone=None, display_name="Rosa",
            password_hash="x", roles='["patient"]', preferred_language="es", is_active=True,
            created_at=at, updated_at=at,
        )
    )  # fmt: skip
    connection.execute(
        sa.text(
            "INSERT INTO clinic (id, name, jurisdiction, municipality, rural, timezone, "
            "created_at) VALUES (:id, 'Clínica San Miguel', 'MX-OAX', 'San Miguel', true, "
            "'America/Mexico_City', :at)"
        ).bindparams(
            sa.bindparam("id", type_=sa.Uuid), sa.bindparam("at", type_=sa.DateTime(timezone=True))
        ),
        {"id": clinic, "at": at},
    )
    snapshot = {"returned_at": at.isoformat(), "note": {"note_id": str(uuid.uuid4())}}
    ids = []
    for state, answer, counter in (
        ("completed", None, _TYPED),
        ("answered", _TYPED, None),
        ("completed", None, snapshot),
    ):
        ids.append(uuid.uuid4())
        connection.execute(
            sa.insert(_referral).values(
                id=ids[-1], clinic_id=clinic, patient_account_id=patient, specialty="cardiology",
                urgency="routine", reason="r", clinical_summary="s", diagnostic_impression="d",
                treatment_given="t", language="es", state=state, answer=answer,
                counter_referral=counter, created_at=at, version=1,
            )
        )  # fmt: skip
    return ids


_referral = sa.table(
    "referral",
    *(sa.column(name) for name in ("specialty", "urgency", "reason", "clinical_summary")),
    *(sa.column(name) for name in ("diagnostic_impression", "treatment_given", "language")),
    *(sa.column(name) for name in ("state", "version")),
    *(sa.column(name, sa.Uuid) for name in ("id", "clinic_id", "patient_account_id")),
    sa.column("answer", sa.JSON),
    sa.column("counter_referral", sa.JSON),
    sa.column("created_at", sa.DateTime(timezone=True)),
)


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_counter_referral_typed_before_signed_notes_is_kept_as_the_written_answer(
    backend: str, empty_database_url: Callable[[str], Any]
) -> None:
    url = await empty_database_url(backend)
    engine = create_engine(make_settings(url))
    try:
        async with engine.connect() as connection:
            await connection.run_sync(upgrade_on, BEFORE_SIGNED_COUNTER_REFERRALS)
            typed, answered, signed = await connection.run_sync(_referrals_completed_the_old_way)
            await connection.commit()
            await connection.run_sync(upgrade_on)
            await connection.commit()
            rows = await connection.execute(
                sa.select(_referral.c.id, _referral.c.answer, _referral.c.counter_referral)
            )
            found = {row.id: (row.answer, row.counter_referral) for row in rows}
            assert found[typed] == (_TYPED, None)
            assert found[answered] == (_TYPED, None)
            assert found[signed][1]["note"].keys() == {"note_id"}
    finally:
        await engine.dispose()
