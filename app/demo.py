"""A small demo cooperative for `make run`: doctors, a rural clinic's staff, patients, an admin.

Demo logins use one published password, so the demo refuses to run in production.
"""

from dataclasses import dataclass

from pwdlib import PasswordHash
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cooperative.accounts import service as accounts_service
from cooperative.accounts.errors import AccountExists
from cooperative.accounts.models import Account
from cooperative.accounts.schemas import AccountCreate
from cooperative.kernel.principal import Role

DEMO_PASSWORD = "tequio-demo-2026"  # noqa: S105  (published on purpose: demo data only)


@dataclass(frozen=True)
class DemoPerson:
    display_name: str
    role: Role
    email: str | None = None
    phone: str | None = None
    language: str = "es"
    note: str = ""


DEMO_PEOPLE: tuple[DemoPerson, ...] = (
    DemoPerson("Admin Tequio", Role.ADMIN, email="admin@demo.tequio.coop", note="administrator"),
    DemoPerson(
        "Dra. Ana López",
        Role.DOCTOR,
        email="ana.lopez@demo.tequio.coop",
        note="cardiology, Mexico City (cédula profesional)",
    ),
    DemoPerson(
        "Dr. Miguel Hernández",
        Role.DOCTOR,
        email="miguel.hernandez@demo.tequio.coop",
        note="pediatrics, Tijuana (MX and US-CA licences)",
    ),
    DemoPerson(
        "Dr. Sarah Ortiz",
        Role.DOCTOR,
        email="sarah.ortiz@demo.tequio.coop",
        language="en",
        note="family medicine, San Diego (US-CA licence)",
    ),
    DemoPerson(
        "Juana Pérez",
        Role.CLINIC_STAFF,
        phone="+529511000001",
        note="nurse, Clínica Rural San Miguel (Oaxaca, rural)",
    ),
    DemoPerson(
        "Rosa Martínez",
        Role.PATIENT,
        phone="+529511000002",
        note="patient of the rural clinic; phone only, no email",
    ),
    DemoPerson(
        "Juan García",
        Role.PATIENT,
        email="juan.garcia@demo.tequio.coop",
        note="patient in Los Angeles sponsoring his family in Michoacán",
    ),
    DemoPerson(
        "Lupe García",
        Role.PATIENT,
        phone="+524431000003",
        note="patient in Morelia, Michoacán",
    ),
)


async def has_accounts(session: AsyncSession) -> bool:
    return bool((await session.execute(select(func.count()).select_from(Account))).scalar_one())


async def seed(session: AsyncSession, *, hasher: PasswordHash) -> list[tuple[DemoPerson, bool]]:
    """Create the demo people that do not exist yet; returns each with whether it was created."""
    results: list[tuple[DemoPerson, bool]] = []
    for person in DEMO_PEOPLE:
        data = AccountCreate.model_validate(
            {
                "email": person.email,
                "phone": person.phone,
                "password": DEMO_PASSWORD,
                "display_name": person.display_name,
                "preferred_language": person.language,
            }
        )
        try:
            await accounts_service.register(
                session, data, hasher=hasher, min_password_length=8, roles=(person.role,)
            )
            results.append((person, True))
        except AccountExists:
            results.append((person, False))
    return results
