"""The outbox's refusals: programming errors of a writer (the first two), a member's
preferences that cannot be kept, and a status callback the provider did not sign."""

from cooperative.kernel import wordbook
from cooperative.kernel.errors import TequioError, Text, using

CHANNELS = {
    "email": Text("email", "correo electrónico"),
    "sms": Text("SMS", "SMS"),
    "whatsapp": Text("WhatsApp", "WhatsApp"),
}


class UnknownParameters(ValueError):
    """A message with a parameter its template has no place for (health data stays out by
    construction: a writer that tries to store one fails loudly in its tests)."""


class UnknownTemplate(ValueError):
    """A message for a template that does not exist."""


class NoAddressForChannel(TequioError):
    status = 422
    slug = "no-address-for-channel"
    words = using(channel=CHANNELS, address=wordbook.CONTACT)
    title = Text("No address for that channel", "No hay dirección para ese medio")
    detail = Text(
        "Your account has no {address} to receive messages by {channel}: add one first, or "
        "choose another channel.",
        "Su cuenta no tiene {address} para recibir mensajes por {channel}: agréguelo primero o "
        "elija otro medio.",
    )


class RepeatedChannel(TequioError):
    status = 422
    slug = "repeated-channel"
    words = using(channel=CHANNELS)
    title = Text("A channel named twice", "Un medio repetido")
    detail = Text(
        "List each channel once, in the order you prefer them: {channel} is there twice.",
        "Indique cada medio una vez, en el orden que prefiera: {channel} aparece dos veces.",
    )


class EmptyQuietHours(TequioError):
    status = 422
    slug = "empty-quiet-hours"
    title = Text("Quiet hours of no length", "Horario de silencio sin duración")
    detail = Text(
        "Quiet hours must start and end at different times (e.g. 21:00 to 08:00); to have "
        "none, send `quiet_hours: null`.",
        "El horario de silencio debe empezar y terminar a horas distintas (p. ej., de 21:00 a "
        "08:00); para no tener ninguno, envíe `quiet_hours: null`.",
    )


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
