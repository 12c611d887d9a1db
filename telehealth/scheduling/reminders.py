"""A consult's reminders to its patient, kept in step with the appointment: written to the
outbox when it is booked (at each of the reminder times before the start that is still ahead),
moved when it is rescheduled, cancelled when it is cancelled or ends otherwise. All in the
transaction of the change itself.

What a reminder says is `consult.reminder` (`cooperative.notifications.templates`): the time in
the patient's zone and, when it differs, the doctor's, and the link to the consult page; no
specialty, reason or anything else about the patient's health. The reminder times are the
setting `TEQUIO_CONSULT_REMINDER_HOURS` (24 and 1 hours by default): the bylaws say nothing of
reminders yet.

The household's sponsor gets the same reminders (`consult.reminder.sponsor`: when, in the
sponsor's zone and language, never who or why) only while the patient agrees in their
notification preferences (for a dependent, the household member who booked for them); each
has its own key, naming the patient, and is moved and cancelled with the consult like the
patient's (its `about` is the same appointment). Withdrawing the consent cancels those not yet
sent (`cooperative.notifications.preferences`)."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from cooperative.accounts import service as accounts_service
from cooperative.kernel import clock, moments
from cooperative.membership import service as membership_service
from cooperative.notifications import preferences
from cooperative.notifications import service as outbox
from cooperative.notifications.service import OutboxMessage
from cooperative.notifications.templates import CONSULT_REMINDER, CONSULT_REMINDER_SPONSOR
from telehealth.scheduling.models import Appointment

TEMPLATE = CONSULT_REMINDER.key
SPONSOR_TEMPLATE = CONSULT_REMINDER_SPONSOR.key


def _about(appointment: Appointment) -> str:
    return f"appointment:{appointment.id}"


def _hours(offset: timedelta) -> float:
    return offset.total_seconds() / 3600


def _rest(appointment: Appointment, offset: timedelta) -> str:
    start = moments.stored(appointment.start)
    return f"{appointment.id}:{start}:{_hours(offset):g}h"


async def _zone(session: AsyncSession, account_id: uuid.UUID) -> str:
    account = await accounts_service.get(session, account_id)
    return (account.timezone if account else None) or clock.zone().key


@dataclass(frozen=True, slots=True)
class _Recipient:
    """Who gets an appointment's reminders: its patient, or the household's sponsor."""

    account_id: uuid.UUID
    template: str
    sponsor: bool

    def key(self, appointment: Appointment, offset: timedelta) -> str:
        if self.sponsor:
            return preferences.sponsor_key(
                appointment.patient_account_id, f"{self.account_id}:{_rest(appointment, offset)}"
            )
        return f"{TEMPLATE}:{_rest(appointment, offset)}"

    async def parameters(
        self,
        session: AsyncSession,
        appointment: Appointment,
        doctor_zone: str,
        offset: timedelta,
    ) -> dict[str, object]:
        start = moments.stored(appointment.start)
        patient_zone = await _zone(session, appointment.patient_account_id)
        if self.sponsor:
            return {
                "start": start,
                "zone": await _zone(session, self.account_id),
                "patient_zone": patient_zone,
                "hours_before": _hours(offset),
            }
        return {
            "appointment_id": str(appointment.id),
            "start": start,
            "zone": patient_zone,
            "doctor_zone": doctor_zone,
            "hours_before": _hours(offset),
        }


async def _sponsor(session: AsyncSession, appointment: Appointment) -> uuid.UUID | None:
    """The account of the sponsor of the patient's household, if the patient agreed that it
    receive their reminders (their preferences are read once: `enqueue` reads them again)."""
    patient = appointment.patient_account_id
    prefs = await preferences.of(session, patient)
    if prefs is None or not prefs.sponsor_reminders:
        return None
    found = await membership_service.member_with_household(session, patient)
    household = found[1] if found is not None else None
    if household is None or household.sponsor_member_id is None:
        return None
    sponsor = (await membership_service.members_by_id(session, [household.sponsor_member_id])).get(
        household.sponsor_member_id
    )
    return sponsor.account_id if sponsor is not None and sponsor.account_id != patient else None


def _wanted(start: datetime, offsets: Sequence[timedelta], now: datetime) -> list[timedelta]:
    return [offset for offset in offsets if start - offset > now]


async def _keep_in_step(
    session: AsyncSession,
    appointment: Appointment,
    waiting: Sequence[OutboxMessage],
    recipients: Sequence[_Recipient],
    wanted: Sequence[timedelta],
    doctor_zone: str,
) -> None:
    """Move each waiting reminder to its new moment, or cancel it: no longer wanted, its
    recipient no longer one (a sponsor without consent), or its new key already taken."""
    for message in waiting:
        offset = timedelta(hours=float(message.parameters.get("hours_before", 0)))
        recipient = next(
            (
                r
                for r in recipients
                if (r.account_id, r.template) == (message.recipient_account_id, message.template)
            ),
            None,
        )
        key = recipient.key(appointment, offset) if recipient else ""
        if (
            recipient is None
            or offset not in wanted
            or await outbox.by_key(session, key) not in (None, message)
        ):
            outbox.cancel(message, reason="the consult was moved")
            continue
        outbox.move(
            message,
            not_before=await outbox.due_for(
                session,
                recipient.account_id,
                appointment.start - offset,
                expires_at=appointment.start,
            ),
            expires_at=appointment.start,
            parameters=await recipient.parameters(session, appointment, doctor_zone, offset),
            idempotency_key=key,
        )


async def _recipients(session: AsyncSession, appointment: Appointment) -> list[_Recipient]:
    recipients = [_Recipient(appointment.patient_account_id, TEMPLATE, sponsor=False)]
    if (sponsor := await _sponsor(session, appointment)) is not None:
        recipients.append(_Recipient(sponsor, SPONSOR_TEMPLATE, sponsor=True))
    return recipients


async def first(
    session: AsyncSession,
    appointment: Appointment,
    *,
    doctor_zone: str,
    offsets: Sequence[timedelta],
) -> list[outbox.NewMessage]:
    """The reminders of an appointment booked in this transaction (it has none yet), the
    sponsor's too while the patient agrees: for the caller to queue with its other messages
    in one statement (`outbox.enqueue_new`)."""
    wanted = _wanted(appointment.start, offsets, clock.now())
    return [
        outbox.NewMessage(
            recipient=recipient.account_id,
            template=recipient.template,
            parameters=await recipient.parameters(session, appointment, doctor_zone, offset),
            idempotency_key=recipient.key(appointment, offset),
            not_before=appointment.start - offset,
            expires_at=appointment.start,
            about=_about(appointment),
        )
        for recipient in await _recipients(session, appointment)
        for offset in wanted
    ]


async def plan(
    session: AsyncSession,
    appointment: Appointment,
    *,
    doctor_zone: str,
    offsets: Sequence[timedelta],
) -> None:
    """Bring the appointment's waiting reminders in line with its start: those still wanted
    move to their new moment, the others are cancelled, the missing ones are queued. The same
    for the sponsor's, while the patient agrees; a sponsor's reminder whose sponsor is no
    longer the household's, or whose consent is gone, is cancelled. (A new appointment's
    reminders: `first`.)"""
    wanted = _wanted(appointment.start, offsets, clock.now())
    recipients = await _recipients(session, appointment)
    waiting = await outbox.waiting_about(session, _about(appointment), TEMPLATE, SPONSOR_TEMPLATE)
    await _keep_in_step(session, appointment, waiting, recipients, wanted, doctor_zone)
    if waiting:
        await session.flush()  # the moved keys, before the missing reminders are looked for
    for recipient in recipients:
        for offset in wanted:
            await outbox.enqueue(
                session,
                recipient=recipient.account_id,
                template=recipient.template,
                parameters=await recipient.parameters(session, appointment, doctor_zone, offset),
                idempotency_key=recipient.key(appointment, offset),
                not_before=appointment.start - offset,
                expires_at=appointment.start,
                about=_about(appointment),
            )


async def cancel(session: AsyncSession, appointment: Appointment, *, reason: str) -> None:
    """The consult will not take place as booked: its waiting reminders (the sponsor's too)
    are cancelled."""
    await outbox.cancel_about(session, _about(appointment), reason=reason)
