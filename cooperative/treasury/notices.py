"""What members hear of their dues, written to the outbox in the transaction of the change, due
at once:

- **An invoice is due** (`dues.invoice_due`): when a dues run issues a household's invoice
  (the run is made ahead of the period, and the invoice says its due date), unless the
  household's credit already paid all of it. To the household's holder and its sponsor.
- **A payment was confirmed** (`dues.payment_confirmed`): when a treasurer confirms a reported
  payment or records one received. For a household's dues, to its holder and its sponsor; for
  a share instalment, to the member.

Amounts travel as minor units and currency codes and are formatted when the message is
rendered, in the recipient's locale (es_MX, en_US; Babel's `format_currency`). The household's
currency always; for a sponsor who pays in another currency (that of the household covering
them, else of their latest payment to this one), also in theirs: for an invoice at the
treasurer's rate in force today ("about"), for a payment what they paid and what it settled.
Nothing else: no fee class, no income, no name."""

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from cooperative.dues import service as dues_service
from cooperative.dues.service import Payment
from cooperative.kernel import clock
from cooperative.kernel.money import convert
from cooperative.membership import households
from cooperative.membership.billing import IssuedDues
from cooperative.membership.service import members_by_id
from cooperative.notifications import service as outbox
from cooperative.notifications.templates import INVOICE_DUE, PAYMENT_CONFIRMED
from cooperative.treasury import service as treasury


@dataclass(frozen=True, slots=True)
class _Recipient:
    account: uuid.UUID
    currency: str | None  # their own, when it is not the household's


async def _recipients(session: AsyncSession, household_id: uuid.UUID) -> list[_Recipient]:
    billed = await households.billed_to(session, household_id)
    if billed is None:
        return []
    found: list[_Recipient] = []
    if billed.holder is not None:
        found.append(_Recipient(billed.holder, None))
    if billed.sponsor is not None and billed.sponsor != billed.holder:
        own = billed.sponsor_currency or await dues_service.currency_paid_by(
            session, billed.sponsor, household_id
        )
        found.append(_Recipient(billed.sponsor, own if own != billed.currency else None))
    return found


async def _converted(
    session: AsyncSession, amount_minor: int, source: str, target: str, on: date
) -> int | None:
    """`amount_minor` of `source` in `target` at the rate in force `on` (either direction's
    row); None without one."""
    rate = await treasury.in_force(session, source, target, on)
    if rate is not None:
        return convert(amount_minor, source, target, Decimal(rate.rate))
    reverse = await treasury.in_force(session, target, source, on)
    if reverse is not None and Decimal(reverse.rate) > 0:
        return convert(amount_minor, source, target, 1 / Decimal(reverse.rate))
    return None


async def invoices_due(session: AsyncSession, period: str, issued: list[IssuedDues]) -> None:
    """Tell each household a dues run invoiced what it owes (what credit left unpaid)."""
    today = clock.today()
    for invoice in issued:
        owed = invoice.amount_minor - invoice.paid_minor
        if owed <= 0:
            continue
        for recipient in await _recipients(session, invoice.household_id):
            parameters: dict[str, object] = {
                "household_id": str(invoice.household_id),
                "period": period,
                "amount_minor": owed,
                "currency": invoice.currency,
                "due_on": invoice.due_on.isoformat(),
            }
            if recipient.currency is not None:
                other = await _converted(session, owed, invoice.currency, recipient.currency, today)
                if other is not None:
                    parameters |= {"other_minor": other, "other": recipient.currency}
            await outbox.enqueue(
                session,
                recipient=recipient.account,
                template=INVOICE_DUE.key,
                parameters=parameters,
                idempotency_key=f"{INVOICE_DUE.key}:{invoice.household_id}:{period}:"
                f"{recipient.account}",
                not_before=clock.now(),
                about=f"household:{invoice.household_id}",
                fresh=True,  # the invoice is issued in this transaction
            )


async def payment_confirmed(session: AsyncSession, payment: Payment) -> None:
    """Tell those who pay for the payment's target that the treasurer confirmed it."""
    if payment.household_id is not None:
        accounts = [r.account for r in await _recipients(session, payment.household_id)]
    elif payment.member_id is not None:
        member = (await members_by_id(session, [payment.member_id])).get(payment.member_id)
        accounts = [member.account_id] if member is not None else []
    else:
        accounts = []
    for account in accounts:
        await outbox.enqueue(
            session,
            recipient=account,
            template=PAYMENT_CONFIRMED.key,
            parameters={
                "payment_id": str(payment.id),
                "amount_minor": payment.amount_minor,
                "currency": payment.currency,
                "settled_minor": payment.settled_minor,
                "settled_currency": payment.settled_currency,
            },
            idempotency_key=f"{PAYMENT_CONFIRMED.key}:{payment.id}:{account}",
            not_before=clock.now(),
            about=f"payment:{payment.id}",
        )
