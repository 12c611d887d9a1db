from cooperative.kernel import wordbook
from cooperative.kernel.errors import TequioError, Text, using

__all__ = [
    "InvalidPeriod",
    "NotYourReport",
    "OwnPayment",
    "PaymentAlreadyConfirmed",
    "PaymentNotPending",
    "ReceiptNotAllowed",
    "ReceivedInTheFuture",
    "TreasurerOnly",
]


class InvalidPeriod(TequioError):
    status = 422
    slug = "invalid-period"
    title = Text("Invalid period", "Periodo no válido")
    detail = Text(
        "Dues periods start every {months} month(s) from January: {period} is not one.",
        "Los periodos de cuotas empiezan cada {months} mes(es) desde enero: {period} no lo es.",
    )


class PaymentNotPending(TequioError):
    status = 409
    slug = "payment-not-pending"
    words = using(status=wordbook.PAYMENT_STATUS)
    title = Text("Payment already decided", "Pago ya resuelto")
    detail = Text(
        "This payment is {status}: only a reported (pending) payment can be confirmed, rejected "
        "or withdrawn.",
        "Este pago está en estado {status}: solo un pago reportado (pendiente) puede "
        "confirmarse, rechazarse o retirarse.",
    )


class PaymentAlreadyConfirmed(TequioError):
    status = 409
    slug = "payment-already-confirmed"
    title = Text("Payment already confirmed", "Pago ya confirmado")
    detail = Text(
        "This payment was confirmed as received on {received_on}; it is not confirmed again "
        "with another day.",
        "Este pago se confirmó como recibido el {received_on}; no se vuelve a confirmar con "
        "otro día.",
    )


class OwnPayment(TequioError):
    status = 403
    slug = "own-payment"
    title = Text("Segregation of duties", "Separación de funciones")
    detail = Text(
        "A treasurer does not confirm or record money they reported themselves, nor money for "
        "their own household or share: another treasurer or an admin must.",
        "Un tesorero no confirma ni registra dinero que él mismo reportó, ni dinero para su "
        "propio hogar o aportación: debe hacerlo otro tesorero o un administrador.",
    )


class TreasurerOnly(TequioError):
    status = 403
    slug = "treasurer-only"
    title = Text("Only a treasurer records money received", "Solo un tesorero registra cobros")
    detail = Text(
        "Only a treasurer records money as received (`received_on`). Report the payment "
        "without it, with its reference, and a treasurer will confirm it.",
        "Solo un tesorero registra dinero como recibido (`received_on`). Reporte el pago sin "
        "ese campo, con su referencia, y un tesorero lo confirmará.",
    )


class NotYourReport(TequioError):
    status = 403
    slug = "not-your-report"
    title = Text("Not your report", "No es su reporte")
    detail = Text(
        "Only the person who reported this payment may do this.",
        "Solo quien reportó este pago puede hacer esto.",
    )


class ReceivedInTheFuture(TequioError):
    status = 422
    slug = "received-in-the-future"
    title = Text("Received in the future", "Recibido en el futuro")
    detail = Text(
        "`received_on` ({on}) is after today ({today}) in the cooperative's time zone.",
        "`received_on` ({on}) es posterior a hoy ({today}) en la zona horaria de la cooperativa.",
    )


class ReceiptNotAllowed(TequioError):
    status = 409
    slug = "receipt-not-pending"
    words = using(status=wordbook.PAYMENT_STATUS)
    title = Text("Receipt only while pending", "Comprobante solo mientras está pendiente")
    detail = Text(
        "A receipt photo is added to a reported (pending) payment; this one is {status}.",
        "La foto del comprobante se agrega a un pago reportado (pendiente); este está en "
        "estado {status}.",
    )


class ReceivedTooLongAgo(TequioError):
    status = 422
    slug = "received-too-long-ago"
    title = Text("Received too long ago", "Recibido hace demasiado")
    detail = Text(
        "`received_on` ({on}) is more than {days:# day|# days} before the payment was recorded "
        "({recorded})"
        ": the day money arrived decides its rate and its fiscal year, so it cannot be moved back "
        "at will. Record it as an adjustment with the board's knowledge instead.",
        "`received_on` ({on}) es más de {days:# día|# días} anterior al registro del pago "
        "({recorded}): "
        "el día en que llegó el dinero decide su tipo de cambio y su ejercicio, así que no puede "
        "retrasarse a voluntad. Regístrelo como ajuste con conocimiento del consejo.",
    )
