"""Every table of every domain, imported in one place so Alembic sees the whole schema."""

from cooperative.accounts.models import Account, AuthSession, LoginThrottle, RefreshToken
from cooperative.bylaws.models import BylawsVersion
from cooperative.dues.models import Invoice, Payment, PaymentAllocation, ShareSubscription
from cooperative.kernel.tables import metadata
from cooperative.membership.models import (
    Dependent,
    Household,
    HouseholdMember,
    IncomeAttestation,
    Member,
)
from cooperative.privacy.models import AccessLogEntry

__all__ = [
    "AccessLogEntry",
    "Account",
    "AuthSession",
    "BylawsVersion",
    "Dependent",
    "Household",
    "HouseholdMember",
    "IncomeAttestation",
    "Invoice",
    "LoginThrottle",
    "Member",
    "Payment",
    "PaymentAllocation",
    "RefreshToken",
    "ShareSubscription",
    "metadata",
]
