"""The outbox's refusals: programming errors of a writer, never a member's input; and a
status callback the provider did not sign."""

from cooperative.kernel.errors import TequioError, Text


class UnknownParameters(ValueError):
    """A message with a parameter its template has no place for (health data stays out by
    construction: a writer that tries to store one fails loudly in its tests)."""


class UnknownTemplate(ValueError):
    """A message for a template that does not exist."""


class ReceiptNotSigned(TequioError):
    """A status callback the provider did not sign: nothing is recorded."""

    status = 403
    slug = "receipt-not-signed"
    title = Text("This status callback is not signed", "Este aviso de entrega no está firmado")
    detail = Text(
        "Only the messaging provider may report deliveries, signed with the account's token "
        "(X-Twilio-Signature); nothing was recorded.",
        "Solo el proveedor de mensajes puede informar entregas, firmadas con el token de la "
        "cuenta (X-Twilio-Signature); no se registró nada.",
    )
