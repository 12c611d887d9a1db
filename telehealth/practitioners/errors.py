from cooperative.kernel.errors import TequioError, Text


class NotADoctor(TequioError):
    status = 422
    slug = "not-a-doctor"
    title = Text("Not a doctor's account", "No es una cuenta de médico")
    detail = Text(
        "A practitioner profile is for an account with the doctor role.",
        "Un perfil de profesional es para una cuenta con el rol de médico.",
    )


class AlreadyPractitioner(TequioError):
    status = 409
    slug = "already-practitioner"
    title = Text("Already a practitioner", "Ya es profesional")
    detail = Text(
        "This account already has a practitioner profile.",
        "Esta cuenta ya tiene un perfil de profesional.",
    )
