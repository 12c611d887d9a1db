"""Every message Tequio sends, in Spanish and English, and what fills it.

A template names the parameters it takes, and nothing else may be stored with a message (the
service refuses any other): no specialty, reason, diagnosis or any health datum can reach a
message body, because no template has a place for one. Instants are said in the recipient's
zone, and in the doctor's when it differs. Parameters named in `secret` (one-time codes, later)
are masked wherever a message is logged."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date, format_datetime, get_timezone_location
from babel.numbers import format_currency

from cooperative.kernel import clock
from cooperative.kernel.errors import Language, Text
from cooperative.kernel.money import MINOR_EXPONENT

MASK = "•••"


@dataclass(frozen=True, slots=True)
class Template:
    key: str
    subject: Text
    body: Text
    parameters: frozenset[str]
    secret: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    body: str


Filler = Callable[[Language, Mapping[str, Any], str], dict[str, str]]


CONSULT_REMINDER = Template(
    key="consult.reminder",
    subject=Text("Your Tequio consult", "Su consulta de Tequio"),
    body=Text(
        "You have a Tequio consult on {when}.{doctor_time} Join it here: {link}",
        "Tiene una consulta de Tequio el {when}.{doctor_time} Entre aquí: {link}",
    ),
    parameters=frozenset({"appointment_id", "start", "zone", "doctor_zone", "hours_before"}),
)
_DOCTOR_TIME = Text(" For your doctor it is {when}.", " Para su médico es el {when}.")
# To a household's sponsor, when the member agreed: when, in the sponsor's zone (and the
# patient's when it differs), and nothing else: not who (the phone may be shared), not why, no
# link (the consult page is the patient's).
CONSULT_REMINDER_SPONSOR = Template(
    key="consult.reminder.sponsor",
    subject=Text("A consult in your household", "Una consulta en su hogar"),
    body=Text(
        "Someone in the household you sponsor has a Tequio consult on {when}.{their_time}",
        "Alguien del hogar que usted patrocina tiene una consulta de Tequio el {when}.{their_time}",
    ),
    parameters=frozenset({"start", "zone", "patient_zone", "hours_before"}),
)
_THEIR_TIME = Text(" For them it is {when}.", " Para esa persona es el {when}.")

# To a doctor, about their own day: when, in the doctor's zone, and nothing about the patient
# (no name, no reason): the message may be read on a shared or locked screen.
CONSULT_BOOKED = Template(
    key="consult.booked",
    subject=Text("A consult was booked on your agenda", "Se agendó una consulta en su agenda"),
    body=Text(
        "A consult was booked on your Tequio agenda on {when}. See it here: {link}",
        "Se agendó una consulta en su agenda de Tequio el {when}. Véala aquí: {link}",
    ),
    parameters=frozenset({"appointment_id", "start", "zone"}),
)
CONSULT_CANCELLED = Template(
    key="consult.cancelled",
    subject=Text("A consult on your agenda was cancelled", "Se canceló una consulta de su agenda"),
    body=Text(
        "The consult on your Tequio agenda on {when} was cancelled: that time is free again.",
        "Se canceló la consulta de su agenda de Tequio del {when}: ese horario queda libre.",
    ),
    parameters=frozenset({"start", "zone"}),
)
# To a clinic's staff, about a referral of their clinic: which state it reached and the link to
# it; not whose referral it is nor what for (the link shows that to whoever may see it).
REFERRAL_CHANGED = Template(
    key="referral.changed",
    subject=Text(
        "News on a referral from your clinic", "Novedades de una referencia de su clínica"
    ),
    body=Text(
        "A referral from your clinic was {state}. See it here: {link}",
        "Una referencia de su clínica fue {state}. Véala aquí: {link}",
    ),
    parameters=frozenset({"referral_id", "state"}),
)
# what each state a clinic hears of is called in a message
REFERRAL_STATES: Mapping[str, Text] = {
    "accepted": Text("accepted by a specialist", "aceptada por un especialista"),
    "declined": Text("declined", "rechazada"),
    "answered": Text("answered in writing", "respondida por escrito"),
    "scheduled": Text("scheduled: a consult was booked", "programada: se agendó una consulta"),
    "completed": Text(
        "completed: the counter-referral is ready", "completada: la contrarreferencia está lista"
    ),
}

# To an app's owner: one of its webhook endpoints kept failing and was switched off. Which app
# and which URL, nothing about any event it carried.
WEBHOOK_DISABLED = Template(
    key="webhook.disabled",
    subject=Text("A webhook endpoint was switched off", "Se desactivó un endpoint de webhooks"),
    body=Text(
        "The webhook endpoint {url} of your app {app} kept failing and was switched off. Fix "
        "it, then switch it on again and replay what it missed: {link}",
        "El endpoint de webhooks {url} de su app {app} falló repetidamente y se desactivó. "
        "Corríjalo, vuelva a activarlo y repita lo que no recibió: {link}",
    ),
    parameters=frozenset({"app", "url", "client_id", "endpoint_id"}),
)
TEMPLATES: dict[str, Template] = {
    t.key: t
    for t in (
        WEBHOOK_DISABLED,
        CONSULT_REMINDER,
        CONSULT_REMINDER_SPONSOR,
        CONSULT_BOOKED,
        CONSULT_CANCELLED,
        REFERRAL_CHANGED,
    )
}


def _zone(name: object) -> ZoneInfo:
    try:
        return ZoneInfo(str(name)) if name else clock.zone()
    except (ZoneInfoNotFoundError, ValueError):
        return clock.zone()


def when_phrase(moment: datetime, zone: ZoneInfo, language: Language) -> str:
    """An instant as a message says it, in `zone`: "jueves 3 de diciembre a las 10:00 (hora de
    Ciudad de México)", "Thursday, December 3 at 10:00 AM (Mexico City time)"."""
    local = moment.astimezone(zone)
    city = get_timezone_location(zone, locale=language, return_city=True)
    if language == "es":
        when = format_datetime(local, "EEEE d 'de' MMMM 'a las' H:mm", locale="es")
        return f"{when} (hora de {city})"
    when = format_datetime(local, "EEEE, MMMM d 'at' h:mm a", locale="en")
    return f"{when} ({city} time)"


def _consult_reminder(
    language: Language, params: Mapping[str, Any], base_url: str
) -> dict[str, str]:
    start = datetime.fromisoformat(str(params["start"]))
    zone = _zone(params.get("zone"))
    doctor_zone = _zone(params.get("doctor_zone") or params.get("zone"))
    doctor_time = ""
    if start.astimezone(doctor_zone).utcoffset() != start.astimezone(zone).utcoffset():
        doctor_time = _DOCTOR_TIME.render(
            language, {"when": when_phrase(start, doctor_zone, language)}
        )
    return {
        "when": when_phrase(start, zone, language),
        "doctor_time": doctor_time,
        "link": f"{base_url.rstrip('/')}/consult/{params['appointment_id']}",
    }


def _sponsor_reminder(
    language: Language, params: Mapping[str, Any], base_url: str
) -> dict[str, str]:
    start = datetime.fromisoformat(str(params["start"]))
    zone = _zone(params.get("zone"))
    theirs = _zone(params.get("patient_zone") or params.get("zone"))
    their_time = ""
    if start.astimezone(theirs).utcoffset() != start.astimezone(zone).utcoffset():
        their_time = _THEIR_TIME.render(language, {"when": when_phrase(start, theirs, language)})
    return {"when": when_phrase(start, zone, language), "their_time": their_time}


def _doctor_day(language: Language, params: Mapping[str, Any], base_url: str) -> dict[str, str]:
    start = datetime.fromisoformat(str(params["start"]))
    filled = {"when": when_phrase(start, _zone(params.get("zone")), language)}
    if "appointment_id" in params:
        filled["link"] = f"{base_url.rstrip('/')}/consult/{params['appointment_id']}"
    return filled


def _referral_changed(
    language: Language, params: Mapping[str, Any], base_url: str
) -> dict[str, str]:
    state = REFERRAL_STATES[str(params["state"])]
    return {
        "state": state.render(language),
        "link": f"{base_url.rstrip('/')}/v1/referrals/{params['referral_id']}",
    }


def _webhook_disabled(
    language: Language, params: Mapping[str, Any], base_url: str
) -> dict[str, str]:
    return {
        "app": str(params["app"]),
        "url": str(params["url"]),
        "link": f"{base_url.rstrip('/')}/v1/apps/{params['client_id']}/webhooks/"
        f"{params['endpoint_id']}",
    }


_FILLERS: dict[str, Filler] = {
    WEBHOOK_DISABLED.key: _webhook_disabled,
    CONSULT_REMINDER.key: _consult_reminder,
    CONSULT_REMINDER_SPONSOR.key: _sponsor_reminder,
    CONSULT_BOOKED.key: _doctor_day,
    CONSULT_CANCELLED.key: _doctor_day,
    REFERRAL_CHANGED.key: _referral_changed,
}


def without_secrets(key: str, params: Mapping[str, Any]) -> dict[str, Any] | None:
    """The parameters with the template's secrets masked, to keep once the message no longer
    needs them (a one-time code sent, replaced or used); None when it has no secrets."""
    template = TEMPLATES.get(key)
    if template is None or not template.secret & set(params):
        return None
    return {name: MASK if name in template.secret else value for name, value in params.items()}


def render(
    key: str,
    language: str,
    params: Mapping[str, Any],
    *,
    base_url: str,
    for_log: bool = False,
) -> Rendered:
    """The message as its recipient reads it (`for_log`: its secrets masked)."""
    template = TEMPLATES[key]
    lang: Language = "en" if language == "en" else "es"
    shown = {
        name: MASK if for_log and name in template.secret else value
        for name, value in params.items()
    }
    filled = _FILLERS[key](lang, shown, base_url)
    return Rendered(
        subject=template.subject.render(lang),
        body=template.body.render(lang, filled),
    )


# --- Governance, dues and the waiting room -------------------------------------------------
# Governance: to the members on a vote's roll. The proposal's title and the link, when it
# closes in the recipient's zone; never a ballot, a count or who has voted.
VOTE_OPENED = Template(
    key="governance.vote_opened",
    subject=Text("A vote opened in your cooperative", "Se abrió una votación en su cooperativa"),
    body=Text(
        "A vote opened in Tequio: “{title}”. It closes on {when}. See it and vote here: {link}",
        "Se abrió una votación en Tequio: «{title}». Cierra el {when}. Véala y vote aquí: {link}",
    ),
    parameters=frozenset({"proposal_id", "title", "closes_at", "zone"}),
)
# Queued for every member on the roll when the vote opens; a member's own is deleted when they
# vote (see `cooperative.governance.notices`), so it reaches those who have not voted.
VOTE_CLOSING_SOON = Template(
    key="governance.vote_closing_soon",
    subject=Text("A vote closes soon", "Una votación cierra pronto"),
    body=Text(
        "The Tequio vote “{title}” closes on {when}. If you have not voted yet, vote here: {link}",
        "La votación de Tequio «{title}» cierra el {when}. Si aún no ha votado, vote aquí: {link}",
    ),
    parameters=frozenset({"proposal_id", "title", "closes_at", "zone"}),
)
VOTE_RESULT = Template(
    key="governance.vote_result",
    subject=Text("The result of a vote", "El resultado de una votación"),
    body=Text(
        "The Tequio vote “{title}” has closed. See the result here: {link}",
        "La votación de Tequio «{title}» cerró. Vea el resultado aquí: {link}",
    ),
    parameters=frozenset({"proposal_id", "title"}),
)
# Dues: to a household's holder and its sponsor. The amount in the household's currency and,
# for a recipient who pays in another, also in theirs; formatted in the recipient's locale.
INVOICE_DUE = Template(
    key="dues.invoice_due",
    subject=Text("Your Tequio dues", "Su cuota de Tequio"),
    body=Text(
        "Your household's Tequio dues for {period} are {amount}{other}, due on {due}. "
        "See them here: {link}",
        "La cuota de Tequio de su hogar para {period} es de {amount}{other}, con vencimiento "
        "el {due}. Véala aquí: {link}",
    ),
    parameters=frozenset(
        {"household_id", "period", "amount_minor", "currency", "due_on", "other_minor", "other"}
    ),
)
_ABOUT = Text(" (about {amount})", " (unos {amount})")
PAYMENT_CONFIRMED = Template(
    key="dues.payment_confirmed",
    subject=Text("Your payment was confirmed", "Su pago fue confirmado"),
    body=Text(
        "Tequio's treasurer confirmed a payment of {paid}{settled}. See it here: {link}",
        "La tesorería de Tequio confirmó un pago de {paid}{settled}. Véalo aquí: {link}",
    ),
    parameters=frozenset(
        {"payment_id", "amount_minor", "currency", "settled_minor", "settled_currency"}
    ),
)
_SETTLED = Text(", {amount} for your household", ", {amount} para su hogar")
# To the doctor: someone waits in the room of a consult of theirs. Not who, not why.
PATIENT_WAITING = Template(
    key="consult.patient_waiting",
    subject=Text("Your patient is waiting", "Su paciente lo espera"),
    body=Text(
        "Your patient is in the waiting room of your Tequio consult. Enter here: {link}",
        "Su paciente está en la sala de espera de su consulta de Tequio. Entre aquí: {link}",
    ),
    parameters=frozenset({"appointment_id"}),
)

LOCALES: Mapping[Language, str] = {"es": "es_MX", "en": "en_US"}


def money_phrase(amount_minor: int, currency: str, language: Language) -> str:
    """An amount as the recipient reads it, in their locale: "$1,234.50" in Mexico's Spanish
    for pesos, "US$1,234.50" there for dollars (Babel's `format_currency`)."""
    exponent = MINOR_EXPONENT.get(currency, 2)
    value = Decimal(int(amount_minor)).scaleb(-exponent)
    return str(format_currency(value, currency, locale=LOCALES[language]))


def _vote(language: Language, params: Mapping[str, Any], base_url: str) -> dict[str, str]:
    filled = {
        "title": str(params["title"]),
        "link": f"{base_url.rstrip('/')}/v1/proposals/{params['proposal_id']}",
    }
    if "closes_at" in params:
        closes = datetime.fromisoformat(str(params["closes_at"]))
        filled["when"] = when_phrase(closes, _zone(params.get("zone")), language)
    return filled


def _invoice_due(language: Language, params: Mapping[str, Any], base_url: str) -> dict[str, str]:
    other = ""
    if params.get("other") and params.get("other_minor") is not None:
        amount = money_phrase(int(params["other_minor"]), str(params["other"]), language)
        other = _ABOUT.render(language, {"amount": amount})
    due = date.fromisoformat(str(params["due_on"]))
    return {
        "period": str(params["period"]),
        "amount": money_phrase(int(params["amount_minor"]), str(params["currency"]), language),
        "other": other,
        "due": str(format_date(due, "long", locale=LOCALES[language])),
        "link": f"{base_url.rstrip('/')}/v1/households/{params['household_id']}/balance",
    }


def _payment_confirmed(
    language: Language, params: Mapping[str, Any], base_url: str
) -> dict[str, str]:
    settled = ""
    if params.get("settled_currency") and params["settled_currency"] != params["currency"]:
        amount = money_phrase(
            int(params["settled_minor"]), str(params["settled_currency"]), language
        )
        settled = _SETTLED.render(language, {"amount": amount})
    return {
        "paid": money_phrase(int(params["amount_minor"]), str(params["currency"]), language),
        "settled": settled,
        "link": f"{base_url.rstrip('/')}/v1/payments/{params['payment_id']}",
    }


def _patient_waiting(
    language: Language, params: Mapping[str, Any], base_url: str
) -> dict[str, str]:
    return {"link": f"{base_url.rstrip('/')}/consult/{params['appointment_id']}"}


for _template, _filler in (
    (VOTE_OPENED, _vote),
    (VOTE_CLOSING_SOON, _vote),
    (VOTE_RESULT, _vote),
    (INVOICE_DUE, _invoice_due),
    (PAYMENT_CONFIRMED, _payment_confirmed),
    (PATIENT_WAITING, _patient_waiting),
):
    TEMPLATES[_template.key] = _template
    _FILLERS[_template.key] = _filler


# One-time codes and the sign-up notice (the code is `secret`: masked in every log and in the
# member's list of their messages; only the message itself carries it).
_CODE_PARAMETERS = frozenset({"code", "minutes"})
CODE_VERIFY = Template(
    key="code.verify",
    subject=Text("Your Tequio code", "Su código de Tequio"),
    body=Text(
        "Your Tequio code is {code}. Type it to verify this contact; it works for {minutes} "
        "minutes. Nobody from Tequio will ever ask you for it.",
        "Su código de Tequio es {code}. Escríbalo para verificar este contacto; sirve durante "
        "{minutes} minutos. Nadie de Tequio se lo pedirá nunca.",
    ),
    parameters=_CODE_PARAMETERS,
    secret=frozenset({"code"}),
)
CODE_RECOVER = Template(
    key="code.recover",
    subject=Text("Your Tequio password code", "Su código para la contraseña de Tequio"),
    body=Text(
        "Your code to choose a new Tequio password is {code}; it works for {minutes} minutes. "
        "If you did not ask for it, ignore this message: your password has not changed.",
        "Su código para elegir una nueva contraseña de Tequio es {code}; sirve durante "
        "{minutes} minutos. Si usted no lo pidió, ignore este mensaje: su contraseña no cambió.",
    ),
    parameters=_CODE_PARAMETERS,
    secret=frozenset({"code"}),
)
CODE_CONTACT = Template(
    key="code.contact",
    subject=Text("Your Tequio code", "Su código de Tequio"),
    body=Text(
        "Your code to use this contact with Tequio is {code}; it works for {minutes} minutes. "
        "If you did not ask for it, ignore this message.",
        "Su código para usar este contacto con Tequio es {code}; sirve durante {minutes} "
        "minutos. Si usted no lo pidió, ignore este mensaje.",
    ),
    parameters=_CODE_PARAMETERS,
    secret=frozenset({"code"}),
)
SIGN_UP_TRIED = Template(
    key="account.sign_up_tried",
    subject=Text("Someone tried to sign up with your contact", "Alguien intentó registrarse"),
    body=Text(
        "Someone tried to sign up to Tequio with your {contact}. Your account did not change. "
        "If it was you, sign in with your password, or ask for a code to choose a new one.",
        "Alguien intentó registrarse en Tequio con su {contact}. Su cuenta no cambió. Si fue "
        "usted, inicie sesión con su contraseña o pida un código para elegir una nueva.",
    ),
    parameters=frozenset({"contact"}),
)
_CONTACT_WORDS: Mapping[str, Text] = {
    "email": Text("email", "correo"),
    "phone": Text("phone number", "número de teléfono"),
}


def _code(language: Language, params: Mapping[str, Any], base_url: str) -> dict[str, str]:
    return {"code": str(params["code"]), "minutes": str(params["minutes"])}


def _sign_up_tried(language: Language, params: Mapping[str, Any], base_url: str) -> dict[str, str]:
    return {"contact": _CONTACT_WORDS[str(params["contact"])].render(language)}


for _template, _filler in (
    (CODE_VERIFY, _code),
    (CODE_RECOVER, _code),
    (CODE_CONTACT, _code),
    (SIGN_UP_TRIED, _sign_up_tried),
):
    TEMPLATES[_template.key] = _template
    _FILLERS[_template.key] = _filler
