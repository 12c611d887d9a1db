"""Pure account rules: phone numbers, the password policy, the login back-off."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cooperative.accounts import rules
from cooperative.kernel.principal import Role, Scope, scopes_for


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+52 55 1234 5678", "+525512345678"),
        ("+1 (619) 555-0100", "+16195550100"),
        ("0052 951 123 4567", "+529511234567"),
        ("+52.951.123.4567", "+529511234567"),
        # as people in Mexico type it: national, with the country code but no plus, the old
        # mobile 1, and the dialling prefixes dropped in 2019-2020
        ("951 100 0002", "+529511000002"),
        ("9511000002", "+529511000002"),
        ("52 951 100 0002", "+529511000002"),
        ("+52 1 951 100 0002", "+529511000002"),
        ("521 951 100 0002", "+529511000002"),
        ("0052 1 951 100 0002", "+529511000002"),
        ("044 951 100 0002", "+529511000002"),
        ("045 951 100 0002", "+529511000002"),
        ("01 951 100 0002", "+529511000002"),
        ("5512345678", "+525512345678"),
        # and in the US: not a Mexican number, so read as a US one
        ("(213) 555-0100", "+12135550100"),
        ("213-555-0100", "+12135550100"),
        ("1 213 555 0100", "+12135550100"),
        ("+1 213 555 0100", "+12135550100"),
    ],
)
def test_phone_numbers_normalize_to_e164(raw: str, e164: str) -> None:
    assert rules.normalize_phone(raw) == e164


@pytest.mark.parametrize(
    "raw", ["12345", "+0 55 1234 5678", "+52", "+52abc12345678", "", "951 100 00", "+52 0000000000"]
)
def test_what_is_not_a_valid_phone_number_is_refused(raw: str) -> None:
    with pytest.raises(ValueError, match=r"\+52 951 123 4567"):
        rules.normalize_phone(raw)


def test_sign_in_finds_a_number_stored_before_numbers_were_validated() -> None:
    """An account whose number is no valid one still signs in by its stored spelling."""
    assert rules.canonical_identifier("+999 123 456 789") == "+999123456789"


def test_password_policy() -> None:
    assert rules.password_problem("maiz azul de oaxaca", min_length=10) is None
    assert rules.password_problem("short", min_length=10).code == "too-short"  # type: ignore[union-attr]
    assert rules.password_problem("PASSWORD123", min_length=10).code == "common"  # type: ignore[union-attr]
    assert rules.password_problem("abababababab", min_length=10).code == "common"  # type: ignore[union-attr]
    problem = rules.password_problem(
        "rosa.martinez2026", min_length=10, identifiers=("rosa.martinez@example.org",)
    )
    assert problem is not None and problem.code == "contains-contact"


def test_the_shipped_common_password_list_is_loaded() -> None:
    common = rules.common_passwords()
    assert len(common) > 100
    assert {"contraseña123", "1234567890", "password123"} <= common


POLICY = rules.BackoffPolicy(free_attempts=5, base_seconds=1, cap_seconds=900, window_seconds=900)


@given(st.integers(min_value=0, max_value=10_000))
def test_lockout_never_shrinks_as_failures_grow_and_is_capped(failures: int) -> None:
    now, nxt = rules.lockout_seconds(failures, POLICY), rules.lockout_seconds(failures + 1, POLICY)
    assert 0 <= now <= nxt <= POLICY.cap_seconds
    if failures < POLICY.free_attempts:
        assert now == 0


def test_lockout_doubles_after_the_free_attempts() -> None:
    assert [rules.lockout_seconds(n, POLICY) for n in range(4, 10)] == [0, 1, 2, 4, 8, 16]


def test_old_failures_are_forgotten() -> None:
    last = datetime(2026, 1, 1, tzinfo=UTC)
    assert rules.retry_after(9, last, last + timedelta(seconds=10), POLICY) == 6.0
    assert rules.retry_after(30, last, last + timedelta(seconds=901), POLICY) == 0.0


def test_throttle_keys_hide_the_identifier() -> None:
    key = rules.throttle_key("account", "rosa@example.org", b"secret")
    assert "rosa" not in key and len(key) == 64
    assert key != rules.throttle_key("account", "rosa@example.org", b"other secret")


def test_scopes_follow_roles_and_can_only_narrow() -> None:
    assert str(Scope.ADMIN) not in scopes_for([Role.PATIENT])
    assert str(Scope.PATIENTS_REGISTER) in scopes_for([Role.CLINIC_STAFF])
    assert scopes_for([Role.ADMIN]) == {str(s) for s in Scope}
    assert scopes_for([Role.PATIENT], ["me", "admin"]) == {"me"}
    assert scopes_for(["no-such-role"]) == frozenset()


REFILLING = rules.BackoffPolicy(
    free_attempts=20, base_seconds=1, cap_seconds=900, window_seconds=900, refill_seconds=60
)


def test_a_refilling_throttle_forgives_one_attempt_a_minute() -> None:
    last = datetime(2026, 1, 1, tzinfo=UTC)
    assert rules.outstanding(20, last, last + timedelta(seconds=59), REFILLING) == 20
    assert rules.outstanding(20, last, last + timedelta(seconds=60), REFILLING) == 19
    assert rules.outstanding(20, last, last + timedelta(minutes=10), REFILLING) == 10
    assert rules.outstanding(3, last, last + timedelta(minutes=10), REFILLING) == 0
    assert rules.retry_after(20, last, last + timedelta(seconds=0.5), REFILLING) == 0.5
    assert rules.retry_after(20, last, last + timedelta(seconds=60), REFILLING) == 0.0
    # without a refill only the window forgets
    assert rules.outstanding(9, last, last + timedelta(minutes=10), POLICY) == 9
    assert rules.outstanding(9, last, last + timedelta(seconds=901), POLICY) == 0


@given(st.integers(min_value=0, max_value=500), st.floats(min_value=0, max_value=2000))
def test_outstanding_attempts_never_grow_with_time(failures: int, seconds: float) -> None:
    last = datetime(2026, 1, 1, tzinfo=UTC)
    for policy in (POLICY, REFILLING):
        sooner = rules.outstanding(failures, last, last + timedelta(seconds=seconds), policy)
        later = rules.outstanding(failures, last, last + timedelta(seconds=seconds + 30), policy)
        assert 0 <= later <= sooner <= failures


def test_contact_hashes_are_one_per_spelling_and_keyed() -> None:
    assert rules.contact_hash("+52 951 555 0101", b"k") == rules.contact_hash(
        "0052951-555-0101", b"k"
    )
    assert rules.contact_hash("Rosa@Example.org", b"k") == rules.contact_hash(
        "rosa@example.org", b"k"
    )
    assert rules.contact_hash("rosa@example.org", b"k") != rules.contact_hash(
        "rosa@example.org", b"j"
    )
