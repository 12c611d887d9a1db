from cooperative.kernel.errors import TequioError, Text


class BylawsNotInstalled(TequioError):
    status = 409
    slug = "bylaws-not-installed"
    title = Text("No bylaws in force", "No hay estatutos vigentes")
    detail = Text(
        "The cooperative has no bylaws in force yet; an admin must install them first.",
        "La cooperativa aún no tiene estatutos vigentes; un administrador debe instalarlos.",
    )


class BylawsAlreadyInstalled(TequioError):
    status = 409
    slug = "bylaws-already-installed"
    title = Text("Bylaws already installed", "Los estatutos ya están instalados")
    detail = Text(
        "Bylaws are installed once; later versions are adopted by a governance vote.",
        "Los estatutos se instalan una vez; las versiones posteriores se adoptan por votación.",
    )
