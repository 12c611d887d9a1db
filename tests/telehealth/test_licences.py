"""Licences are checked on the calendar date where the patient is."""

from datetime import UTC, date, datetime

import pytest

from telehealth.practitioners.rules import LicenceFact, date_in, licensed_for, zone_of


def test_a_consult_late_in_los_angeles_is_already_tomorrow_in_mexico() -> None:
    # 23:00 PST on 25 November is 01:00 on the 26th in Mexico City and 02:00 in Cancún
    moment = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
    mexican_licence = [LicenceFact("MX", date(2026, 11, 25))]
    assert date_in("MX", moment) == date(2026, 11, 26)
    assert not licensed_for(mexican_licence, "MX", date_in("MX", moment))


def test_a_consult_after_midnight_in_mexico_city_is_still_today_in_california() -> None:
    moment = datetime(2026, 11, 26, 6, 30, tzinfo=UTC)  # 00:30 in Mexico City, 22:30 in LA
    californian_licence = [LicenceFact("US-CA", date(2026, 11, 25))]
    assert date_in("US-CA", moment) == date(2026, 11, 25)
    assert licensed_for(californian_licence, "US-CA", date_in("US-CA", moment))


@pytest.mark.parametrize(
    ("jurisdiction", "zone"),
    [
        ("MX-BCN", "America/Tijuana"),
        ("MX-OAX", "America/Mexico_City"),
        ("US-TX", "America/Chicago"),
        ("US-AZ", "America/Phoenix"),
        ("US-HI", "Pacific/Honolulu"),
        ("MX", "America/Cancun"),
    ],
)
def test_zones_of_jurisdictions(jurisdiction: str, zone: str) -> None:
    assert zone_of(jurisdiction) == zone


def test_a_mexican_licence_covers_every_mexican_state_and_a_us_one_only_its_state() -> None:
    licences = [LicenceFact("MX", date(2030, 1, 1)), LicenceFact("US-CA", date(2030, 1, 1))]
    day = date(2027, 6, 1)
    assert licensed_for(licences, "MX-BCN", day) and licensed_for(licences, "MX", day)
    assert licensed_for(licences, "US-CA", day) and not licensed_for(licences, "US-TX", day)
    assert licensed_for(licences, "MX", date(2030, 1, 1))  # the expiry date itself counts
    assert not licensed_for(licences, "MX", date(2030, 1, 2))
