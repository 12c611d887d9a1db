from cooperative.kernel.errors import TequioError, Text


class StaleNote(TequioError):
    status = 409
    slug = "stale-note"
    title = Text("The note changed since you read it", "La nota cambió desde que la leyó")
    detail = Text(
        "You saved over version {sent}, but the note is at version {current}: read it again "
        "(another window or device saved it) and save over that.",
        "Guardó sobre la versión {sent}, pero la nota va en la versión {current}: léala de nuevo "
        "(otra ventana u otro dispositivo la guardó) y guarde sobre esa.",
    )


class NoteSigned(TequioError):
    status = 409
    slug = "note-signed"
    title = Text("The note is signed", "La nota está firmada")
    detail = Text(
        "A signed note cannot change; write an addendum to correct or add to it.",
        "Una nota firmada no puede cambiar; escriba una adenda para corregirla o completarla.",
    )


class NoteNotSigned(TequioError):
    status = 409
    slug = "note-not-signed"
    title = Text("The note is not signed yet", "La nota aún no está firmada")
    detail = Text(
        "Addenda are for signed notes; a draft is still yours to change.",
        "Las adendas son para notas firmadas; un borrador todavía puede cambiarlo.",
    )


class NoteIncomplete(TequioError):
    status = 422
    slug = "note-incomplete"
    title = Text("The note is not complete", "La nota no está completa")
    detail = Text(
        "A note is signed with a reason for the consult, a diagnosis or impression, a plan and a "
        "summary for the patient (what was found, what to do); `missing` lists what it lacks.",
        "Una nota se firma con motivo de consulta, un diagnóstico o impresión diagnóstica, un "
        "plan y un resumen para el paciente (qué se encontró, qué hacer); `missing` enumera lo "
        "que le falta.",
    )


class NoLicence(TequioError):
    status = 409
    slug = "no-licence-to-sign"
    title = Text("No licence to sign with", "No hay cédula con la cual firmar")
    detail = Text(
        "Your practitioner record has no licence in force for {jurisdiction}, where the patient "
        "was: add it before signing.",
        "Su registro de médico no tiene una cédula o licencia vigente para {jurisdiction}, donde "
        "estaba el paciente: agréguela antes de firmar.",
    )


class NotAConsultYet(TequioError):
    status = 409
    slug = "no-consult-to-note"
    title = Text("No consult to write about", "No hay consulta sobre la cual escribir")
    detail = Text(
        "A note is written for a consult that has started and was not cancelled.",
        "Una nota se escribe para una consulta que ya comenzó y no fue cancelada.",
    )


class UnknownConsentVersion(TequioError):
    status = 422
    slug = "unknown-consent-version"
    title = Text("No such consent text", "No existe ese texto de consentimiento")
    detail = Text(
        "There is no version {version} of the consent text; read the current one first.",
        "No existe la versión {version} del texto de consentimiento; lea primero la vigente.",
    )


class ConsentRequired(TequioError):
    status = 409
    slug = "telehealth-consent-required"
    title = Text(
        "Consent to remote care is needed",
        "Se necesita el consentimiento a la atención a distancia",
    )
    detail = Text(
        "Before the consult, the patient (or the household's responsible member, for a "
        "dependent) consents to be seen remotely: read version {version} of the text at "
        "GET /v1/records/consent and consent at POST /v1/me/telehealth-consents (with "
        "`dependent_id` when the problem names one).",
        "Antes de la consulta, el paciente (o el responsable del hogar, para un dependiente) "
        "consiente ser atendido a distancia: lea la versión {version} del texto en "
        "GET /v1/records/consent y dé su consentimiento en POST /v1/me/telehealth-consents "
        "(con `dependent_id` cuando el problema lo indica).",
    )
