"""The world the authorization matrix probes: one family's household and everything around it
(a sponsor, a clinic, a doctor, a consult about to start and its prescription, a referral with
a lab result, ballots,
payments, a surplus run), and
a stranger of every kind. Built once per backend through the API, on committed data."""

import contextlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.settings import Settings
from cooperative.kernel import clock
from telehealth.scheduling.models import Appointment
from tests.factories import (
    admin_tokens,
    apply,
    attest,
    bearer,
    book,
    clinic_staff,
    decide,
    dues_period,
    exchange_rate,
    household,
    install_bylaws,
    join_household,
    login,
    new_clinic,
    open_slots,
    paid,
    practitioner,
    register,
    registered_with_clinic,
    report_payment,
    treasurer_tokens,
)
from tests.governance_support import close, open_vote, propose, vote
from tests.records_support import COMPLETE
from tests.surplus_support import YEAR, record_patronage

STRANGERS = (
    "anonymous",  # no token at all
    "other_patient",  # a patient-owner with a household of their own
    "other_doctor",  # a doctor who takes no part in the family's care
    "other_clinic_staff",  # staff of a clinic the family never went to
    "same_clinic_staff",  # staff of the family's clinic, for what is not the clinic's
    "no_membership",  # an account that never applied: how the ARCO export leaked
    "plain_member",  # a member in good standing without the board role, no household
)
MEMBERS = frozenset({"other_patient", "plain_member"})  # strangers who are member-owners


@dataclass
class World:
    """`ids`: the named objects (`household`, `appointment`…); `tokens`: who → their tokens;
    `secrets`: each id, name, email and phone of the family, with what it is; `known`: what a
    stranger may know of them by right (the clinic's staff registered the patient)."""

    ids: dict[str, str]
    tokens: dict[str, dict[str, Any]]
    secrets: dict[str, str]
    known: dict[str, frozenset[str]] = field(default_factory=dict)
    fee_percent: str = ""

    def leaked(self, who: str, response: httpx.Response) -> list[str]:
        """What of the family's data `who` was shown, searched in the raw body and in its
        JSON decoded (so an escaped `Mat\\u00edas` is found too). What the request itself
        carried (the id in its path, echoed as a problem's `instance`) is not news to anyone."""
        request = response.request
        try:
            content = request.content
        except httpx.RequestNotRead:  # a multipart upload is streamed
            content = request.read()
        sent = str(request.url) + content.decode("utf-8", "replace")
        texts = [response.text]
        with contextlib.suppress(ValueError):
            texts.append(json.dumps(response.json(), ensure_ascii=False))
        allowed = self.known.get(who, frozenset())
        return sorted(
            label
            for secret, label in self.secrets.items()
            if secret not in allowed
            and secret not in sent
            and any(secret in text for text in texts)
        )


async def _person(
    http: httpx.AsyncClient, name: str, email: str, phone: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    account = await register(http, email=email, phone=phone, display_name=name)
    return account, await login(http, email)


async def _owner(
    http: httpx.AsyncClient, admin: dict[str, Any], name: str, email: str, phone: str | None = None
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """An approved patient-owner: their account, member record and tokens."""
    account, tokens = await _person(http, name, email, phone)
    member = await apply(http, tokens, full_name=name)
    approved = await decide(http, admin, member["id"])
    assert approved.status_code == 200, approved.text
    return account, approved.json(), tokens


async def _ok(response: Any, *codes: int) -> dict[str, Any]:
    answered: httpx.Response = await response
    assert answered.status_code in (codes or (200, 201)), answered.text
    data: dict[str, Any] = answered.json() if answered.content else {}
    return data


async def build_world(
    http: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> World:
    tag = uuid.uuid4().hex[:6]  # emails unique per backend's world
    await install_bylaws(sessions)
    admin = await admin_tokens(http, sessions, settings)

    # the family: Juan works in the US and sponsors the household in Oaxaca where Rosa lives
    juan, juan_member, juan_t = await _owner(
        http, admin, "Juan Matías Cruz", f"juan.matias.{tag}@example.org"
    )
    rosa, rosa_member, rosa_t = await _owner(
        http, admin, "Rosa Itzel Matías Cruz", f"rosa.matias.{tag}@example.org", "+52 951 555 0142"
    )
    home = await household(
        http, juan_t, name="Familia Matías Cruz", subdivision="MX-OAX", role="sponsor"
    )
    await join_household(http, juan_t, home["id"], rosa_member, rosa_t)
    # Juan's brother is invited too and has not answered yet
    _, tomas_member, tomas_t = await _owner(
        http, admin, "Tomás Matías Cruz", f"tomas.matias.{tag}@example.org"
    )
    invited = await _ok(
        http.post(
            f"/v1/households/{home['id']}/members",
            json={"member_id": tomas_member["id"]},
            headers=bearer(juan_t),
        )
    )
    [invitation] = [i for i in invited["invitations"] if i["member_id"] == tomas_member["id"]]
    attestation = await attest(http, rosa_t, home["id"], income_minor=734_519, household_size=4)
    child = await _ok(
        http.post(
            f"/v1/households/{home['id']}/dependents",
            json={"full_name": "Xóchitl Matías Cruz", "birth_year": 2019, "relationship": "hija"},
            headers=bearer(rosa_t),
        )
    )
    fee_class = await _ok(
        http.get(f"/v1/households/{home['id']}/fee-class", headers=bearer(rosa_t))
    )

    # the strangers (the members among them on the roll of the votes below)
    pedro, _, other_t = await _owner(http, admin, "Pedro Luna Vega", f"pedro.{tag}@example.org")
    await household(http, other_t, name="Familia Luna Vega", subdivision="MX-CHP")
    _, _, plain_t = await _owner(http, admin, "Marta Ruiz Soto", f"marta.{tag}@example.org")
    _, nobody_t = await _person(http, "Lucía Ramos", f"lucia.{tag}@example.org")

    # dues: a run for this month; Juan pays the household's (the treasurer confirms it, at
    # the rate table's dollar rate), Rosa reports her share instalment (still pending)
    treasurer = await treasurer_tokens(http, sessions, settings)
    rate = await exchange_rate(http, treasurer, "17.25")
    await _ok(http.post("/v1/dues/runs", json={"period": dues_period()}, headers=bearer(admin)))
    dues_payment = await paid(
        http,
        juan_t,
        treasurer,
        household_id=home["id"],
        amount_minor=1000,
        currency="USD",
        method="remittance",
        reference="MTCN 5551234567",
    )
    share_payment = await _ok(
        report_payment(http, rosa_t, member_id=rosa_member["id"], amount_minor=500)
    )
    invoices = {
        invoice["id"]: invoice
        for tokens in (rosa_t, juan_t)
        for invoice in (await _ok(http.get("/v1/dues", headers=bearer(tokens))))["items"]
    }
    [dues] = [i for i in invoices.values() if i["household_id"] == home["id"]]

    # care: Dr. Ana sees Rosa, once booked by Rosa, once by her clinic in San Miguel
    profile, doctor_t = await practitioner(http, admin, sessions, settings)
    other_profile, other_doctor_t = await practitioner(http, admin, sessions, settings)
    clinics: dict[str, str] = {}
    staff: dict[str, dict[str, Any]] = {}
    for key, name in (("clinic", "Clínica San Miguel"), ("other_clinic", "Clínica Tlaxiaco")):
        clinic = await new_clinic(http, admin, name)
        staff[key] = await clinic_staff(http, admin, clinic["id"])
        clinics[key] = clinic["id"]
    await registered_with_clinic(http, staff["clinic"], clinics["clinic"], rosa_t, rosa["email"])
    # the strangers have their own care: Pedro at the other clinic, with the other doctor
    await registered_with_clinic(
        http, staff["other_clinic"], clinics["other_clinic"], other_t, pedro["email"]
    )
    # the doctor's own schedule: an extra afternoon and a day off
    day = (clock.today() + timedelta(days=20)).isoformat()
    window = await _ok(
        http.post(
            f"/v1/practitioners/{profile['id']}/extra-windows",
            json={"day": day, "start": "21:00", "end": "22:00"},
            headers=bearer(doctor_t),
        )
    )
    off_day = clock.today() + timedelta(days=25)
    time_off = await _ok(
        http.post(
            f"/v1/practitioners/{profile['id']}/time-off",
            json={
                "start": f"{off_day.isoformat()}T00:00:00-06:00",
                "end": f"{off_day.isoformat()}T23:00:00-06:00",
            },
            headers=bearer(doctor_t),
        )
    )
    slots = [
        s["start"]
        for s in await open_slots(
            http, rosa_t, **{"from": (clock.today() + timedelta(days=2)).isoformat()}
        )
        if s["practitioner_id"] == profile["id"]
    ]
    # Rosa wants SMS first, quiet nights, and Juan to hear of her consults
    await _ok(
        http.put(
            "/v1/me/notification-preferences",
            json={
                "channels": ["sms", "email"],
                "quiet_hours": {"start": "21:00", "end": "08:00"},
                "sponsor_reminders": True,
            },
            headers=bearer(rosa_t),
        )
    )
    booked = await book(http, rosa_t, profile["id"], slots[0])
    assert booked.status_code == 201, booked.text
    by_clinic = await book(
        http,
        staff["clinic"],
        profile["id"],
        slots[1],
        patient_account_id=rosa["id"],
        clinic_id=clinics["clinic"],
        referral_reason="control de presión arterial",
    )
    assert by_clinic.status_code == 201, by_clinic.text
    pedros = await open_slots(
        http, other_t, **{"from": (clock.today() + timedelta(days=2)).isoformat()}
    )
    [first_free] = [s for s in pedros if s["practitioner_id"] == other_profile["id"]][:1]
    pedros_visit = await book(
        http,
        staff["other_clinic"],
        other_profile["id"],
        first_free["start"],
        patient_account_id=pedro["id"],
        clinic_id=clinics["other_clinic"],
        referral_reason="dolor de rodilla",
    )
    assert pedros_visit.status_code == 201, pedros_visit.text
    # the clinic refers Rosa to Dr. Ana's specialty, and Dr. Ana takes the referral on
    referral = await _ok(
        http.post(
            "/v1/referrals",
            json={
                "clinic_id": clinics["clinic"],
                "patient_account_id": rosa["id"],
                "specialty": "family_medicine",
                "reason": "Presión alta pese a tratamiento",
                "clinical_summary": "Mujer de 52 años con hipertensión desde 2020.",
                "diagnostic_impression": "Hipertensión arterial descontrolada",
                "treatment_given": "Losartán 50 mg al día",
                "language": "es",
            },
            headers=bearer(staff["clinic"]),
        )
    )
    # the clinic sends Rosa's glucose curve with the referral, before Dr. Ana takes it on
    referral_file = await _ok(
        http.post(
            f"/v1/referrals/{referral['id']}/attachments",
            files={"file": ("Curva de Rosa.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")},
            data={"kind": "lab_result", "title": "Curva de tolerancia de Rosa"},
            headers=bearer(staff["clinic"]),
        )
    )
    await _ok(http.post(f"/v1/referrals/{referral['id']}/accept", headers=bearer(doctor_t)))
    # and a second one, still waiting, for the clinic's staff to withdraw when probed (a
    # withdrawn referral takes its files from the doctor: the first must stay open)
    spare_referral = await _ok(
        http.post(
            "/v1/referrals",
            json={
                "clinic_id": clinics["clinic"],
                "patient_account_id": rosa["id"],
                "specialty": "dermatology",  # no doctor of the world's: nobody's to see
                "reason": "Dermatitis que no cede",
                "clinical_summary": "Mujer de 52 años con dermatitis en manos.",
                "diagnostic_impression": "Dermatitis de contacto",
                "treatment_given": "Crema de hidrocortisona",
                "language": "es",
            },
            headers=bearer(staff["clinic"]),
        )
    )
    async with sessions() as session:  # Rosa's own consult is about to start: its room is open
        start = clock.now() + timedelta(minutes=5)
        await session.execute(
            update(Appointment)
            .where(col(Appointment.id) == uuid.UUID(booked.json()["id"]))
            .values(start=start, end=start + timedelta(minutes=30))
        )
        await session.commit()
    # Rosa consents to remote care, for herself and for her daughter, before her first consult
    for dependent in (None, child["id"]):
        consent = {"version": 1, "language": "es", "dependent_id": dependent}
        await _ok(http.post("/v1/me/telehealth-consents", json=consent, headers=bearer(rosa_t)))
    for tokens in (doctor_t, rosa_t):  # the doctor is in; Rosa waits to be admitted
        joining = f"/v1/appointments/{booked.json()['id']}/consult/join"
        await _ok(http.post(joining, headers=bearer(tokens)))
    # in the consult, Dr. Ana prescribes for Rosa
    prescription = await _ok(
        http.post(
            f"/v1/appointments/{booked.json()['id']}/prescriptions",
            json={
                "lines": [
                    {
                        "generic_name": "Losartán",
                        "presentation": "Tabletas de 50 mg",
                        "dose": "1 tableta",
                        "route": "Oral",
                        "frequency": "Cada 24 horas",
                        "duration": "30 días",
                        "quantity": "30 tabletas",
                        "instructions": "Tome una tableta cada mañana.",
                    }
                ],
                "indications": "Dieta baja en sal; regrese en un mes.",
            },
            headers=bearer(doctor_t),
        )
    )
    # Rosa sends her lab results to her consult before it starts
    attachment = await _ok(
        http.post(
            f"/v1/appointments/{booked.json()['id']}/attachments",
            files={"file": ("Biometría de Rosa.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")},
            data={"kind": "lab_result", "title": "Biometría hemática de Rosa"},
            headers=bearer(rosa_t),
        )
    )

    # the record: Dr. Ana's signed note of that consult
    note = f"/v1/appointments/{booked.json()['id']}/note"
    draft = await _ok(http.put(note, json={"version": 0, **COMPLETE}, headers=bearer(doctor_t)))
    await _ok(
        http.post(f"{note}/sign", json={"version": draft["version"]}, headers=bearer(doctor_t))
    )

    # governance: a vote still open and one closed, Rosa voting in both
    receipts: list[str] = []
    proposals: dict[str, str] = {}
    for key in ("proposal", "closed_proposal"):
        draft = await propose(http, admin, title=f"Abrir una clínica ({key})")
        await open_vote(http, admin, draft["id"])
        cast = await vote(http, rosa_t, draft["id"], vote="yes")
        assert cast.status_code == 200, cast.text
        receipts.append(cast.json()["receipt"])
        proposals[key] = draft["id"]
    await close(http, admin, proposals["closed_proposal"])

    # the year's surplus, with Rosa's patronage in it, approved by the assembly and posted
    await record_patronage(http, admin, {"member": rosa_member}, 250_000)
    run = await _ok(
        http.post(
            "/v1/surplus/runs",
            json={"fiscal_year": YEAR, "net_surplus_minor": 1_000_000, "currency": "MXN"},
            headers=bearer(admin),
        )
    )
    approval = await propose(http, admin, "surplus_allocation", allocation_run_id=run["id"])
    await open_vote(http, admin, approval["id"])
    for tokens in (rosa_t, juan_t, other_t, plain_t):
        cast = await vote(http, tokens, approval["id"], vote="yes")
        assert cast.status_code == 200, cast.text
        if tokens is rosa_t:
            receipts.append(cast.json()["receipt"])
    assert (await close(http, admin, approval["id"]))["passed"] is True
    await _ok(http.post(f"/v1/surplus/runs/{run['id']}/post", headers=bearer(admin)))

    # Rosa's app, approved, holding a grant of hers (its client id, name and contact are hers)
    rosa_app = await _ok(
        http.post(
            "/v1/apps",
            json={
                "name": "Recetario de Rosa",
                "kind": "confidential",
                "redirect_uris": ["https://recetario-rosa.example.org/cb"],
                "scopes": ["me"],
                "contact": "rosa-dev@recetario-rosa.example.org",
            },
            headers=bearer(rosa_t),
        ),
        201,
    )
    await _ok(
        http.post(f"/v1/apps/{rosa_app['client_id']}/approve", json={}, headers=bearer(admin))
    )
    rosa_hook = await _ok(  # an endpoint of Rosa's app (its id and secret are hers)
        http.post(
            f"/v1/apps/{rosa_app['client_id']}/webhooks",
            json={
                "url": "https://hooks.recetario-rosa.example.org/tequio",
                "event_types": ["appointment.booked"],
            },
            headers=bearer(rosa_t),
        ),
        201,
    )
    ids = {
        "app": rosa_app["client_id"],
        "webhook": rosa_hook["id"],
        "household": home["id"],
        "member": rosa_member["id"],
        "account": rosa["id"],
        "sponsor_member": juan_member["id"],
        "dependent": child["id"],
        "attestation": attestation["id"],
        "invoice": dues["id"],
        "email": rosa["email"],
        "payment": dues_payment["id"],
        "share_payment": share_payment["id"],
        "invitation": invitation["id"],
        "rate": rate["id"],
        "window": window["id"],
        "time_off": time_off["id"],
        "appointment": booked.json()["id"],
        "attachment": attachment["id"],
        "clinic_appointment": by_clinic.json()["id"],
        "referral": referral["id"],
        "spare_referral": spare_referral["id"],
        "referral_attachment": referral_file["id"],
        "practitioner": profile["id"],
        "other_practitioner": other_profile["id"],
        "clinic": clinics["clinic"],
        "proposal": proposals["proposal"],
        "closed_proposal": proposals["closed_proposal"],
        "run": run["id"],
        "slot": slots[2],
        "nothing": str(uuid.uuid4()),
        "receipt": receipts[1],
        "prescription": prescription["id"],
        "prescription_code": prescription["verification_code"],
    }
    secrets = {
        rosa_app["client_id"]: "Rosa's app's client id",
        rosa_hook["id"]: "Rosa's app's webhook endpoint id",
        rosa_hook["secret"]: "Rosa's app's webhook secret",
        "Recetario de Rosa": "Rosa's app's name",
        "rosa-dev@recetario-rosa.example.org": "Rosa's app's contact",
        rosa["id"]: "Rosa's account id",
        rosa_member["id"]: "Rosa's member id",
        rosa["email"]: "Rosa's email",
        rosa["phone"]: "Rosa's phone",
        "Rosa Itzel Matías Cruz": "Rosa's name",
        juan["id"]: "Juan's account id",
        juan_member["id"]: "Juan's member id",
        juan["email"]: "Juan's email",
        "Juan Matías Cruz": "Juan's name",
        home["id"]: "the household's id",
        "Familia Matías Cruz": "the household's name",
        child["id"]: "the dependent's id",
        "Xóchitl Matías Cruz": "the dependent's name",
        attestation["id"]: "the income attestation's id",
        dues_payment["id"]: "Juan's payment's id",
        share_payment["id"]: "Rosa's payment's id",
        invitation["id"]: "the invitation's id",
        tomas_member["id"]: "Tomás's member id",
        "Tomás Matías Cruz": "Tomás's name",
        booked.json()["id"]: "Rosa's appointment's id",
        attachment["id"]: "Rosa's lab result's id",
        "Biometría hemática de Rosa": "Rosa's lab result's title",
        "Biometría de Rosa": "Rosa's lab result's file name",
        by_clinic.json()["id"]: "the clinic appointment's id",
        referral["id"]: "Rosa's referral's id",
        spare_referral["id"]: "Rosa's second referral's id",
        referral_file["id"]: "the id of Rosa's lab result sent with her referral",
        "Curva de tolerancia de Rosa": "the title of Rosa's lab result sent with her referral",
        "Curva de Rosa": "the file name of Rosa's lab result sent with her referral",
        prescription["id"]: "Rosa's prescription's id",
        prescription["verification_code"]: "Rosa's prescription's verification code",
        "Dieta baja en sal; regrese en un mes.": "the indications of Rosa's prescription",
        **{receipt: "Rosa's ballot receipt" for receipt in receipts},
        **{invoice: f"invoice {invoice[:8]}'s id" for invoice in invoices},
    }
    same_clinic_knows = frozenset(
        {
            rosa["id"],
            rosa["email"],
            "Rosa Itzel Matías Cruz",
            by_clinic.json()["id"],
            referral["id"],
            spare_referral["id"],
            referral_file["id"],  # the clinic's staff sent it
            "Curva de tolerancia de Rosa",
            "Curva de Rosa",
        }
    )
    return World(
        ids=ids,
        tokens={
            "admin": admin,
            "rosa": rosa_t,
            "juan": juan_t,
            "tomas": tomas_t,
            "treasurer": treasurer,
            "doctor": doctor_t,
            "clinic_staff": staff["clinic"],
            "other_patient": other_t,
            "other_doctor": other_doctor_t,
            "other_clinic_staff": staff["other_clinic"],
            "same_clinic_staff": staff["clinic"],
            "no_membership": nobody_t,
            "plain_member": plain_t,
        },
        secrets=secrets,
        known={"same_clinic_staff": same_clinic_knows},
        fee_percent=fee_class["explanation"]["percent_exact"],
    )


def headers_of(world: World, who: str) -> dict[str, str]:
    return {} if who == "anonymous" else bearer(world.tokens[who])


__all__ = ["MEMBERS", "STRANGERS", "World", "build_world", "headers_of"]
