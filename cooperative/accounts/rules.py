"""Pure rules for accounts: contact normalization, the password policy, login back-off."""

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from importlib.resources import files

import phonenumbers

_E164 = re.compile(r"^\+[1-9][0-9]{7,14}$")
_PHONE_DECORATION = re.compile(r"[\s().\-]")
# Mexico's dialling prefixes dropped in 2019-2020: 044/045 before a mobile number, 01 before a
# long-distance one. People still type them.
_DIGITS = re.compile(r"^\+?[0-9]{4,17}$")
_OLD_MX_PREFIX = re.compile(r"^(?:044|045|01)([0-9]{10})$")

PHONE_REGIONS = ("MX", "US")
"""Where a number typed without its country code is tried, in order: the cooperative's own
country first (Mexico), then the US (the border and the families who sponsor from there)."""

PHONE_FORMS = (
    "+52 951 123 4567, 951 123 4567, 52 951 123 4567, +52 1 951 123 4567, "
    "(213) 555-0100, 1 213 555 0100"
)

MAX_PASSWORD_LENGTH = 128


def normalize_email(email: str) -> str:
    return email.strip().lower()


def _valid(number: phonenumbers.PhoneNumber) -> phonenumbers.PhoneNumber | None:
    """The number, or the same without Mexico's old mobile `1` after the country code
    (`+52 1 951…` is `+52 951…` since 2019); None when neither is a valid number."""
    if phonenumbers.is_valid_number(number):
        return number
    national = str(number.national_number)
    if number.country_code == 52 and len(national) == 11 and national.startswith("1"):
        modern = phonenumbers.PhoneNumber(country_code=52, national_number=int(national[1:]))
        if phonenumbers.is_valid_number(modern):
            return modern
    return None


def normalize_phone(phone: str, regions: tuple[str, ...] = PHONE_REGIONS) -> str:
    """A phone number as people type it, in its one spelling: E.164 (`+529511234567`).

    With a country code (`+52…`, `0052…`, `52 951…`, `1 213…`) it is read as such; without one,
    as a national number of the first of `regions` where it is a valid number (Mexico, then
    the US). Mexico's old mobile `1` (`+52 1 951…`) and dialling prefixes (`044`, `045`, `01`)
    are dropped. Raises ValueError for anything that is not a valid number.
    """
    compact = _PHONE_DECORATION.sub("", phone.strip())
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if old := _OLD_MX_PREFIX.match(compact):
        compact = old.group(1)
    readings: list[tuple[str, str | None]] = []  # (digits, region they are national to)
    if _DIGITS.match(compact):
        if compact.startswith("+"):
            readings.append((compact, None))
        else:
            if len(compact) > 10:  # longer than a national number: it starts with its country
                readings.append(("+" + compact, None))
            readings += [(compact, region) for region in regions]
    for digits, region in readings:
        try:
            number = phonenumbers.parse(digits, region)
        except phonenumbers.NumberParseException:
            continue
        if (valid := _valid(number)) is not None:
            return phonenumbers.format_number(valid, phonenumbers.PhoneNumberFormat.E164)
    raise ValueError(
        "not a valid Mexican or US phone number; type it with its area code, e.g. "
        "951 123 4567, or with its country code, e.g. +52 951 123 4567"
    )


def legacy_phone(phone: str) -> str | None:
    """The spelling phone numbers were stored in before they were validated (E.164 digits as
    typed): what sign-in falls back to for an account whose number is not a valid one."""
    compact = _PHONE_DECORATION.sub("", phone.strip())
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    return compact if _E164.match(compact) else None


def looks_like_email(identifier: str) -> bool:
    return "@" in identifier


def canonical_identifier(identifier: str) -> str:
    """One spelling per sign-in name, so `+52 951…`, `951…` and `0052 1 951…` count as the same
    account."""
    if looks_like_email(identifier):
        return normalize_email(identifier)
    try:
        return normalize_phone(identifier)
    except ValueError:
        return legacy_phone(identifier) or identifier.strip().lower()


@cache
def common_passwords() -> frozenset[str]:
    """Passwords that appear at the top of public breach lists, in English and Spanish."""
    text = files("cooperative.accounts").joinpath("common_passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and line[0] != "#"
    )


@dataclass(frozen=True, slots=True)
class PasswordProblem:
    code: str
    en: str
    es: str


def password_problem(
    password: str, *, min_length: int, identifiers: tuple[str, ...] = ()
) -> PasswordProblem | None:
    """Why a password is refused, or None: length, common passwords, the account's own contact."""
    if len(password) < min_length:
        return PasswordProblem(
            "too-short",
            f"Use at least {min_length} characters.",
            f"Use al menos {min_length} caracteres.",
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        return PasswordProblem(
            "too-long",
            f"Use at most {MAX_PASSWORD_LENGTH} characters.",
            f"Use como máximo {MAX_PASSWORD_LENGTH} caracteres.",
        )
    lowered = password.lower()
    if lowered in common_passwords() or len(set(lowered)) <= 2:
        return PasswordProblem(
            "common",
            "This password is among the most common ones; choose another.",
            "Esta contraseña está entre las más comunes; elija otra.",
        )
    for identifier in identifiers:
        core = identifier.lower().lstrip("+").split("@")[0]
        if len(core) >= 4 and core in lowered:
            return PasswordProblem(
                "contains-contact",
                "The password must not contain your email or phone number.",
                "La contraseña no debe contener su correo o su teléfono.",
            )
    return None


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    """Attempts allowed freely, then a wait doubling from `base` up to `cap` seconds.

    Everything is forgotten `window` seconds after the latest attempt. With `refill_seconds`,
    one attempt is also forgiven for every `refill_seconds` since the latest, so a steady pace
    (a clinic signing its patients up one after another all day) never piles up, while a burst
    does.
    """

    free_attempts: int
    base_seconds: float
    cap_seconds: float
    window_seconds: float
    refill_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class ThrottleRule:
    """One throttle key (already hashed), the back-off it follows, and what success does to it:
    a key about the account is cleared, a key about an address only gets its charge back."""

    key: str
    policy: BackoffPolicy
    cleared_by_success: bool


def lockout_seconds(failures: int, policy: BackoffPolicy) -> float:
    """How long after the latest failure the next attempt must wait (0 while attempts are free)."""
    over = failures - policy.free_attempts
    if over < 0:
        return 0.0
    return float(min(policy.cap_seconds, policy.base_seconds * 2 ** min(over, 32)))


def outstanding(
    failures: int, last_failure_at: datetime, now: datetime, policy: BackoffPolicy
) -> int:
    """The attempts still counted at `now`: none once the window has passed since the latest,
    and one fewer for each `refill_seconds` since the latest when the policy refills."""
    elapsed = (now - last_failure_at).total_seconds()
    if elapsed > policy.window_seconds:
        return 0
    if policy.refill_seconds:
        return max(0, failures - int(max(0.0, elapsed) // policy.refill_seconds))
    return failures


def retry_after(
    failures: int, last_failure_at: datetime, now: datetime, policy: BackoffPolicy
) -> float:
    """Seconds the caller must still wait, 0 when an attempt is allowed now."""
    lockout = lockout_seconds(outstanding(failures, last_failure_at, now, policy), policy)
    if lockout == 0:
        return 0.0
    unlock = last_failure_at + timedelta(seconds=lockout)
    return max(0.0, (unlock - now).total_seconds())


def throttle_key(kind: str, value: str, secret: bytes) -> str:
    """A keyed hash, so the throttle table never holds an identifier or an address in clear."""
    return hmac.new(secret, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def contact_hash(contact: str, secret: bytes) -> str:
    """A keyed hash of an email or phone number in its one spelling: what is kept about a
    contact that may not belong to any account (a clinic's pending registration)."""
    return throttle_key("contact", canonical_identifier(contact), secret)


def successor_token(token: str, key: bytes) -> str:
    """The refresh token that replaces `token` when it is spent: a keyed hash of it, so that a
    retry of the same refresh can be answered with the same new token without keeping it."""
    digest = hmac.new(key, b"refresh successor:" + token.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def hash_refresh_token(token: str) -> str:
    """Refresh tokens are 256-bit random values, so an unkeyed SHA-256 is enough to store them."""
    return hashlib.sha256(token.encode()).hexdigest()


CODE_DIGITS = 6


def new_code() -> str:
    """A one-time code: six digits from `secrets`, leading zeros kept."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def hash_code(code_id: str, code: str, key: bytes) -> str:
    """A one-time code as kept: keyed by the server's secret and bound to its row, so a copy of
    the table alone does not give the million possible codes away."""
    return hmac.new(key, f"one-time code:{code_id}:{code}".encode(), hashlib.sha256).hexdigest()
