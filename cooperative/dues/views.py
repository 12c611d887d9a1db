"""Invoices and payments as the API shows them: their rows become response models here."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cooperative.dues.models import Invoice, Payment, PaymentAllocation
from cooperative.dues.schemas import AllocationPublic, InvoicePublic, PaymentPublic, ReceiptPublic


def invoice_public(invoice: Invoice) -> InvoicePublic:
    return InvoicePublic.model_validate(
        {**invoice.model_dump(), "outstanding_minor": invoice.amount_minor - invoice.paid_minor}
    )


def _receipt(payment: Payment) -> ReceiptPublic | None:
    if payment.receipt_media_type is None or payment.receipt_uploaded_at is None:
        return None
    return ReceiptPublic(
        media_type=payment.receipt_media_type,
        bytes=payment.receipt_bytes or 0,
        sha256=payment.receipt_sha256 or "",
        uploaded_at=payment.receipt_uploaded_at,
    )


async def payment_public(session: AsyncSession, payment: Payment) -> PaymentPublic:
    """The payment with how it was allocated to invoices, oldest allocation first."""
    allocations = await session.scalars(
        select(PaymentAllocation)
        .where(col(PaymentAllocation.payment_id) == payment.id)
        .order_by(col(PaymentAllocation.created_at), col(PaymentAllocation.id))
    )
    return PaymentPublic.model_validate(
        {
            **payment.model_dump(),
            "allocations": [
                AllocationPublic(invoice_id=a.invoice_id, amount_minor=a.amount_minor)
                for a in allocations
            ],
            "receipt": _receipt(payment),
        }
    )
