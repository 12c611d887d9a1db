"""What a clinic hears of its referrals: each step a specialist (or a colleague) takes on one —
accepted, declined, answered, scheduled, completed — told to every active staff member of the
referring clinic but the one who took it, written to the outbox in the transaction of the
change, due at once. Not `sent` nor `withdrawn`: the clinic itself takes those.

What the message says (`referral.changed` in `cooperative.notifications.templates`): "a referral
from your clinic" reached this state, and the link to it; never the patient's name, the
specialty or the reason, which the link shows to whoever may see them. One message per
(referral event, staff member)."""

from sqlalchemy.ext.asyncio import AsyncSession

from cooperative.accounts import service as accounts_service
from cooperative.kernel import clock
from cooperative.notifications import service as outbox
from cooperative.notifications.templates import REFERRAL_CHANGED, REFERRAL_STATES
from telehealth.clinics import service as clinics
from telehealth.referrals.models import Referral, ReferralEvent


async def moved(session: AsyncSession, referral: Referral, event: ReferralEvent) -> None:
    """Tell the clinic's staff, but the one who moved it, of the state `event` recorded."""
    if event.state not in REFERRAL_STATES:
        return
    staff = [
        account
        for account in await clinics.staff_accounts(session, referral.clinic_id)
        if account != event.actor_account_id
    ]
    await accounts_service.by_ids(session, staff)  # one query: `enqueue` finds them loaded
    for account in staff:
        await outbox.enqueue(
            session,
            recipient=account,
            template=REFERRAL_CHANGED.key,
            parameters={"referral_id": str(referral.id), "state": event.state},
            idempotency_key=f"{REFERRAL_CHANGED.key}:{event.id}:{account}",
            not_before=clock.now(),
            about=f"referral:{referral.id}",
            fresh=True,  # the event is new in this transaction: no message can have its key yet
        )
