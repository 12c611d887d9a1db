"""Pure rules for accounts: contact normalization, the password policy, login back-off."""

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from importlib.resources import files

_E164 = re.compile(r"^\+[1-9][0-9]{7,14}$")
_PHONE_DECORATION = re.compile(r"[\s().\-]")

MAX_PASSWORD_LENGTH = 128


def normalize_email(email: str) -> str:
    return email.strip().lower()


def normalize_phone(phone: str) -> str:
    """A phone number in E.164 (`+5215512345678`); spaces, dots, dashes and parentheses are dropped.

    A leading `00` international prefix becomes `+`. Raises ValueError for anything else, since a
    number without its country code cannot be told apart between Mexico and the US.
    """
    compact = _PHONE_DECORATION.sub("", phone.strip())
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if not _E164.match(compact):
        raise ValueError("phone number must be in international E.164 form, e.g. +52 55 1234 5678")
    return compact


def looks_like_email(identifier: str) -> bool:
    return "@" in identifier


def canonical_identifier(identifier: str) -> str:
    """One spelling per sign-in name, so `+52 951…` and `0052951…` count as the same account."""
    if looks_like_email(identifier):
        return normalize_email(identifier)
    try:
        return normalize_phone(identifier)
    except ValueError:
        return identifier.strip().lower()


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


def hash_refresh_token(token: str) -> str:
    """Refresh tokens are 256-bit random values, so an unkeyed SHA-256 is enough to store them."""
    return hashlib.sha256(token.encode()).hexdigest()
