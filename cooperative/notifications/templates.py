"""Every message Tequio sends, in Spanish and English, and what fills it.

A template names the parameters it takes, and nothing else may be stored with a message (the
service refuses any other): no specialty, reason, diagnosis or any health datum can reach a
message body, because no template has a place for one. Instants are said in the recipient's
zone, and in the doctor's when it differs. Parameters named in `secret` (one-time codes, later)
are masked wherever a message is logged."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_datetime, get_timezone_location

from cooperative.kernel import clock
from cooperative.kernel.errors import Language, Text

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

TEMPLATES: Mapping[str, Template] = {
    t.key: t for t in (CONSULT_REMINDER, CONSULT_BOOKED, CONSULT_CANCELLED, REFERRAL_CHANGED)
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


_FILLERS = {
    CONSULT_REMINDER.key: _consult_reminder,
    CONSULT_BOOKED.key: _doctor_day,
    CONSULT_CANCELLED.key: _doctor_day,
    REFERRAL_CHANGED.key: _referral_changed,
}


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


TEMPLATES = {
    **TEMPLATES,
    **{t.key: t for t in (CODE_VERIFY, CODE_RECOVER, CODE_CONTACT, SIGN_UP_TRIED)},
}
_FILLERS = {
    **_FILLERS,
    CODE_VERIFY.key: _code,
    CODE_RECOVER.key: _code,
    CODE_CONTACT.key: _code,
    SIGN_UP_TRIED.key: _sign_up_tried,
}
