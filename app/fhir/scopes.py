"""SMART App Launch v2 scopes and the Tequio scopes they stand for.

A FHIR route requires the Tequio scope its resource maps to here, so a token (today's bearer
tokens, tomorrow an OAuth client's) reaches a FHIR resource exactly when it reaches the REST
data it is built from. An OAuth client asking for SMART scopes is granted `tequio_scopes(...)`
of them (`patient/*` and `user/*` both map: what a caller sees of a resource is decided per
object, as in the REST API). Only reads are served: `.r` (read) and `.s` (search), and the v1
spelling `.read`.
"""

from collections.abc import Iterable

from cooperative.kernel.principal import Scope

# resource type -> the Tequio scope that reads it
RESOURCE_SCOPES: dict[str, Scope] = {
    "Practitioner": Scope.ME,
    "PractitionerRole": Scope.ME,
    "Organization": Scope.ME,
    "Location": Scope.ME,
    "Schedule": Scope.ME,
    "Slot": Scope.APPOINTMENTS_READ,
    "Appointment": Scope.APPOINTMENTS_READ,
    "Patient": Scope.APPOINTMENTS_READ,
    "Encounter": Scope.APPOINTMENTS_READ,
    "ServiceRequest": Scope.APPOINTMENTS_READ,
    "MedicationRequest": Scope.APPOINTMENTS_READ,
    "DocumentReference": Scope.APPOINTMENTS_READ,
}

CONTEXTS = ("patient", "user")
READ_ACTIONS = frozenset({"r", "s", "rs", "read", "*"})


def smart_scopes(resource: str) -> list[str]:
    """The SMART v2 scopes that read `resource`: `patient/Appointment.rs`, `user/Appointment.rs`."""
    return [f"{context}/{resource}.rs" for context in CONTEXTS]


def tequio_scope(smart: str) -> Scope | None:
    """The Tequio scope a SMART scope stands for; None for one Tequio does not grant (a write,
    an unknown resource, a malformed scope)."""
    context, slash, rest = smart.partition("/")
    resource, dot, actions = rest.partition(".")
    if not slash or not dot or context not in CONTEXTS or actions not in READ_ACTIONS:
        return None
    return RESOURCE_SCOPES.get(resource)


def tequio_scopes(requested: Iterable[str]) -> frozenset[Scope]:
    """The Tequio scopes a list of SMART scopes stands for (`patient/*.rs` is every read)."""
    found: set[Scope] = set()
    for smart in requested:
        context, _, rest = smart.partition("/")
        if rest.partition(".")[0] == "*" and context in CONTEXTS:
            found |= {
                scope
                for resource in RESOURCE_SCOPES
                if (scope := tequio_scope(smart.replace("*", resource, 1))) is not None
            }
        elif (scope := tequio_scope(smart)) is not None:
            found.add(scope)
    return frozenset(found)
