"""What a doctor hears of their day: a consult booked or cancelled by someone else (a patient,
a clinic, an admin), written to the outbox in the transaction of the change, due at once.

What the message says (`consult.booked`, `consult.cancelled` in
`cooperative.notifications.templates`): the day and time in the doctor's zone and, for a
booking, the link to the consult page; never the patient's name nor the reason, which the
doctor reads in Tequio itself. One message per (appointment event, doctor): a retried request
that replays the event writes none."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from cooperative.kernel import clock, moments
from cooperative.notifications import service as outbox
from cooperative.notifications.templates import CONSULT_BOOKED, CONSULT_CANCELLED
from telehealth.practitioners.service import Practitioner
from telehealth.scheduling.models import Appointment, AppointmentEvent


async def _tell_doctor(
    session: AsyncSession,
    practitioner: Practitioner,
    event: AppointmentEvent,
    template: str,
    parameters: dict[str, object],
) -> None:
    if event.actor_account_id == practitioner.account_id:  # the doctor did it: they know
        return
    await outbox.enqueue(
        session,
        recipient=practitioner.account_id,
        template=template,
        parameters=parameters,
        idempotency_key=f"{template}:{event.id}:{practitioner.account_id}",
        not_before=clock.now(),
        about=f"appointment:{event.appointment_id}:doctor",
        fresh=True,  # the event is new in this transaction: no message can have its key yet
    )


def booked(
    appointment: Appointment, practitioner: Practitioner, *, event_id: uuid.UUID
) -> outbox.NewMessage | None:
    """A consult was booked on the doctor's day (by `appointment.booked_by`, in the event
    `event_id`): the message to queue with the booking's others (`outbox.enqueue_new`), none
    when the doctor booked it."""
    if appointment.booked_by == practitioner.account_id:  # the doctor did it: they know
        return None
    template = CONSULT_BOOKED.key
    return outbox.NewMessage(
        recipient=practitioner.account_id,
        template=template,
        parameters={
            "appointment_id": str(appointment.id),
            "start": moments.stored(appointment.start),
            "zone": practitioner.timezone,
        },
        idempotency_key=f"{template}:{event_id}:{practitioner.account_id}",
        not_before=clock.now(),
        about=f"appointment:{appointment.id}:doctor",
    )


async def cancelled(
    session: AsyncSession,
    appointment: Appointment,
    practitioner: Practitioner,
    event: AppointmentEvent,
) -> None:
    """A consult of the doctor's day was cancelled."""
    await _tell_doctor(
        session,
        practitioner,
        event,
        CONSULT_CANCELLED.key,
        {"start": moments.stored(appointment.start), "zone": practitioner.timezone},
    )
