"""What a doctor hears from a consult's room: their patient is in the waiting room
(`consult.patient_waiting`), written to the outbox in the transaction of the patient's joining,
due at once, once per appointment (its idempotency key), and not when the doctor is in the room
already. The message says no more than that and the link to the consult page: not the
patient's name, not the reason."""

from sqlalchemy.ext.asyncio import AsyncSession

from cooperative.kernel import clock
from cooperative.notifications import service as outbox
from cooperative.notifications.templates import PATIENT_WAITING
from telehealth.consults.models import ConsultParticipant
from telehealth.practitioners import service as practitioners
from telehealth.scheduling.service import Appointment


async def patient_waiting(session: AsyncSession, appointment: Appointment) -> None:
    doctor = await practitioners.account_of(session, appointment.practitioner_id)
    if doctor is None:
        return
    in_room = await session.get(ConsultParticipant, (appointment.id, doctor))
    if in_room is not None and in_room.present:
        return
    await outbox.enqueue(
        session,
        recipient=doctor,
        template=PATIENT_WAITING.key,
        parameters={"appointment_id": str(appointment.id)},
        idempotency_key=f"{PATIENT_WAITING.key}:{appointment.id}",
        not_before=clock.now(),
        expires_at=appointment.end,
        about=f"appointment:{appointment.id}:doctor",
    )
