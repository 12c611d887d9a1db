"""Plain async helpers that make the people and tokens a test needs."""

import itertools
import uuid
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.main import password_hasher
from app.settings import Settings
from cooperative.accounts import service as accounts_service
from cooperative.accounts.schemas import AccountCreate
from cooperative.bylaws import service as bylaws_service
from cooperative.bylaws.defaults import default_bylaws
from cooperative.kernel import clock
from cooperative.kernel.principal import Role

PASSWORD = "maiz azul de oaxaca"
_numbers = itertools.count(1)


def unique_email() -> str:
    return f"persona{next(_numbers)}@example.org"


def unique_phone() -> str:
    return f"+52951{next(_numbers):07d}"


async def register(
    client: httpx.AsyncClient,
    *,
    email: str | None = None,
    phone: str | None = None,
    password: str = PASSWORD,
    display_name: str = "Rosa Martínez",
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {"password": password, "display_name": display_name, **extra}
    if email is None and phone is None:
        email = unique_email()
    if email is not None:
        body["email"] = email
    if phone is not None:
        body["phone"] = phone
    response = await client.post("/v1/auth/register", json=body)
    assert response.status_code == 201, response.text
    account: dict[str, Any] = response.json()
    return account


async def login(
    client: httpx.AsyncClient, username: str, password: str = PASSWORD, **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        "/v1/auth/token", json={"username": username, "password": password, **extra}
    )
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


async def signed_up(
    client: httpx.AsyncClient, **fields: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A new patient account and a fresh token pair for it."""
    account = await register(client, **fields)
    tokens = await login(client, account["email"] or account["phone"])
    return account, tokens


async def account_with_role(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, role: Role
) -> str:
    """An account holding `role` (which self sign-up cannot grant); returns its login email."""
    email = unique_email()
    async with sessionmaker() as session:
        await accounts_service.register(
            session,
            AccountCreate.model_validate(
                {"email": email, "password": PASSWORD, "display_name": f"Test {role.value}"}
            ),
            hasher=password_hasher(settings),
            min_password_length=settings.password_min_length,
            roles=(role,),
        )
        await session.commit()
    return email


def dues_period(months_ahead: int = 0) -> str:
    """A dues period (`YYYY-MM`) counted from this month in the cooperative's zone."""
    today = clock.today()
    index = today.year * 12 + today.month - 1 + months_ahead
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def install_bylaws(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """The shipped default bylaws, as version 1 (what an admin does on a new cooperative)."""
    async with sessionmaker() as session:
        await bylaws_service.install(session, default_bylaws(), account_id=None)
        await session.commit()


async def admin_tokens(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> dict[str, Any]:
    email = await account_with_role(sessionmaker, settings, Role.ADMIN)
    return await login(client, email)


async def apply(client: httpx.AsyncClient, tokens: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body = {"member_class": "patient", "full_name": "Rosa Martínez López", **fields}
    response = await client.post("/v1/members", json=body, headers=bearer(tokens))
    assert response.status_code == 201, response.text
    member: dict[str, Any] = response.json()
    return member


async def decide(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    member_id: str,
    action: str = "approve",
    reason: str | None = None,
) -> httpx.Response:
    body = {"reason": reason} if reason else None
    return await client.post(f"/v1/members/{member_id}/{action}", json=body, headers=bearer(admin))


async def active_member(
    client: httpx.AsyncClient, admin: dict[str, Any], **fields: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A patient-owner whose membership an admin approved, and their tokens."""
    _, tokens = await signed_up(client)
    member = await apply(client, tokens, **fields)
    approved = await decide(client, admin, member["id"])
    assert approved.status_code == 200, approved.text
    return approved.json(), tokens


async def household(
    client: httpx.AsyncClient, tokens: dict[str, Any], **fields: Any
) -> dict[str, Any]:
    body = {
        "name": "Familia Martínez",
        "country": "MX",
        "subdivision": "MX-OAX",
        "municipality": "San Miguel Tlacotepec",
        "area": "rural",
        **fields,
    }
    response = await client.post("/v1/households", json=body, headers=bearer(tokens))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def attest(
    client: httpx.AsyncClient, tokens: dict[str, Any], household_id: str, **fields: Any
) -> dict[str, Any]:
    body = {
        "income_minor": 0,
        "currency": "MXN",
        "period": "monthly",
        "household_size": 4,
        **fields,
    }
    response = await client.post(
        f"/v1/households/{household_id}/attestations", json=body, headers=bearer(tokens)
    )
    assert response.status_code == 201, response.text
    attestation: dict[str, Any] = response.json()
    return attestation


ALL_WEEK = [{"weekday": day, "start": "08:00", "end": "20:00"} for day in range(7)]


async def practitioner(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    timezone: str = "America/Mexico_City",
    licences: tuple[tuple[str, str], ...] = (("MX", "2030-12-31"),),
    specialties: tuple[str, ...] = ("family_medicine",),
    languages: tuple[str, ...] = ("es",),
    windows: list[dict[str, Any]] | None = None,
    min_notice_minutes: int = 60,
    horizon_days: int = 30,
    slot_minutes: int = 30,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A doctor with a practitioner profile, availability and licences; and the doctor's tokens."""
    email = await account_with_role(sessionmaker, settings, Role.DOCTOR)
    doctor = await login(client, email)
    account = (await client.get("/v1/me", headers=bearer(doctor))).json()
    created = await client.post(
        "/v1/practitioners",
        json={
            "account_id": account["id"],
            "display_name": f"Dra. {email.split('@')[0]}",
            "specialties": list(specialties),
            "languages": list(languages),
            "timezone": timezone,
        },
        headers=bearer(admin),
    )
    assert created.status_code == 201, created.text
    profile: dict[str, Any] = created.json()
    availability = await client.put(
        f"/v1/practitioners/{profile['id']}/availability",
        json={
            "windows": windows if windows is not None else ALL_WEEK,
            "slot_minutes": slot_minutes,
            "min_notice_minutes": min_notice_minutes,
            "horizon_days": horizon_days,
        },
        headers=bearer(doctor),
    )
    assert availability.status_code == 200, availability.text
    for jurisdiction, expires_on in licences:
        added = await client.post(
            f"/v1/practitioners/{profile['id']}/licences",
            json={"jurisdiction": jurisdiction, "number": "1234567", "expires_on": expires_on},
            headers=bearer(admin),
        )
        assert added.status_code == 201, added.text
    return added.json() if licences else availability.json(), doctor


async def open_slots(
    client: httpx.AsyncClient, tokens: dict[str, Any], **query: Any
) -> list[dict[str, Any]]:
    params = {"limit": 200, **query}
    response = await client.get("/v1/slots", params=params, headers=bearer(tokens))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def book(
    client: httpx.AsyncClient,
    tokens: dict[str, Any],
    practitioner_id: str,
    start: str,
    **fields: Any,
) -> httpx.Response:
    body = {
        "practitioner_id": practitioner_id,
        "start": start,
        "patient_jurisdiction": "MX-OAX",
        "reason": "dolor de cabeza",
        **fields,
    }
    return await client.post("/v1/appointments", json=body, headers=bearer(tokens))


async def staff_of_clinic(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, clinic_id: str
) -> str:
    """An account with the clinic_staff role on the staff of `clinic_id`, made in the database
    (for servers whose roles a test cannot grant through the API); returns its login email."""
    from telehealth.clinics.models import ClinicStaff

    email = await account_with_role(sessionmaker, settings, Role.CLINIC_STAFF)
    async with sessionmaker() as session:
        account = await accounts_service.find_by_identifier(session, email)
        assert account is not None
        session.add(ClinicStaff(clinic_id=uuid.UUID(clinic_id), account_id=account.id))
        await session.commit()
    return email
