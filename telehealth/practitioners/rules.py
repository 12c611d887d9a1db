"""Pure rules: specialty codes, language tags, jurisdictions, licence validity, and the entries of
a practitioner's availability (weekly and dated windows in local wall time, absolute intervals)."""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cooperative.membership.rules import MX_STATES, US_STATES

# The documented specialty codes (with English and Spanish names for clients to show).
SPECIALTIES: dict[str, tuple[str, str]] = {
    "family_medicine": ("Family medicine", "Medicina familiar"),
    "internal_medicine": ("Internal medicine", "Medicina interna"),
    "pediatrics": ("Pediatrics", "Pediatría"),
    "gynecology": ("Gynecology and obstetrics", "Ginecología y obstetricia"),
    "cardiology": ("Cardiology", "Cardiología"),
    "endocrinology": ("Endocrinology (diabetes)", "Endocrinología (diabetes)"),
    "dermatology": ("Dermatology", "Dermatología"),
    "psychiatry": ("Psychiatry", "Psiquiatría"),
    "psychology": ("Psychology", "Psicología"),
    "nutrition": ("Nutrition", "Nutrición"),
    "neurology": ("Neurology", "Neurología"),
    "ophthalmology": ("Ophthalmology", "Oftalmología"),
}

# BCP 47: a primary language (2–3 letters: es, en, nah, yua, mix, zap…) and optional subtags.
_BCP47 = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


def normalize_language(tag: str) -> str:
    head, *rest = tag.strip().split("-")
    candidate = "-".join([head.lower(), *rest])
    if not _BCP47.match(candidate):
        raise ValueError(f"{tag!r} is not a BCP 47 language tag (es, en, nah, es-MX…)")
    return candidate


def primary_language(tag: str) -> str:
    return tag.split("-")[0].lower()


def valid_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValueError(f"unknown IANA time zone {name!r}") from exc
    return name


def normalize_licence_jurisdiction(code: str) -> str:
    """Licences: `MX` (a cédula profesional is national) or a US state, `US-CA`."""
    clean = code.strip().upper()
    if clean == "MX":
        return clean
    if clean.startswith("US-") and clean[3:] in US_STATES:
        return clean
    raise ValueError("a licence is for MX or a US state such as US-CA")


def normalize_visit_jurisdiction(code: str) -> str:
    """Where the patient is at visit time: `MX`, a Mexican state (`MX-BCN`) or a US state."""
    clean = code.strip().upper()
    if clean == "MX" or (clean.startswith("MX-") and clean[3:] in MX_STATES):
        return clean
    if clean.startswith("US-") and clean[3:] in US_STATES:
        return clean
    raise ValueError("give MX, a Mexican state (MX-BCN) or a US state (US-CA)")


# The longest booking horizon a practitioner may set; dated windows and time off reach no further.
MAX_HORIZON_DAYS = 365
# Time off may begin a little in the past: a doctor who falls ill records it some hours later.
TIME_OFF_LOOKBACK = timedelta(days=1)
# Upcoming extra windows, and upcoming spans of time off, one schedule keeps (each is read on
# every slot search, so one schedule cannot slow everyone's search).
MAX_UPCOMING_ENTRIES = 500


def extra_window_dates(today: date) -> tuple[date, date]:
    """The first and last date an extra window may be added for, `today` being the date on the
    practitioner's own calendar."""
    return today, today + timedelta(days=MAX_HORIZON_DAYS)


def time_off_fits(start: datetime, end: datetime, now: datetime) -> bool:
    """Time off that still matters (it ends after `now`) and stays within the longest horizon."""
    earliest, latest = time_off_bounds(now)
    return earliest <= start < end and now < end <= latest


def time_off_bounds(now: datetime) -> tuple[datetime, datetime]:
    """The earliest start and the latest end of time off recorded at `now`."""
    return now - TIME_OFF_LOOKBACK, now + timedelta(days=MAX_HORIZON_DAYS + 1)


def licence_needed(visit_jurisdiction: str) -> str:
    """The licence a visit needs: Mexico licenses nationally, the US state by state."""
    return "MX" if visit_jurisdiction.startswith("MX") else visit_jurisdiction


@dataclass(frozen=True, slots=True)
class LicenceFact:
    jurisdiction: str
    expires_on: date


def licensed_for(licences: Iterable[LicenceFact], visit_jurisdiction: str, on: date) -> bool:
    """Whether a valid licence covers a patient in `visit_jurisdiction` on `on` (the expiry date
    itself still counts)."""
    needed = licence_needed(visit_jurisdiction)
    return any(lic.jurisdiction == needed and on <= lic.expires_on for lic in licences)


# The time zone that decides "which day" in a jurisdiction, for licence validity: for a US state
# its main (most populous) zone, for Mexico the state's zone, and for Mexico as a whole the
# easternmost (Quintana Roo), so that a licence is never used after its last day anywhere.
_MX_ZONES = {
    "BCN": "America/Tijuana",
    "BCS": "America/Mazatlan",
    "SON": "America/Hermosillo",
    "SIN": "America/Mazatlan",
    "NAY": "America/Mazatlan",
    "CHH": "America/Chihuahua",
    "ROO": "America/Cancun",
}
_US_ZONE_STATES = {
    "America/New_York": "CT DE DC FL GA IN KY ME MD MA MI NH NJ NY NC OH PA RI SC VT VA WV",
    "America/Chicago": "AL AR IL IA KS LA MN MS MO NE ND OK SD TN TX WI",
    "America/Denver": "CO ID MT NM UT WY",
    "America/Phoenix": "AZ",
    "America/Los_Angeles": "CA NV OR WA",
    "America/Anchorage": "AK",
    "Pacific/Honolulu": "HI",
}
_US_ZONES = {state: zone for zone, states in _US_ZONE_STATES.items() for state in states.split()}


def zone_of(jurisdiction: str) -> str:
    if jurisdiction == "MX":
        return "America/Cancun"
    country, _, state = jurisdiction.partition("-")
    if country == "MX":
        return _MX_ZONES.get(state, "America/Mexico_City")
    return _US_ZONES[state]


def date_in(jurisdiction: str, moment: datetime) -> date:
    """The calendar date in the patient's jurisdiction at `moment`: the day a licence must cover."""
    return moment.astimezone(ZoneInfo(zone_of(jurisdiction))).date()


# ---- availability entries (the slot rules in telehealth.scheduling lay slots out from them) ----


@dataclass(frozen=True, slots=True)
class WeeklyWindow:
    """Availability every week on `weekday` (0 = Monday … 6 = Sunday), in local wall time."""

    weekday: int
    start: time
    end: time

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError("weekday must be 0 (Monday) to 6 (Sunday)")
        _check_wall_times(self.start, self.end)


@dataclass(frozen=True, slots=True)
class DatedWindow:
    """Availability added on one local date, on top of the weekly windows."""

    day: date
    start: time
    end: time

    def __post_init__(self) -> None:
        _check_wall_times(self.start, self.end)


@dataclass(frozen=True, slots=True)
class Interval:
    """An absolute, half-open span between two timezone-aware datetimes (in any zones)."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if as_utc(self.start) >= as_utc(self.end):
            raise ValueError("an interval must end after it starts")


def _check_wall_times(start: time, end: time) -> None:
    if start.tzinfo is not None or end.tzinfo is not None:
        raise ValueError("window times are local wall times, without a time zone")
    if start >= end:
        raise ValueError("a window must end after it starts, on the same day")


def as_utc(moment: datetime) -> datetime:
    """The same instant in UTC; an instant without a time zone is refused."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment.isoformat()} has no time zone; instants must be aware")
    return moment.astimezone(UTC)
