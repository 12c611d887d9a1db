from cooperative.kernel.errors import TequioError, Text, using

APPOINTMENT_STATUS = {  # una cita …, marcar como …
    "booked": Text("booked", "reservada"),
    "arrived": Text("arrived", "con el paciente presente"),
    "fulfilled": Text("fulfilled", "realizada"),
    "cancelled": Text("cancelled", "cancelada"),
    "noshow": Text("no-show", "sin asistencia"),
    "entered-in-error": Text("entered in error", "registrada por error"),
    "rescheduled": Text("rescheduled", "reprogramada"),
    "refunded": Text("refunded", "reembolsada"),
}


class SlotTaken(TequioError):
    status = 409
    slug = "slot-taken"
    title = Text("Slot taken", "Horario ocupado")
    detail = Text(
        "Someone else has just booked this time with this doctor. Choose another slot.",
        "Alguien acaba de reservar este horario con este médico. Elija otro.",
    )


class SlotUnavailable(TequioError):
    status = 409
    slug = "slot-unavailable"
    title = Text("Doctor unavailable", "Médico no disponible")
    detail = Text(
        "The doctor is not available at this time (time off). Choose another slot.",
        "El médico no está disponible en este horario (ausencia). Elija otro.",
    )


class NotASlot(TequioError):
    status = 422
    slug = "not-a-slot"
    title = Text("Not an offered time", "No es un horario ofrecido")
    detail = Text(
        "The doctor's schedule offers no consult starting on {start}. Search the slots first "
        "(GET /v1/slots).",
        "El horario del médico no ofrece una consulta que empiece el {start}. Busque primero "
        "los horarios (GET /v1/slots).",
    )


class TooSoon(TequioError):
    status = 422
    slug = "too-soon"
    title = Text("Too soon", "Demasiado pronto")
    detail = Text(
        "This doctor needs {minutes:# minute's|# minutes'} notice before a consult.",
        "Este médico necesita {minutes:# minuto|# minutos} de anticipación para una consulta.",
    )


class BeyondHorizon(TequioError):
    status = 422
    slug = "beyond-horizon"
    title = Text("Too far ahead", "Demasiado lejos")
    detail = Text(
        "This doctor takes bookings up to {days:# day|# days} ahead.",
        "Este médico acepta reservas hasta con {days:# día|# días} de anticipación.",
    )


class NotLicensed(TequioError):
    status = 422
    slug = "not-licensed"
    title = Text("Doctor not licensed there", "Médico sin licencia ahí")
    detail = Text(
        "This doctor holds no valid licence for a patient in {jurisdiction} on {day}; the law "
        "only lets doctors see patients where they are licensed. Search slots with "
        "`jurisdiction={jurisdiction}` to see doctors who may.",
        "Este médico no tiene licencia vigente para atender a una persona en {jurisdiction} el "
        "{day}; la ley solo permite atender donde se tiene licencia. Busque horarios con "
        "`jurisdiction={jurisdiction}` para ver quién puede.",
    )


class InvalidAppointmentTransition(TequioError):
    status = 409
    slug = "invalid-appointment-transition"
    words = using(status=APPOINTMENT_STATUS, target=APPOINTMENT_STATUS)
    title = Text("Not possible in this state", "No es posible en este estado")
    detail = Text(
        "An appointment that is {status} cannot become {target}.",
        "Una cita en estado {status} no puede pasar a estado {target}.",
    )


class ConsultBegun(TequioError):
    """Once a consult has begun, what happened is recorded (fulfilled, no-show) by its doctor,
    not cancelled by the patient or the clinic: a cancellation would erase a consult that may
    have taken place, and the note the doctor is writing with it."""

    status = 409
    slug = "consult-begun"
    title = Text("The consult has begun", "La consulta ya comenzó")
    detail = Text(
        "The consult's start has passed or the patient is in the waiting room: its doctor "
        "records whether it took place.",
        "Ya pasó la hora de inicio de la consulta o el paciente está en la sala de espera: su "
        "médico registra si se realizó.",
    )


class TooEarly(TequioError):
    status = 409
    slug = "too-early"
    words = using(status=APPOINTMENT_STATUS)
    title = Text("Too early", "Demasiado pronto")
    detail = Text(
        "The consult starts on {start}; it cannot be marked {status} yet.",
        "La consulta empieza el {start}; todavía no se puede marcar como {status}.",
    )
