"""The signed-in account."""

import asyncio
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from app.auth import CurrentPrincipal
from app.db import SessionDep, after_commit
from app.errors import language_of, problem_responses
from app.pagination import CursorParam, LimitParam, Page
from app.routers.auth import CODE_PROBLEMS
from app.settings import Settings
from cooperative.accounts import codes
from cooperative.accounts import service as accounts_service
from cooperative.accounts.errors import ContactTaken, TooManyCodes, WeakPassword, WrongPassword
from cooperative.accounts.schemas import (
    CodeSent,
    ContactChange,
    ContactConfirm,
    MePublic,
    PasswordChange,
    VerifyAccepted,
)
from cooperative.apps import service as apps
from cooperative.audit import service as audit
from cooperative.audit.schemas import AccessLogEntryPublic
from cooperative.dues import service as dues_service
from cooperative.kernel.errors import NotFound, Text
from cooperative.kernel.schemas import InputModel
from cooperative.notifications import codes as notification_codes
from cooperative.notifications import preferences as notification_preferences_service
from cooperative.notifications import service as notifications_service
from cooperative.notifications.schemas import (
    NotificationPublic,
    PreferencesPublic,
    PreferencesUpdate,
)
from cooperative.privacy import arco
from telehealth.attachments import service as attachments
from telehealth.clinics import service as clinics
from telehealth.consults import media_service
from telehealth.prescriptions import service as prescriptions
from telehealth.records import rules as record_rules
from telehealth.records import service as records
from telehealth.referrals import service as referrals

router = APIRouter(prefix="/v1", tags=["accounts"])


@router.get("/me", summary="Who am I", responses=problem_responses(401, 403, 404))
async def me(session: SessionDep, principal: CurrentPrincipal) -> MePublic:
    """The account behind the access token, with the scopes this token carries."""
    return await accounts_service.me(session, principal)


@router.get(
    "/me/access-log",
    summary="Who read my data",
    responses=problem_responses(400, 401, 403),
)
async def access_log(
    session: SessionDep,
    principal: CurrentPrincipal,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
) -> Page[AccessLogEntryPublic]:
    """Every read of your personal or health data by someone other than you, newest first,
    and every read an app you let in made (`client_id` and `app_name` name the app)."""
    return await audit.access_log(
        session, principal.account_id, cursor=cursor, limit=limit, app_names=apps.names
    )


@router.get(
    "/me/notifications",
    summary="My messages",
    responses=problem_responses(400, 401, 403),
)
async def notifications(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
) -> Page[NotificationPublic]:
    """The messages Tequio sent you or will send you (consult reminders, …), latest due first,
    with their state: `queued` (waiting for its time), `sending`, `sent` (the provider accepted
    it), `delivered` (the provider confirmed delivery; email cannot), `failed` (tried again
    later), `dead` (given up, with the reason), `cancelled` (the consult was cancelled or
    moved). The text is as it is sent, in your language, with no health data."""
    settings: Settings = request.app.state.settings
    return await notifications_service.of_account(
        session, principal.account_id, base_url=settings.public_url, cursor=cursor, limit=limit
    )


@router.get(
    "/me/notification-preferences",
    summary="How I am reached",
    responses=problem_responses(401, 403),
)
async def notification_preferences(
    session: SessionDep, principal: CurrentPrincipal
) -> PreferencesPublic:
    """Your channels (those you opted in to, preferred first, with when you opted in or out),
    the channel your messages go by now, their language, your quiet hours (in `timezone`, your
    account's zone) and whether your household's sponsor receives your consult reminders.
    Without choices of yours: email if your account has one, else SMS; WhatsApp only once you
    opt in."""
    account = await accounts_service.get(session, principal.account_id)
    assert account is not None  # the principal's account was read with the sign-in
    return notification_preferences_service.public(
        account, await notification_preferences_service.of(session, account.id)
    )


@router.put(
    "/me/notification-preferences",
    summary="Choose how I am reached",
    responses=problem_responses(401, 403, 422),
)
async def replace_notification_preferences(
    session: SessionDep, principal: CurrentPrincipal, data: PreferencesUpdate
) -> PreferencesPublic:
    """Replace your preferences. A channel needs its address on your account (422 otherwise:
    WhatsApp and SMS a phone, email an email). Opting in or out is recorded with its time
    (WhatsApp needs a recorded opt-in). Quiet hours may wrap midnight (21:00 to 08:00): what
    falls in them waits until they end, except one-time codes; a reminder that cannot wait
    goes just before they begin. Withdrawing your consent to sponsor reminders cancels those
    not yet sent."""
    account = await accounts_service.get(session, principal.account_id)
    assert account is not None
    return await notification_preferences_service.replace(session, account, data)


@router.get("/me/export", summary="Export my data", responses=problem_responses(401, 403))
async def export(session: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    """Everything Tequio holds about you, as JSON (your ARCO right of access): your clinical
    record (`clinical_record`: signed consult notes and their addenda, consents to remote care),
    the prescriptions issued to you (`prescriptions`) and the files of your consults and
    referrals (`attachments`, yours and your dependents': what each is, what it belongs to, when
    and by whom (by role) it was added; each file is fetched through its link) and your
    referrals (`referrals`: as you see them, with the specialist's answer or counter-referral)."""
    held = await arco.export(session, principal.account_id)
    # telehealth's part is added here: cooperative.privacy may not import telehealth
    held["clinical_record"] = await records.export_of(session, principal.account_id)
    held["prescriptions"] = await prescriptions.export_of(session, principal.account_id)
    held["attachments"] = await attachments.export_of(session, principal.account_id)
    held["referrals"] = await referrals.export_of(session, principal.account_id)
    return held


class ErasureRequest(InputModel):
    model_config = ConfigDict(extra="forbid")

    password: SecretStr = Field(min_length=1, max_length=128, description="To confirm it is you.")


class ErasureReport(BaseModel):
    erased: list[str]
    kept: list[str] = Field(description="What the law requires us to keep, de-identified.")
    clinical_record_kept_until: date | None = Field(
        default=None,
        description="The first day your clinical record may be destroyed: NOM-004-SSA3-2012 "
        "keeps it at least five years from its last act. Null when there is none.",
    )


def _with_clinical_record(
    report: dict[str, list[str]], erased: list[str], until: date | None
) -> dict[str, Any]:
    if until is None:
        return {**report, "erased": report["erased"] + erased}
    kept = (
        "your clinical record (signed consult notes, addenda, consents to remote care, "
        "referrals with their answers and counter-referrals): "
        "Mexico's NOM-004-SSA3-2012 requires keeping it at least five years from its last "
        f"act, so until {until.isoformat()}; it is then erased on request"
    )
    return {
        "erased": report["erased"] + erased,
        "kept": [*report["kept"], kept],
        "clinical_record_kept_until": until,
    }


@router.post(
    "/me/erasure",
    summary="Erase my data",
    responses=problem_responses(401, 403, 422),
)
async def erase(
    request: Request, session: SessionDep, principal: CurrentPrincipal, data: ErasureRequest
) -> ErasureReport:
    """Erase your personal data (your ARCO right of cancellation). Financial and governance
    records the cooperative must keep are kept, no longer linked to your name. You are signed
    out everywhere and cannot sign in again with this account."""
    # one transaction: a wrong password below undoes this too
    await clinics.leave_all(session, principal.account_id, reason="the account was erased")
    report: dict[str, Any] = await arco.erase(
        session,
        principal.account_id,
        password=data.password.get_secret_value(),
        hasher=request.app.state.password_hasher,
    )
    # the clinical record is kept (NOM-004); only unsigned drafts go
    clinical_erased, kept_until = await records.erase_of(session, principal.account_id)
    withdrawn, last_referral = await referrals.erase_of(session, principal)
    if last_referral is not None:  # a referral is an act of the record too
        kept_until = max(filter(None, (kept_until, record_rules.kept_until(last_referral))))
    clinical_erased += withdrawn
    report = _with_clinical_record(report, clinical_erased, kept_until)
    files = await media_service.forget_recordings(session, principal.account_id)
    photos = await dues_service.forget_receipts(session, principal.account_id)
    settings: Settings = request.app.state.settings

    async def delete_files() -> None:  # after the commit: a rolled-back erasure keeps its files
        for name in files:
            (settings.recordings_dir / name).unlink(missing_ok=True)
        for name in photos:
            (settings.receipts_dir / name).unlink(missing_ok=True)

    after_commit(session, delete_files)
    if files:
        report["erased"].append("recordings of your video consults")
    if photos:
        report["erased"].append("the photos of your payment receipts")
    return ErasureReport(**report)


@router.post(
    "/me/password",
    summary="Change my password",
    responses=problem_responses(
        400, 401, 403, 413, 422, 429, problems=(WrongPassword, WeakPassword)
    ),
)
async def change_password(
    request: Request, session: SessionDep, principal: CurrentPrincipal, data: PasswordChange
) -> VerifyAccepted:
    """A new password (the same rules as at sign-up), given the current one. Every other
    sign-in of the account ends (its tokens stop working); this one goes on. Wrong current
    passwords slow down like failed sign-ins (`429` with `Retry-After`)."""
    settings: Settings = request.app.state.settings
    hasher = request.app.state.password_hasher
    account = await accounts_service.get(session, principal.account_id)
    if account is None:
        raise NotFound()
    address = request.client.host if request.client else "unknown"
    await accounts_service.charge(session, settings.login_throttles(str(account.id), address))
    await session.commit()  # the charge stands even if the password is wrong
    if not await asyncio.to_thread(
        hasher.verify, data.current_password.get_secret_value(), account.password_hash
    ):
        raise WrongPassword()
    await accounts_service.set_password(
        session,
        account,
        data.new_password.get_secret_value(),
        hasher=hasher,
        min_password_length=settings.password_min_length,
    )
    await accounts_service.end_sessions(
        session, account.id, reason="password", keep=principal.session_id
    )
    return VerifyAccepted(detail=PASSWORD_CHANGED_HERE.render(language_of(request)))


PASSWORD_CHANGED_HERE = Text(
    "Your password changed; every other sign-in of your account ended.",
    "Su contraseña cambió; se cerraron las demás sesiones de su cuenta.",
)
CONTACT_CODE_SENT = Text(
    "A code is on its way to the new contact; confirm it with `POST /v1/me/contact/confirm`. "
    "Until then your contact stays as it was.",
    "Va en camino un código al nuevo contacto; confírmelo con `POST /v1/me/contact/confirm`. "
    "Mientras tanto su contacto sigue igual.",
)
CONTACT_CHANGED = Text(
    "Your new contact is verified and is now your account's.",
    "Su nuevo contacto quedó verificado y ya es el de su cuenta.",
)


@router.post(
    "/me/contact",
    status_code=202,
    summary="Change my phone or email",
    responses=problem_responses(400, 401, 403, 404, 409, 413, 422, 429, problems=(ContactTaken,)),
)
async def change_contact(
    request: Request, session: SessionDep, principal: CurrentPrincipal, data: ContactChange
) -> CodeSent:
    """A new email or phone number: a code goes to it, and it becomes your account's (verified)
    only when you confirm the code (`POST /v1/me/contact/confirm`). A contact another account
    holds is refused (`409 contact-taken`). A few codes per account and per contact, then
    `429` with `Retry-After`."""
    settings: Settings = request.app.state.settings
    account = await accounts_service.get(session, principal.account_id)
    if account is None:
        raise NotFound()
    address = data.address
    await accounts_service.charge(
        session, settings.code_throttles(str(account.id), address), refusal=TooManyCodes
    )
    await session.commit()  # the charge stands when the contact is refused: no free probing
    if address not in (account.email, account.phone) and await accounts_service.contact_taken(
        session, address
    ):
        raise ContactTaken()
    await notification_codes.send_code(
        session, account, codes.Purpose.CONTACT, address, settings.code_policy
    )
    return CodeSent(detail=CONTACT_CODE_SENT.render(language_of(request)))


@router.post(
    "/me/contact/confirm",
    summary="Confirm my new phone or email with its code",
    responses=problem_responses(
        400, 401, 403, 404, 409, 413, 422, problems=(*CODE_PROBLEMS, ContactTaken)
    ),
)
async def confirm_contact(
    request: Request, session: SessionDep, principal: CurrentPrincipal, data: ContactConfirm
) -> VerifyAccepted:
    """The code sent to the new contact makes it the account's, verified (an email replaces
    the email, a phone the phone)."""
    settings: Settings = request.app.state.settings
    account = await accounts_service.get(session, principal.account_id)
    if account is None:
        raise NotFound()
    spent = await codes.spend(
        session, account, codes.Purpose.CONTACT, data.code, settings.code_policy
    )
    await accounts_service.change_contact(session, account, spent.address)
    await notification_codes.spent(session, account.id, codes.Purpose.CONTACT)
    return VerifyAccepted(detail=CONTACT_CHANGED.render(language_of(request)))
