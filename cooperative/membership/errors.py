from cooperative.kernel import wordbook
from cooperative.kernel.errors import TequioError, Text, using


class AlreadyMember(TequioError):
    status = 409
    slug = "already-member"
    words = using(status=wordbook.MEMBERSHIP_STATUS)
    title = Text("Already a member", "Ya es socio/a")
    detail = Text(
        "This account already has a membership ({status}).",
        "Esta cuenta ya tiene una membresía ({status}).",
    )


class UnknownMemberClass(TequioError):
    status = 422
    slug = "unknown-member-class"
    words = using(member_class=wordbook.MEMBER_CLASS)
    title = Text("Unknown member class", "Clase de socio desconocida")
    detail = Text(
        "The bylaws have no member class `{member_class}`; they have: {known}.",
        "Los estatutos no tienen la clase `{member_class}`; tienen: {known}.",
    )


class TooManyInstalments(TequioError):
    status = 422
    slug = "too-many-instalments"
    title = Text("Too many instalments", "Demasiados pagos parciales")
    detail = Text(
        "The share of this class may be paid in at most {max:# instalment|# instalments}.",
        "La aportación de esta clase puede pagarse en {max:un solo pago|máximo # pagos}.",
    )


class InvalidTransition(TequioError):
    status = 409
    slug = "invalid-membership-transition"
    words = using(status=wordbook.MEMBERSHIP_STATUS, action=wordbook.MEMBERSHIP_ACTION)
    title = Text("Not possible in this state", "No es posible en este estado")
    detail = Text(
        "A membership that is {status} cannot be {action}.",
        "Una membresía en estado {status} no se puede {action}.",
    )


class ReasonRequired(TequioError):
    status = 422
    slug = "reason-required"
    title = Text("A reason is required", "Se requiere un motivo")
    detail = Text(
        "Say why: the member is told the reason.",
        "Indique el motivo: se le comunica a la persona.",
    )


class NotAMember(TequioError):
    status = 409
    slug = "not-a-member"
    title = Text("Membership needed", "Se necesita membresía")
    detail = Text(
        "Apply for membership first (POST /v1/members).",
        "Primero solicite la membresía (POST /v1/members).",
    )


class AlreadyInHousehold(TequioError):
    status = 409
    slug = "already-in-household"
    title = Text("Already in a household", "Ya pertenece a un hogar")
    detail = Text(
        "A member is covered by one household at a time: leave the other household first.",
        "Una persona socia pertenece a un solo hogar a la vez: primero deje el otro hogar.",
    )


class CurpNeedsReview(TequioError):
    status = 409
    slug = "curp-needs-review"
    title = Text("CURP needs review", "La CURP requiere revisión")
    detail = Text(
        "Another membership holds the CURP this application gives. Decide who holds it "
        "(POST /v1/members/{member_id}/curp-review) before approving.",
        "Otra membresía tiene la CURP que da esta solicitud. Decida quién la tiene "
        "(POST /v1/members/{member_id}/curp-review) antes de aprobar.",
    )


class NoCurpToReview(TequioError):
    status = 409
    slug = "no-curp-to-review"
    title = Text("No CURP to review", "No hay CURP que revisar")
    detail = Text(
        "This membership has no CURP waiting for review.",
        "Esta membresía no tiene una CURP pendiente de revisión.",
    )


class CurrencyMismatch(TequioError):
    status = 422
    slug = "currency-mismatch"
    title = Text("Wrong currency", "Moneda equivocada")
    detail = Text(
        "This household's income is declared in {expected}.",
        "Los ingresos de este hogar se declaran en {expected}.",
    )


class AttestationDate(TequioError):
    status = 422
    slug = "attestation-date"
    title = Text("Attestation date out of range", "Fecha de declaración fuera de rango")
    detail = Text(
        "An income attestation takes effect between {earliest} and today ({today}): not in the "
        "future, and not before the period it would still be valid for.",
        "Una declaración de ingresos rige entre el {earliest} y hoy ({today}): no en el futuro, "
        "ni antes del periodo en que aún sería válida.",
    )


class DeclinedRecently(TequioError):
    status = 409
    slug = "invitation-declined-recently"
    title = Text("Invitation declined", "Invitación rechazada")
    detail = Text(
        "This member declined this household's invitation; it may invite them again from {until}.",
        "Esta persona rechazó la invitación de este hogar; podrá invitarla de nuevo a partir del "
        "{until}.",
    )
