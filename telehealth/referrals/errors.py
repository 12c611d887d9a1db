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


class NotTheReferralsConsult(TequioError):
    status = 422
    slug = "not-the-referrals-consult"
    title = Text("Another consult", "Otra consulta")
    detail = Text(
        "Link a consult booked for this patient with the specialist who accepted the referral, "
        "still to take place and not linked to another referral.",
        "Vincule una consulta reservada para este paciente con el especialista que aceptó la "
        "interconsulta, aún por realizarse y sin otra interconsulta.",
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
