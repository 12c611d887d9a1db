"""iCalendar (RFC 5545) for one appointment, to add to a phone's calendar, written with the
`icalendar` library.

No health data goes in it (no reason, no referral, no specialty): calendars sync to other
companies' clouds. It carries what the patient needs on the day: the consult page's link and a
reminder (`VALARM`) when the room opens.
"""

from datetime import UTC, datetime, timedelta

from icalendar import Alarm, Calendar, Event


def event(
    *,
    uid: str,
    start: datetime,
    end: datetime,
    summary: str,
    description: str,
    url: str,
    remind_before: timedelta,
    reminder: str,
    cancelled: bool,
    stamp: datetime,
    sequence: int,
) -> str:
    """`sequence` grows with every change (reschedule, cancellation), so calendars update the
    event they already hold instead of keeping the old time. `url` is the consult page; a
    reminder saying `reminder` goes off `remind_before` the start, unless the consult was
    called off."""
    calendar = Calendar()
    calendar.add("prodid", "-//Tequio//Consultas//ES")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    entry = Event()
    entry.add("uid", uid)
    entry.add("dtstamp", stamp.astimezone(UTC))
    entry.add("sequence", sequence)
    entry.add("dtstart", start.astimezone(UTC))
    entry.add("dtend", end.astimezone(UTC))
    entry.add("summary", summary)
    entry.add("description", description)
    entry.add("url", url)
    entry.add("location", url)  # what most phone calendars show and open as a link
    entry.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    if not cancelled:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", reminder)
        alarm.add("trigger", -remind_before)
        entry.add_component(alarm)
    calendar.add_component(entry)
    written: bytes = calendar.to_ical()
    return written.decode()
