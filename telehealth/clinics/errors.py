from typing import ClassVar

from cooperative.accounts.errors import TooManyAttempts
from cooperative.kernel.errors import TequioError, Text


class TooManyRegistrations(TooManyAttempts):
    slug = "too-many-registrations"
    title = Text("Too many registrations", "Demasiados registros")
    detail = Text(
        "This account has registered many patients in a short time. Try again in "
        "{retry_after:# second|# seconds}.",
        "Esta cuenta ha registrado muchos pacientes en poco tiempo. Intente de nuevo en "
        "{retry_after:# segundo|# segundos}.",
    )


class WrongRegistrationCode(TequioError):
    """Recorded on purpose: each wrong code counts, and the fifth ends the registration."""

    status = 422
    slug = "wrong-registration-code"
    title = Text("Wrong code", "Código incorrecto")
    detail = Text(
        "That is not the clinic's code for you, or it has expired. Ask the clinic for it (after "
        "five wrong tries they must register you again).",
        "Ese no es el código que la clínica le dio, o ya venció. Pídalo a la clínica (tras cinco "
        "intentos fallidos deberá registrarle de nuevo).",
    )
    persist_changes: ClassVar[bool] = True


class PhoneSearchTooShort(TequioError):
    status = 422
    slug = "phone-search-too-short"
    title = Text("Too few digits", "Faltan dígitos")
    detail = Text(
        "Search by phone with at least {digits:# digit|# digits} of the number.",
        "Busque por teléfono con al menos {digits:# dígito|# dígitos} del número.",
    )
