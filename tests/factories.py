"""Plain async helpers that make the people and tokens a test needs."""

import itertools
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.main import password_hasher
from app.settings import Settings
from cooperative.accounts import service as accounts_service
from cooperative.accounts.schemas import AccountCreate
from cooperative.bylaws import service as bylaws_service
from cooperative.bylaws.defaults import default_bylaws
from cooperative.kernel import clock
from cooperative.kernel.principal import Role
from cooperative.notifications.models import OutboxMessage

PASSWORD = "maiz azul de oaxaca"
_numbers = itertools.count(1)


def unique_email() -> str:
    return f"persona{next(_numbers)}@example.org"


def unique_phone() -> str:
    return f"+52951{next(_numbers):07d}"


async def sign_up(
    client: httpx.AsyncClient,
    *,
    email: str | None = None,
    phone: str | None = None,
    password: str = PASSWORD,
    display_name: str = "Rosa Martínez",
    verify: bool = True,
    **extra: Any,
) -> str:
    """Sign up (a new email unless one is given); returns the username to sign in with. The
    answer says nothing about whether the contact was new. Unless `verify` is false, the new
    account's contact is then verified with the code sent to it (`verified`)."""
    body: dict[str, Any] = {"password": password, "display_name": display_name, **extra}
    if email is None and phone is None:
        email = unique_email()
    if email is not None:
        body["email"] = email
    if phone is not None:
        body["phone"] = phone
    response = await client.post("/v1/auth/register", json=body)
    assert response.status_code == 202, response.text
    username: str = response.json()["username"]
    if verify:
        await verified(client, username)
    return username


# Where the outbox of a server a test reaches over real HTTP is (its host:port → sessions):
# `tests.consult_support.server` and the log scan's `tequio serve` note theirs here.
OUTBOXES: dict[str, async_sessionmaker[AsyncSession]] = {}


def _outbox_of(client: httpx.AsyncClient) -> async_sessionmaker[AsyncSession]:
    transport = client._transport
    if isinstance(transport, httpx.ASGITransport):
        sessions: async_sessionmaker[AsyncSession] = transport.app.state.sessionmaker  # type: ignore[attr-defined]
        return sessions
    return OUTBOXES[client.base_url.netloc.decode()]


async def code_sent_to(client: httpx.AsyncClient, address: str) -> str | None:
    """The latest one-time code on its way to `address`, as its message carries it (the code
    itself is kept only hashed; the queued message is what the phone or inbox would get)."""
    async with _outbox_of(client)() as session:
        message = (
            await session.execute(
                select(OutboxMessage)
                .where(
                    col(OutboxMessage.address) == address,
                    col(OutboxMessage.template).startswith("code."),
                )
                .order_by(col(OutboxMessage.created_at).desc())
                .limit(1)
            )
        ).scalar_one_or_none()
    return None if message is None else str(message.parameters["code"])


async def verified(client: httpx.AsyncClient, username: str) -> None:
    """Verify a new account's contact as its owner does: the code sent at sign-up, typed into
    `POST /v1/auth/verify`. A contact that was already registered got no code: nothing to do."""
    code = await code_sent_to(client, username)
    if code is None:
        return
    response = await client.post("/v1/auth/verify", json={"username": username, "code": code})
    assert response.status_code in (200, 422), response.text
    if response.status_code == 422:  # the code of an earlier sign-up, already used
        assert response.json()["type"].endswith("/code-used"), response.text


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
    client: httpx.AsyncClient, password: str = PASSWORD, **fields: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A new patient account (as `GET /v1/me` shows it) and a fresh token pair for it."""
    username = await sign_up(client, password=password, **fields)
    tokens = await login(client, username, password)
    response = await client.get("/v1/me", headers=bearer(tokens))
    assert response.status_code == 200, response.text
    account: dict[str, Any] = response.json()
    return account, tokens


async def register(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    """A new patient account, as `GET /v1/me` shows it (signed in once to read it)."""
    account, _ = await signed_up(client, **fields)
    return account


async def account_with_role(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, role: Role, *also: Role
) -> str:
    """An account holding `role` (and `also`), which self sign-up cannot grant; returns its
    login email."""
    email = unique_email()
    async with sessionmaker() as session:
        await accounts_service.register(
            session,
            AccountCreate.model_validate(
                {"email": email, "password": PASSWORD, "display_name": f"Test {role.value}"}
            ),
            hasher=password_hasher(settings),
            min_password_length=settings.password_min_length,
            roles=(role, *also),
        )
        await session.commit()
    return email


async def grant_role(
    client: httpx.AsyncClient,
    admin: dict[str, Any],
    account_id: str,
    role: str,
    *,
    clinic_id: str | None = None,
    reason: str = "la asamblea lo decidió",
) -> httpx.Response:
    body: dict[str, Any] = {"role": role, "reason": reason}
    if clinic_id is not None:
        body["clinic_id"] = clinic_id
    return await client.post(f"/v1/accounts/{account_id}/roles", json=body, headers=bearer(admin))


async def new_clinic(
    client: httpx.AsyncClient, admin: dict[str, Any], name: str = "Clínica San Miguel"
) -> dict[str, Any]:
    """A rural clinic in Oaxaca, as an admin creates it."""
    made = await client.post(
        "/v1/clinics",
        json={
            "name": name,
            "jurisdiction": "MX-OAX",
            "municipality": name,
            "rural": True,
            "timezone": "America/Mexico_City",
        },
        headers=bearer(admin),
    )
    assert made.status_code == 201, made.text
    clinic: dict[str, Any] = made.json()
    return clinic


async def clinic_staff(
    client: httpx.AsyncClient, admin: dict[str, Any], clinic_id: str
) -> dict[str, Any]:
    """A nurse who signed up as anyone does and whom an admin made staff of the clinic; her
    tokens, taken after the grant (a new role's powers come with the next token)."""
    account, _ = await signed_up(client, display_name="Enfermera Juana")
    granted = await grant_role(client, admin, account["id"], "clinic_staff", clinic_id=clinic_id)
    assert granted.status_code == 201, granted.text
    return await login(client, account["email"])


async def registered_with_clinic(
    client: httpx.AsyncClient,
    staff: dict[str, Any],
    clinic_id: str,
    patient: dict[str, Any],
    contact: str,
) -> None:
    """Staff register the patient by `contact` and the patient accepts with the code."""
    registered = await client.post(
        f"/v1/clinics/{clinic_id}/patients", json={"username": contact}, headers=bearer(staff)
    )
    assert registered.status_code == 202, registered.text
    accepted = await client.post(
        f"/v1/clinics/{clinic_id}/patients/accept",
        json={"code": registered.json()["code"]},
        headers=bearer(patient),
    )
    assert accepted.status_code == 200, accepted.text


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


async def join_household(
    client: httpx.AsyncClient,
    inviter: dict[str, Any],
    household_id: str,
    member: dict[str, Any],
    tokens: dict[str, Any],
) -> None:
    """`inviter` invites the member into the household and the member accepts."""
    invited = await client.post(
        f"/v1/households/{household_id}/members",
        json={"member_id": member["id"]},
        headers=bearer(inviter),
    )
    assert invited.status_code == 200, invited.text
    [invitation] = [
        i
        for i in (await client.get("/v1/households/invitations", headers=bearer(tokens))).json()[
            "items"
        ]
        if i["household_id"] == household_id
    ]
    accepted = await client.post(
        f"/v1/households/invitations/{invitation['id']}/accept", headers=bearer(tokens)
    )
    assert accepted.status_code == 200, accepted.text


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
    buffer_minutes: int = 0,
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
            "buffer_minutes": buffer_minutes,
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


async def treasurer_tokens(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> dict[str, Any]:
    """Tokens of a signed-in treasurer: who confirms payments and keeps the exchange rates."""
    return await login(client, await account_with_role(sessionmaker, settings, Role.TREASURER))


async def report_payment(
    client: httpx.AsyncClient, tokens: dict[str, Any], **fields: Any
) -> httpx.Response:
    """A payment reported by `tokens` (pending): `household_id` or `member_id`, `amount_minor`
    and whatever else; cash in pesos at the clinic unless said otherwise."""
    body = {"currency": "MXN", "method": "cash", "reference": "efectivo en la clínica", **fields}
    return await client.post("/v1/payments", json=body, headers=bearer(tokens))


async def paid(
    client: httpx.AsyncClient,
    payer: dict[str, Any],
    treasurer: dict[str, Any],
    *,
    received_on: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A payment `payer` reports and `treasurer` confirms; returns it as confirmed."""
    reported = await report_payment(client, payer, **fields)
    assert reported.status_code == 201, reported.text
    body = {"received_on": received_on} if received_on else None
    confirmed = await client.post(
        f"/v1/payments/{reported.json()['id']}/confirm", json=body, headers=bearer(treasurer)
    )
    assert confirmed.status_code == 200, confirmed.text
    payment: dict[str, Any] = confirmed.json()
    assert payment["status"] == "confirmed"
    return payment


async def exchange_rate(
    client: httpx.AsyncClient,
    treasurer: dict[str, Any],
    rate: str,
    *,
    effective_on: str | None = None,
    source: str = "USD",
    target: str = "MXN",
    **fields: Any,
) -> dict[str, Any]:
    """A row of the treasurer's rate table (effective today unless said otherwise)."""
    body = {
        "from_currency": source,
        "to_currency": target,
        "rate": rate,
        "effective_on": effective_on or clock.today().isoformat(),
        **fields,
    }
    response = await client.post("/v1/exchange-rates", json=body, headers=bearer(treasurer))
    assert response.status_code == 201, response.text
    row: dict[str, Any] = response.json()
    return row
