from cooperative.accounts.errors import TooManyAttempts
from cooperative.kernel.errors import Text


class TooManyRegistrations(TooManyAttempts):
    slug = "too-many-registrations"
    title = Text("Too many registrations", "Demasiados registros")
    detail = Text(
        "This account has registered many patients in a short time. Try again in "
        "{retry_after} seconds.",
        "Esta cuenta ha registrado muchos pacientes en poco tiempo. Intente de nuevo en "
        "{retry_after} segundos.",
    )
