"""Who is asking: the plain value the HTTP shell hands to every domain service."""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    PATIENT = "patient"
    DOCTOR = "doctor"
    CLINIC_STAFF = "clinic_staff"
    BOARD = "board"
    TREASURER = "treasurer"
    ADMIN = "admin"


class Scope(StrEnum):
    """OAuth2 scopes. A token carries the scopes its account's roles grant, or fewer if asked."""

    ME = "me"
    APPOINTMENTS_READ = "appointments:read"
    APPOINTMENTS_WRITE = "appointments:write"
    SCHEDULE_WRITE = "schedule:write"
    PATIENTS_REGISTER = "patients:register"
    MEMBERSHIP_READ = "membership:read"
    MEMBERSHIP_WRITE = "membership:write"
    GOVERNANCE_VOTE = "governance:vote"
    CONSULTS_JOIN = "consults:join"
    PAYMENTS_CONFIRM = "payments:confirm"
    ADMIN = "admin"


SCOPE_DESCRIPTIONS: dict[Scope, str] = {
    Scope.ME: "Read and change your own account.",
    Scope.APPOINTMENTS_READ: "See appointments you take part in.",
    Scope.APPOINTMENTS_WRITE: "Book, change and cancel appointments.",
    Scope.SCHEDULE_WRITE: "Manage a practitioner's availability.",
    Scope.PATIENTS_REGISTER: "Register patients at a clinic.",
    Scope.MEMBERSHIP_READ: "See your membership, household and dues.",
    Scope.MEMBERSHIP_WRITE: "Apply for membership and update your household.",
    Scope.GOVERNANCE_VOTE: "Propose, comment and vote as a member-owner.",
    Scope.CONSULTS_JOIN: "Join video consults you take part in.",
    Scope.PAYMENTS_CONFIRM: (
        "Confirm or reject reported payments, record money received, keep the exchange rates."
    ),
    Scope.ADMIN: "Administer the cooperative.",
}

_COMMON = {Scope.ME, Scope.APPOINTMENTS_READ, Scope.CONSULTS_JOIN}

SCOPES_BY_ROLE: dict[Role, frozenset[Scope]] = {
    Role.PATIENT: frozenset(
        _COMMON
        | {
            Scope.APPOINTMENTS_WRITE,
            Scope.MEMBERSHIP_READ,
            Scope.MEMBERSHIP_WRITE,
            Scope.GOVERNANCE_VOTE,
        }
    ),
    Role.DOCTOR: frozenset(
        _COMMON
        | {
            Scope.APPOINTMENTS_WRITE,
            Scope.SCHEDULE_WRITE,
            Scope.MEMBERSHIP_READ,
            Scope.MEMBERSHIP_WRITE,
            Scope.GOVERNANCE_VOTE,
        }
    ),
    Role.CLINIC_STAFF: frozenset(_COMMON | {Scope.APPOINTMENTS_WRITE, Scope.PATIENTS_REGISTER}),
    Role.BOARD: frozenset(_COMMON | {Scope.MEMBERSHIP_READ, Scope.GOVERNANCE_VOTE}),
    # money enters the books only through a treasurer (or an admin, who holds every scope)
    Role.TREASURER: frozenset(_COMMON | {Scope.MEMBERSHIP_READ, Scope.PAYMENTS_CONFIRM}),
    Role.ADMIN: frozenset(Scope),
}


def scopes_for(roles: Iterable[str], requested: Iterable[str] | None = None) -> frozenset[str]:
    """The scopes `roles` grant, narrowed to `requested` when the client asked for fewer.

    Unknown roles grant nothing and unknown requested scopes are ignored, as OAuth2 allows.
    """
    granted: set[str] = set()
    for role in roles:
        if role in Role.__members__.values():
            granted |= {str(s) for s in SCOPES_BY_ROLE[Role(role)]}
    if requested is None:
        return frozenset(granted)
    return frozenset(granted & set(requested))


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: an account, its roles and the scopes of the token it used."""

    account_id: uuid.UUID
    roles: frozenset[str]
    scopes: frozenset[str]
    session_id: uuid.UUID | None = None
    # a contact of the account was verified with a one-time code (booking and voting need it)
    verified: bool = True
    # the app (OAuth2 client) the token was issued to; None: Tequio's own app
    client_id: uuid.UUID | None = None

    def has_role(self, role: Role) -> bool:
        return role.value in self.roles

    @property
    def is_admin(self) -> bool:
        """An admin account using a token that carries the admin scope: an admin who signed a
        third-party app in with fewer scopes has given that app no admin powers."""
        return self.has_role(Role.ADMIN) and Scope.ADMIN.value in self.scopes

    @property
    def keeps_the_books(self) -> bool:
        """A treasurer (or an admin) using a token that carries `payments:confirm`."""
        return Scope.PAYMENTS_CONFIRM.value in self.scopes
