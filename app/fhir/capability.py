"""`GET /fhir/R4/metadata`: the CapabilityStatement, built from what the FHIR routers serve."""

from importlib.metadata import version

from fastapi import APIRouter, Request, Response

from app.errors import problem_responses
from cooperative.kernel import clock

from . import resources
from .bundles import FHIR_JSON, PREFIX, FhirResponse, base_url, resource_response
from .scopes import RESOURCE_SCOPES, smart_scopes

router = APIRouter(prefix=PREFIX, tags=["fhir"], default_response_class=FhirResponse)

PAGING = [
    {"name": "_count", "type": "number", "documentation": "Entries per page (1-200)."},
    {"name": "_cursor", "type": "string", "documentation": "From the `next` link."},
]
# resource type -> its search parameters (name, FHIR type, what it does)
SEARCHES: dict[str, list[tuple[str, str, str]]] = {
    "Practitioner": [],
    "PractitionerRole": [],
    "Organization": [],
    "Location": [],
    "Schedule": [],
    "Slot": [
        ("start", "date", "`ge` and `lt` UTC dates, 31 days at most."),
        ("specialty", "token", "A specialty code (`GET /v1/practitioners/specialties`)."),
        ("language", "token", "A BCP 47 language the doctor speaks (`nah`, `mix`…)."),
        ("jurisdiction", "token", "Where the patient will be: only doctors licensed there."),
    ],
    "Appointment": [
        ("date", "date", "`ge` and `lt` instants with their UTC offset."),
        ("status", "token", "booked, arrived, fulfilled, cancelled, noshow…"),
    ],
    "Patient": [("_id", "token", "That patient, if you may see them.")],
    "Encounter": [
        ("appointment", "reference", "The consult's id."),
        ("_id", "token", "The same id."),
    ],
    "ServiceRequest": [],
    "MedicationRequest": [],
    "DocumentReference": [("encounter", "reference", "The consult's id (required).")],
}
UNPAGED = {"Patient", "Encounter"}
SMART_EXTENSION = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
SCOPE_EXTENSION = "https://tequio.coop/fhir/StructureDefinition/smart-scope"


def _resource(kind: str) -> dict[str, object]:
    params = [
        {"name": name, "type": kind_, "documentation": text} for name, kind_, text in SEARCHES[kind]
    ]
    return {
        "type": kind,
        "interaction": [{"code": "read"}, {"code": "search-type"}],
        "searchParam": params + ([] if kind in UNPAGED else PAGING),
        "extension": [
            {
                "url": SCOPE_EXTENSION,
                "extension": [
                    *({"url": "smart", "valueString": s} for s in smart_scopes(kind)),
                    {"url": "tequio", "valueString": str(RESOURCE_SCOPES[kind])},
                ],
            }
        ],
    }


def capability_statement(base: str, public_url: str) -> dict[str, object]:
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": resources.instant(clock.now()),
        "kind": "instance",
        "software": {"name": "Tequio", "version": version("tequio")},
        "implementation": {"description": "Tequio FHIR R4 read views", "url": base},
        "fhirVersion": "4.0.1",
        "format": [FHIR_JSON, "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": "Read-only. Every resource but the directory needs a bearer "
                "token (POST /v1/auth/token); each maps to the Tequio scope named in its "
                "smart-scope extension. Errors: an OperationOutcome when the request accepts "
                "application/fhir+json, else application/problem+json.",
                "security": {
                    "cors": True,
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/"
                                    "restful-security-service",
                                    "code": "SMART-on-FHIR",
                                }
                            ]
                        }
                    ],
                    "extension": [
                        {
                            "url": SMART_EXTENSION,
                            "extension": [
                                {"url": "token", "valueUri": f"{public_url}/v1/auth/token"}
                            ],
                        }
                    ],
                },
                "resource": [_resource(kind) for kind in SEARCHES],
                "operation": [
                    {
                        "name": "bulk-publish",
                        "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/"
                        "bulk-publish",
                    }
                ],
            }
        ],
    }


@router.get(
    "/metadata",
    summary="FHIR: the CapabilityStatement (public)",
    responses={
        200: {"description": "What is served.", "content": {FHIR_JSON: {}}},
        **problem_responses(),
    },
)
async def metadata(request: Request) -> Response:
    """The resources, interactions and search parameters served under `/fhir/R4`, and for
    each the SMART scopes (`patient/Appointment.rs`…) and the Tequio scope they map to."""
    return resource_response(
        capability_statement(base_url(request), request.app.state.settings.public_url)
    )
