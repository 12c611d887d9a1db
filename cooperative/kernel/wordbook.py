"""The words a message uses for the values of the cooperative's vocabularies (statuses, roles,
member classes, kinds), in each language and in the gender of the noun they describe. A
`TequioError` names the vocabulary of each parameter that holds such a value in `words`."""

from cooperative.kernel.errors import Text

MEMBERSHIP_STATUS = {  # una membresía …
    "applicant": Text("applied for", "solicitada"),
    "active": Text("active", "activa"),
    "lapsed": Text("lapsed", "vencida"),
    "suspended": Text("suspended", "suspendida"),
    "withdrawn": Text("withdrawn", "retirada"),
    "rejected": Text("rejected", "rechazada"),
}
MEMBERSHIP_ACTION = {  # no se puede …
    "approve": Text("approved", "aprobar"),
    "reject": Text("rejected", "rechazar"),
    "suspend": Text("suspended", "suspender"),
    "reinstate": Text("reinstated", "restablecer"),
    "withdraw": Text("withdrawn", "retirar"),
}
PAYMENT_STATUS = {  # un pago …
    "reported": Text("reported", "reportado"),
    "confirmed": Text("confirmed", "confirmado"),
    "rejected": Text("rejected", "rechazado"),
    "withdrawn": Text("withdrawn", "retirado"),
}
ROLE = {  # el rol de …
    "patient": Text("patient", "paciente"),
    "doctor": Text("doctor", "médico"),
    "clinic_staff": Text("clinic staff", "personal de clínica"),
    "board": Text("board member", "miembro del consejo"),
    "treasurer": Text("treasurer", "tesorero"),
    "admin": Text("administrator", "administrador"),
}
MEMBER_CLASS = {  # la clase …
    "patient": Text("patient", "paciente"),
    "doctor": Text("doctor", "médico"),
    "clinic": Text("clinic", "clínica"),
    "staff": Text("staff", "personal"),
}
PROPOSAL_KIND = {  # una boleta de …
    "resolution": Text("resolution", "resolución"),
    "bylaw_amendment": Text("bylaw amendment", "reforma de estatutos"),
    "surplus_allocation": Text("surplus allocation", "asignación del excedente"),
    "board_election": Text("board election", "elección del consejo"),
    "priorities": Text("priorities", "prioridades"),
}
PROPOSAL_STATUS = {  # esta propuesta está …
    "draft": Text("a draft", "en borrador"),
    "open": Text("open", "abierta"),
    "closed": Text("closed", "cerrada"),
}
RUN_STATUS = {  # una asignación …
    "draft": Text("a draft", "en borrador"),
    "posted": Text("posted", "contabilizada"),
    "reversed": Text("reversed", "revertida"),
}
CONTACT = {  # una cuenta con este …
    "email": Text("email", "correo"),
    "phone": Text("phone number", "teléfono"),
}
