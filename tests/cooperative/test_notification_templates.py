"""Every message template, rendered in both languages: no health data can reach a body (no
template has a place for it), the time is said in the recipient's zone, and the retry rules
wait longer each time and give up after the last attempt."""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from babel.numbers import format_currency
from hypothesis import given
from hypothesis import strategies as st

from cooperative.notifications.rules import RetryPolicy, State
from cooperative.notifications.templates import (
    MASK,
    REFERRAL_STATES,
    TEMPLATES,
    Template,
    render,
)

# the fields of Tequio's records that say something about someone's health
HEALTH_FIELDS = {
    "reason",
    "referral_reason",
    "specialty",
    "specialties",
    "diagnosis",
    "diagnoses",
    "icd10",
    "notes",
    "note",
    "findings",
    "plan",
    "prescription",
    "medication",
    "interpreter_needed",
    "fee_class",
}
START = datetime(2026, 12, 3, 16, 0, tzinfo=UTC)  # 10:00 in Mexico City, a Thursday


def _sample(template: Template) -> dict[str, object]:
    values: dict[str, object] = {
        "appointment_id": str(uuid.UUID(int=7)),
        "start": START.isoformat(),
        "zone": "America/Mexico_City",
        "doctor_zone": "America/Tijuana",
        "hours_before": 24.0,
        "referral_id": str(uuid.UUID(int=9)),
        "state": "accepted",
        "proposal_id": str(uuid.UUID(int=11)),
        "title": "Abrir una clínica en Tlaxiaco",
        "closes_at": START.isoformat(),
        "household_id": str(uuid.UUID(int=13)),
        "payment_id": str(uuid.UUID(int=15)),
        "app": "Citas Fácil",
        "url": "https://citas.example.org/webhooks",
        "client_id": str(uuid.UUID(int=17)),
        "endpoint_id": str(uuid.UUID(int=19)),
        "period": "2026-12",
        "code": "482913",
        "minutes": 10,
        "contact": "phone",
        "amount_minor": 123450,
        "currency": "MXN",
        "due_on": "2026-12-15",
        "other_minor": 7156,
        "other": "USD",
        "settled_minor": 123450,
        "settled_currency": "MXN",
    }
    return {name: values.get(name, f"<{name}>") for name in template.parameters}


def _samples(template: Template) -> list[dict[str, object]]:
    """The sample, and one for each value a parameter with a closed vocabulary takes."""
    sample = _sample(template)
    if "state" not in template.parameters:
        return [sample]
    return [{**sample, "state": state} for state in REFERRAL_STATES]


def test_no_template_has_a_place_for_health_data() -> None:
    for template in TEMPLATES.values():
        assert not template.parameters & HEALTH_FIELDS, template.key


def test_every_template_renders_in_both_languages_with_every_parameter_used() -> None:
    for template in TEMPLATES.values():
        for language in ("es", "en"):
            for sample in _samples(template):
                shown = render(template.key, language, sample, base_url="https://t.test")
                assert shown.subject and shown.body
                assert "{" not in shown.body and "<" not in shown.body, shown.body
                for health in HEALTH_FIELDS:
                    assert health not in shown.body.lower().split(), (template.key, health)


def test_the_new_templates_are_all_rendered_above() -> None:
    """The doctor's and the clinic's messages are among those rendered and checked."""
    assert {"consult.booked", "consult.cancelled", "referral.changed"} <= set(TEMPLATES)
    assert {
        "governance.vote_opened",
        "governance.vote_closing_soon",
        "governance.vote_result",
        "dues.invoice_due",
        "dues.payment_confirmed",
        "consult.patient_waiting",
    } <= set(TEMPLATES)


def test_amounts_are_said_in_the_recipients_locale_and_a_sponsors_currency_too() -> None:
    """Formatted by Babel for es_MX and en_US; the expectation is Babel's own answer for the
    same amount, not a copy of the message."""
    sample = _sample(TEMPLATES["dues.invoice_due"])
    for language, locale in (("es", "es_MX"), ("en", "en_US")):
        body = render("dues.invoice_due", language, sample, base_url="https://t.test").body
        pesos = format_currency(Decimal("1234.50"), "MXN", locale=locale)
        dollars = format_currency(Decimal("71.56"), "USD", locale=locale)
        assert pesos in body and dollars in body, body
    body = render(
        "dues.invoice_due", "es", {**sample, "other": None}, base_url="https://t.test"
    ).body
    assert "USD" not in body and "US$" not in body  # one currency when they pay in the same


def test_a_doctor_hears_of_a_booking_in_their_own_zone_without_the_patient() -> None:
    booked = render(
        "consult.booked",
        "es",
        {**_sample(TEMPLATES["consult.booked"]), "zone": "America/Tijuana"},
        base_url="https://tequio.coop",
    )
    assert booked.body == (
        "Se agendó una consulta en su agenda de Tequio el jueves 3 de diciembre a las 8:00 "
        "(hora de Tijuana). Véala aquí: "
        "https://tequio.coop/consult/00000000-0000-0000-0000-000000000007"
    )
    cancelled = render(
        "consult.cancelled",
        "en",
        _sample(TEMPLATES["consult.cancelled"]),
        base_url="https://tequio.coop",
    )
    assert cancelled.subject == "A consult on your agenda was cancelled"
    assert cancelled.body.startswith(
        "The consult on your Tequio agenda on Thursday, December 3 at 10:00"
    )
    assert cancelled.body.endswith("(Mexico City time) was cancelled: that time is free again.")


def test_a_clinic_hears_which_state_its_referral_reached_and_where_to_see_it() -> None:
    link = "https://tequio.coop/v1/referrals/00000000-0000-0000-0000-000000000009"
    said = {
        (language, state): render(
            "referral.changed",
            language,
            {**_sample(TEMPLATES["referral.changed"]), "state": state},
            base_url="https://tequio.coop",
        ).body
        for language in ("es", "en")
        for state in REFERRAL_STATES
    }
    assert said["es", "accepted"] == (
        f"Una referencia de su clínica fue aceptada por un especialista. Véala aquí: {link}"
    )
    assert said["en", "completed"] == (
        f"A referral from your clinic was completed: the counter-referral is ready. "
        f"See it here: {link}"
    )
    assert len(set(said.values())) == len(said)  # each state, each language, its own words


def test_a_reminder_says_the_day_and_time_in_her_zone_and_the_doctors() -> None:
    shown = render(
        "consult.reminder",
        "es",
        {**_sample(TEMPLATES["consult.reminder"])},
        base_url="https://tequio.coop",
    )
    assert shown.body == (
        "Tiene una consulta de Tequio el jueves 3 de diciembre a las 10:00 (hora de Ciudad de "
        "México). Para su médico es el jueves 3 de diciembre a las 8:00 (hora de Tijuana). "
        "Entre aquí: https://tequio.coop/consult/00000000-0000-0000-0000-000000000007"
    )
    english = render(
        "consult.reminder",
        "en",
        {**_sample(TEMPLATES["consult.reminder"]), "doctor_zone": "America/Mexico_City"},
        base_url="https://tequio.coop",
    )
    assert english.body.startswith(
        "You have a Tequio consult on Thursday, December 3 at 10:00\u202fAM (Mexico City time). "
        "Join it here: "
    ) or english.body.startswith(
        "You have a Tequio consult on Thursday, December 3 at 10:00 AM (Mexico City time). "
        "Join it here: "
    )


def test_secret_parameters_are_masked_in_what_is_logged() -> None:
    assert (
        MASK
        not in render(
            "consult.reminder",
            "es",
            _sample(TEMPLATES["consult.reminder"]),
            base_url="x",
            for_log=True,
        ).body
    )  # a reminder has no secret: the log shows it whole


@given(st.integers(min_value=1, max_value=40))
def test_each_wait_is_at_least_the_one_before_and_never_past_the_cap(attempts: int) -> None:
    policy = RetryPolicy(max_attempts=100, base=timedelta(seconds=30), cap=timedelta(hours=1))
    assert policy.delay(attempts) >= policy.delay(max(attempts - 1, 1))
    assert timedelta(seconds=30) <= policy.delay(attempts) <= timedelta(hours=1)


def test_the_last_attempt_or_a_permanent_refusal_gives_up() -> None:
    policy = RetryPolicy(max_attempts=3, base=timedelta(minutes=1), cap=timedelta(hours=1))
    now = START
    assert policy.after_failure(1, now, permanent=False) == (
        State.FAILED,
        now + timedelta(minutes=1),
    )
    assert policy.after_failure(2, now, permanent=False) == (
        State.FAILED,
        now + timedelta(minutes=2),
    )
    assert policy.after_failure(3, now, permanent=False) == (State.DEAD, None)
    assert policy.after_failure(1, now, permanent=True) == (State.DEAD, None)
