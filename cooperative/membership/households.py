"""Households: the unit of coverage, their dependents, income attestations and fee class."""

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from cooperative.audit import service as audit
from cooperative.bylaws.schema import SlidingScale
from cooperative.bylaws.service import InForce
from cooperative.dues import rules as dues_rules
from cooperative.kernel import clock
from cooperative.kernel.errors import Forbidden, NotFound, Text
from cooperative.kernel.money import format_minor
from cooperative.kernel.pagination import Page, page, page_async, paginate
from cooperative.kernel.principal import Principal
from cooperative.membership import rules
from cooperative.membership.errors import (
    AlreadyInHousehold,
    AttestationDate,
    CurrencyMismatch,
    NotAMember,
)
from cooperative.membership.models import (
    Dependent,
    Household,
    HouseholdInvitation,
    HouseholdMember,
    IncomeAttestation,
    Member,
)
from cooperative.membership.schemas import (
    Amount,
    AttestationCreate,
    AttestationPublic,
    DependentCreate,
    DependentPublic,
    FeeClassPublic,
    FeeExplanation,
    HouseholdCreate,
    HouseholdPublic,
    HouseholdUpdate,
    InvitationSent,
)
from cooperative.membership.service import household_of, member_of

CURRENCY_OF_COUNTRY = {"MX": "MXN", "US": "USD"}


async def create(session: AsyncSession, principal: Principal, data: HouseholdCreate) -> Household:
    """Create a household you live in (`covered`) or one you pay for from elsewhere (`sponsor`)."""
    member = await member_of(session, principal.account_id)
    if member is None:
        raise NotAMember()
    if data.role == "covered" and await household_of(session, member.id) is not None:
        raise AlreadyInHousehold()
    household = Household(
        name=data.name,
        country=data.country,
        subdivision=data.subdivision,
        municipality=data.municipality,
        area=data.area,
        currency=CURRENCY_OF_COUNTRY[data.country],
        sponsor_member_id=member.id if data.role == "sponsor" else None,
        created_by=principal.account_id,
    )
    session.add(household)
    await session.flush()
    if data.role == "covered":
        await join(session, household.id, member.id)
    return household


async def join(session: AsyncSession, household_id: uuid.UUID, member_id: uuid.UUID) -> None:
    """The household covers the member from now on; the database refuses a second household
    (also to concurrent joins, whichever commits second)."""
    try:
        async with session.begin_nested():
            session.add(
                HouseholdMember(
                    household_id=household_id, member_id=member_id, accepted_at=clock.now()
                )
            )
    except IntegrityError as exc:
        raise AlreadyInHousehold() from exc


async def _accounts(session: AsyncSession, household_id: uuid.UUID) -> list[uuid.UUID]:
    """Accounts of the members the household covers."""
    rows = await session.execute(
        select(col(Member.account_id))
        .join(HouseholdMember, col(HouseholdMember.member_id) == col(Member.id))
        .where(col(HouseholdMember.household_id) == household_id)
    )
    return list(rows.scalars())


async def managers(session: AsyncSession, household: Household) -> set[uuid.UUID]:
    """Accounts that may see and manage a household: its covered members and its sponsor."""
    accounts = set(await _accounts(session, household.id))
    if household.sponsor_member_id is not None:
        sponsor = await session.get(Member, household.sponsor_member_id)
        if sponsor is not None:
            accounts.add(sponsor.account_id)
    return accounts


async def visible(
    session: AsyncSession, principal: Principal, household_id: uuid.UUID, *, resource: str
) -> Household:
    """The household if the caller manages it or is an admin, logging who read whose data.
    Someone only invited sees the invitation (`invitations_for`), not the household."""
    household = await session.get(Household, household_id)
    if household is None:
        raise NotFound()
    allowed = principal.is_admin or principal.account_id in await managers(session, household)
    if not allowed:
        raise NotFound()
    subjects = await _accounts(session, household.id)
    await audit.record_access(session, subjects, principal, resource=f"{resource}:{household.id}")
    return household


async def visible_ids(session: AsyncSession, principal: Principal) -> set[uuid.UUID] | None:
    """Ids of the households the caller manages; None for admins, who see all."""
    if principal.is_admin:
        return None
    member = await member_of(session, principal.account_id)
    if member is None:
        return set()
    covered = await household_of(session, member.id)
    sponsored = await session.execute(
        select(col(Household.id)).where(col(Household.sponsor_member_id) == member.id)
    )
    return set(sponsored.scalars()) | ({covered} if covered else set())


def dependent_public(dependent: Dependent) -> DependentPublic:
    return DependentPublic.model_validate(dependent, from_attributes=True)


def attestation_public(attestation: IncomeAttestation) -> AttestationPublic:
    return AttestationPublic.model_validate(attestation, from_attributes=True)


async def public(session: AsyncSession, household: Household) -> HouseholdPublic:
    covered = (
        await session.execute(
            select(col(HouseholdMember.member_id)).where(
                col(HouseholdMember.household_id) == household.id
            )
        )
    ).scalars()
    invitations = (
        await session.execute(
            select(HouseholdInvitation)
            .where(col(HouseholdInvitation.household_id) == household.id)
            .order_by(col(HouseholdInvitation.invited_at).desc(), col(HouseholdInvitation.id))
        )
    ).scalars()
    sent = [InvitationSent.model_validate(i, from_attributes=True) for i in invitations]
    dependents = await session.execute(
        select(Dependent)
        .where(col(Dependent.household_id) == household.id)
        .order_by(col(Dependent.created_at), col(Dependent.id))
    )
    return HouseholdPublic(
        id=household.id,
        name=household.name,
        country=household.country,
        subdivision=household.subdivision,
        municipality=household.municipality,
        area=household.area,
        currency=household.currency,
        sponsor_member_id=household.sponsor_member_id,
        member_ids=sorted(covered),
        invited_member_ids=sorted(i.member_id for i in sent if i.status == "pending"),
        invitations=sent,
        dependents=[dependent_public(d) for d in dependents.scalars()],
        created_at=household.created_at,
    )


async def list_visible(
    session: AsyncSession,
    principal: Principal,
    *,
    country: str | None,
    cursor: str | None,
    limit: int | None,
) -> Page[HouseholdPublic]:
    statement = select(Household)
    ids = await visible_ids(session, principal)
    if ids is not None:
        statement = statement.where(col(Household.id).in_(ids))
    if country is not None:
        statement = statement.where(col(Household.country) == country)
    rows, next_cursor = await paginate(
        session,
        statement,
        time_column=col(Household.created_at),
        id_column=col(Household.id),
        cursor=cursor,
        limit=limit,
    )
    for household in rows:
        subjects = await _accounts(session, household.id)
        await audit.record_access(
            session, subjects, principal, resource=f"household:{household.id}"
        )
    return await page_async((rows, next_cursor), lambda household: public(session, household))


async def update(
    session: AsyncSession, principal: Principal, household_id: uuid.UUID, data: HouseholdUpdate
) -> Household:
    household = await visible(session, principal, household_id, resource="household")
    for field, value in data.model_dump(exclude_none=True).items():
        setattr(household, field, value)
    await session.flush()
    return household


async def _own_link(
    session: AsyncSession, principal: Principal, household_id: uuid.UUID, member_id: uuid.UUID
) -> HouseholdMember:
    link = await session.get(HouseholdMember, (household_id, member_id))
    member = await session.get(Member, member_id)
    if link is None or member is None:
        raise NotFound()
    if member.account_id != principal.account_id and not principal.is_admin:
        raise NotFound()
    return link


async def leave(
    session: AsyncSession, principal: Principal, household_id: uuid.UUID, member_id: uuid.UUID
) -> None:
    """A member leaves the household that covers them (an admin may remove anyone)."""
    link = await _own_link(session, principal, household_id, member_id)
    await session.delete(link)
    await session.flush()


async def add_dependent(
    session: AsyncSession, principal: Principal, household_id: uuid.UUID, data: DependentCreate
) -> Dependent:
    await visible(session, principal, household_id, resource="household")
    dependent = Dependent(household_id=household_id, **data.model_dump())
    session.add(dependent)
    await session.flush()
    return dependent


async def remove_dependent(
    session: AsyncSession, principal: Principal, household_id: uuid.UUID, dependent_id: uuid.UUID
) -> None:
    await visible(session, principal, household_id, resource="household")
    dependent = await session.get(Dependent, dependent_id)
    if dependent is None or dependent.household_id != household_id:
        raise NotFound()
    await session.delete(dependent)
    await session.flush()


async def attest(
    session: AsyncSession,
    principal: Principal,
    household_id: uuid.UUID,
    data: AttestationCreate,
    law: InForce,
    *,
    today: date,
) -> IncomeAttestation:
    """Record the household's declared income and size, valid for the bylaws' period."""
    household = await visible(session, principal, household_id, resource="household")
    if principal.account_id not in await managers(session, household) and not principal.is_admin:
        raise Forbidden(
            reason=Text(
                "only the household attests its income", "solo el propio hogar declara sus ingresos"
            )
        )
    if data.currency != household.currency:
        raise CurrencyMismatch(expected=household.currency)
    effective = data.effective_on or today
    months = law.bylaws.sliding_scale.attestation_valid_months
    earliest = dues_rules.add_months(today, -months)
    if not earliest <= effective <= today:
        raise AttestationDate(earliest=earliest, today=today)
    attestation = IncomeAttestation(
        household_id=household.id,
        income_minor=data.income_minor,
        currency=data.currency,
        period=data.period,
        household_size=data.household_size,
        effective_on=effective,
        expires_on=dues_rules.add_months(effective, months),
        attested_by=principal.account_id,
    )
    session.add(attestation)
    await session.flush()
    return attestation


_LATEST_ATTESTATION = (
    select(IncomeAttestation)
    .where(
        col(IncomeAttestation.household_id) == bindparam("household_id"),
        col(IncomeAttestation.effective_on) <= bindparam("on"),
    )
    .order_by(col(IncomeAttestation.effective_on).desc(), col(IncomeAttestation.created_at).desc())
    .limit(1)
)


async def latest_attestation(
    session: AsyncSession, household_id: uuid.UUID, *, on: date
) -> IncomeAttestation | None:
    """The newest attestation already in effect on `on` (it may have expired; assess says so)."""
    parameters = {"household_id": household_id, "on": on}
    return (await session.execute(_LATEST_ATTESTATION, parameters)).scalar_one_or_none()


def income_of(household: Household, attestation: IncomeAttestation) -> dues_rules.HouseholdIncome:
    return dues_rules.HouseholdIncome(
        country="US" if household.country == "US" else "MX",
        size=attestation.household_size,
        income_minor=attestation.income_minor,
        period="annual" if attestation.period == "annual" else "monthly",
        area="rural" if household.area == "rural" else "urban",
        us_region=rules.us_region(household.subdivision),  # type: ignore[arg-type]
    )


async def assess(
    session: AsyncSession, household: Household, law: InForce, *, on: date
) -> tuple[dues_rules.Assessment, IncomeAttestation | None]:
    attestation = await latest_attestation(session, household.id, on=on)
    return assessed(household, attestation, law, on=on), attestation


def assessed(
    household: Household, attestation: IncomeAttestation | None, law: InForce, *, on: date
) -> dues_rules.Assessment:
    """`assess` once the household's latest attestation on `on` is in hand."""
    income = income_of(household, attestation) if attestation else None
    return dues_rules.assess(
        income,
        expires_on=attestation.expires_on if attestation else None,
        scale=law.bylaws.sliding_scale,
        lines=law.bylaws.poverty_lines,
        on=on,
    )


_ATTESTED = aliased(IncomeAttestation)
_WITH_HOUSEHOLD_AND_ATTESTATION = (
    select(Member, Household, IncomeAttestation)
    .outerjoin(
        HouseholdMember,
        and_(
            col(HouseholdMember.member_id) == col(Member.id),
            col(HouseholdMember.accepted_at).is_not(None),
        ),
    )
    .outerjoin(Household, col(Household.id) == col(HouseholdMember.household_id))
    .outerjoin(  # the household's latest attestation in effect on the day (`latest_attestation`)
        IncomeAttestation,
        col(IncomeAttestation.id)
        == select(col(_ATTESTED.id))
        .where(
            col(_ATTESTED.household_id) == col(Household.id),
            col(_ATTESTED.effective_on) <= bindparam("on"),
        )
        .order_by(col(_ATTESTED.effective_on).desc(), col(_ATTESTED.created_at).desc())
        .limit(1)
        .correlate(Household)
        .scalar_subquery(),
    )
    .where(col(Member.account_id) == bindparam("account_id"))
)


async def member_household_attestation(
    session: AsyncSession, account_id: uuid.UUID, *, on: date
) -> tuple[Member, Household | None, IncomeAttestation | None] | None:
    """`member_with_household` and the household's `latest_attestation` on `on`, in one
    statement (a booking's fee needs all three); None when the account never applied."""
    parameters = {"account_id": account_id, "on": on}
    row = (await session.execute(_WITH_HOUSEHOLD_AND_ATTESTATION, parameters)).one_or_none()
    return (row[0], row[1], row[2]) if row is not None else None


def _amount(amount_minor: int, currency: str) -> Amount:
    return Amount(
        amount_minor=amount_minor, currency=currency, formatted=format_minor(amount_minor, currency)
    )


def _summary(
    assessment: dues_rules.Assessment,
    attestation: IncomeAttestation | None,
    scale: SlidingScale,
) -> dict[str, str]:
    code = assessment.fee_class.code
    if assessment.basis == "none":
        return {
            "en": f"No income has been attested, so the full-price class {code} applies.",
            "es": f"No se ha declarado el ingreso; aplica la clase {code} de precio completo.",
        }
    if assessment.basis == "expired":
        until = attestation.expires_on.isoformat() if attestation else "?"
        return {
            "en": f"The income attestation expired on {until}; class {code} (full price) applies "
            "until the household attests again.",
            "es": f"La declaración de ingresos venció el {until}; aplica la clase {code} (precio "
            "completo) hasta que el hogar declare de nuevo.",
        }
    comparison = assessment.comparison
    assert comparison is not None
    shown = dues_rules.shown_percent(comparison.percent, scale)
    en, es = {  # never a figure that would be another class's
        None: (f"{shown.figure}%", f"{shown.figure}%"),
        "just-over": (f"just over {shown.bound}%", f"poco más del {shown.bound}%"),
        "just-under": (f"just under {shown.bound}%", f"poco menos del {shown.bound}%"),
    }[shown.near]
    return {
        "en": f"Household income is {en} of the poverty line ({comparison.table}): class {code}.",
        "es": f"El ingreso del hogar es {es} de la línea de pobreza ({comparison.table}): "
        f"clase {code}.",
    }


async def fee_class(
    session: AsyncSession,
    principal: Principal,
    household_id: uuid.UUID,
    law: InForce,
    *,
    today: date,
) -> FeeClassPublic:
    """The household's sliding-scale class today, with the dues, the consult fee and why."""
    household = await visible(session, principal, household_id, resource="fee-class")
    assessment, attestation = await assess(session, household, law, on=today)
    fee = assessment.fee_class
    currency = household.currency
    explanation = None
    if assessment.comparison is not None and attestation is not None:
        comparison = assessment.comparison
        explanation = FeeExplanation(
            table=comparison.table,
            source=comparison.source,
            table_effective=comparison.effective,
            poverty_line=_amount(comparison.line_minor, comparison.currency),
            period=comparison.period,
            household_size=attestation.household_size,
            income=_amount(attestation.income_minor, attestation.currency),
            percent_of_poverty_line=dues_rules.shown_percent(
                comparison.percent, law.bylaws.sliding_scale
            ).figure,
            percent_exact=f"{comparison.percent.numerator}/{comparison.percent.denominator}",
        )
    return FeeClassPublic(
        household_id=household.id,
        code=fee.code,
        label=fee.label.model_dump(),
        nominal=fee.nominal,
        basis=assessment.basis,
        dues=_amount(fee.dues[currency], currency),  # type: ignore[index]
        consult_fee=_amount(fee.consult_fee[currency], currency),  # type: ignore[index]
        explanation=explanation,
        attestation_expires_on=attestation.expires_on if attestation else None,
        summary=_summary(assessment, attestation, law.bylaws.sliding_scale),
        bylaws_version=law.number,
        computed_on=today,
    )


async def attestations(
    session: AsyncSession,
    principal: Principal,
    household_id: uuid.UUID,
    *,
    cursor: str | None,
    limit: int | None,
) -> Page[AttestationPublic]:
    """Newest first."""
    await visible(session, principal, household_id, resource="attestations")
    rows = await paginate(
        session,
        select(IncomeAttestation).where(col(IncomeAttestation.household_id) == household_id),
        time_column=col(IncomeAttestation.created_at),
        id_column=col(IncomeAttestation.id),
        cursor=cursor,
        limit=limit,
        descending=True,
    )
    return page(rows, attestation_public)


@dataclass(frozen=True, slots=True)
class BilledTo:
    """Who hears of a household's dues: its holder (the member who created it, while covered by
    it; else its first covered member) and its sponsor, with the currency of the household that
    covers the sponsor (None when no household does)."""

    currency: str
    holder: uuid.UUID | None
    sponsor: uuid.UUID | None
    sponsor_currency: str | None


async def billed_to(session: AsyncSession, household_id: uuid.UUID) -> BilledTo | None:
    household = await session.get(Household, household_id)
    if household is None:
        return None
    covered = await session.execute(
        select(col(Member.account_id))
        .join(HouseholdMember, col(HouseholdMember.member_id) == col(Member.id))
        .where(
            col(HouseholdMember.household_id) == household_id,
            col(HouseholdMember.accepted_at).is_not(None),
        )
        .order_by(col(HouseholdMember.joined_at), col(Member.account_id))
    )
    accounts = list(covered.scalars())
    holder = (
        household.created_by if household.created_by in accounts else next(iter(accounts), None)
    )
    sponsor = sponsor_currency = None
    if household.sponsor_member_id is not None:
        member = await session.get(Member, household.sponsor_member_id)
        if member is not None:
            sponsor = member.account_id
            own = await household_of(session, member.id)
            own_household = await session.get(Household, own) if own is not None else None
            sponsor_currency = own_household.currency if own_household is not None else None
    return BilledTo(household.currency, holder, sponsor, sponsor_currency)
