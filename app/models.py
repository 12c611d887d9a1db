"""Every table of every domain, imported in one place so Alembic sees the whole schema."""

from cooperative.accounts.models import Account, AuthSession, LoginThrottle, RefreshToken
from cooperative.apps.models import AuthorizationCode, ClientAssertion, OAuthClient
from cooperative.audit.models import AccessLogEntry
from cooperative.bylaws.models import BylawsVersion
from cooperative.dues.models import Invoice, Payment, PaymentAllocation, ShareSubscription
from cooperative.governance.models import (
    Ballot,
    Proposal,
    ProposalComment,
    ProposalCosigner,
    ProposalEvent,
    ProposalVoter,
    SealedBallot,
)
from cooperative.kernel.tables import metadata
from cooperative.membership.models import (
    Dependent,
    Household,
    HouseholdInvitation,
    HouseholdMember,
    IncomeAttestation,
    Member,
)
from cooperative.notifications.models import NotificationPreference, OutboxMessage
from cooperative.surplus.models import (
    AllocationLine,
    AllocationRun,
    JournalEntry,
    JournalLine,
    PatronageRecord,
)
from cooperative.treasury.models import ExchangeRate
from cooperative.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from telehealth.attachments.models import Attachment
from telehealth.clinics.models import Clinic, ClinicPatient, ClinicRegistration, ClinicStaff
from telehealth.consults.models import (
    ConsultEvent,
    ConsultParticipant,
    PrecheckResult,
    SignalMemo,
)
from telehealth.practitioners.models import (
    AvailabilityWindow,
    ExtraWindow,
    Licence,
    Practitioner,
    TimeOff,
)
from telehealth.prescriptions.models import Prescription
from telehealth.records.models import ClinicalNote, TelehealthConsent
from telehealth.referrals.models import Referral, ReferralEvent
from telehealth.scheduling.models import Appointment, AppointmentEvent

__all__ = [
    "AccessLogEntry",
    "Account",
    "AllocationLine",
    "AllocationRun",
    "Appointment",
    "AppointmentEvent",
    "Attachment",
    "AuthSession",
    "AuthorizationCode",
    "AvailabilityWindow",
    "Ballot",
    "BylawsVersion",
    "ClientAssertion",
    "Clinic",
    "ClinicPatient",
    "ClinicRegistration",
    "ClinicStaff",
    "ClinicalNote",
    "ConsultEvent",
    "ConsultParticipant",
    "Dependent",
    "ExchangeRate",
    "ExtraWindow",
    "Household",
    "HouseholdInvitation",
    "HouseholdMember",
    "IncomeAttestation",
    "Invoice",
    "JournalEntry",
    "JournalLine",
    "Licence",
    "LoginThrottle",
    "Member",
    "NotificationPreference",
    "OAuthClient",
    "OutboxMessage",
    "PatronageRecord",
    "Payment",
    "PaymentAllocation",
    "Practitioner",
    "PrecheckResult",
    "Prescription",
    "Proposal",
    "ProposalComment",
    "ProposalCosigner",
    "ProposalEvent",
    "ProposalVoter",
    "Referral",
    "ReferralEvent",
    "RefreshToken",
    "SealedBallot",
    "ShareSubscription",
    "SignalMemo",
    "TelehealthConsent",
    "TimeOff",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "metadata",
]
