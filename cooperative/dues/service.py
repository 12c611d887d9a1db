"""Invoices, payments and balances. Knows households and members only by id."""

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, bindparam, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.dues import receipts, rules, views
from cooperative.dues.models import Invoice, PaymentAllocation, ShareSubscription
from cooperative.dues.models import Payment as Payment  # the result type other domains name
from cooperative.dues.rules import PaymentStatus
from cooperative.dues.schemas import InvoicePublic, PaymentPublic
from cooperative.kernel import clock, idempotency, tables
from cooperative.kernel.pagination import Page, page, paginate


@dataclass(frozen=True, slots=True)
class Target:
    """What a payment or a balance is about: a household's dues or a member's share."""

    household_id: uuid.UUID | None = None
    member_id: uuid.UUID | None = None

    def where(self, household_column: Any, member_column: Any) -> Any:
        if self.household_id is not None:
            return household_column == self.household_id
        return member_column == self.member_id


async def subscribe_share(
    session: AsyncSession,
    *,
    member_id: uuid.UUID,
    amount_minor: int,
    currency: str,
    instalments: int,
    bylaws_version: int,
) -> ShareSubscription:
    subscription = ShareSubscription(
        member_id=member_id,
        amount_minor=amount_minor,
        currency=currency,
        instalments=instalments,
        bylaws_version=bylaws_version,
    )
    session.add(subscription)
    await session.flush()
    return subscription


def instalment_amounts(total_minor: int, instalments: int) -> list[int]:
    """Equal instalments summing exactly to the total; the first ones carry the remainder."""
    base, extra = divmod(total_minor, instalments)
    return [base + (1 if i < extra else 0) for i in range(instalments)]


async def issue_share_instalments(
    session: AsyncSession,
    subscription: ShareSubscription,
    *,
    first_due: date,
    period_months: int,
) -> list[Invoice]:
    """One invoice per instalment, a dues period apart, from `first_due`."""
    invoices = []
    amounts = instalment_amounts(subscription.amount_minor, subscription.instalments)
    for index, amount in enumerate(amounts):
        number = f"{index + 1}/{subscription.instalments}"
        invoice = Invoice(
            kind="share",
            dedupe_key=f"share:{subscription.member_id}:{number}",
            member_id=subscription.member_id,
            period=number,
            amount_minor=amount,
            currency=subscription.currency,
            bylaws_version=subscription.bylaws_version,
            due_on=rules.add_months(first_due, index * period_months),
        )
        session.add(invoice)
        invoices.append(invoice)
    await session.flush()
    await _apply_credit(session, Target(member_id=subscription.member_id))
    return invoices


async def issue_dues(
    session: AsyncSession,
    *,
    household_id: uuid.UUID,
    period: str,
    amount_minor: int,
    currency: str,
    fee_class: str,
    bylaws_version: int,
    due_on: date,
) -> list[tuple[Payment, int]] | None:
    """The household's dues invoice for `period`, settled first from its credit: the payments
    whose credit paid it, with how much (dues paid now, so patronage now). None, and nothing
    new, if it already exists."""
    key = f"dues:{household_id}:{period}"
    if (
        await session.execute(select(col(Invoice.id)).where(col(Invoice.dedupe_key) == key))
    ).first():
        return None
    try:
        async with session.begin_nested():
            session.add(
                Invoice(
                    kind="dues",
                    dedupe_key=key,
                    household_id=household_id,
                    period=period,
                    amount_minor=amount_minor,
                    currency=currency,
                    fee_class=fee_class,
                    bylaws_version=bylaws_version,
                    due_on=due_on,
                )
            )
    except IntegrityError:  # a concurrent run issued it first
        return None
    return await _apply_credit(session, Target(household_id=household_id))


async def _open_invoices(session: AsyncSession, target: Target) -> list[Invoice]:
    statement = (
        select(Invoice)
        .where(
            target.where(col(Invoice.household_id), col(Invoice.member_id)),
            col(Invoice.paid_minor) < col(Invoice.amount_minor),
        )
        .with_for_update()
    )
    return list((await session.execute(statement)).scalars())


async def _allocate(
    session: AsyncSession, payment: Payment, amount_minor: int, invoices: list[Invoice]
) -> int:
    """Spread `amount_minor` of `payment` over the invoices, oldest first; returns what is left."""
    by_id = {str(invoice.id): invoice for invoice in invoices}
    items = [rules.OpenItem(str(i.id), i.due_on, i.amount_minor - i.paid_minor) for i in invoices]
    parts, left = rules.settle(amount_minor, items)
    for invoice_id, amount in parts:
        by_id[invoice_id].paid_minor += amount
        session.add(
            PaymentAllocation(
                payment_id=payment.id, invoice_id=uuid.UUID(invoice_id), amount_minor=amount
            )
        )
    return left


async def _apply_credit(session: AsyncSession, target: Target) -> list[tuple[Payment, int]]:
    """Earlier confirmed over-payments settle newly issued invoices; each payment whose credit
    was used, with how much of it."""
    credits = list(
        (
            await session.execute(
                select(Payment)
                .where(target.where(col(Payment.household_id), col(Payment.member_id)))
                .where(
                    col(Payment.status) == PaymentStatus.CONFIRMED, col(Payment.credit_minor) > 0
                )
                .order_by(col(Payment.recorded_at), col(Payment.id))
                .with_for_update()
            )
        ).scalars()
    )
    if not credits:
        return []
    invoices = await _open_invoices(session, target)
    used: list[tuple[Payment, int]] = []
    for payment in credits:
        left = await _allocate(session, payment, payment.credit_minor, invoices)
        if left < payment.credit_minor:
            used.append((payment, payment.credit_minor - left))
        payment.credit_minor = left
    await session.flush()
    return used


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    target: Target
    target_currency: str
    amount_minor: int
    currency: str
    method: str | None
    reference: str | None
    note: str | None = None
    received_on: date | None = None  # given only by a treasurer recording money received

    def digest(self) -> str:
        return idempotency.digest(
            [
                str(self.target.household_id),
                str(self.target.member_id),
                self.amount_minor,
                self.currency,
                self.method,
                self.reference,
                self.note,
                str(self.received_on),
            ]
        )


async def record_payment(
    session: AsyncSession, payer: uuid.UUID, request: PaymentRequest, idempotency_key: str | None
) -> tuple[Payment, bool]:
    """Record a reported payment, which settles nothing until it is confirmed; returns it and
    whether it is a replay.

    With an Idempotency-Key, a retry (even one racing the first) returns the first payment and
    records nothing: the key is unique per payer in the database.
    """
    retry = idempotency.IdempotentCreate(
        Payment, col(Payment.payer_account_id), payer, idempotency_key, request.digest()
    )
    if (earlier := await retry.earlier(session)) is not None:
        return earlier, True
    payment = Payment(
        payer_account_id=payer,
        household_id=request.target.household_id,
        member_id=request.target.member_id,
        status=PaymentStatus.REPORTED,
        amount_minor=request.amount_minor,
        currency=request.currency,
        settled_currency=request.target_currency,
        method=request.method,
        reference=request.reference,
        note=request.note,
        received_on=request.received_on or clock.today(),
    )
    return await retry.insert(session, payment)


async def lock_payment(session: AsyncSession, payment_id: uuid.UUID) -> Payment | None:
    """The payment, re-read and held until the transaction ends (a decision waits for another)."""
    return await session.get(Payment, payment_id, with_for_update=True, populate_existing=True)


@dataclass(frozen=True, slots=True)
class Conversion:
    """What a payment is worth in the currency owed, and the rate row that says so (none when
    it was paid in that currency)."""

    settled_minor: int
    rate: str | None = None
    rate_id: uuid.UUID | None = None


async def settle(
    session: AsyncSession,
    payment: Payment,
    conversion: Conversion,
    *,
    received_on: date,
    confirmed_by: uuid.UUID,
) -> None:
    """Confirm a reported payment: it settles the oldest open invoices first and keeps the rest
    as a credit for later ones. The caller holds the target's lock and the payment's."""
    assert payment.status == PaymentStatus.REPORTED
    payment.status = PaymentStatus.CONFIRMED
    payment.settled_minor = conversion.settled_minor
    payment.exchange_rate = conversion.rate
    payment.exchange_rate_id = conversion.rate_id
    payment.received_on = received_on
    payment.confirmed_by = confirmed_by
    payment.confirmed_at = clock.now()
    target = Target(household_id=payment.household_id, member_id=payment.member_id)
    invoices = await _open_invoices(session, target)
    payment.credit_minor = await _allocate(session, payment, conversion.settled_minor, invoices)
    await session.flush()


async def reject(session: AsyncSession, payment: Payment, *, by: uuid.UUID, reason: str) -> None:
    payment.status = PaymentStatus.REJECTED
    payment.rejected_by = by
    payment.rejected_at = clock.now()
    payment.rejection_reason = reason
    await session.flush()


async def withdraw(session: AsyncSession, payment: Payment) -> None:
    payment.status = PaymentStatus.WITHDRAWN
    payment.withdrawn_at = clock.now()
    await session.flush()


def receipt_file_name(payment: Payment) -> str | None:
    """The receipt's file, named by its content so a replaced photo never overwrites another."""
    if payment.receipt_media_type is None or payment.receipt_sha256 is None:
        return None
    extension = receipts.EXTENSIONS[payment.receipt_media_type]
    return f"{payment.id}-{payment.receipt_sha256[:16]}.{extension}"


async def attach_receipt(
    session: AsyncSession, payment: Payment, image: receipts.CleanImage
) -> None:
    payment.receipt_media_type = image.media_type
    payment.receipt_bytes = len(image.data)
    payment.receipt_sha256 = image.sha256
    payment.receipt_uploaded_at = clock.now()
    await session.flush()


async def forget_receipts(session: AsyncSession, reporter: uuid.UUID) -> list[str]:
    """Unlink the receipt photos of the payments `reporter` reported; returns their files."""
    rows = (
        await session.execute(
            select(Payment).where(
                col(Payment.payer_account_id) == reporter,
                col(Payment.receipt_sha256).is_not(None),
            )
        )
    ).scalars()
    files = []
    for payment in rows:
        name = receipt_file_name(payment)
        if name is not None:
            files.append(name)
        payment.receipt_media_type = payment.receipt_sha256 = None
        payment.receipt_bytes = None
        payment.receipt_uploaded_at = None
    await session.flush()
    return files


_INVOICE = tables.table(Invoice).c  # columns, not objects: a booking reads these
_OUTSTANDING = select(_INVOICE.due_on, _INVOICE.amount_minor - _INVOICE.paid_minor)
_MEMBER_DEBTS = _OUTSTANDING.where(_INVOICE.member_id == bindparam("member_id"))
_MEMBER_AND_HOUSEHOLD_DEBTS = _OUTSTANDING.where(
    or_(
        _INVOICE.member_id == bindparam("member_id"),
        _INVOICE.household_id == bindparam("household_id"),
    )
)


async def debts(
    session: AsyncSession, *, member_id: uuid.UUID, household_id: uuid.UUID | None
) -> list[rules.Debt]:
    """What a member owes for good standing: their share instalments and their household's dues."""
    if household_id is None:
        rows = await session.execute(_MEMBER_DEBTS, {"member_id": member_id})
    else:
        parameters = {"member_id": member_id, "household_id": household_id}
        rows = await session.execute(_MEMBER_AND_HOUSEHOLD_DEBTS, parameters)
    return [rules.Debt(due_on=due, outstanding_minor=left) for due, left in rows]


@dataclass(frozen=True, slots=True)
class Overdue:
    """Who owes something that fell due before a day: members (share instalments) and
    households (dues)."""

    members: frozenset[uuid.UUID]
    households: frozenset[uuid.UUID]


async def overdue_before(session: AsyncSession, day: date) -> Overdue:
    """Everyone with an invoice still unpaid that fell due before `day`, in one read (a roll)."""
    rows = (
        await session.execute(
            select(col(Invoice.member_id), col(Invoice.household_id)).where(
                col(Invoice.amount_minor) > col(Invoice.paid_minor),
                col(Invoice.due_on) < day,
                or_(col(Invoice.member_id).is_not(None), col(Invoice.household_id).is_not(None)),
            )
        )
    ).all()
    return Overdue(
        members=frozenset(m for m, _ in rows if m is not None),
        households=frozenset(h for _, h in rows if h is not None),
    )


async def paid_in_share_capital(session: AsyncSession, currency: str) -> int:
    """Share capital paid in, in one currency: what caps the reserve fund."""
    return int(
        (
            await session.execute(
                select(func.coalesce(func.sum(col(Invoice.paid_minor)), 0)).where(
                    col(Invoice.kind) == "share", col(Invoice.currency) == currency
                )
            )
        ).scalar_one()
    )


@dataclass(frozen=True, slots=True)
class Balance:
    currency: str | None
    invoiced_minor: int
    paid_minor: int
    outstanding_minor: int
    overdue_minor: int
    credit_minor: int


async def balance(session: AsyncSession, target: Target, *, today: date) -> Balance:
    invoice_filter = target.where(col(Invoice.household_id), col(Invoice.member_id))
    invoiced, paid, overdue, currency = (
        await session.execute(
            select(
                func.coalesce(func.sum(Invoice.amount_minor), 0),
                func.coalesce(func.sum(Invoice.paid_minor), 0),
                func.coalesce(
                    func.sum(Invoice.amount_minor - Invoice.paid_minor).filter(
                        col(Invoice.due_on) < today
                    ),
                    0,
                ),
                func.max(Invoice.currency),
            ).where(invoice_filter)
        )
    ).one()
    credit = (
        await session.execute(
            select(func.coalesce(func.sum(Payment.credit_minor), 0)).where(
                target.where(col(Payment.household_id), col(Payment.member_id))
            )
        )
    ).scalar_one()
    # PostgreSQL sums bigints as numeric (a Decimal here): the books hold whole minor units
    invoiced, paid, overdue, credit = int(invoiced), int(paid), int(overdue), int(credit)
    return Balance(currency, invoiced, paid, invoiced - paid, overdue, credit)


def _visible(
    statement: Select[Any],
    model: Any,
    households: set[uuid.UUID] | None,
    members: set[uuid.UUID] | None,
) -> Select[Any]:
    """Restrict to the households and members a caller may see (None: everything, for admins)."""
    if households is None and members is None:
        return statement
    return statement.where(
        or_(
            col(model.household_id).in_(households or set()),
            col(model.member_id).in_(members or set()),
        )
    )


async def list_invoices(
    session: AsyncSession,
    *,
    households: set[uuid.UUID] | None,
    members: set[uuid.UUID] | None,
    household_id: uuid.UUID | None,
    kind: str | None,
    period: str | None,
    unpaid_only: bool,
    cursor: str | None,
    limit: int | None,
) -> Page[InvoicePublic]:
    statement = _visible(select(Invoice), Invoice, households, members)
    if household_id is not None:
        statement = statement.where(col(Invoice.household_id) == household_id)
    if kind is not None:
        statement = statement.where(col(Invoice.kind) == kind)
    if period is not None:
        statement = statement.where(col(Invoice.period) == period)
    if unpaid_only:
        statement = statement.where(col(Invoice.paid_minor) < col(Invoice.amount_minor))
    rows = await paginate(
        session,
        statement,
        time_column=col(Invoice.issued_at),
        id_column=col(Invoice.id),
        cursor=cursor,
        limit=limit,
    )
    return page(rows, views.invoice_public)


async def list_payments(
    session: AsyncSession,
    *,
    households: set[uuid.UUID] | None,
    members: set[uuid.UUID] | None,
    payer: uuid.UUID | None,
    household_id: uuid.UUID | None,
    status: str | None,
    cursor: str | None,
    limit: int | None,
) -> Page[PaymentPublic]:
    """Oldest first: with `status=reported`, the treasurer's review queue in arrival order."""
    statement = select(Payment)
    if households is not None or members is not None:
        visible = or_(
            col(Payment.household_id).in_(households or set()),
            col(Payment.member_id).in_(members or set()),
            col(Payment.payer_account_id) == payer,
        )
        statement = statement.where(visible)
    if household_id is not None:
        statement = statement.where(col(Payment.household_id) == household_id)
    if status is not None:
        statement = statement.where(col(Payment.status) == status)
    rows = await paginate(
        session,
        statement,
        time_column=col(Payment.recorded_at),
        id_column=col(Payment.id),
        cursor=cursor,
        limit=limit,
    )
    found, next_cursor = rows
    return Page(items=await views.payments_public(session, found), next_cursor=next_cursor)


async def get_payment(session: AsyncSession, payment_id: uuid.UUID) -> Payment | None:
    return await session.get(Payment, payment_id)


async def share_subscription(
    session: AsyncSession, member_id: uuid.UUID
) -> ShareSubscription | None:
    return (
        await session.execute(
            select(ShareSubscription).where(col(ShareSubscription.member_id) == member_id)
        )
    ).scalar_one_or_none()


async def currency_paid_by(
    session: AsyncSession, payer_account_id: uuid.UUID, household_id: uuid.UUID
) -> str | None:
    """The currency of the latest payment this account made to this household (a sponsor's
    own currency, when nothing else says it)."""
    return (
        await session.execute(
            select(col(Payment.currency))
            .where(
                col(Payment.payer_account_id) == payer_account_id,
                col(Payment.household_id) == household_id,
            )
            .order_by(col(Payment.recorded_at).desc())
            .limit(1)
        )
    ).scalar_one_or_none()
