from cooperative.kernel.errors import TequioError, Text


class RoomNotOpen(TequioError):
    status = 409
    slug = "room-not-open"
    title = Text("The consult room is not open", "La sala de consulta no está abierta")
    detail = Text(
        "The room opens {opens} minutes before the consult and closes {closes} minutes after it.",
        "La sala abre {opens} minutos antes de la consulta y cierra {closes} minutos después.",
    )


class NotAConsult(TequioError):
    status = 409
    slug = "not-a-consult"
    title = Text("No consult for this appointment", "Esta cita no tiene consulta")
    detail = Text(
        "An appointment that is {status} has no consult room.",
        "Una cita en estado {status} no tiene sala de consulta.",
    )
