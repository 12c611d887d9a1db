"""Payments as the books see them: members report, a treasurer confirms or rejects.

Money enters the books only through someone accountable. A member (or a household's sponsor)
*reports* a payment; it settles nothing, gives no credit, standing or patronage until a
treasurer confirms it, converting it at the treasurer's rate in force on the day the money was
received. A treasurer may also record money received at the desk, confirmed at once. A treasurer
never confirms what they reported themselves or what is paid for their own household or share.
The dues domain knows payments by id and membership knows whose households they are; this
module knows who may do what to which, and records a confirmed payment's patronage.
"""

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from cooperative.audit import service as audit
from cooperative.dues import rules as dues_rules
from cooperative.dues import service as dues_service
from cooperative.dues.errors import (
    NotYourReport,
    OwnPayment,
    PaymentAlreadyConfirmed,
    ReceiptNotAllowed,
    ReceivedInTheFuture,
    ReceivedTooLongAgo,
    TreasurerOnly,
)
from cooperative.dues.receipts import CleanImage
from cooperative.dues.schemas import DuesRunPublic
from cooperative.dues.service import Payment
from cooperative.kernel import clock
from cooperative.kernel.errors import NotFound
from cooperative.kernel.money import convert
from cooperative.kernel.principal import Principal
from cooperative.membership import billing
from cooperative.surplus import patronage
from cooperative.treasury import notices
from cooperative.treasury import service as treasury
from cooperative.treasury.errors import NoExchangeRate

# How long before a payment was recorded the money may have arrived: the day it arrived picks
# its exchange rate and its fiscal year, so a treasurer may not move it back at will.
RECEIVED_WITHIN_DAYS = 62


@dataclass(frozen=True, slots=True)
class PaymentInput:
    household_id: uuid.UUID | None
    member_id: uuid.UUID | None
    amount_minor: int
    currency: str
    method: str | None
    reference: str | None
    note: str | None = None
    received_on: date | None = None


async def report(
    session: AsyncSession,
    principal: Principal,
    data: PaymentInput,
    idempotency_key: str | None,
    *,
    timezone: str,
) -> tuple[Payment, bool]:
    """A member reports a payment for a household they manage or their own share (pending);
    a treasurer with `received_on` records money received, confirmed at once."""
    if data.received_on is not None:
        return await _record_received(session, principal, data, idempotency_key, timezone)
    target, currency = await billing.target_of(
        session, principal, data.household_id, data.member_id
    )
    return await dues_service.record_payment(
        session, principal.account_id, _request(data, target, currency), idempotency_key
    )


def _request(
    data: PaymentInput, target: dues_service.Target, currency: str
) -> dues_service.PaymentRequest:
    return dues_service.PaymentRequest(
        target=target,
        target_currency=currency,
        amount_minor=data.amount_minor,
        currency=data.currency,
        method=data.method,
        reference=data.reference,
        note=data.note,
        received_on=data.received_on,
    )


async def _record_received(
    session: AsyncSession,
    principal: Principal,
    data: PaymentInput,
    idempotency_key: str | None,
    timezone: str,
) -> tuple[Payment, bool]:
    if not principal.keeps_the_books:
        raise TreasurerOnly()
    target, currency = await billing.books_target(session, data.household_id, data.member_id)
    if not principal.is_admin and await billing.is_own(session, principal, target):
        raise OwnPayment()
    await billing.lock_target(session, target)
    payment, replayed = await dues_service.record_payment(
        session, principal.account_id, _request(data, target, currency), idempotency_key
    )
    if not replayed:
        assert data.received_on is not None
        await _confirm(session, principal, payment, data.received_on, timezone)
    return payment, replayed


async def _locked(session: AsyncSession, payment_id: uuid.UUID) -> Payment:
    """The payment with its target's lock and its own, in that order."""
    payment = await dues_service.get_payment(session, payment_id)
    if payment is None:
        raise NotFound()
    await billing.lock_target(
        session,
        dues_service.Target(household_id=payment.household_id, member_id=payment.member_id),
    )
    locked = await dues_service.lock_payment(session, payment_id)
    assert locked is not None
    return locked


async def confirm(
    session: AsyncSession,
    principal: Principal,
    payment_id: uuid.UUID,
    received_on: date | None,
    *,
    timezone: str,
) -> tuple[Payment, bool]:
    """A treasurer confirms a reported payment; returns it and whether it was confirmed already
    (a retry, or a second treasurer racing the first, answers the first confirmation)."""
    payment = await _locked(session, payment_id)
    if dues_rules.transition(payment.status, "confirm") is None:
        if received_on is not None and received_on != payment.received_on:
            raise PaymentAlreadyConfirmed(received_on=str(payment.received_on))
        return payment, True
    if not principal.is_admin and (
        payment.payer_account_id == principal.account_id
        or await billing.is_own(
            session,
            principal,
            dues_service.Target(household_id=payment.household_id, member_id=payment.member_id),
        )
    ):
        raise OwnPayment()
    day = received_on or payment.received_on or clock.today()
    await _confirm(session, principal, payment, day, timezone)
    return payment, False


async def _confirm(
    session: AsyncSession, principal: Principal, payment: Payment, received_on: date, timezone: str
) -> None:
    """Convert, settle, record the dues paid as the patron's patronage, and tell those who pay
    for the household (or the member, for a share) that it is confirmed."""
    today = clock.today()
    if received_on > today:
        raise ReceivedInTheFuture(on=received_on, today=today)
    recorded = clock.day_of(payment.recorded_at)
    if received_on < recorded - timedelta(days=RECEIVED_WITHIN_DAYS):
        raise ReceivedTooLongAgo(on=received_on, recorded=recorded, days=RECEIVED_WITHIN_DAYS)
    conversion = await _conversion(session, payment, received_on)
    await dues_service.settle(
        session, payment, conversion, received_on=received_on, confirmed_by=principal.account_id
    )
    paid_dues = conversion.settled_minor - payment.credit_minor  # a credit is not yet dues
    # received_on is a day in the cooperative's zone: its fiscal year
    await _dues_patronage(
        session, payment, paid_dues, year=received_on.year, source=f"payment:{payment.id}"
    )
    await notices.payment_confirmed(session, payment)


async def _dues_patronage(
    session: AsyncSession, payment: Payment, paid_dues: int, *, year: int, source: str
) -> None:
    """`paid_dues` of `payment` settled a household's dues: its patron's patronage for `year`
    (this year when `year` is allocated already). A share is capital, not patronage."""
    if payment.household_id is None or paid_dues <= 0:
        return
    patron = await billing.patron(
        session,
        payment.payer_account_id,
        payment.household_id,
        statuses=patronage.PATRONS,
        classes=patronage.MONEY_CLASSES,
    )
    if patron is None:
        return
    if await patronage.year_is_posted(session, year):
        year = max(year, clock.today().year)
    await patronage.record(
        session,
        member_id=patron,
        year=year,
        kind="dues",
        amount=paid_dues,
        unit=payment.settled_currency,
        source=source,
    )


async def dues_run(session: AsyncSession, period: str, *, today: date) -> DuesRunPublic:
    """Invoice a period's dues (see `billing.generate_dues`); the credit of earlier payments
    that pays the new invoices is dues paid now, and its payers' patronage now. Each household
    billed hears what it owes (`notices.invoices_due`)."""
    run = await billing.generate_dues(session, period, today=today)
    await notices.invoices_due(session, run.period, run.issued)
    for payment, amount in run.paid_from_credit:
        await _dues_patronage(
            session, payment, amount, year=today.year, source=f"payment:{payment.id}:{period}"
        )
    return DuesRunPublic(
        period=run.period,
        created=run.created,
        already_issued=run.already_issued,
        bylaws_version=run.bylaws_version,
        skipped=run.skipped,
    )


async def _conversion(
    session: AsyncSession, payment: Payment, received_on: date
) -> dues_service.Conversion:
    if payment.currency == payment.settled_currency:
        return dues_service.Conversion(settled_minor=payment.amount_minor)
    rate = await treasury.in_force(session, payment.currency, payment.settled_currency, received_on)
    if rate is None:
        raise NoExchangeRate(
            source=payment.currency, target=payment.settled_currency, on=received_on
        )
    settled = convert(
        payment.amount_minor, payment.currency, payment.settled_currency, Decimal(rate.rate)
    )
    return dues_service.Conversion(settled_minor=settled, rate=rate.rate, rate_id=rate.id)


async def reject(
    session: AsyncSession, principal: Principal, payment_id: uuid.UUID, reason: str
) -> tuple[Payment, bool]:
    """A treasurer found no such money: nothing is settled, and the payer sees why. Rejecting
    again answers the first rejection."""
    payment = await _locked(session, payment_id)
    if dues_rules.transition(payment.status, "reject") is None:
        return payment, True
    await dues_service.reject(session, payment, by=principal.account_id, reason=reason)
    return payment, False


async def withdraw(
    session: AsyncSession, principal: Principal, payment_id: uuid.UUID
) -> tuple[Payment, bool]:
    """Who reported a payment takes it back while it is pending."""
    await visible(session, principal, payment_id)
    payment = await _locked(session, payment_id)
    if payment.payer_account_id != principal.account_id:
        raise NotYourReport()
    if dues_rules.transition(payment.status, "withdraw") is None:
        return payment, True
    await dues_service.withdraw(session, payment)
    return payment, False


async def attach_receipt(
    session: AsyncSession, principal: Principal, payment_id: uuid.UUID, image: CleanImage
) -> tuple[Payment, str | None]:
    """Who reported a payment adds (or replaces) its receipt photo while it is pending; returns
    it and the file of the photo it replaces, if any."""
    await visible(session, principal, payment_id)
    payment = await _locked(session, payment_id)
    if payment.payer_account_id != principal.account_id:
        raise NotYourReport()
    if payment.status != dues_rules.PaymentStatus.REPORTED:
        raise ReceiptNotAllowed(status=payment.status)
    previous = dues_service.receipt_file_name(payment)
    await dues_service.attach_receipt(session, payment, image)
    return payment, previous if previous != dues_service.receipt_file_name(payment) else None


async def receipt(session: AsyncSession, principal: Principal, payment_id: uuid.UUID) -> Payment:
    """The payment whose receipt photo the caller may see: its reporter, the household's
    managers, treasurers and admins. Every read by someone else is in the reporter's access
    log."""
    payment = await visible(session, principal, payment_id)
    if dues_service.receipt_file_name(payment) is None:
        raise NotFound()
    await audit.record_access(
        session, [payment.payer_account_id], principal, resource=f"payment-receipt:{payment.id}"
    )
    return payment


async def visible(session: AsyncSession, principal: Principal, payment_id: uuid.UUID) -> Payment:
    """The payment, for who reported it, its household's managers, the member whose share it
    pays, and treasurers and admins (whose reads are in the payer's access log); 404 for anyone
    else."""
    payment = await dues_service.get_payment(session, payment_id)
    if payment is None:
        raise NotFound()
    if payment.payer_account_id == principal.account_id:
        return payment
    if principal.keeps_the_books:
        await audit.record_access(
            session, [payment.payer_account_id], principal, resource=f"payment:{payment.id}"
        )
        return payment
    household_ids, member_ids = await billing.visible_scope(session, principal)
    if household_ids is None:
        return payment
    if payment.household_id in household_ids or payment.member_id in (member_ids or set()):
        return payment
    raise NotFound()


async def record_listed(
    session: AsyncSession, principal: Principal, payers: list[uuid.UUID]
) -> None:
    """A treasurer's or admin's list of payments is a read of each payer's (the reference and
    the note may say where their money came from): it goes in their access logs."""
    if principal.keeps_the_books:
        await audit.record_access(session, set(payers), principal, resource="payments")


async def listing_scope(
    session: AsyncSession, principal: Principal
) -> tuple[set[uuid.UUID] | None, set[uuid.UUID] | None]:
    """The households and members whose payments the caller may list (None, None: all)."""
    if principal.keeps_the_books:
        return None, None
    return await billing.visible_scope(session, principal)
