"""One provider's appointments as an iCalendar (RFC 5545) feed, as a pure function: events
in, bytes out.

The feed is subscribed to from, and read by, third-party calendar services (Google, Apple,
Microsoft), which keep their own copies: it is a disclosure outside the practice. So a
SUMMARY carries no PHI beyond what the caller chose to put in it (`feed_summary` gives the
appointment type and the patient's initials, "New patient visit (J.S.)"); the renderer adds
no names, notes or patient identifiers of its own: it writes the fields of `FeedEvent` and
nothing else.

Times are written in UTC ("Z"), so no VTIMEZONE is needed and no client can misread a local
time; X-WR-TIMEZONE only tells clients which zone to show them in. A cancelled appointment
stays in the feed with STATUS:CANCELLED and a higher SEQUENCE, so subscribers remove it
instead of keeping a stale copy.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

from icalendar import Calendar, Event, vDuration

__all__ = [
    "PRODID",
    "REFRESH",
    "STATUSES",
    "FeedEvent",
    "feed_summary",
    "render_feed",
]

PRODID = "-//Frontdesk//Provider calendar//EN"
# How often subscribers should fetch the feed again (RFC 7986, and Outlook's X- form).
REFRESH = timedelta(minutes=15)
STATUSES: Mapping[str, str] = MappingProxyType(
    {"confirmed": "CONFIRMED", "cancelled": "CANCELLED", "tentative": "TENTATIVE"}
)


@dataclass(frozen=True)
class FeedEvent:
    """One appointment as the feed shows it. `uid` stays the same for the appointment's life
    (build it from the appointment id, never a patient identifier: it leaves the practice
    too), and `sequence` grows with each change subscribers should notice."""

    uid: str
    start: datetime
    end: datetime
    summary: str
    location: str | None
    status: str
    sequence: int
    last_modified: datetime

    def __post_init__(self) -> None:
        if any(t.tzinfo is None for t in (self.start, self.end, self.last_modified)):
            raise ValueError("feed events take aware datetimes")
        # As instants: within one zone, Python compares wall-clock times and ignores `fold`.
        if self.end.astimezone(UTC) < self.start.astimezone(UTC):
            raise ValueError("an event cannot end before it starts")
        if not self.uid.strip():
            raise ValueError("a feed event needs a UID")
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}")
        if self.sequence < 0:
            raise ValueError("SEQUENCE cannot be negative")


def render_feed(
    events: Iterable[FeedEvent], *, calendar_name: str, zone_name: str, now: datetime
) -> bytes:
    """The whole feed, events in start order (so the same events give the same bytes, apart
    from DTSTAMP, which is `now`)."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", calendar_name)
    calendar.add("x-wr-timezone", zone_name)
    calendar.add("refresh-interval", vDuration(REFRESH), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(REFRESH))
    stamp = now.astimezone(UTC)
    # By instant, as in FeedEvent, so a fall-back night sorts in real time order.
    for event in sorted(events, key=lambda e: (e.start.astimezone(UTC), e.uid)):
        calendar.add_component(_vevent(event, stamp))
    return calendar.to_ical()


def _vevent(event: FeedEvent, stamp: datetime) -> Event:
    vevent = Event()
    vevent.add("uid", event.uid)
    vevent.add("dtstamp", stamp)
    vevent.add("dtstart", event.start.astimezone(UTC))
    vevent.add("dtend", event.end.astimezone(UTC))
    vevent.add("summary", event.summary)
    if event.location:
        vevent.add("location", event.location)
    vevent.add("status", STATUSES[event.status])
    vevent.add("sequence", event.sequence)
    vevent.add("last-modified", event.last_modified.astimezone(UTC))
    vevent.add("transp", "OPAQUE")
    return vevent


def feed_summary(appointment_type_name: str, first_name: str, last_name: str) -> str:
    """The type and the patient's initials, "New patient visit (J.S.)": the least a provider
    needs to recognise the visit, since the feed leaves the practice. A name with no letter
    gives no initial."""
    initials = "".join(f"{letter}." for letter in map(_initial, (first_name, last_name)) if letter)
    kind = appointment_type_name.strip()
    return f"{kind} ({initials})" if initials else kind


def _initial(name: str) -> str:
    """The first letter, composed first so an accent stays on it ("Élodie" gives "É", even
    when typed as E plus a combining accent), then upper-cased."""
    for char in unicodedata.normalize("NFC", name):
        if char.isalpha():
            upper = char.upper()
            return upper if len(upper) == 1 else char
    return ""
