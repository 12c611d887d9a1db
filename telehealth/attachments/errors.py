from cooperative.kernel.errors import TequioError, Text

TYPES_TAKEN = Text(
    "a JPEG, PNG or WebP photo, or a PDF document",
    "una foto JPEG, PNG o WebP, o un documento PDF",
)


class AttachmentTooLarge(TequioError):
    status = 413
    slug = "attachment-too-large"
    title = Text("The file is too large", "El archivo es demasiado grande")
    detail = Text(
        "An attachment may be at most {limit_mb} MB ({limit:# byte|# bytes}). Send a smaller "
        "photo, or a PDF of fewer pages.",
        "Un adjunto puede pesar como máximo {limit_mb} MB ({limit:# byte|# bytes}). Envíe una "
        "foto más pequeña o un PDF con menos páginas.",
    )


class AttachmentTypeRefused(TequioError):
    status = 415
    slug = "attachment-type-refused"
    title = Text("This kind of file is not taken", "No se acepta este tipo de archivo")
    detail = Text(
        "The file's contents are of type {found}; an attachment is {taken}. The name of a file "
        "does not change what it is.",
        "El contenido del archivo es de tipo {found}; un adjunto es {taken}. El nombre de un "
        "archivo no cambia lo que es.",
    )


class AttachmentHeic(TequioError):
    status = 415
    slug = "attachment-heic"
    title = Text("HEIC photos are not taken yet", "Aún no se aceptan fotos HEIC")
    detail = Text(
        "This photo is in the HEIC format of iPhones. Send it as JPEG: on the iPhone, Settings → "
        "Camera → Formats → Most Compatible, or share it from Photos by email or a browser, "
        "which converts it.",
        "Esta foto está en el formato HEIC de los iPhone. Envíela como JPEG: en el iPhone, "
        "Configuración → Cámara → Formatos → Más compatible, o compártala desde Fotos por correo "
        "o desde un navegador, que la convierten.",
    )


class AttachmentUnreadable(TequioError):
    status = 422
    slug = "attachment-unreadable"
    title = Text("The file cannot be read", "No se puede leer el archivo")
    detail = Text(
        "The file cannot be used: {reason}.",
        "No se puede usar el archivo: {reason}.",
    )


class LinkInvalid(TequioError):
    status = 403
    slug = "attachment-link-invalid"
    title = Text("This download link is not valid", "Este enlace de descarga no es válido")
    detail = Text(
        "The link was changed or is incomplete. Ask Tequio for a new link to the attachment.",
        "El enlace fue modificado o está incompleto. Pida a Tequio un nuevo enlace al adjunto.",
    )


class LinkExpired(TequioError):
    status = 403
    slug = "attachment-link-expired"
    title = Text("This download link has expired", "Este enlace de descarga ya venció")
    detail = Text(
        "Download links last a few minutes. Ask Tequio for a new link to the attachment.",
        "Los enlaces de descarga duran unos minutos. Pida a Tequio un nuevo enlace al adjunto.",
    )


class NotWithdrawable(TequioError):
    status = 409
    slug = "attachment-not-withdrawable"
    title = Text("This attachment cannot be withdrawn", "Este adjunto no se puede retirar")
    detail = Text(
        "Only who uploaded a file may withdraw it, within {hours:# hour|# hours} of uploading "
        "it; after that it is part of the consult's clinical record, which is kept.",
        "Solo quien subió un archivo puede retirarlo, dentro de {hours:# hora|# horas} después "
        "de subirlo; después forma parte del expediente clínico de la consulta, que se conserva.",
    )


class ConsultCancelled(TequioError):
    status = 409
    slug = "attachment-consult-cancelled"
    title = Text("The consult was cancelled", "La consulta fue cancelada")
    detail = Text(
        "Files are added to consults that are booked or took place, not to a cancelled one.",
        "Los archivos se agregan a consultas agendadas o realizadas, no a una cancelada.",
    )


UNKNOWN_TYPE = Text("unknown", "desconocido")
DAMAGED = Text(
    "it is damaged or incomplete; take the photo or make the PDF again and send it once more",
    "está dañado o incompleto; tome la foto o genere el PDF de nuevo y envíelo otra vez",
)
EMPTY = Text("it is empty", "está vacío")
TOO_MANY_PIXELS = Text(
    "it is a photo of more than 50 megapixels; send it at a lower resolution",
    "es una foto de más de 50 megapíxeles; envíela con menor resolución",
)
