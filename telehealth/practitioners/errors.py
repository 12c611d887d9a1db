from cooperative.kernel.errors import TequioError, Text


class NotADoctor(TequioError):
    status = 422
    slug = "not-a-doctor"
    title = Text("Not a doctor's account", "No es una cuenta de médico")
    detail = Text(
        "A practitioner profile is for an account with the doctor role.",
        "Un perfil de profesional es para una cuenta con el rol de médico.",
    )


class AlreadyPractitioner(TequioError):
    status = 409
    slug = "already-practitioner"
    title = Text("Already a practitioner", "Ya es profesional")
    detail = Text(
        "This account already has a practitioner profile.",
        "Esta cuenta ya tiene un perfil de profesional.",
    )


class ExtraWindowOutOfRange(TequioError):
    status = 422
    slug = "extra-window-out-of-range"
    title = Text("Date out of range", "Fecha fuera de rango")
    detail = Text(
        "An extra window is for a date from today ({first}) to {last}, in the practitioner's "
        "time zone.",
        "Una ventana adicional es para una fecha de hoy ({first}) al {last}, en la zona horaria "
        "del profesional.",
    )


class TimeOffOutOfRange(TequioError):
    status = 422
    slug = "time-off-out-of-range"
    title = Text("Time off out of range", "Tiempo libre fuera de rango")
    detail = Text(
        "Time off starts no earlier than {earliest}, ends after now and no later than {latest}.",
        "El tiempo libre empieza no antes de {earliest}, termina después de ahora y no después "
        "de {latest}.",
    )


class DuplicateWindow(TequioError):
    status = 409
    slug = "duplicate-window"
    title = Text("Window already there", "La ventana ya existe")
    detail = Text(
        "This practitioner already has this extra window on that date.",
        "Este profesional ya tiene esta ventana adicional en esa fecha.",
    )


class ScheduleFull(TequioError):
    status = 422
    slug = "schedule-full"
    title = Text("Too many entries", "Demasiadas entradas")
    detail = Text(
        "A schedule holds at most {limit:# upcoming extra window|# upcoming extra windows} and "
        "{limit:# upcoming span|# upcoming spans} of time off; delete some first.",
        "Un horario admite como máximo {limit:# ventana adicional|# ventanas adicionales} y "
        "{limit:# periodo|# periodos} de tiempo libre por venir; elimine algunos primero.",
    )
