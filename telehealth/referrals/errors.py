from cooperative.kernel.errors import TequioError, Text, using
from telehealth.records.errors import NoteNotSigned

REFERRAL_STATE = {  # esta interconsulta está …
    "sent": Text("waiting for a specialist", "en espera de un especialista"),
    "accepted": Text("accepted by a specialist", "aceptada por un especialista"),
    "declined": Text("declined", "rechazada"),
    "answered": Text("answered in writing", "respondida por escrito"),
    "scheduled": Text("scheduled for a consult", "programada para consulta"),
    "completed": Text("completed", "concluida"),
    "withdrawn": Text("withdrawn by the clinic", "retirada por la clínica"),
}
ACTION = {  # … así que ya no puede …
    "accept": Text("accepted", "aceptarse"),
    "decline": Text("declined", "rechazarse"),
    "answer": Text("answered", "responderse"),
    "schedule": Text("scheduled", "programarse"),
    "complete": Text("completed", "concluirse"),
    "withdraw": Text("withdrawn", "retirarse"),
}


class ReferralNotInState(TequioError):
    """The referral has moved on (another specialist accepted it first, the clinic withdrew
    it): the answer says where it stands now."""

    status = 409
    slug = "referral-state"
    words = using(state=REFERRAL_STATE, action=ACTION)
    title = Text("The referral has moved on", "La interconsulta ya cambió")
    detail = Text(
        "This referral is {state}, so it cannot be {action} now.",
        "Esta interconsulta está {state}, así que ya no puede {action}.",
    )


class PatientNotRegistered(TequioError):
    status = 422
    slug = "patient-not-registered"
    title = Text("Not your clinic's patient", "No es paciente de su clínica")
    detail = Text(
        "Refer only patients registered with your clinic who accepted the registration.",
        "Solo puede referir a pacientes registrados en su clínica que aceptaron el registro.",
    )


WHO_ACTS = {  # Su cuenta no puede hacer esto (…)
    "accept": Text(
        "a specialist of the referral's specialty accepts it",
        "una interconsulta la acepta un especialista de su especialidad",
    ),
    "decline": Text(
        "a specialist of the referral's specialty declines it",
        "una interconsulta la rechaza un especialista de su especialidad",
    ),
    "answer": Text(
        "the specialist who accepted the referral answers it",
        "una interconsulta la responde el especialista que la aceptó",
    ),
    "schedule": Text(
        "the referring clinic or the specialist who accepted links the consult",
        "la consulta la vincula la clínica que refiere o el especialista que aceptó",
    ),
    "complete": Text(
        "the specialist who accepted the referral completes it",
        "una interconsulta la concluye el especialista que la aceptó",
    ),
    "withdraw": Text(
        "the referring clinic withdraws its referral",
        "una interconsulta la retira la clínica que la envió",
    ),
    "open": Text(
        "the referrals open to a specialty are for its active specialists",
        "las interconsultas abiertas de una especialidad son para sus especialistas activos",
    ),
    "accepted": Text(
        "the referrals a specialist took on are listed while they practise in the cooperative",
        "las interconsultas que tomó un especialista se listan mientras ejerce en la cooperativa",
    ),
}


class NotTheReferralsConsult(TequioError):
    """The consult a referral is scheduled into must be the referral's: its patient's own (not
    a dependent's), booked by the referring clinic with the specialist who accepted, still to
    take place, and no other referral's. A consult the patient booked privately is theirs: its
    note never goes to the clinic."""

    status = 422
    slug = "not-the-referrals-consult"
    title = Text("Another consult", "Otra consulta")
    detail = Text(
        "Link a consult the referring clinic booked for this patient with the specialist who "
        "accepted the referral, still to take place and not linked to another referral.",
        "Vincule una consulta que la clínica que refiere reservó para este paciente con el "
        "especialista que aceptó la interconsulta, aún por realizarse y sin otra interconsulta.",
    )


class ReferralConsultStillOn(TequioError):
    """A scheduled referral is relinked, declined or withdrawn only once its consult fell
    through: otherwise the patient would keep a consult the referral no longer explains."""

    status = 409
    slug = "referral-consult-still-on"
    words = using(action=ACTION)
    title = Text("The consult is still on", "La consulta sigue en pie")
    detail = Text(
        "The referral's consult is still on (not cancelled, missed or entered in error), so "
        "the referral cannot be {action}: cancel the consult first.",
        "La consulta de esta interconsulta sigue en pie (no se canceló ni se marcó como "
        "inasistencia ni como registrada por error), así que la interconsulta no puede {action}: "
        "cancele primero la consulta.",
    )


class ConsultNotHeld(TequioError):
    status = 409
    slug = "referral-consult-not-held"
    title = Text("The consult has not taken place", "La consulta no se ha realizado")
    detail = Text(
        "Complete the referral once its consult has begun or taken place.",
        "Concluya la interconsulta cuando su consulta haya comenzado o se haya realizado.",
    )


class ConsultNoteNotSigned(NoteNotSigned):
    """The counter-referral is the specialist's signed note: nothing to return without it."""

    detail = Text(
        "The consult's note is not signed yet: sign it, and signing completes the referral "
        "with it.",
        "La nota de la consulta aún no está firmada: fírmela, y al firmarla la interconsulta "
        "se concluye con ella.",
    )


class ReferralClosedToFiles(TequioError):
    status = 409
    slug = "referral-closed-to-files"
    title = Text("The referral is closed", "La interconsulta está cerrada")
    detail = Text(
        "Files are added to a referral that is waiting, taken on or answered, not to one that "
        "was declined or withdrawn.",
        "Los archivos se agregan a una interconsulta en espera, aceptada o respondida, no a una "
        "rechazada o retirada.",
    )
