"""The authorization matrix: every operation the API serves is classified here, and each one that
bears someone's data is called by every kind of stranger, whose answers must refuse and must not
hold a single id, name, email or phone of the family whose data it is.

A new operation fails `test_every_operation_is_classified` until it has a line in OPERATIONS:
- `PUBLIC`: anyone, without a token (sign-up, the bylaws, health);
- `OWN`: the caller's own account only (`/v1/me`, applying, booking for oneself); its GETs are
  still called by every stranger and searched for the family's data;
- `SIGNED_IN`: a directory any signed-in caller reads (practitioners, slots);
- `role("admin")`: only that role; every stranger must be refused;
- `obj(...)`: an object named by the path (or the body or query): every stranger not in `see`
  must get 401/403/404; those in `see` (members see proposals) may read it, and act on it only
  if in `act`;
- `listing(...)`, `EXPORT`: the caller's own items; a stranger gets 200 (or 403/404) with none of
  the family's;
- `LINK`: opened with a signed link instead of a token: everyone, without a token or with their
  own, is refused (403/404) a link the server did not sign for them; `PROVIDER_SIGNED` likewise
  for a provider's callback (a delivery receipt) its provider did not sign.
`files=` sends the body as a multipart form with these files (an upload), `body=` its fields.
Path parameters are filled from the world (`tests/authorization_support.py`) by their name
(PARAMS); `path=`, `query=` and `body=` name world objects as `"{household}"`. `owner=` and
`shows=` make a positive control: that person still gets the family's data, `shows` in it.
"""

import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from app.db import create_sessionmaker
from app.main import create_app
from tests.authorization_support import MEMBERS, STRANGERS, World, build_world, headers_of
from tests.conftest import TEST_ADDRESS, Database, _empty_tables, make_settings


@dataclass(frozen=True)
class Rule:
    kind: str
    role: str | None = None
    path: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    body: Mapping[str, Any] | None = None
    files: Mapping[str, tuple[str, bytes, str]] | None = None
    see: frozenset[str] = frozenset()
    act: frozenset[str] = frozenset()
    owner: str | None = None
    shows: tuple[str, ...] = ()


PUBLIC = Rule("public")
OWN = Rule("own")
SIGNED_IN = Rule("signed-in")
EXPORT = Rule(
    "export",
    owner="rosa",
    shows=("household", "dependent", "attestation", "invoice", "attachment", "referral_attachment"),
)
FORGED = {"by": "account", "expires": "4102444800", "signature": "c2lnbmVkIGJ5IG5vYm9keQ"}
LINK = Rule("link", query=FORGED)
# a provider's status callback: no token, its signature checked (a stranger's is none)
PROVIDER_SIGNED = Rule("link", body={"MessageSid": "SM0", "MessageStatus": "delivered"})


def role(name: str, **fields: Any) -> Rule:
    return Rule("role", role=name, **fields)


def obj(**fields: Any) -> Rule:
    return Rule("object", **fields)


def listing(**fields: Any) -> Rule:
    return Rule("list", **fields)


MEMBERS_SEE = {"see": MEMBERS}
CLOSED = {"proposal_id": "closed_proposal"}
SPAN = {"start": "2030-01-02T10:00:00-06:00", "end": "2030-01-02T11:00:00-06:00"}
A = "/v1/appointments/{appointment_id}"
F = "/v1/attachments/{attachment_id}"
LAB_RESULT = {"file": ("biometria.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")}
H = "/v1/households/{household_id}"
P = "/v1/proposals/{proposal_id}"
R = "/v1/surplus/runs/{run_id}"
REF = "/v1/referrals/{referral_id}"
W = "/v1/apps/{client_id}/webhooks"
CLINIC = {"same_clinic_staff"}  # a referral is its clinic's: its staff see and move it
INTERCONSULTATION = {
    "findings": "Cifras de 160/100",
    "diagnostic_impression": "Hipertensión",
    "plan": "Agregar amlodipino",
}
RX = "/v1/prescriptions/{prescription_id}"
FH = "/fhir/R4"
DOCTOR_ROLE = {"role_id": "practitioner"}
LOSARTAN = {
    "generic_name": "Losartán",
    "presentation": "Tabletas de 50 mg",
    "dose": "1 tableta",
    "route": "Oral",
    "frequency": "Cada 24 horas",
    "duration": "30 días",
    "quantity": "30 tabletas",
    "instructions": "Tome una tableta cada mañana.",
}

OPERATIONS: dict[tuple[str, str], Rule] = {
    ("POST", "/v1/auth/register"): PUBLIC,
    ("POST", "/v1/auth/token"): PUBLIC,
    ("POST", "/v1/auth/refresh"): PUBLIC,
    ("POST", "/v1/auth/logout"): OWN,
    ("POST", "/v1/auth/verify"): PUBLIC,
    ("POST", "/v1/auth/verify/resend"): PUBLIC,
    ("POST", "/v1/auth/recover"): PUBLIC,
    ("POST", "/v1/auth/recover/confirm"): PUBLIC,
    ("GET", "/v1/me"): OWN,
    ("GET", "/v1/me/roles"): OWN,
    ("GET", "/v1/accounts/lookup"): role("admin", query={"contact": "email"}),
    ("GET", "/v1/accounts/{account_id}/roles"): role("admin"),
    ("POST", "/v1/accounts/{account_id}/roles"): role(
        "admin", body={"role": "board", "reason": "me lo merezco"}
    ),
    ("POST", "/v1/accounts/{account_id}/roles/revoke"): role(
        "admin", body={"role": "admin", "reason": "golpe de estado"}
    ),
    ("GET", "/v1/me/access-log"): listing(owner="rosa"),
    # apps: their owner (and admins) see and change them; a member's grants are their own
    ("POST", "/v1/apps"): OWN,
    ("GET", "/v1/apps"): listing(owner="rosa", shows=("app",)),
    ("GET", "/v1/apps/{client_id}"): obj(owner="rosa", shows=("app",)),
    ("PATCH", "/v1/apps/{client_id}"): obj(body={"is_active": False}),
    ("POST", "/v1/apps/{client_id}/approve"): role("admin"),
    ("POST", "/v1/apps/{client_id}/secret"): obj(),
    ("POST", W): obj(
        body={"url": "https://hooks.example.org/in", "event_types": ["proposal.opened"]}
    ),
    ("GET", W): obj(owner="rosa", shows=("webhook",)),
    ("GET", f"{W}/{{endpoint_id}}"): obj(owner="rosa", shows=("webhook",)),
    ("PATCH", f"{W}/{{endpoint_id}}"): obj(body={"is_active": False}),
    ("DELETE", f"{W}/{{endpoint_id}}"): obj(),
    ("POST", f"{W}/{{endpoint_id}}/secret"): obj(),
    ("GET", f"{W}/{{endpoint_id}}/deliveries"): obj(),
    ("POST", f"{W}/{{endpoint_id}}/deliveries/{{delivery_id}}/replay"): obj(),
    ("GET", "/v1/me/apps"): listing(),
    ("DELETE", "/v1/me/apps/{client_id}"): obj(),
    # her consult's reminders: their link names the appointment
    ("GET", "/v1/me/notifications"): listing(owner="rosa", shows=("appointment",)),
    # the caller's own; no path names anyone else's (tests/app/test_notification_preferences.py)
    ("GET", "/v1/me/notification-preferences"): OWN,
    ("PUT", "/v1/me/notification-preferences"): OWN,
    ("GET", "/v1/me/export"): EXPORT,
    ("POST", "/v1/me/erasure"): OWN,
    ("POST", "/v1/me/password"): OWN,
    ("POST", "/v1/me/contact"): OWN,
    ("POST", "/v1/me/contact/confirm"): OWN,
    ("GET", "/v1/bylaws"): PUBLIC,
    ("GET", "/v1/bylaws/versions"): PUBLIC,
    ("POST", "/v1/bylaws/versions"): role("admin"),
    ("GET", "/v1/bylaws/versions/{number}"): PUBLIC,
    ("POST", "/v1/members"): OWN,
    ("GET", "/v1/members"): listing(owner="rosa", shows=("member",)),
    ("GET", "/v1/members/{member_id}"): obj(owner="rosa", shows=("member",)),
    ("POST", "/v1/members/{member_id}/{action}"): obj(),
    ("POST", "/v1/members/{member_id}/curp-review"): role("admin", body={"decision": "holder"}),
    ("GET", "/v1/members/{member_id}/capital-account"): obj(owner="rosa", shows=("member",)),
    ("GET", "/v1/members/{member_id}/balance"): obj(owner="rosa"),
    ("POST", "/v1/households"): OWN,
    ("GET", "/v1/households"): listing(owner="rosa", shows=("household", "Familia Matías Cruz")),
    ("GET", H): obj(owner="juan", shows=("household", "Familia Matías Cruz")),
    ("PATCH", H): obj(body={"name": "Casa tomada"}),
    ("POST", f"{H}/members"): obj(body={"member_id": "{sponsor_member}"}),
    ("GET", "/v1/households/invitations"): listing(owner="tomas", shows=("invitation",)),
    ("POST", "/v1/households/invitations/{invitation_id}/accept"): obj(),
    ("POST", "/v1/households/invitations/{invitation_id}/decline"): obj(),
    ("DELETE", f"{H}/invitations/{{invitation_id}}"): obj(),
    ("DELETE", f"{H}/members/{{member_id}}"): obj(),
    ("POST", f"{H}/dependents"): obj(body={"full_name": "Intruso"}),
    ("DELETE", f"{H}/dependents/{{dependent_id}}"): obj(),
    ("POST", f"{H}/attestations"): obj(
        body={"income_minor": 1, "currency": "MXN", "period": "monthly", "household_size": 9}
    ),
    ("GET", f"{H}/attestations"): obj(owner="rosa", shows=("attestation",)),
    ("GET", f"{H}/fee-class"): obj(owner="rosa", shows=("household",)),
    ("GET", f"{H}/balance"): obj(owner="juan"),
    ("GET", "/v1/dues"): listing(
        query={"household_id": "household"}, owner="rosa", shows=("invoice",)
    ),
    ("POST", "/v1/dues/runs"): role("admin"),
    ("POST", "/v1/payments"): obj(
        body={
            "household_id": "{household}",
            "amount_minor": 100,
            "currency": "MXN",
            "method": "cash",
            "reference": "efectivo",
        }
    ),
    ("GET", "/v1/payments"): listing(
        query={"household_id": "household"}, owner="rosa", shows=("payment",)
    ),
    ("GET", "/v1/payments/{payment_id}"): obj(owner="juan", shows=("payment",)),
    ("POST", "/v1/payments/{payment_id}/confirm"): obj(path={"payment_id": "share_payment"}),
    ("POST", "/v1/payments/{payment_id}/reject"): obj(
        path={"payment_id": "share_payment"}, body={"reason": "no llegó"}
    ),
    ("POST", "/v1/payments/{payment_id}/withdraw"): obj(path={"payment_id": "share_payment"}),
    ("PUT", "/v1/payments/{payment_id}/receipt"): obj(path={"payment_id": "share_payment"}),
    ("GET", "/v1/payments/{payment_id}/receipt"): obj(path={"payment_id": "share_payment"}),
    ("GET", "/v1/exchange-rates"): SIGNED_IN,
    ("GET", "/v1/exchange-rates/in-force"): Rule(
        "signed-in", query={"from_currency": "USD", "to_currency": "MXN"}
    ),
    ("GET", "/v1/exchange-rates/{rate_id}"): SIGNED_IN,
    ("POST", "/v1/exchange-rates"): role(
        "treasurer",
        body={
            "from_currency": "USD",
            "to_currency": "MXN",
            "rate": "99",
            "effective_on": "2030-01-01",
        },
    ),
    ("GET", "/v1/practitioners/specialties"): PUBLIC,
    ("POST", "/v1/practitioners"): role("admin"),
    ("GET", "/v1/practitioners"): SIGNED_IN,
    ("GET", "/v1/practitioners/{practitioner_id}"): SIGNED_IN,
    ("PUT", "/v1/practitioners/{practitioner_id}/availability"): obj(body={"windows": []}),
    ("POST", "/v1/practitioners/{practitioner_id}/licences"): obj(
        body={"jurisdiction": "US-CA", "number": "X-1", "expires_on": "2030-01-01"}
    ),
    ("POST", "/v1/practitioners/{practitioner_id}/extra-windows"): obj(
        body={"day": "2030-01-02", "start": "08:00", "end": "09:00"}
    ),
    ("POST", "/v1/practitioners/{practitioner_id}/time-off"): obj(body=SPAN),
    ("GET", "/v1/practitioners/{practitioner_id}/extra-windows"): obj(
        owner="doctor", shows=("window",)
    ),
    ("DELETE", "/v1/practitioners/{practitioner_id}/extra-windows/{window_id}"): obj(),
    ("GET", "/v1/practitioners/{practitioner_id}/time-off"): obj(
        owner="doctor", shows=("time_off",)
    ),
    ("DELETE", "/v1/practitioners/{practitioner_id}/time-off/{time_off_id}"): obj(),
    ("POST", "/v1/clinics"): role("admin"),
    ("GET", "/v1/clinics"): listing(owner="clinic_staff", shows=("clinic",)),
    ("GET", "/v1/clinics/{clinic_id}/patients"): obj(  # searched as the nurse types
        query={"name": "rosa matias", "phone": "951 555 0142"},
        see={"same_clinic_staff"},
        owner="clinic_staff",
        shows=("account",),
    ),
    ("POST", "/v1/clinics/{clinic_id}/patients/decline"): OWN,
    ("POST", "/v1/clinics/{clinic_id}/patients/withdraw"): OWN,
    ("POST", "/v1/clinics/{clinic_id}/patients"): obj(
        body={"username": "{email}"}, see={"same_clinic_staff"}, act={"same_clinic_staff"}
    ),
    ("POST", "/v1/clinics/{clinic_id}/patients/accept"): obj(body={"code": "0000 0000"}),
    ("GET", "/v1/slots"): SIGNED_IN,
    ("POST", "/v1/appointments"): obj(
        body={
            "practitioner_id": "{practitioner}",
            "start": "{slot}",
            "patient_jurisdiction": "MX-OAX",
            "patient_account_id": "{account}",
        }
    ),
    ("GET", "/v1/appointments"): listing(owner="rosa", shows=("appointment", "clinic_appointment")),
    ("GET", A): obj(owner="rosa", shows=("appointment",)),
    ("POST", f"{A}/cancel"): obj(body={"reason": "ya no"}),
    ("POST", f"{A}/reschedule"): obj(body={"start": "{slot}"}),
    ("POST", f"{A}/status"): obj(body={"status": "noshow"}),
    ("POST", f"{A}/refund"): role("admin"),
    ("GET", f"{A}/events"): obj(owner="rosa"),
    ("GET", f"{A}/calendar.ics"): obj(owner="rosa", shows=("appointment",)),
    ("GET", f"{A}/consult"): obj(owner="doctor", shows=("account",)),
    ("POST", f"{A}/consult/join"): obj(owner="rosa"),
    ("GET", f"{A}/consult/participants"): obj(owner="doctor", shows=("account",)),
    ("POST", f"{A}/consult/admit"): obj(body={"account_id": "{account}"}),
    ("POST", f"{A}/consult/interpreters"): obj(body={"account_id": "{account}"}),
    ("POST", "/v1/consults/precheck"): obj(
        body={"sdp": "v=0", "clinic_id": "{clinic}"}, see={"same_clinic_staff"}
    ),
    ("GET", "/v1/consults/precheck/results"): obj(
        query={"clinic_id": "clinic"}, see={"same_clinic_staff"}, owner="clinic_staff"
    ),
    ("PUT", f"{A}/consult/mode"): obj(body={"mode": "p2p"}),
    ("PUT", f"{A}/consult/consent"): obj(body={"recording": False}),
    ("GET", f"{A}/consult/consents"): obj(owner="rosa"),
    ("POST", f"{A}/consult/recording"): obj(body={"action": "stop"}),
    ("GET", f"{A}/consult/recordings"): obj(owner="rosa"),
    ("GET", f"{A}/consult/recordings/{{recording_id}}/file"): obj(),
    ("POST", f"{A}/prescriptions"): obj(body={"lines": [LOSARTAN]}),
    ("GET", "/v1/prescriptions"): listing(owner="rosa", shows=("prescription",)),
    ("GET", RX): obj(owner="rosa", shows=("prescription", "prescription_code")),
    ("GET", f"{RX}/print"): obj(owner="doctor", shows=("Rosa Itzel Matías Cruz",)),
    ("GET", f"{RX}/pdf"): obj(owner="rosa"),
    ("POST", f"{RX}/revoke"): obj(body={"reason": "me lo merezco"}),
    ("GET", "/v1/prescriptions/verify/{code}"): PUBLIC,
    ("POST", f"{A}/attachments"): obj(body={"kind": "lab_result"}, files=LAB_RESULT),
    ("GET", f"{A}/attachments"): obj(owner="doctor", shows=("attachment",)),
    ("GET", F): obj(owner="rosa", shows=("attachment",)),
    ("GET", f"{F}/link"): obj(owner="doctor", shows=("attachment",)),
    ("GET", f"{F}/download"): LINK,
    ("DELETE", F): obj(),
    ("GET", f"{A}/encounter"): obj(owner="rosa", shows=("appointment",)),
    ("PUT", f"{A}/note"): obj(body={"version": 0}),
    ("POST", f"{A}/note/sign"): obj(body={"version": 1}),
    ("POST", f"{A}/note/addenda"): obj(body={"text": "Corrección de un extraño"}),
    ("GET", f"{A}/note"): obj(owner="rosa", shows=("appointment",)),
    ("GET", f"{A}/note/summary"): obj(owner="rosa", shows=("appointment",)),
    ("GET", "/v1/me/records"): listing(owner="rosa", shows=("appointment",)),
    ("GET", "/v1/records/cie10"): SIGNED_IN,
    ("GET", "/v1/records/consent"): SIGNED_IN,
    ("POST", "/v1/me/telehealth-consents"): obj(
        body={"version": 1, "language": "es", "dependent_id": "{dependent}"}
    ),
    ("GET", "/v1/me/telehealth-consents"): listing(owner="rosa", shows=("dependent",)),
    ("POST", "/v1/proposals"): OWN,
    ("GET", "/v1/proposals"): listing(owner="rosa", shows=("proposal",)),
    ("GET", P): obj(**MEMBERS_SEE, owner="rosa", shows=("proposal",)),
    ("POST", f"{P}/cosign"): obj(**MEMBERS_SEE),
    ("POST", f"{P}/open"): obj(**MEMBERS_SEE, body={"closes_at": "2030-01-01T00:00:00Z"}),
    ("POST", f"{P}/close"): obj(**MEMBERS_SEE),
    ("POST", f"{P}/comments"): obj(**MEMBERS_SEE, act=MEMBERS, body={"body": "¿Y el costo?"}),
    ("GET", f"{P}/comments"): obj(**MEMBERS_SEE, owner="rosa"),
    ("GET", f"{P}/events"): obj(**MEMBERS_SEE, owner="rosa"),
    ("POST", f"{P}/ballots"): obj(**MEMBERS_SEE, act=MEMBERS, body={"vote": "no"}),
    ("GET", f"{P}/result"): obj(**MEMBERS_SEE, path=CLOSED, owner="rosa"),
    ("GET", f"{P}/ballots.json"): obj(**MEMBERS_SEE, path=CLOSED, owner="rosa"),
    ("GET", f"{P}/ballots.csv"): obj(**MEMBERS_SEE, path=CLOSED, owner="rosa"),
    ("GET", f"{P}/verify"): obj(
        **MEMBERS_SEE, path=CLOSED, query={"receipt": "00000000-no-such"}, owner="rosa"
    ),
    ("POST", "/v1/surplus/runs"): role("admin"),
    ("GET", "/v1/surplus/runs"): role("admin", owner="admin", shows=("run",)),
    ("GET", R): role("admin", owner="admin", shows=("run",)),
    ("GET", f"{R}/lines.csv"): role("admin", owner="admin", shows=("member",)),
    ("POST", f"{R}/post"): role("admin"),
    ("POST", f"{R}/reverse"): role("admin"),
    ("GET", f"{R}/journal"): role("admin", owner="admin"),
    ("GET", f"{R}/notices/{{member_id}}"): obj(owner="rosa", shows=("Rosa Itzel Matías Cruz",)),
    ("GET", "/v1/surplus/notices"): listing(owner="rosa", shows=("run",)),
    ("GET", "/v1/surplus/capital-accounts/{member_id}"): obj(owner="rosa", shows=("member",)),
    ("POST", "/v1/surplus/patronage"): role("admin"),
    ("GET", "/v1/surplus/patronage"): listing(
        query={"member_id": "member"}, owner="rosa", shows=("member",)
    ),
    ("POST", "/v1/referrals"): obj(
        body={
            "clinic_id": "{clinic}",
            "patient_account_id": "{account}",
            "specialty": "cardiology",
            "reason": "Soplo",
            "clinical_summary": "Soplo sistólico nuevo",
            "diagnostic_impression": "Soplo a estudiar",
            "treatment_given": "ninguno",
            "language": "es",
        },
        see=CLINIC,
        act=CLINIC,
    ),
    ("GET", "/v1/referrals/open"): listing(),
    ("GET", "/v1/referrals/mine"): listing(owner="doctor", shows=("referral", "account")),
    ("GET", "/v1/me/referrals"): listing(owner="rosa", shows=("referral",)),
    ("GET", "/v1/clinics/{clinic_id}/referrals"): obj(
        see=CLINIC, owner="clinic_staff", shows=("referral", "account")
    ),
    ("GET", REF): obj(see=CLINIC, owner="doctor", shows=("referral", "account")),
    ("POST", f"{REF}/accept"): obj(see=CLINIC),
    ("POST", f"{REF}/decline"): obj(see=CLINIC, body={"reason": "No es de mi especialidad"}),
    ("POST", f"{REF}/answer"): obj(see=CLINIC, body=INTERCONSULTATION),
    ("POST", f"{REF}/schedule"): obj(see=CLINIC, act=CLINIC, body={"appointment_id": "{nothing}"}),
    ("POST", f"{REF}/complete"): obj(see=CLINIC),
    ("POST", f"{REF}/withdraw"): obj(
        see=CLINIC, act=CLINIC, path={"referral_id": "spare_referral"}
    ),
    ("POST", f"{REF}/attachments"): obj(
        see=CLINIC, act=CLINIC, body={"kind": "lab_result"}, files=LAB_RESULT
    ),
    ("GET", f"{REF}/attachments"): obj(see=CLINIC, owner="doctor", shows=("referral_attachment",)),
    ("POST", "/v1/notifications/receipts/twilio"): PROVIDER_SIGNED,
    # FHIR R4 (app/fhir): the same rules as their REST twins
    ("GET", f"{FH}/metadata"): PUBLIC,
    ("GET", f"{FH}/$bulk-publish"): PUBLIC,
    ("GET", f"{FH}/$bulk-publish/{{kind}}.ndjson"): Rule("public", path={"kind": "Slot"}),
    ("GET", f"{FH}/Practitioner"): SIGNED_IN,
    ("GET", f"{FH}/Practitioner/{{practitioner_id}}"): SIGNED_IN,
    ("GET", f"{FH}/PractitionerRole"): SIGNED_IN,
    ("GET", f"{FH}/PractitionerRole/{{role_id}}"): Rule("signed-in", path=DOCTOR_ROLE),
    ("GET", f"{FH}/Schedule"): SIGNED_IN,
    ("GET", f"{FH}/Schedule/{{schedule_id}}"): Rule(
        "signed-in", path={"schedule_id": "practitioner"}
    ),
    ("GET", f"{FH}/Slot"): SIGNED_IN,
    ("GET", f"{FH}/Slot/{{slot_id}}"): Rule("signed-in", path={"slot_id": "nothing"}),
    ("GET", f"{FH}/Organization"): listing(owner="clinic_staff", shows=("clinic",)),
    ("GET", f"{FH}/Organization/{{clinic_id}}"): obj(
        see=CLINIC, owner="clinic_staff", shows=("clinic",)
    ),
    ("GET", f"{FH}/Location"): listing(owner="clinic_staff", shows=("clinic",)),
    ("GET", f"{FH}/Location/{{location_id}}"): obj(
        path={"location_id": "clinic"}, see=CLINIC, owner="clinic_staff", shows=("clinic",)
    ),
    ("GET", f"{FH}/Appointment"): listing(
        owner="rosa", shows=("appointment", "clinic_appointment")
    ),
    ("GET", f"{FH}/Appointment/{{appointment_id}}"): obj(owner="rosa", shows=("appointment",)),
    ("GET", f"{FH}/Patient"): listing(query={"_id": "account"}, owner="rosa", shows=("account",)),
    ("GET", f"{FH}/Patient/{{patient_id}}"): obj(
        path={"patient_id": "account"}, see=CLINIC, owner="doctor", shows=("account",)
    ),
    ("GET", f"{FH}/Encounter"): listing(
        query={"appointment": "appointment"}, owner="rosa", shows=("appointment",)
    ),
    ("GET", f"{FH}/Encounter/{{encounter_id}}"): obj(
        path={"encounter_id": "appointment"}, owner="rosa", shows=("appointment",)
    ),
    ("GET", f"{FH}/ServiceRequest"): listing(owner="rosa", shows=("referral",)),
    ("GET", f"{FH}/ServiceRequest/{{referral_id}}"): obj(
        see=CLINIC, owner="doctor", shows=("referral", "account")
    ),
    ("GET", f"{FH}/MedicationRequest"): listing(owner="rosa", shows=("prescription",)),
    ("GET", f"{FH}/MedicationRequest/{{prescription_id}}"): obj(
        owner="rosa", shows=("prescription", "prescription_code")
    ),
    ("GET", f"{FH}/DocumentReference"): listing(
        query={"encounter": "appointment"}, owner="doctor", shows=("attachment",)
    ),
    ("GET", f"{FH}/DocumentReference/{{attachment_id}}"): obj(owner="rosa", shows=("attachment",)),
    ("GET", "/healthz/live"): PUBLIC,
    ("GET", "/healthz/ready"): PUBLIC,
}

# Path parameters by name: a world object, or a literal.
PARAMS = {
    "household_id": "household",
    "member_id": "member",
    "dependent_id": "dependent",
    "payment_id": "payment",
    "appointment_id": "appointment",
    "practitioner_id": "practitioner",
    "clinic_id": "clinic",
    "proposal_id": "proposal",
    "run_id": "run",
    "recording_id": "nothing",
    "attachment_id": "attachment",
    "invitation_id": "invitation",
    "account_id": "account",
    "client_id": "app",
    "endpoint_id": "webhook",
    "delivery_id": "nothing",  # strangers are refused at the endpoint already
    "rate_id": "rate",
    "window_id": "window",
    "time_off_id": "time_off",
    "referral_id": "referral",
    "prescription_id": "prescription",
    "code": "prescription_code",
    "number": "1",
    "action": "withdraw",  # what a member may do to their own membership
}

# Known failures: empty when every fix has landed (strict: a fix turns the test red until its
# line goes). A new entry names its issue and defect.
KNOWN: dict[tuple[str, str, str], str] = {}


def _probed(rule: Rule, method: str) -> bool:
    if rule.kind == "public":
        return False
    return rule.kind != "own" or method == "GET"  # an own write acts on the stranger's own account


def _cases() -> list[Any]:
    cases = []
    for (method, path), rule in OPERATIONS.items():
        if not _probed(rule, method):
            continue
        for who in STRANGERS:
            reason = KNOWN.get((method, path, who))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            cases.append(
                pytest.param(method, path, who, id=f"{method} {path} by {who}", marks=marks)
            )
    return cases


def _controls() -> list[Any]:
    return [
        pytest.param(method, path, id=f"{method} {path}")
        for (method, path), rule in OPERATIONS.items()
        if rule.owner
    ]


def _fill(value: Any, world: World) -> Any:
    if isinstance(value, str):
        found = re.fullmatch(r"\{(\w+)\}", value)
        return world.ids[found.group(1)] if found else value
    if isinstance(value, dict):
        return {k: _fill(v, world) for k, v in value.items()}
    return value


async def _call(
    http: httpx.AsyncClient, world: World, method: str, path: str, who: str
) -> httpx.Response:
    rule = OPERATIONS[(method, path)]
    names = {**PARAMS, **rule.path}
    url = re.sub(r"\{(\w+)\}", lambda m: world.ids.get(names[m[1]], names[m[1]]), path)
    query = {k: world.ids.get(v, v) for k, v in rule.query.items()}
    body = _fill(rule.body, world) if rule.body is not None else None
    if rule.files is not None:
        return await http.request(
            method, url, params=query, data=body, files=rule.files, headers=headers_of(world, who)
        )
    if body is None and method in ("POST", "PUT", "PATCH"):
        body = {}
    return await http.request(method, url, params=query, json=body, headers=headers_of(world, who))


@pytest.fixture(scope="module")
async def world(database: Database) -> AsyncIterator[tuple[httpx.AsyncClient, World]]:
    """One family's world per backend, committed for real; the tables are emptied afterwards."""
    settings = make_settings(database.url)
    sessions = create_sessionmaker(database.engine)
    app = create_app(settings, engine=database.engine, sessionmaker=sessions)
    transport = httpx.ASGITransport(app=app, client=(TEST_ADDRESS, 40000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://tequio.test") as http:
            yield http, await build_world(http, sessions, settings)
    finally:
        await _empty_tables(database.engine)


def test_every_operation_is_classified() -> None:
    spec = create_app(make_settings("sqlite+aiosqlite://")).openapi()
    served = {
        (method.upper(), path) for path, methods in spec["paths"].items() for method in methods
    }
    missing = sorted(served - OPERATIONS.keys())
    assert not missing, (
        f"unclassified operations: {missing}. Add each to OPERATIONS in {__file__}: PUBLIC, OWN, "
        "SIGNED_IN, role(...), obj(...), listing(...) or EXPORT (see the module's docstring); "
        "an operation that bears someone's data names its object and an owner who sees it."
    )
    gone = sorted(OPERATIONS.keys() - served)
    assert not gone, f"OPERATIONS lists operations the API no longer serves: {gone}"
    for (method, path), rule in OPERATIONS.items():
        names = {**PARAMS, **rule.path}
        assert all(name in names for name in re.findall(r"\{(\w+)\}", path)), (method, path)


@pytest.mark.parametrize(("method", "path", "who"), _cases())
async def test_a_stranger_gets_nothing_of_the_family(
    world: tuple[httpx.AsyncClient, World], method: str, path: str, who: str
) -> None:
    http, family = world
    rule = OPERATIONS[(method, path)]
    response = await _call(http, family, method, path, who)
    status = response.status_code
    leaked = family.leaked(who, response)
    assert not leaked, f"{who} was answered {status} with {leaked}:\n{response.text[:2000]}"
    assert status < 500, response.text
    if rule.kind == "link":
        assert status in (403, 404), f"{who} was answered {status}: {response.text[:500]}"
    elif who == "anonymous":
        assert status == 401, response.text
    elif rule.kind in ("role", "object") and who not in rule.see:
        assert status in (401, 403, 404), f"{who} was answered {status}: {response.text[:500]}"
    elif rule.kind == "object" and method != "GET" and who not in rule.act:
        assert status >= 400, f"{who} acted on the family's object: {response.text[:500]}"
    elif rule.kind in ("list", "export", "own", "signed-in"):
        assert status in (200, 403, 404), response.text


@pytest.mark.parametrize(("method", "path"), _controls())
async def test_the_family_still_gets_its_own(
    world: tuple[httpx.AsyncClient, World], method: str, path: str
) -> None:
    """Run after the strangers: whatever they tried, each owner still gets their data."""
    http, family = world
    rule = OPERATIONS[(method, path)]
    assert rule.owner is not None
    response = await _call(http, family, method, path, rule.owner)
    assert response.status_code == 200, response.text
    for shown in rule.shows:
        assert family.ids.get(shown, shown) in response.text, (shown, response.text[:2000])


@pytest.mark.parametrize("who", [s for s in STRANGERS if s not in CLINIC])
async def test_a_stranger_gets_nothing_of_the_referrals_attachment(
    world: tuple[httpx.AsyncClient, World], who: str
) -> None:
    """The operations on one attachment serve a consult's and a referral's: the matrix above
    probes them with the consult's; here with the one the clinic sent with Rosa's referral
    (an admin's `reason` included, which opens nothing to anyone else)."""
    http, family = world
    one = f"/v1/attachments/{family.ids['referral_attachment']}"
    reason = {"reason": "curiosidad"}
    for method, path, query in (
        ("GET", one, {}),
        ("GET", one, reason),
        ("GET", f"{one}/link", reason),
        ("DELETE", one, {}),
    ):
        response = await http.request(method, path, params=query, headers=headers_of(family, who))
        leaked = family.leaked(who, response)
        assert not leaked, f"{who} was answered {response.status_code} with {leaked}"
        expected = (401,) if who == "anonymous" else (403, 404)
        assert response.status_code in expected, (method, path, response.text[:500])
    owner = await http.get(one, headers=headers_of(family, "doctor"))
    assert owner.status_code == 200 and owner.json()["referral_id"] == family.ids["referral"]


async def test_the_doctor_and_the_clinic_see_the_fee_but_not_the_household_income(
    world: tuple[httpx.AsyncClient, World],
) -> None:
    http, family = world
    seen = []
    for who, appointment in (("doctor", "appointment"), ("clinic_staff", "clinic_appointment")):
        response = await http.get(
            f"/v1/appointments/{family.ids[appointment]}", headers=headers_of(family, who)
        )
        assert response.status_code == 200, response.text
        assert response.json()["fee"]["fee_class"] == "A"  # the fee and its class: yes
        seen.append(response.text)
    for text in seen:
        assert family.ids["household"] not in text
        assert family.fee_percent not in text


async def test_a_pharmacy_verifying_rosas_prescription_sees_nothing_else_of_the_family(
    world: tuple[httpx.AsyncClient, World],
) -> None:
    """The verification address is public: its answer (JSON and page) holds the prescription's
    validity, prescriber, date and drug lines, and not one id, name, email or phone of the
    family (the code in the address is what the pharmacy already holds)."""
    http, family = world
    url = f"/v1/prescriptions/verify/{family.ids['prescription_code']}"
    for accept in ("application/json", "text/html"):
        response = await http.get(url, headers={"Accept": accept})
        assert response.status_code == 200, response.text
        assert "Losart" in response.text
        assert not family.leaked("anonymous", response), response.text[:2000]
