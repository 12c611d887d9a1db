"""Governance's problems: each refusal its own type, so a client can tell one from another."""

from cooperative.kernel import wordbook
from cooperative.kernel.errors import IdempotencyKeyReused, TequioError, Text, using

# The Spanish word for each status of `rules.ProposalStatus` (which imports this module), and for
# an open proposal whose voting has not started yet.
STATES = {"draft": "en borrador", "open": "abierta", "closed": "cerrada", "scheduled": "programada"}


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
    words = using(status=wordbook.PROPOSAL_STATUS)
    title = Text("No longer a draft", "Ya no es un borrador")
    detail = Text(
        "This proposal is {status}; only a draft can be co-signed, changed or opened.",
        "Esta propuesta está {status}; solo un borrador se firma, cambia o abre.",
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


class CosignersMissing(TequioError):
    status = 409
    slug = "cosigners-missing"
    title = Text("More co-signers needed", "Faltan firmas")
    detail = Text(
        "A member initiative opens with "
        "{needed:# co-signing member|# co-signing members} in good standing; it has "
        "{have}.",
        "Una iniciativa de socios se abre con "
        "{needed:# socio al corriente que la firme|# socios al corriente que la firmen}; tiene "
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


class InvalidProposal(TequioError):
    """A draft or an opening the rules refuse (the subclasses say which rule)."""

    status = 422


class InvalidBallot(TequioError):
    """A ballot its proposal cannot count (the subclasses say why)."""

    status = 422


# Drafting


class NoRuleForKind(InvalidProposal):
    slug = "no-rule-for-kind"
    words = using(kind=wordbook.PROPOSAL_KIND)
    title = Text("No rule for this kind", "Sin regla para este tipo")
    detail = Text(
        "The bylaws in force have no rule for {kind}.",
        "Los estatutos vigentes no tienen regla para {kind}.",
    )


class EffectiveDateOutOfRange(InvalidProposal):
    slug = "effective-date-out-of-range"
    title = Text("Effective date out of range", "Fecha de vigencia fuera de rango")
    detail = Text(
        "effective_from is within ten years from today (and at most a year ago).",
        "effective_from está dentro de los próximos diez años (y a lo sumo un año atrás).",
    )


class AllocationRunNotDraft(InvalidProposal):
    slug = "allocation-run-not-draft"
    title = Text("Not a draft allocation run", "No es una asignación en borrador")
    detail = Text(
        "The allocation run must exist and still be a draft.",
        "La asignación debe existir y ser todavía un borrador.",
    )


class OptionsNotDistinct(InvalidProposal):
    slug = "options-not-distinct"
    title = Text("Options not distinct", "Opciones repetidas")
    detail = Text(
        "Priorities need different options, none of them blank.",
        "Las prioridades necesitan opciones distintas, ninguna en blanco.",
    )


class NoSeats(InvalidProposal):
    slug = "no-board-seats"
    words = using(member_class=wordbook.MEMBER_CLASS)
    title = Text("No board seats for this class", "Sin puestos del consejo para esta clase")
    detail = Text(
        "The bylaws in force elect no board seats for {member_class}.",
        "Los estatutos vigentes no eligen puestos del consejo para la clase {member_class}.",
    )


class CandidatesNotDistinct(InvalidProposal):
    slug = "candidates-not-distinct"
    words = using(member_class=wordbook.MEMBER_CLASS)
    title = Text("Candidates not distinct", "Candidaturas repetidas")
    detail = Text(
        "The {member_class} race needs different candidates.",
        "La contienda de la clase {member_class} necesita candidaturas distintas.",
    )


class NotACandidate(InvalidProposal):
    slug = "candidate-not-eligible"
    words = using(member_class=wordbook.MEMBER_CLASS)
    title = Text("Not an eligible candidate", "Candidatura no elegible")
    detail = Text(
        "Candidate {candidate} is not an active {member_class} member.",
        "La candidatura {candidate} no es de un socio activo de la clase {member_class}.",
    )


# Opening


class ClosesBeforeOpening(InvalidProposal):
    slug = "closes-before-opening"
    title = Text("Closes too early", "Cierra demasiado pronto")
    detail = Text(
        "closes_at must be after the opening and in the future.",
        "closes_at debe ser posterior a la apertura y futuro.",
    )


class OpensInThePast(InvalidProposal):
    slug = "opens-in-the-past"
    title = Text("Opens in the past", "Abre en el pasado")
    detail = Text("opens_at cannot be in the past.", "opens_at no puede estar en el pasado.")


class VotingTooLong(InvalidProposal):
    slug = "voting-too-long"
    title = Text("Voting too long", "Votación demasiado larga")
    detail = Text("A vote closes within a year of today.", "Una votación cierra antes de un año.")


class RecordDateInFuture(InvalidProposal):
    slug = "record-date-in-future"
    title = Text("Record date in the future", "Fecha de registro futura")
    detail = Text(
        "The record date cannot be in the future.", "La fecha de registro no puede ser futura."
    )


class RecordDateTooOld(InvalidProposal):
    slug = "record-date-too-old"
    title = Text("Record date too old", "Fecha de registro demasiado antigua")
    detail = Text(
        "The record date is at most a year before today.",
        "La fecha de registro es a lo sumo un año antes de hoy.",
    )


class InitiativeRecordDate(InvalidProposal):
    slug = "initiative-record-date"
    title = Text("Roll taken on another day", "Padrón tomado otro día")
    detail = Text(
        "A member initiative takes the roll on the day it opens.",
        "Una iniciativa de socios toma el padrón el día en que se abre.",
    )


class InitiativeTooShort(InvalidProposal):
    slug = "initiative-voting-too-short"
    title = Text("Voting too short", "Votación demasiado corta")
    detail = Text(
        "A member initiative is open for at least {hours:# hour|# hours}.",
        "Una iniciativa de socios está abierta al menos {hours:# hora|# horas}.",
    )


class EffectiveBeforeClose(InvalidProposal):
    slug = "effective-before-close"
    title = Text("Takes effect before the close", "Entra en vigor antes del cierre")
    detail = Text(
        "The amendment cannot take effect before the vote closes.",
        "La reforma no puede entrar en vigor antes del cierre de la votación.",
    )


class AmendmentOutdated(InvalidProposal):
    slug = "amendment-outdated"
    title = Text("Drafted from older bylaws", "Redactada sobre estatutos anteriores")
    detail = Text(
        "The bylaws in force are version {version}: draft the amendment again from them, so that "
        "it does not undo another.",
        "Los estatutos vigentes son la versión {version}: redacte de nuevo la reforma a partir de "
        "ellos, para no deshacer otra.",
    )


class EmptyRoll(InvalidProposal):
    slug = "empty-roll"
    title = Text("Nobody on the roll", "Padrón vacío")
    detail = Text(
        "Nobody is on the roll: no member was in good standing on {record_date}.",
        "El padrón está vacío: ningún socio estaba al corriente el {record_date}.",
    )


# Ballots


class WrongBallotShape(InvalidBallot):
    slug = "wrong-ballot-shape"
    words = using(kind=wordbook.PROPOSAL_KIND)
    title = Text("Wrong kind of ballot", "Boleta de otro tipo")
    detail = Text(
        "A {kind} ballot has `{expected}` and nothing else.",
        "Una boleta de {kind} lleva `{expected}` y nada más.",
    )


class RankingNotDistinct(InvalidBallot):
    slug = "ranking-not-distinct"
    title = Text("Invalid ranking", "Orden no válido")
    detail = Text(
        "Rank one or more candidates, each once.",
        "Ordene una o más candidaturas, cada una una vez.",
    )


class NotInRace(InvalidBallot):
    slug = "not-in-race"
    words = using(member_class=wordbook.MEMBER_CLASS)
    title = Text("Not a candidate in your race", "No es candidatura de su contienda")
    detail = Text(
        "Not a candidate in the {member_class} class's race: {candidate}.",
        "No es candidatura de la contienda de la clase {member_class}: {candidate}.",
    )


class ApprovalNotValid(InvalidBallot):
    slug = "approval-not-valid"
    title = Text("Invalid approval", "Aprobación no válida")
    detail = Text(
        "Approve each option at most once, by its id.",
        "Apruebe cada opción a lo sumo una vez, por su id.",
    )


# What each use case may refuse with, for the API's documentation.
DRAFTING: tuple[type[TequioError], ...] = (
    NoRuleForKind,
    EffectiveDateOutOfRange,
    AllocationRunNotDraft,
    OptionsNotDistinct,
    NoSeats,
    CandidatesNotDistinct,
    NotACandidate,
)
OPENING: tuple[type[TequioError], ...] = (
    ClosesBeforeOpening,
    OpensInThePast,
    VotingTooLong,
    RecordDateInFuture,
    RecordDateTooOld,
    InitiativeRecordDate,
    InitiativeTooShort,
    EffectiveBeforeClose,
    AmendmentOutdated,
    NoRuleForKind,
    NoSeats,
    EmptyRoll,
)
CASTING: tuple[type[TequioError], ...] = (
    WrongBallotShape,
    RankingNotDistinct,
    NotInRace,
    ApprovalNotValid,
    IdempotencyKeyReused,
)
