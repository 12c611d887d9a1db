"""A small demo cooperative for `make run`: doctors, a rural clinic's staff, patients, an admin,
with the default bylaws, memberships, households, the doctors' hours and licences, and the clinic.

Demo logins use one published password, so the demo refuses to run in production.
"""

import uuid
from dataclasses import dataclass
from datetime import date, time, timedelta

from pwdlib import PasswordHash
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.settings import Settings
from cooperative.accounts import roles
from cooperative.accounts import service as accounts_service
from cooperative.accounts.errors import AccountExists
from cooperative.accounts.models import Account
from cooperative.accounts.schemas import AccountCreate
from cooperative.bylaws import service as bylaws_service
from cooperative.bylaws.defaults import default_bylaws
from cooperative.bylaws.service import InForce
from cooperative.dues import service as dues_service
from cooperative.governance import service as governance
from cooperative.governance.rules import ProposalKind
from cooperative.governance.schemas import ProposalOpen, ResolutionCreate
from cooperative.governance.sealing import BallotKeys
from cooperative.kernel import clock
from cooperative.kernel.principal import Principal, Role, scopes_for
from cooperative.membership import fees, households, invitations
from cooperative.membership import service as membership_service
from cooperative.membership.schemas import (
    AttestationCreate,
    DependentCreate,
    HouseholdCreate,
    MemberApply,
)
from cooperative.treasury import payments
from cooperative.treasury import service as treasury
from cooperative.treasury.schemas import ExchangeRateCreate
from telehealth.clinics import service as clinics
from telehealth.clinics.schemas import ClinicCreate
from telehealth.practitioners.models import Practitioner
from telehealth.practitioners.schemas import (
    AvailabilityIn,
    LicenceIn,
    PractitionerCreate,
    WindowIn,
)
from telehealth.prescriptions import service as prescriptions
from telehealth.prescriptions.schemas import DrugLine, PrescriptionCreate
from telehealth.records import service as records
from telehealth.records.schemas import ConsentIn, NoteDraft
from telehealth.referrals import service as referrals
from telehealth.referrals.rules import Action
from telehealth.referrals.schemas import Interconsultation, ReferralCreate
from telehealth.scheduling import openings
from telehealth.scheduling.models import Appointment
from telehealth.scheduling.rules import AppointmentStatus

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
        "Carmen Ruiz",
        Role.TREASURER,
        email="tesoreria@demo.tequio.coop",
        note="treasurer: confirms payments, keeps the exchange rates",
    ),
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


async def present(session: AsyncSession) -> list[DemoPerson]:
    """The demo people whose accounts this database holds."""
    emails = [p.email for p in DEMO_PEOPLE if p.email]
    phones = [p.phone for p in DEMO_PEOPLE if p.phone]
    found = await session.execute(
        select(col(Account.email), col(Account.phone)).where(
            or_(col(Account.email).in_(emails), col(Account.phone).in_(phones))
        )
    )
    held = {value for row in found.all() for value in row if value}
    return [p for p in DEMO_PEOPLE if (p.email or p.phone) in held]


async def has_accounts(session: AsyncSession) -> bool:
    return bool((await session.execute(select(func.count()).select_from(Account))).scalar_one())


async def seed(
    session: AsyncSession, *, hasher: PasswordHash, settings: Settings
) -> list[tuple[DemoPerson, bool]]:
    """Create the demo people that do not exist yet; returns each with whether it was created.

    On a new cooperative it also installs the default bylaws and makes the patients and doctors
    member-owners with households: a rural family in Oaxaca, a migrant in Los Angeles who
    sponsors his family in Michoacán.
    """
    results: list[tuple[DemoPerson, bool]] = []
    accounts: dict[str, Account] = {}
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
        try:  # everyone signs up as anyone does; roles come after, through role grants
            account = await accounts_service.register(
                session, data, hasher=hasher, min_password_length=8
            )
            if person.role is Role.ADMIN:
                await roles.grant(
                    session, account.id, Role.ADMIN, reason="the demo's first admin", by=None
                )
            accounts[person.display_name] = account
            results.append((person, True))
        except AccountExists:
            results.append((person, False))
    if len(accounts) == len(DEMO_PEOPLE):
        await _seed_cooperative(session, accounts, settings)
    return results


def _principal(account: Account) -> Principal:
    roles = frozenset(account.roles)
    return Principal(account_id=account.id, roles=roles, scopes=scopes_for(roles))


async def _seed_cooperative(
    session: AsyncSession, accounts: dict[str, Account], settings: Settings
) -> None:
    admin = _principal(accounts["Admin Tequio"])
    await _grant_roles(session, accounts, admin)
    await bylaws_service.install(
        session, default_bylaws(), account_id=admin.account_id, note="demo cooperative"
    )
    law = await bylaws_service.in_force(session)
    today = clock.today()
    members = await _member_owners(session, accounts, admin, law, today)
    rural = await _rural_household(session, _principal(accounts["Rosa Martínez"]), law, today)
    family = await _sponsored_household(session, accounts, members, law, today)
    await _seed_payments(session, accounts, rural, family, today)
    await _seed_telehealth(session, accounts, admin, settings)
    await _seed_governance(session, admin, law, today, BallotKeys(settings.ballot_key))


async def _grant_roles(
    session: AsyncSession, accounts: dict[str, Account], admin: Principal
) -> None:
    """Everyone signed up as anyone does; the admin gives the staff and doctors their roles
    (the clinic's nurse gets hers with her clinic, in `_seed_telehealth`)."""
    for person in DEMO_PEOPLE:
        if person.role not in (Role.ADMIN, Role.PATIENT, Role.CLINIC_STAFF):
            await roles.grant(
                session,
                accounts[person.display_name].id,
                person.role,
                reason=person.note,
                by=admin.account_id,
            )


async def _member_owners(
    session: AsyncSession,
    accounts: dict[str, Account],
    admin: Principal,
    law: InForce,
    today: date,
) -> dict[str, uuid.UUID]:
    """The patients and doctors apply and are admitted as member-owners; staff are not."""
    members = {}
    for person in DEMO_PEOPLE:
        if person.role not in (Role.PATIENT, Role.DOCTOR):
            continue
        member_class = "doctor" if person.role is Role.DOCTOR else "patient"
        applied = await membership_service.apply(
            session,
            _principal(accounts[person.display_name]),
            MemberApply(
                member_class=member_class, full_name=person.display_name, share_instalments=5
            ),
            law,
            today=today,
        )
        await membership_service.decide(
            session, admin, applied.id, "approve", reason=None, law=law, today=today
        )
        members[person.display_name] = applied.id
    return members


async def _rural_household(
    session: AsyncSession, rosa: Principal, law: InForce, today: date
) -> uuid.UUID:
    """Rosa's family in rural Oaxaca, with an income that puts it in class A."""
    rural = await households.create(
        session,
        rosa,
        HouseholdCreate(
            name="Familia Martínez",
            country="MX",
            subdivision="OAX",
            municipality="San Miguel Tlacotepec",
            area="rural",
        ),
    )
    await households.attest(
        session,
        rosa,
        rural.id,
        AttestationCreate(income_minor=900000, currency="MXN", period="monthly", household_size=4),
        law,
        today=today,
    )
    return rural.id


async def _sponsored_household(
    session: AsyncSession,
    accounts: dict[str, Account],
    members: dict[str, uuid.UUID],
    law: InForce,
    today: date,
) -> uuid.UUID:
    """Juan's own household in Los Angeles, and his family's in Morelia that he sponsors: Lupe
    accepts his invitation, his daughter is a dependent."""
    juan = _principal(accounts["Juan García"])
    place = {"country": "US", "subdivision": "CA", "municipality": "Los Angeles", "area": "urban"}
    await households.create(session, juan, HouseholdCreate(name="Juan García", **place))
    family = await households.create(
        session,
        juan,
        HouseholdCreate(
            name="Familia García",
            country="MX",
            subdivision="MIC",
            municipality="Morelia",
            area="urban",
            role="sponsor",
        ),
    )
    await invitations.add_member(session, juan, family.id, members["Lupe García"])
    lupe = _principal(accounts["Lupe García"])
    (invitation,) = (
        await invitations.invitations_for(session, lupe, cursor=None, limit=None)
    ).items
    await invitations.accept_invitation(session, lupe, invitation.id)
    await households.add_dependent(
        session,
        juan,
        family.id,
        DependentCreate(full_name="Sofía García", birth_year=2018, relationship="hija"),
    )
    await households.attest(
        session,
        juan,
        family.id,
        AttestationCreate(income_minor=1200000, currency="MXN", period="monthly", household_size=3),
        law,
        today=today,
    )
    return family.id


async def _seed_payments(
    session: AsyncSession,
    accounts: dict[str, Account],
    rural_id: uuid.UUID,
    family_id: uuid.UUID,
    today: date,
) -> None:
    """This month's dues; Rosa's, reported in cash at the clinic and confirmed by the
    treasurer, so her invoice shows settled; the treasurer's dollar rate; and Juan's
    remittance for his family, waiting in the treasurer's review queue."""
    timezone = clock.zone().key
    await payments.dues_run(session, f"{today:%Y-%m}", today=today)
    treasurer = _principal(accounts["Carmen Ruiz"])
    rate = {"from_currency": "USD", "to_currency": "MXN", "rate": "17.25"}
    await treasury.record(
        session,
        treasurer.account_id,
        ExchangeRateCreate.model_validate(
            {**rate, "effective_on": today.isoformat(), "note": "tipo de cambio de la demo"}
        ),
        today=today,
    )
    owed = await dues_service.balance(
        session, dues_service.Target(household_id=rural_id), today=today
    )
    cash = payments.PaymentInput(
        household_id=rural_id,
        member_id=None,
        amount_minor=owed.outstanding_minor,
        currency="MXN",
        method="cash",
        reference="efectivo en la Clínica Rural San Miguel",
    )
    rosa = _principal(accounts["Rosa Martínez"])
    reported, _ = await payments.report(session, rosa, cash, None, timezone=timezone)
    await payments.confirm(session, treasurer, reported.id, None, timezone=timezone)
    remittance = payments.PaymentInput(
        household_id=family_id,
        member_id=None,
        amount_minor=2000,
        currency="USD",
        method="remittance",
        reference="MTCN 0123456789",
        note="cuota del mes, desde Los Ángeles",
    )
    juan = _principal(accounts["Juan García"])
    await payments.report(session, juan, remittance, None, timezone=timezone)


async def _seed_governance(
    session: AsyncSession, admin: Principal, law: InForce, today: date, keys: BallotKeys
) -> None:
    """An open resolution the demo's member-owners can vote on for two weeks."""
    draft = await governance.create(
        session,
        admin,
        ResolutionCreate(
            kind=ProposalKind.RESOLUTION,
            title="Clínica móvil en la Mixteca / A mobile clinic in the Mixteca",
            body=(
                "¿Destinamos el fondo de educación de 2027 a una clínica móvil que visite la "
                "Mixteca una vez al mes? / Shall the 2027 education fund pay for a mobile clinic "
                "visiting the Mixteca once a month?"
            ),
        ),
        law,
        today=today,
    )
    await governance.open_voting(
        session,
        admin,
        draft.id,
        ProposalOpen(closes_at=clock.now() + timedelta(days=14)),
        law,
        today=today,
        timezone=clock.zone().key,
        keys=keys,
    )


# (time zone, specialties, languages, licences with their expiry year)
DEMO_PRACTITIONERS: dict[str, tuple[str, list[str], list[str], list[tuple[str, int]]]] = {
    "Dra. Ana López": ("America/Mexico_City", ["cardiology"], ["es", "nah"], [("MX", 2031)]),
    "Dr. Miguel Hernández": (
        "America/Tijuana",
        ["pediatrics"],
        ["es", "en"],
        [("MX", 2030), ("US-CA", 2027)],
    ),
    "Dr. Sarah Ortiz": (
        "America/Los_Angeles",
        ["family_medicine"],
        ["en", "es"],
        [("US-CA", 2028)],
    ),
}


async def _seed_telehealth(
    session: AsyncSession, accounts: dict[str, Account], admin: Principal, settings: Settings
) -> None:
    """The doctors' profiles and weekday hours, the rural clinic with its nurse and Rosa, and
    Rosa's referrals: one seen in a consult and returned with its counter-referral, one
    answered in writing."""
    for name in DEMO_PRACTITIONERS:
        await _practitioner(session, name, _principal(accounts[name]), admin)
    clinic_id = await _rural_clinic(session, accounts, admin, settings)
    await _referred_consult(session, accounts, clinic_id, settings)
    await _written_referral(session, accounts, clinic_id)


# Dra. Ana López's note of Rosa's consult a week ago, the one her referral was scheduled into:
# what `GET /v1/me/records` shows Rosa, and the counter-referral the clinic has.
DEMO_NOTE = {
    "version": 0,
    "content": {
        "subjective": {
            "reason": "Control de presión arterial",
            "current_illness": "Cefalea occipital por las mañanas desde hace dos semanas; "
            "toma enalapril 10 mg de forma irregular.",
        },
        "objective": {
            "findings": "Consciente, orientada, sin edema de miembros inferiores.",
            "vital_signs": {
                "systolic_mmhg": 152,
                "diastolic_mmhg": 94,
                "heart_rate_bpm": 80,
                "weight_kg": 71.5,
                "measured_by": "Enf. Juana Pérez, Clínica Rural San Miguel",
            },
        },
        "assessment": {
            "diagnoses": [
                {"code": "I10", "note": "fuera de meta"},
                {"code": "Z91.1", "note": "toma irregular del medicamento"},
            ],
            "impression": "Hipertensión arterial sistémica no controlada por apego irregular.",
        },
        "plan": {
            "treatment": "Cambiar enalapril por losartán 50 mg cada 24 horas.",
            "indications": "Dieta baja en sal; caminar 30 minutos al día; medir la presión "
            "en la clínica cada semana.",
            "follow_up": "Control en 4 semanas con el registro de presión.",
        },
    },
    "summary": {
        "language": "es",
        "found": "Su presión está más alta de lo que debe, porque la pastilla no se tomaba "
        "todos los días.",
        "to_do": "Tome una pastilla de losartán cada mañana, coma con poca sal y camine media "
        "hora al día. Pida que le midan la presión en la clínica cada semana.",
        "come_back": "En cuatro semanas, con sus mediciones de presión.",
    },
}


# Rosa's prescription from that consult: the losartán the note's plan names.
DEMO_PRESCRIPTION = PrescriptionCreate(
    lines=[
        DrugLine(
            generic_name="Losartán",
            presentation="Tabletas de 50 mg",
            dose="1 tableta",
            route="Oral",
            frequency="Cada 24 horas",
            duration="30 días",
            quantity="30 tabletas (1 caja)",
            instructions="Tome una tableta cada mañana, todos los días, aunque se sienta bien.",
        )
    ],
    indications="Coma con poca sal. Deje el enalapril. Pida que le midan la presión en la "
    "clínica cada semana.",
)


async def _referred_consult(
    session: AsyncSession, accounts: dict[str, Account], clinic_id: uuid.UUID, settings: Settings
) -> None:
    """The referral loop closed, seeded in the past on the one clock: ten days ago Juana referred
    Rosa to cardiology for her blood pressure and Dra. Ana López took it on; Juana booked her a
    consult at the clinic for a week ago and linked it. In the consult (Rosa at the clinic,
    Juana taking her pressure) the doctor prescribed losartán and signed her note, which
    completed the referral: the clinic has the note and the prescription."""
    nurse = _principal(accounts["Juana Pérez"])
    doctor = _principal(accounts["Dra. Ana López"])
    now = clock.now()
    with clock.travel(now - timedelta(days=10)):
        referral = await referrals.create(session, nurse, _blood_pressure(accounts, clinic_id))
    with clock.travel(now - timedelta(days=10, hours=-3)):
        await referrals.act(session, doctor, referral.id, Action.ACCEPT)
    appointment = await consult_soon(  # its fee from the bylaws, in force from today only
        session,
        minutes=-7 * 24 * 60,
        booked_by=nurse.account_id,
        clinic_id=clinic_id,
        referral_reason="Hipertensión descontrolada (interconsulta a cardiología)",
    )
    appointment.created_at = appointment.updated_at = now - timedelta(days=9)
    with clock.travel(now - timedelta(days=9)):
        await referrals.act(
            session, nurse, referral.id, Action.SCHEDULE, appointment_id=appointment.id
        )
    rosa = _principal(accounts["Rosa Martínez"])
    with clock.travel(appointment.start - timedelta(minutes=10)):
        await records.give_consent(session, rosa, ConsentIn(version=1, language="es"))
    with clock.travel(appointment.start + timedelta(minutes=20)):
        await prescriptions.issue(
            session,
            doctor,
            appointment.id,
            DEMO_PRESCRIPTION,
            window=settings.consult_window,
            institution=prescriptions.Institution(
                settings.cooperative_name, settings.cooperative_address
            ),
        )
        draft = await records.save_draft(
            session,
            doctor,
            appointment.id,
            NoteDraft.model_validate(DEMO_NOTE),
            window=settings.consult_window,
        )
        await records.sign(session, doctor, appointment.id, draft.version)
        await referrals.complete_on_signing(session, doctor, appointment.id)
    appointment.status = AppointmentStatus.FULFILLED


def _blood_pressure(accounts: dict[str, Account], clinic_id: uuid.UUID) -> ReferralCreate:
    return ReferralCreate(
        clinic_id=clinic_id,
        patient_account_id=accounts["Rosa Martínez"].id,
        specialty="cardiology",
        urgency="priority",
        reason="Presión arterial de 150/95 pese a enalapril",
        clinical_summary="Mujer de 47 años con hipertensión desde 2021. TA 152/94 y 148/92 en "
        "las dos últimas semanas; cefalea occipital por las mañanas. Sin dolor de pecho.",
        diagnostic_impression="Hipertensión arterial sistémica descontrolada",
        treatment_given="Enalapril 10 mg cada 24 horas desde 2021",
        language="es",
    )


async def _practitioner(
    session: AsyncSession, name: str, doctor: Principal, admin: Principal
) -> None:
    """A demo doctor's profile, weekday hours (mornings, and four afternoons) and licences."""
    zone, specialties, languages, licences = DEMO_PRACTITIONERS[name]
    profile = await openings.create_practitioner(
        session,
        PractitionerCreate(
            account_id=doctor.account_id,
            display_name=name,
            specialties=specialties,
            languages=languages,
            timezone=zone,
        ),
    )
    hours = [WindowIn(weekday=d, start=time(9), end=time(14)) for d in range(5)]
    hours += [WindowIn(weekday=d, start=time(16), end=time(19)) for d in range(4)]
    await openings.set_availability(
        session, doctor, profile.id, AvailabilityIn(windows=hours, min_notice_minutes=60)
    )
    for jurisdiction, year in licences:
        await openings.add_licence(
            session,
            admin,
            profile.id,
            LicenceIn(jurisdiction=jurisdiction, number="DEMO-0000", expires_on=date(year, 12, 31)),
        )


async def _rural_clinic(
    session: AsyncSession, accounts: dict[str, Account], admin: Principal, settings: Settings
) -> uuid.UUID:
    """The rural Clínica San Miguel; Juana is its nurse, and Rosa accepts its registration
    with the code Juana gives her."""
    clinic = await clinics.create(
        session,
        ClinicCreate(
            name="Clínica Rural San Miguel",
            jurisdiction="MX-OAX",
            municipality="San Miguel Tlacotepec",
            rural=True,
            timezone="America/Mexico_City",
        ),
    )
    await clinics.grant_staff(
        session,
        clinic.id,
        accounts["Juana Pérez"].id,
        reason="nurse at the clinic",
        by=admin.account_id,
    )
    nurse = _principal(accounts["Juana Pérez"])
    code = await clinics.register_patient(  # Juana tells Rosa the code at the clinic
        session,
        nurse,
        clinic.id,
        "+529511000002",
        secret=settings.contact_secret,
        throttles=settings.clinic_registration_throttles(str(nurse.account_id)),
    )
    await clinics.accept_registration(
        session,
        _principal(accounts["Rosa Martínez"]),
        clinic.id,
        code,
        secret=settings.contact_secret,
    )
    return clinic.id


async def _written_referral(
    session: AsyncSession, accounts: dict[str, Account], clinic_id: uuid.UUID
) -> None:
    """Three days ago Juana referred Rosa to cardiology again, for palpitations; Dra. Ana López
    took the referral on and answered in writing two days ago, which spared Rosa the trip."""
    nurse = _principal(accounts["Juana Pérez"])
    now = clock.now()
    with clock.travel(now - timedelta(days=3)):
        referral = await referrals.create(
            session,
            nurse,
            ReferralCreate(
                clinic_id=clinic_id,
                patient_account_id=accounts["Rosa Martínez"].id,
                specialty="cardiology",
                urgency="priority",
                reason="Palpitaciones al subir la cuesta desde hace un mes",
                clinical_summary="Mujer de 47 años, sin antecedentes cardiacos. FC 96, TA 128/82. "
                "Electrocardiograma de la clínica: ritmo sinusal con extrasístoles aisladas.",
                diagnostic_impression="Extrasístoles ventriculares aisladas",
                treatment_given="Ninguno; se pidió evitar café",
                language="es",
            ),
        )
    doctor = _principal(accounts["Dra. Ana López"])
    with clock.travel(now - timedelta(days=2, hours=3)):
        await referrals.act(session, doctor, referral.id, Action.ACCEPT)
    with clock.travel(now - timedelta(days=2)):
        await referrals.act(
            session,
            doctor,
            referral.id,
            Action.ANSWER,
            answer=Interconsultation(
                findings="Electrocardiograma con extrasístoles ventriculares aisladas, "
                "monomórficas; sin datos de cardiopatía estructural en lo que envía la clínica.",
                diagnostic_impression="Extrasístoles ventriculares benignas",
                plan="No requiere tratamiento. Reducir café y refrescos de cola; dormir bien. "
                "Acudir de inmediato si hay desmayo, dolor de pecho o falta de aire.",
                follow_up="Nuevo electrocardiograma en la clínica en 3 meses.",
            ),
        )


async def consult_soon(
    session: AsyncSession,
    *,
    minutes: int = 5,
    booked_by: uuid.UUID | None = None,
    clinic_id: uuid.UUID | None = None,
    referral_reason: str | None = None,
) -> Appointment:
    """A demo consult between Rosa and Dra. Ana López starting in `minutes`, so the consult page
    can be tried at once (its room opens before the start); booked by Rosa, or by her clinic's
    staff (`booked_by`, `clinic_id`, `referral_reason`). Demo data only: it skips the booking
    rules' minimum notice and slot grid; the fee is fixed from Rosa's sliding-scale class."""
    rosa = await session.scalar(select(Account).where(col(Account.phone) == "+529511000002"))
    doctor = await session.scalar(
        select(Practitioner).where(col(Practitioner.display_name) == "Dra. Ana López")
    )
    if rosa is None or doctor is None:
        raise LookupError("the demo cooperative is not seeded: run `tequio demo` first")
    law = await bylaws_service.in_force(session)
    fee = await fees.consult_fee(session, rosa.id, law, today=clock.today(), jurisdiction="MX-OAX")
    start = clock.now() + timedelta(minutes=minutes)
    appointment = Appointment(
        practitioner_id=doctor.id,
        patient_account_id=rosa.id,
        booked_by=booked_by or rosa.id,
        clinic_id=clinic_id,
        referral_reason=referral_reason,
        start=start,
        end=start + timedelta(minutes=30),
        patient_jurisdiction="MX-OAX",
        preferred_language="es",
        reason="Consulta de prueba (demo)",
        fee_minor=fee.amount_minor,
        fee_currency=fee.currency,
        fee_class=fee.fee_class,
        fee_explanation=fee.explanation,
        bylaws_version=fee.bylaws_version,
    )
    session.add(appointment)
    await session.flush()
    await openings.take(session, doctor, appointment.start, appointment.end)
    return appointment
