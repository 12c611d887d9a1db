from cooperative.kernel import wordbook
from cooperative.kernel.errors import TequioError, Text, using


class RunPosted(TequioError):
    status = 409
    slug = "allocation-posted"
    title = Text("Already posted", "Ya contabilizada")
    detail = Text(
        "The allocation of {year} is posted; correct it by reversing the posting first.",
        "La asignación de {year} está contabilizada; para corregirla, revierta antes el asiento.",
    )


class RunNotDraft(TequioError):
    status = 409
    slug = "allocation-not-draft"
    words = using(status=wordbook.RUN_STATUS)
    title = Text("Not a draft", "No es un borrador")
    detail = Text(
        "This allocation run is {status}; only a draft is posted.",
        "Esta asignación está en estado {status}; solo un borrador se contabiliza.",
    )


class NotApproved(TequioError):
    status = 409
    slug = "allocation-not-approved"
    title = Text("Not approved by the assembly", "Sin aprobación de la asamblea")
    detail = Text(
        "An allocation is posted only after a surplus allocation proposal "
        "(`surplus_allocation`) for this run passes.",
        "Una asignación se contabiliza solo después de aprobarse una propuesta de asignación "
        "del excedente (`surplus_allocation`) para ella.",
    )


class NotPosted(TequioError):
    status = 409
    slug = "allocation-not-posted"
    title = Text("Not posted", "No contabilizada")
    detail = Text(
        "Only a posted allocation is reversed.", "Solo se revierte una asignación contabilizada."
    )


class RateMissing(TequioError):
    status = 422
    slug = "exchange-rate-missing"
    title = Text("Exchange rate missing", "Falta un tipo de cambio")
    detail = Text(
        "Patronage was paid in {currency}: give its year-end rate in {target} (`rates`).",
        "Hubo patronazgo pagado en {currency}: indique su tipo de cambio de cierre en {target} "
        "(`rates`).",
    )


class PatronageKind(TequioError):
    status = 422
    slug = "patronage-kind"
    title = Text(
        "Not a patronage kind of the bylaws", "No es un tipo de patronazgo de los estatutos"
    )
    detail = Text(
        "The bylaws let an admin record only the kinds in `admin_patronage_kinds`, not `{kind}`.",
        "Los estatutos solo permiten registrar a mano los tipos de `admin_patronage_kinds`, no "
        "`{kind}`.",
    )


class PatronageUnit(TequioError):
    status = 422
    slug = "patronage-unit"
    words = using(member_class=wordbook.MEMBER_CLASS)
    title = Text("Wrong unit for this member", "Unidad equivocada para este socio")
    detail = Text(
        "A {member_class} member's patronage is counted in the class's unit: money for patients, "
        "minutes for doctors.",
        "El patronazgo de un socio de la clase {member_class} se cuenta en la unidad de su "
        "clase: dinero para "
        "pacientes, minutos para médicos.",
    )
