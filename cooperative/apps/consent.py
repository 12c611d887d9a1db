"""What the consent page says: each scope in plain words, in Spanish and English."""

from cooperative.kernel.errors import Text
from cooperative.kernel.principal import Scope

SCOPE_WORDS: dict[str, Text] = {
    Scope.ME: Text("see your name and how to reach you", "ver su nombre y cómo contactarle"),
    Scope.APPOINTMENTS_READ: Text("see your appointments", "ver sus citas"),
    Scope.APPOINTMENTS_WRITE: Text(
        "book, change and cancel consults on your behalf",
        "reservar, cambiar y cancelar consultas en su nombre",
    ),
    Scope.SCHEDULE_WRITE: Text(
        "manage your availability as a doctor", "administrar su disponibilidad como médico"
    ),
    Scope.PATIENTS_REGISTER: Text(
        "register patients at your health centre", "registrar pacientes en su centro de salud"
    ),
    Scope.MEMBERSHIP_READ: Text(
        "see your membership, household and dues", "ver su membresía, su hogar y sus cuotas"
    ),
    Scope.MEMBERSHIP_WRITE: Text(
        "apply for membership and update your household",
        "solicitar la membresía y actualizar su hogar",
    ),
    Scope.GOVERNANCE_VOTE: Text(
        "propose, comment and vote in the cooperative",
        "proponer, comentar y votar en la cooperativa",
    ),
    Scope.CONSULTS_JOIN: Text("join your video consults", "entrar a sus consultas por video"),
    Scope.PAYMENTS_CONFIRM: Text(
        "confirm payments as the cooperative's cashier", "confirmar pagos como tesorero"
    ),
    Scope.ADMIN: Text("administer the cooperative", "administrar la cooperativa"),
}

PAGE_WORDS: dict[str, Text] = {
    "title": Text("Allow {app}?", "¿Permitir a {app}?"),
    "wants": Text("{app} would like to:", "{app} quiere:"),
    "fewer": Text(
        "Untick what you do not want to allow. You can revoke the app at any time.",
        "Desmarque lo que no quiera permitir. Puede quitarle el acceso cuando quiera.",
    ),
    "contact": Text("Who runs it: {contact}", "Responsable: {contact}"),
    "sign_in": Text("Sign in to Tequio", "Inicie sesión en Tequio"),
    "username": Text("Email or phone", "Correo o teléfono"),
    "password": Text("Password", "Contraseña"),
    "allow": Text("Allow", "Permitir"),
    "deny": Text("Deny", "Rechazar"),
    "other_language": Text("En español", "In English"),
    "error_title": Text("This app cannot sign you in", "Esta app no puede iniciar su sesión"),
    "bad_client": Text(
        "The app is unknown, not approved yet, or switched off. Go back to the app and tell "
        "its makers.",
        "La app es desconocida, aún no está aprobada o está desactivada. Regrese a la app y "
        "avise a quienes la hicieron.",
    ),
    "bad_redirect": Text(
        "The app asked to send you back to an address it did not register. For your safety "
        "you stay here.",
        "La app pidió regresarle a una dirección que no registró. Por su seguridad se queda aquí.",
    ),
}
