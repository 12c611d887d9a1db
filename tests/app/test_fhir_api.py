"""The FHIR R4 views (`/fhir/R4`): every resource they serve is valid FHIR by an independent
library (`fhir.resources`), the same callers see the same data as through the REST API (404 for
strangers, without the owner's ids), health-data reads reach the patient's access log, and the
public SMART Scheduling Links feed holds no patient data."""

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fhir.resources.R4B import get_fhir_model_class

from app.db import create_sessionmaker
from app.fhir.scopes import tequio_scope, tequio_scopes
from app.main import create_app
from cooperative.kernel import clock
from cooperative.kernel.principal import Scope
from tests.authorization_support import World, build_world, headers_of
from tests.conftest import TEST_ADDRESS, Database, _empty_tables, make_settings
from tests.factories import admin_tokens, practitioner

FHIR = {"Accept": "application/fhir+json"}
B = "/fhir/R4"


def local(url: str) -> str:
    """A link the server gave, asked of the test's app."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def validated(resource: dict[str, Any]) -> dict[str, Any]:
    """The resource, checked by `fhir.resources` (R4B models, the nearest it ships to R4);
    a Bundle's entries each by their own type."""
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    for entry in resource.get("entry", []):
        validated(entry["resource"])
    return resource


class Family:
    def __init__(self, http: httpx.AsyncClient, world: World) -> None:
        self.http, self.world = http, world

    async def get(self, who: str, path: str, **params: Any) -> httpx.Response:
        path = path.format(**self.world.ids)
        return await self.http.get(
            B + path, params=params, headers={**FHIR, **headers_of(self.world, who)}
        )

    async def resource(self, who: str, path: str, **params: Any) -> dict[str, Any]:
        response = await self.get(who, path, **params)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/fhir+json")
        return validated(response.json())


@pytest.fixture(scope="module")
async def family(database: Database) -> AsyncIterator[Family]:
    settings = make_settings(database.url)
    sessions = create_sessionmaker(database.engine)
    app = create_app(settings, engine=database.engine, sessionmaker=sessions)
    transport = httpx.ASGITransport(app=app, client=(TEST_ADDRESS, 40000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://tequio.test") as http:
            world = await build_world(http, sessions, settings)
            admin = await admin_tokens(http, sessions, settings)
            for languages, specialty in ((("nah", "es"), "pediatrics"), (("mix",), "cardiology")):
                await practitioner(
                    http, admin, sessions, settings, languages=languages, specialties=(specialty,)
                )
            yield Family(http, world)
    finally:
        await _empty_tables(database.engine)


READS = {
    "Practitioner/{practitioner}": "doctor",
    "PractitionerRole/{practitioner}": "doctor",
    "Schedule/{practitioner}": "rosa",
    "Organization/{clinic}": "clinic_staff",
    "Location/{clinic}": "clinic_staff",
    "Location/telehealth": "rosa",
    "Appointment/{appointment}": "rosa",
    "Appointment/{clinic_appointment}": "clinic_staff",
    "Patient/{account}": "doctor",
    "Encounter/{appointment}": "rosa",
    "ServiceRequest/{referral}": "rosa",
    "MedicationRequest/{prescription}": "rosa",
    "DocumentReference/{attachment}": "rosa",
}
SEARCHES: dict[str, tuple[str, dict[str, str]]] = {
    "Practitioner": ("rosa", {}),
    "PractitionerRole": ("rosa", {}),
    "Schedule": ("rosa", {}),
    "Organization": ("clinic_staff", {}),
    "Location": ("clinic_staff", {}),
    "Slot": ("rosa", {}),
    "Appointment": ("rosa", {}),
    "Patient": ("rosa", {}),
    "Encounter": ("rosa", {"appointment": "{appointment}"}),
    "ServiceRequest": ("rosa", {}),
    "MedicationRequest": ("rosa", {}),
    "DocumentReference": ("doctor", {"encounter": "{appointment}"}),
}


async def test_each_resource_read_is_valid_fhir(family: Family) -> None:
    for path, who in READS.items():
        resource = await family.resource(who, "/" + path)
        kind, _, ident = path.partition("/")
        assert resource["resourceType"] == kind
        assert resource["id"] == ident.format(**family.world.ids)


async def test_each_search_is_a_valid_searchset_bundle_with_entries(family: Family) -> None:
    for kind, (who, params) in SEARCHES.items():
        filled = {k: v.format(**family.world.ids) for k, v in params.items()}
        bundle = await family.resource(who, f"/{kind}", **filled)
        assert bundle["type"] == "searchset"
        assert bundle["entry"], kind
        assert {e["resource"]["resourceType"] for e in bundle["entry"]} == {kind}
        assert bundle["link"][0]["relation"] == "self"


async def test_a_search_pages_with_a_next_link_and_the_pages_join_up(family: Family) -> None:
    first = await family.resource("rosa", "/Slot", _count="3")
    assert "total" not in first
    [following] = [link["url"] for link in first["link"] if link["relation"] == "next"]
    response = await family.http.get(
        local(following),
        headers={**FHIR, **headers_of(family.world, "rosa")},
    )
    second = validated(response.json())
    both = [e["resource"]["id"] for e in first["entry"] + second["entry"]]
    six = await family.resource("rosa", "/Slot", _count="6")
    assert both == [e["resource"]["id"] for e in six["entry"]]


async def test_what_the_resources_say(family: Family) -> None:
    ids = family.world.ids
    doctor = await family.resource("rosa", "/Practitioner/{practitioner}")
    [cedula] = doctor["qualification"]
    assert cedula["identifier"][0] == {
        "system": "https://www.cedulaprofesional.sep.gob.mx",
        "value": "1234567",
    }
    assert cedula["period"]["end"].startswith("2030-12-31")
    assert doctor["communication"][0]["coding"][0] == {"system": "urn:ietf:bcp:47", "code": "es"}
    roles = await family.resource("rosa", "/PractitionerRole", _count="200")
    languages = {
        ext["valueCodeableConcept"]["coding"][0]["code"]
        for e in roles["entry"]
        for ext in e["resource"]["extension"]
    }
    assert {"nah", "mix"} <= languages
    visit = await family.resource("clinic_staff", "/Appointment/{clinic_appointment}")
    actors = [p.get("actor", {}).get("reference") for p in visit["participant"]]
    assert f"Patient/{ids['account']}" in actors
    assert f"Practitioner/{ids['practitioner']}" in actors
    assert f"Location/{ids['clinic']}" in actors
    encounter = await family.resource("rosa", "/Encounter/{appointment}")
    assert encounter["class"] == {
        "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
        "code": "VR",
        "display": "virtual",
    }
    document = await family.resource("rosa", "/DocumentReference/{attachment}")
    attachment = document["content"][0]["attachment"]
    assert "data" not in attachment
    assert attachment["url"].endswith(f"/v1/attachments/{ids['attachment']}/link")


async def test_the_interpreter_is_a_participant_with_its_language(family: Family) -> None:
    from app.fhir.resources import appointment
    from telehealth.scheduling.schemas import AppointmentPublic

    response = await family.http.get(
        "/v1/appointments/{appointment}".format(**family.world.ids),
        headers=headers_of(family.world, "rosa"),
    )
    shown = AppointmentPublic.model_validate(
        {**response.json(), "interpreter_needed": True, "preferred_language": "mix"}
    )
    resource = validated(appointment(shown))
    [interpreter] = [p for p in resource["participant"] if "actor" not in p]
    assert interpreter["type"][0]["coding"][0]["code"] == "TRANS"
    assert interpreter["extension"][0]["valueCode"] == "mix"


STRANGER_READS = [
    p
    for p in READS
    if p.split("/")[0] not in {"Practitioner", "PractitionerRole", "Schedule"}
    and p != "Location/telehealth"
]


@pytest.mark.parametrize("who", ["other_patient", "other_doctor", "other_clinic_staff"])
async def test_a_stranger_gets_an_operation_outcome_404_without_the_familys_ids(
    family: Family, who: str
) -> None:
    for path in STRANGER_READS:
        response = await family.get(who, "/" + path)
        assert response.status_code == 404, (path, response.text)
        assert response.headers["content-type"].startswith("application/fhir+json")
        outcome = validated(response.json())
        assert outcome["issue"][0]["code"] == "not-found"
        assert not family.world.leaked(who, response), path


async def test_errors_are_operation_outcomes_in_spanish_or_problems_for_rest_clients(
    family: Family,
) -> None:
    path = B + "/Appointment/{appointment}".format(**family.world.ids)
    asked = {**headers_of(family.world, "other_patient"), "Accept-Language": "es"}
    fhir = await family.http.get(path, headers={**asked, **FHIR})
    problem = await family.http.get(path, headers=asked)
    assert fhir.status_code == problem.status_code == 404
    outcome = validated(fhir.json())["issue"][0]
    assert outcome["details"]["text"] == problem.json()["title"]
    assert outcome["diagnostics"] == problem.json()["detail"]
    assert fhir.headers["content-language"] == "es"
    assert problem.headers["content-type"] == "application/problem+json"
    anonymous = await family.http.get(B + "/Appointment", headers=FHIR)
    assert anonymous.status_code == 401
    assert validated(anonymous.json())["issue"][0]["code"] == "login"


async def test_a_patient_is_shown_only_to_who_may_see_them(family: Family) -> None:
    for who in ("rosa", "doctor", "same_clinic_staff"):
        assert (await family.get(who, "/Patient/{account}")).status_code == 200, who
    for who in ("other_patient", "other_doctor", "other_clinic_staff", "plain_member"):
        response = await family.get(who, "/Patient/{account}")
        assert response.status_code == 404, who
        found = await family.resource(who, "/Patient", _id=family.world.ids["account"])
        assert found["entry"] == [] and found["total"] == 0


async def test_reads_of_health_data_are_in_the_patients_access_log(family: Family) -> None:
    ids = family.world.ids
    for path in (
        "/Patient/{account}",
        "/Encounter/{appointment}",
        "/MedicationRequest/{prescription}",
    ):
        await family.resource("doctor", path)
    log = await family.http.get(
        "/v1/me/access-log", params={"limit": 200}, headers=headers_of(family.world, "rosa")
    )
    resources = {entry["resource"] for entry in log.json()["items"]}
    assert f"patient:{ids['account']}" in resources
    assert any(ids["prescription"] in r for r in resources)
    assert any(ids["appointment"] in r for r in resources)


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"specialty": "pediatrics"},
        {"language": "nah"},
        {"language": "mix"},
        {"specialty": "family_medicine", "language": "es"},
    ],
)
async def test_slot_search_gives_the_slots_of_the_rest_search(
    family: Family, query: dict[str, str]
) -> None:
    today = clock.today()
    first, last = today + timedelta(days=1), today + timedelta(days=3)
    rest = await family.http.get(
        "/v1/slots",
        params={**query, "from": str(first), "to": str(last), "timezone": "UTC", "limit": 200},
        headers=headers_of(family.world, "rosa"),
    )
    fhir = await family.resource(
        "rosa",
        "/Slot",
        **query,
        start=[f"ge{first}", f"lt{last + timedelta(days=1)}"],
        _count="200",
    )
    expected = [(s["practitioner_id"], s["start"]) for s in rest.json()["items"]]
    assert expected
    got = [
        (e["resource"]["schedule"]["reference"].removeprefix("Schedule/"), e["resource"]["start"])
        for e in fhir["entry"]
    ]
    assert [p for p, _ in got] == [p for p, _ in expected]
    # the same instants (the REST search was asked for UTC; FHIR answers in the reader's zone)
    instants = [datetime.fromisoformat(s) for _, s in got]
    assert instants == [datetime.fromisoformat(s) for _, s in expected]
    slot = fhir["entry"][0]["resource"]
    assert (await family.resource("rosa", f"/Slot/{slot['id']}"))["start"] == slot["start"]


async def test_the_capability_statement_lists_what_is_served(family: Family) -> None:
    response = await family.http.get(B + "/metadata")
    statement = validated(response.json())
    served = {r["type"] for r in statement["rest"][0]["resource"]}
    assert served == set(SEARCHES) == {k.split("/")[0] for k in READS} | {"Slot"}
    routes = {
        path.removeprefix(B + "/").split("/")[0]
        for path in family.http._transport.app.openapi()["paths"]  # type: ignore[attr-defined]
        if path.startswith(B + "/") and "$" not in path and "metadata" not in path
    }
    assert served == routes


def test_smart_scopes_map_onto_tequio_scopes() -> None:
    assert tequio_scope("patient/Appointment.rs") == Scope.APPOINTMENTS_READ
    assert tequio_scope("user/Practitioner.rs") == Scope.ME
    assert tequio_scope("patient/Patient.r") == Scope.APPOINTMENTS_READ
    assert tequio_scope("patient/Appointment.cud") is None  # nothing is written through FHIR
    assert tequio_scope("system/Appointment.rs") is None
    assert tequio_scope("nonsense") is None
    assert tequio_scopes(["patient/*.rs"]) == {Scope.ME, Scope.APPOINTMENTS_READ}


async def test_the_bulk_publish_feed_is_public_valid_and_holds_no_patient_data(
    family: Family,
) -> None:
    manifest = (await family.http.get(B + "/$bulk-publish")).json()
    assert manifest["error"] == [] and manifest["transactionTime"]
    assert {o["type"] for o in manifest["output"]} == {"Location", "Schedule", "Slot"}
    schedules: set[str] = set()
    for output in manifest["output"]:
        path = local(output["url"])
        response = await family.http.get(path)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/fhir+ndjson")
        lines = [json.loads(line) for line in response.text.splitlines()]
        assert lines, output["type"]
        for line in lines:
            assert validated(line)["resourceType"] == output["type"]
        if output["type"] == "Schedule":
            schedules = {line["id"] for line in lines}
        if output["type"] == "Slot":
            assert {line["status"] for line in lines} == {"free"}
            assert {
                line["schedule"]["reference"].removeprefix("Schedule/") for line in lines
            } <= schedules
            # no booking-deep-link to a page that does not exist
            assert all("extension" not in line for line in lines)
        assert "Patient" not in response.text
        assert not family.world.leaked("anonymous", response)


async def test_a_bad_search_or_an_unknown_file_is_refused_as_fhir_clients_expect(
    family: Family,
) -> None:
    for params in ({"start": "gt2027-01-01"}, {"start": "ge2020-01-01"}, {"_count": "900"}):
        response = await family.get("rosa", "/Slot", **params)
        assert response.status_code == 422, params
        assert validated(response.json())["issue"][0]["code"] == "invalid"
    taken = await family.get("rosa", "/Slot/{practitioner}-1")
    assert taken.status_code == 404
    assert (await family.http.get(B + "/$bulk-publish/Patient.ndjson")).status_code == 404
