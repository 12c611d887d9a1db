from cooperative.kernel.errors import TequioError, Text


class ControlledSubstance(TequioError):
    status = 422
    slug = "controlled-substance"
    title = Text(
        "Controlled substances are not prescribed by telemedicine",
        "Las sustancias controladas no se recetan por telemedicina",
    )
    detail = Text(
        "Medicine number {line} ({substance}, {substance_en}) is a controlled substance of the "
        "Ley General de Salud art. 226, fraction {fraction}: it needs a special or retained "
        "prescription written in person, which a telemedicine consult cannot issue. Refer the "
        "patient to an in-person visit.",
        "El medicamento número {line} ({substance}) es una sustancia controlada de la Ley "
        "General de Salud art. 226, fracción {fraction}: requiere una receta especial o que se "
        "retiene, emitida en consulta presencial, y una consulta de telemedicina no puede "
        "emitirla. Refiera al paciente a una consulta presencial.",
    )


class NotPrescribable(TequioError):
    status = 409
    slug = "consult-not-prescribable"
    title = Text(
        "This consult cannot carry a prescription now",
        "Esta consulta no puede llevar una receta ahora",
    )
    detail = Text(
        "{why}",
        "{why}",
    )


WHY_NOT = {
    "not-yet": Text(
        "The consult has not started: a prescription is issued while it takes place (its room "
        "is open) or after it has taken place.",
        "La consulta no ha comenzado: la receta se emite mientras se lleva a cabo (con la sala "
        "abierta) o después de realizada.",
    ),
    "not-recorded": Text(
        "The consult's room has closed and it is not recorded as fulfilled: record that it "
        "took place, then issue the prescription.",
        "La sala de la consulta ya cerró y no está registrada como realizada: registre que se "
        "llevó a cabo y después emita la receta.",
    ),
    "too-late": Text(
        "The consult ended more than 7 days ago; a new consult is needed for a new prescription.",
        "La consulta terminó hace más de 7 días; una receta nueva necesita una consulta nueva.",
    ),
    "not-a-consult": Text(
        "The appointment was cancelled, missed or entered in error: no consult took place.",
        "La cita se canceló, no se atendió o se registró por error: no hubo consulta.",
    ),
}


class NoCedula(TequioError):
    status = 409
    slug = "no-cedula"
    title = Text("No cédula profesional on record", "No hay cédula profesional registrada")
    detail = Text(
        "A prescription carries the doctor's cédula profesional, and this doctor has no MX "
        "licence in force today; an admin records it among the doctor's licences.",
        "La receta lleva la cédula profesional del médico, y este médico no tiene una licencia "
        "MX vigente hoy; un administrador la registra entre las licencias del médico.",
    )


class AlreadyRevoked(TequioError):
    status = 409
    slug = "prescription-revoked"
    title = Text("Already revoked", "Ya revocada")
    detail = Text(
        "This prescription was revoked on {at}.",
        "Esta receta se revocó el {at}.",
    )


class NotTheTreatingDoctor(TequioError):
    status = 403
    slug = "not-the-treating-doctor"
    title = Text(
        "Only the treating doctor prescribes", "Solo el médico tratante puede emitir la receta"
    )
    detail = Text(
        "A prescription is issued and revoked by the doctor who gave the consult.",
        "La receta la emite y la revoca el médico que dio la consulta.",
    )
