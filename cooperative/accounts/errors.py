from typing import ClassVar

from cooperative.kernel import wordbook
from cooperative.kernel.errors import Forbidden, TequioError, Text, using


class AccountExists(TequioError):
    """For the admin's tools (`tequio create-admin`); self sign-up never says it."""

    status = 409
    slug = "account-exists"
    words = using(field=wordbook.CONTACT)
    title = Text("Account already exists", "La cuenta ya existe")
    detail = Text(
        "An account with this {field} already exists. Sign in instead.",
        "Ya existe una cuenta con este {field}. Inicie sesión.",
    )


class WeakPassword(TequioError):
    status = 422
    slug = "weak-password"
    title = Text("Password too weak", "Contraseña demasiado débil")
    detail = Text("{reason_en}", "{reason_es}")


class InvalidCredentials(TequioError):
    status = 401
    slug = "invalid-credentials"
    title = Text("Invalid credentials", "Credenciales no válidas")
    detail = Text(
        "The account or password is not correct.",
        "La cuenta o la contraseña no son correctas.",
    )


class TooManyAttempts(TequioError):
    status = 429
    slug = "too-many-attempts"
    title = Text("Too many attempts", "Demasiados intentos")
    detail = Text(
        "Too many failed sign-ins. Try again in {retry_after:# second|# seconds}.",
        "Demasiados intentos fallidos. Intente de nuevo en {retry_after:# segundo|# segundos}.",
    )


class TooManySignUps(TooManyAttempts):
    slug = "too-many-sign-ups"
    title = Text("Too many sign-ups", "Demasiados registros")
    detail = Text(
        "Too many sign-ups from here or for this contact. Try again in "
        "{retry_after:# second|# seconds}.",
        "Demasiados registros desde aquí o para este contacto. Intente de nuevo en "
        "{retry_after:# segundo|# segundos}.",
    )


class InvalidRefreshToken(TequioError):
    status = 401
    slug = "invalid-refresh-token"
    title = Text("Invalid refresh token", "Token de renovación no válido")
    detail = Text(
        "This refresh token is unknown, expired or revoked. Sign in again.",
        "Este token de renovación es desconocido, venció o fue revocado. Inicie sesión de nuevo.",
    )


class RefreshTokenReused(InvalidRefreshToken):
    """A used refresh token came back, perhaps stolen: its family is revoked, and that is kept."""

    slug = "refresh-token-reused"
    title = Text("Refresh token reused", "Token de renovación reutilizado")
    detail = Text(
        "This refresh token was already used. For your safety this sign-in was ended everywhere; "
        "sign in again.",
        "Este token de renovación ya se usó. Por su seguridad se cerró esta sesión en todos lados; "
        "inicie sesión de nuevo.",
    )
    persist_changes: ClassVar[bool] = True


class SessionEnded(TequioError):
    status = 401
    slug = "session-ended"
    title = Text("Session ended", "Sesión terminada")
    detail = Text(
        "This sign-in has ended or the account is disabled. Sign in again.",
        "Esta sesión terminó o la cuenta está desactivada. Inicie sesión de nuevo.",
    )


class RoleAlreadyHeld(TequioError):
    status = 409
    slug = "role-already-held"
    words = using(role=wordbook.ROLE)
    title = Text("Role already held", "Ya tiene ese rol")
    detail = Text(
        "The account already holds the role {role}{where}.",
        "La cuenta ya tiene el rol de {role}{where}.",
    )


class RoleNotHeld(TequioError):
    status = 409
    slug = "role-not-held"
    words = using(role=wordbook.ROLE)
    title = Text("Role not held", "No tiene ese rol")
    detail = Text(
        "The account does not hold the role {role}{where}.",
        "La cuenta no tiene el rol de {role}{where}.",
    )


class LastAdmin(TequioError):
    status = 409
    slug = "last-admin"
    title = Text("Last administrator", "Última persona administradora")
    detail = Text(
        "This is the cooperative's last active admin; grant the role to someone else first.",
        "Es la última persona administradora activa de la cooperativa; primero otorgue el rol a "
        "otra persona.",
    )


class ClinicRequired(TequioError):
    status = 422
    slug = "clinic-required"
    title = Text("Which clinic?", "¿Qué clínica?")
    detail = Text(
        "The clinic staff role (`clinic_staff`) is given and taken away at one clinic: name it; "
        "no other role has one.",
        "El rol de personal de clínica (`clinic_staff`) se otorga y se retira en una clínica: "
        "indíquela; ningún otro rol la lleva.",
    )


class TooManyCodes(TooManyAttempts):
    slug = "too-many-codes"
    title = Text("Too many codes", "Demasiados códigos")
    detail = Text(
        "Too many codes were asked for this account or this contact. Try again in "
        "{retry_after:# second|# seconds}.",
        "Se pidieron demasiados códigos para esta cuenta o este contacto. Intente de nuevo en "
        "{retry_after:# segundo|# segundos}.",
    )


class WrongCode(TequioError):
    """Also the answer for an account that does not exist or has no code waiting, so a code's
    check says nothing about who is registered. The wrong try counts (it is kept)."""

    status = 422
    slug = "wrong-code"
    title = Text("Wrong code", "Código incorrecto")
    detail = Text(
        "This code is not right. Check the last code we sent you, or ask for a new one.",
        "Este código no es correcto. Revise el último código que le enviamos o pida uno nuevo.",
    )
    persist_changes: ClassVar[bool] = True


class CodeExpired(TequioError):
    status = 422
    slug = "code-expired"
    title = Text("Code expired", "Código vencido")
    detail = Text(
        "This code no longer works: it expired or was tried wrongly too many times. Ask for a "
        "new one.",
        "Este código ya no sirve: venció o se intentó mal demasiadas veces. Pida uno nuevo.",
    )
    persist_changes: ClassVar[bool] = True


class CodeUsed(TequioError):
    status = 422
    slug = "code-used"
    title = Text("Code already used", "Código ya usado")
    detail = Text(
        "This code was already used; each code works once. Ask for a new one if you need it.",
        "Este código ya se usó; cada código sirve una sola vez. Pida uno nuevo si lo necesita.",
    )


class WrongPassword(TequioError):
    status = 422
    slug = "wrong-password"
    title = Text("Wrong current password", "Contraseña actual incorrecta")
    detail = Text(
        "The current password is not right; nothing changed.",
        "La contraseña actual no es correcta; nada cambió.",
    )


class ContactTaken(TequioError):
    status = 409
    slug = "contact-taken"
    title = Text("Contact not available", "Contacto no disponible")
    detail = Text(
        "This email or phone number cannot be used for your account. Use another one.",
        "Este correo o teléfono no se puede usar para su cuenta. Use otro.",
    )


class NotVerified(Forbidden):
    """Booking or voting before any contact of the account was verified with its code."""

    slug = "not-verified"
    title = Text("Contact not verified", "Contacto no verificado")

    def __init__(self) -> None:
        super().__init__(
            reason=Text(
                "verify your phone or email first, with the code we sent you",
                "verifique primero su teléfono o correo, con el código que le enviamos",
            )
        )
