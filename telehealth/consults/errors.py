from cooperative.kernel.errors import TequioError, Text, using
from telehealth.scheduling import errors as scheduling_errors

CONSULT_ROLE = {  # como …
    "patient": Text("patient", "paciente"),
    "guardian": Text("guardian", "responsable"),
    "doctor": Text("doctor", "médico"),
    "clinic": Text("clinic", "clínica"),
    "interpreter": Text("interpreter", "intérprete"),
}


class RoomNotOpen(TequioError):
    status = 409
    slug = "room-not-open"
    title = Text("The consult room is not open", "La sala de consulta no está abierta")
    detail = Text(
        "The room opens {opens:# minute|# minutes} before the consult and closes "
        "{closes:# minute|# minutes} after it.",
        "La sala abre {opens:# minuto|# minutos} antes de la consulta y cierra "
        "{closes:# minuto|# minutos} después.",
    )


class NotAConsult(TequioError):
    status = 409
    slug = "not-a-consult"
    words = using(status=scheduling_errors.APPOINTMENT_STATUS)
    title = Text("No consult for this appointment", "Esta cita no tiene consulta")
    detail = Text(
        "An appointment that is {status} has no consult room.",
        "Una cita en estado {status} no tiene sala de consulta.",
    )


class InvalidOffer(TequioError):
    status = 422
    slug = "invalid-offer"
    title = Text("Invalid SDP offer", "Oferta SDP no válida")
    detail = Text(
        "The offer is not a WebRTC SDP offer with audio or video.",
        "La oferta no es una oferta SDP de WebRTC con audio o video.",
    )


class RecordingNeedsConsent(TequioError):
    status = 409
    slug = "recording-needs-consent"
    title = Text("Everyone must consent to recording", "Todos deben consentir la grabación")
    detail = Text(
        "{count} participant(s) in the consult have not consented to being recorded "
        "(`missing` lists them).",
        "{count} participante(s) de la consulta no han consentido la grabación "
        "(`missing` los enumera).",
    )


class AlreadyAParticipant(TequioError):
    status = 409
    slug = "already-a-participant"
    words = using(role=CONSULT_ROLE)
    title = Text("Already in the consult", "Ya participa en la consulta")
    detail = Text(
        "This account already takes part in the consult (as {role}); it cannot also be its "
        "interpreter.",
        "Esta cuenta ya participa en la consulta (como {role}); no puede ser también su "
        "intérprete.",
    )
