from cooperative.kernel.errors import TequioError, Text


class NotEligible(TequioError):
    status = 403
    slug = "not-eligible-to-vote"
    title = Text("Not eligible to vote", "Sin derecho a voto")
    detail = Text(
        "You are not on this proposal's roll: only members in good standing on its record date "
        "({record_date}) vote, and in an election only the members of the race's class.",
        "No está en el padrón de esta propuesta: solo votan los socios al corriente en su fecha "
        "de registro ({record_date}) y, en una elección, solo los socios de la clase de la "
        "contienda.",
    )


class NotOpen(TequioError):
    status = 409
    slug = "proposal-not-open"
    title = Text("Voting is not open", "La votación no está abierta")
    detail = Text(
        "This proposal is {status}; ballots are taken from its opening to its close.",
        "Esta propuesta está {estado}; se vota desde su apertura hasta su cierre.",
    )

    def __init__(self, *, status: str) -> None:
        super().__init__(status=status, estado=STATES.get(status, status))


class NotDraft(TequioError):
    status = 409
    slug = "proposal-not-draft"
    title = Text("No longer a draft", "Ya no es un borrador")
    detail = Text(
        "This proposal is {status}; only a draft can be co-signed, changed or opened.",
        "Esta propuesta está {estado}; solo un borrador se firma, cambia o abre.",
    )

    def __init__(self, *, status: str) -> None:
        super().__init__(status=status, estado=STATES.get(status, status))


class NotClosed(TequioError):
    status = 409
    slug = "proposal-not-closed"
    title = Text("Not closed yet", "Aún no se cierra")
    detail = Text(
        "The ballots and the result are published when voting closes ({closes_at}).",
        "Las boletas y el resultado se publican al cerrar la votación ({closes_at}).",
    )


class AlreadyVoted(TequioError):
    status = 409
    slug = "already-voted"
    title = Text("You have already voted", "Ya votó")
    detail = Text(
        "One member, one ballot. To change your vote, send it again with the receipt you were "
        "given.",
        "Un socio, una boleta. Para cambiar su voto, envíelo de nuevo con el recibo que recibió.",
    )


class UnknownReceipt(TequioError):
    status = 404
    slug = "unknown-receipt"
    title = Text("Unknown receipt", "Recibo desconocido")
    detail = Text(
        "No ballot of this proposal has that receipt.",
        "Ninguna boleta de esta propuesta tiene ese recibo.",
    )


class InvalidBallot(TequioError):
    status = 422
    slug = "invalid-ballot"
    title = Text("Invalid ballot", "Boleta no válida")
    detail = Text("{reason}", "{razon}")


class InvalidProposal(TequioError):
    status = 422
    slug = "invalid-proposal"
    title = Text("Invalid proposal", "Propuesta no válida")
    detail = Text("{reason}", "{razon}")


def invalid(en: str, es: str) -> InvalidProposal:
    return InvalidProposal(reason=en, razon=es)


def invalid_ballot(en: str, es: str) -> InvalidBallot:
    return InvalidBallot(reason=en, razon=es)


STATES = {"draft": "en borrador", "open": "abierta", "closed": "cerrada", "scheduled": "programada"}


class CosignersMissing(TequioError):
    status = 409
    slug = "cosigners-missing"
    title = Text("More co-signers needed", "Faltan firmas")
    detail = Text(
        "A member initiative opens with {needed} co-signing members in good standing; it has "
        "{have}.",
        "Una iniciativa de socios se abre con {needed} socios al corriente que la firmen; tiene "
        "{have}.",
    )


class BallotsUnreadable(TequioError):
    """The server's ballot secret is not the one the vote opened with (or a sealed ballot was
    altered): nothing is cast, counted or changed until the operator restores it."""

    status = 503
    slug = "ballots-unreadable"
    title = Text("Ballots cannot be opened", "No se pueden abrir las boletas")
    detail = Text(
        "This vote's sealed ballots cannot be opened with the server's ballot secret, which is not "
        "the one in use when the vote opened. Nothing was cast, counted or changed; the "
        "cooperative's operator must restore that secret.",
        "Las boletas selladas de esta votación no se pueden abrir con el secreto de boletas del "
        "servidor, que no es el que se usaba al abrirse la votación. No se emitió, contó ni "
        "cambió nada; el operador de la cooperativa debe restablecer ese secreto.",
    )
