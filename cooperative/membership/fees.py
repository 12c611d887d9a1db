"""The consult fee a patient pays, fixed at booking from the sliding scale (or the non-member
price), with the explanation and bylaws version to store beside it."""

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cooperative.bylaws.service import InForce
from cooperative.kernel import wordbook
from cooperative.kernel.errors import TequioError, Text, using
from cooperative.kernel.principal import Principal
from cooperative.membership import households
from cooperative.membership.models import Household
from cooperative.membership.rules import MemberStatus
from cooperative.membership.service import standing


class NotInGoodStanding(TequioError):
    status = 409
    slug = "not-in-good-standing"
    words = using(status=wordbook.MEMBERSHIP_STATUS)
    title = Text("Membership not in good standing", "Membresía sin estar al corriente")
    detail = Text(
        "The patient's membership is {status}. Paying what is overdue restores it at once.",
        "La membresía de la persona está en estado {status}. Al pagar lo vencido se restablece "
        "de inmediato.",
    )


class MembersOnly(TequioError):
    status = 403
    slug = "members-only"
    title = Text("Members only", "Solo para socios")
    detail = Text(
        "The bylaws let only member-owners book consults; apply for membership first.",
        "Los estatutos solo permiten reservar a socios; primero solicite la membresía.",
    )


@dataclass(frozen=True, slots=True)
class ConsultFee:
    amount_minor: int
    currency: str
    fee_class: str  # a sliding-scale class code, or "non-member"
    explanation: dict[str, Any]
    bylaws_version: int


_NOT_YET_OR_NO_LONGER = {MemberStatus.APPLICANT, MemberStatus.REJECTED, MemberStatus.WITHDRAWN}


async def consult_fee(
    session: AsyncSession,
    patient_account_id: uuid.UUID,
    law: InForce,
    *,
    today: date,
    jurisdiction: str,
) -> ConsultFee:
    """A member in good standing pays their household's class fee; a non-member the bylaws'
    non-member price if the bylaws let non-members book; a lapsed or suspended member is told why
    they cannot book until they are in good standing again.

    Two queries at most: the membership with its household and the household's income
    attestation, and what the member owes."""
    found = await households.member_household_attestation(session, patient_account_id, on=today)
    if found is None or MemberStatus(found[0].status) in _NOT_YET_OR_NO_LONGER:
        return _non_member_fee(law, jurisdiction)
    member, household, attestation = found
    status = await standing(session, member, household.id if household else None, law, today=today)
    if status != MemberStatus.ACTIVE:
        raise NotInGoodStanding(status=status.value)
    if household is None:  # a member with no household yet pays full price in their currency
        currency = "USD" if jurisdiction.startswith("US") else "MXN"
        fee_class = law.bylaws.sliding_scale.full_price
        return ConsultFee(
            amount_minor=fee_class.consult_fee[currency],  # type: ignore[index]
            currency=currency,
            fee_class=fee_class.code,
            explanation={"basis": "none", "summary": "no household yet: full price"},
            bylaws_version=law.number,
        )
    assessment = households.assessed(household, attestation, law, on=today)
    explanation: dict[str, Any] = {"basis": assessment.basis, "household_id": str(household.id)}
    if assessment.comparison is not None:
        explanation |= {
            "table": assessment.comparison.table,
            "poverty_line_minor": assessment.comparison.line_minor,
            "percent_exact": str(assessment.comparison.percent),
        }
    return ConsultFee(
        amount_minor=assessment.fee_class.consult_fee[household.currency],  # type: ignore[index]
        currency=household.currency,
        fee_class=assessment.fee_class.code,
        explanation=explanation,
        bylaws_version=law.number,
    )


def _non_member_fee(law: InForce, jurisdiction: str) -> ConsultFee:
    """The bylaws' non-member price, in the currency of where the patient is; MembersOnly when
    the bylaws let only members book."""
    if not law.bylaws.non_members.may_book:
        raise MembersOnly()
    currency = "USD" if jurisdiction.startswith("US") else "MXN"
    return ConsultFee(
        amount_minor=law.bylaws.non_members.consult_fee[currency],  # type: ignore[index]
        currency=currency,
        fee_class="non-member",
        explanation={"basis": "non-member", "summary": "non-member price (bylaws)"},
        bylaws_version=law.number,
    )


# What a doctor or a clinic sees of how a fee was set: the basis (attested, expired, none,
# non-member), never the poverty line or the exact percentage, from which the household's income
# could be computed. The fee itself and its class are shown beside it.
_OUTSIDER_KEYS = frozenset({"basis"})


def explanation_for_outsiders(explanation: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in explanation.items() if key in _OUTSIDER_KEYS}


async def sees_income_figures(
    session: AsyncSession,
    principal: Principal,
    *,
    patient_account_id: uuid.UUID,
    explanation: dict[str, Any],
    seen: dict[uuid.UUID, bool] | None = None,
) -> bool:
    """Whether `principal` may see the figures behind a consult fee: the patient, the members and
    sponsor of the household it was priced for, and admins. `seen` caches per household."""
    if principal.is_admin or principal.account_id == patient_account_id:
        return True
    raw = explanation.get("household_id")
    if not isinstance(raw, str):
        return False
    household_id = uuid.UUID(raw)
    if seen is not None and household_id in seen:
        return seen[household_id]
    household = await session.get(Household, household_id)
    allowed = household is not None and principal.account_id in await households.managers(
        session, household
    )
    if seen is not None:
        seen[household_id] = allowed
    return allowed
