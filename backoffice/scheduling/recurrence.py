"""Recurring appointment series from an RFC 5545 RRULE, as pure functions: rule text in,
appointment instants out.

A series repeats in local wall-clock time, like the slot engine: a weekly 09:00 visit in
New York stays at 09:00 across a DST change (14:00Z in winter, 13:00Z in summer). The rule
is expanded from a naive local start in the clinic's zone, and each occurrence is only then
given the zone and turned into a UTC instant.

Staff type (or a form builds) the rule, so it is checked in two steps, each raising the
same error with a message for a field error on `rrule`:

    parse_rule(text)          what the text alone shows: syntax, an end (COUNT or UNTIL),
         │                    at most daily, no more than `max_occurrences` by COUNT
         ▼
    occurrences(rule, ...)    what needs the first appointment: the first start is on the
                              rule's pattern, UNTIL is after it and within `max_span_years`,
                              no more than `max_occurrences` by UNTIL

Errors:

    ValueError
     └── InvalidRecurrence   a rule a clinic should not book; the message is for staff

A plain ValueError (a naive or sub-second `first_start`, a non-positive duration) is a bug in
the caller, never something to show staff.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from dateutil.rrule import rrulestr

from backoffice.scheduling.slots import local_instant

__all__ = [
    "DEFAULT_MAX_OCCURRENCES",
    "DEFAULT_MAX_SPAN_YEARS",
    "InvalidRecurrence",
    "Occurrence",
    "RecurrenceRule",
    "occurrences",
    "parse_rule",
]

DEFAULT_MAX_OCCURRENCES = 104  # two years of weekly visits
DEFAULT_MAX_SPAN_YEARS = 2

_FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
_TOO_FREQUENT = ("HOURLY", "MINUTELY", "SECONDLY")
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
# Numeric list parts: (smallest, largest, negatives allowed), from RFC 5545 section 3.3.10.
_NUMBER_LISTS = {
    "BYMONTH": (1, 12, False),
    "BYMONTHDAY": (1, 31, True),
    "BYYEARDAY": (1, 366, True),
    "BYWEEKNO": (1, 53, True),
    "BYSETPOS": (1, 366, True),
}
# The time of day is the first appointment's: these would put several visits in one day.
_TIME_OF_DAY = ("BYHOUR", "BYMINUTE", "BYSECOND")
_BYDAY_ITEM = re.compile(r"([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)")
_UNTIL = re.compile(r"(\d{8})(?:T(\d{6})(Z)?)?")
# A UTC UNTIL is turned into local wall-clock time to bound the expansion, then applied to
# the exact instants; this margin covers any zone's offset change near it.
_UNTIL_MARGIN = timedelta(days=1)


class InvalidRecurrence(ValueError):
    """A rule a clinic should not book; the message names the problem for staff."""


@dataclass(frozen=True)
class Occurrence:
    """One appointment of a series, [start, end) in UTC."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class RecurrenceRule:
    """A checked RRULE and the limits it was checked against (which `occurrences` applies
    again, with the first start). `until` is a date (through the end of that local day), a
    naive datetime (local wall-clock time) or an aware one (an instant, given in UTC)."""

    frequency: str
    count: int | None
    until: date | datetime | None
    # INTERVAL, BY* and WKST, upper-cased, in the order given.
    parts: tuple[tuple[str, str], ...]
    max_occurrences: int = DEFAULT_MAX_OCCURRENCES
    max_span_years: int = DEFAULT_MAX_SPAN_YEARS

    @property
    def text(self) -> str:
        """The rule in canonical form (FREQ first, no "RRULE:" prefix), for storage."""
        parts = [("FREQ", self.frequency), *self.parts]
        if self.count is not None:
            parts.append(("COUNT", str(self.count)))
        if self.until is not None:
            parts.append(("UNTIL", _format_until(self.until)))
        return ";".join(f"{name}={value}" for name, value in parts)


def parse_rule(
    text: str,
    *,
    max_occurrences: int = DEFAULT_MAX_OCCURRENCES,
    max_span_years: int = DEFAULT_MAX_SPAN_YEARS,
) -> RecurrenceRule:
    """Check an RRULE value (with or without "RRULE:") as far as the text alone allows;
    the rest is checked by `occurrences`, which knows the first start."""
    body = text.strip()
    if body[:6].upper() == "RRULE:":
        body = body[6:].strip()
    if not body:
        raise InvalidRecurrence("The repeat rule is empty.")
    if ":" in body or "\n" in body or "\r" in body:
        raise InvalidRecurrence("The repeat rule must be a single RRULE.")

    given: dict[str, str] = {}
    for piece in body.split(";"):
        if not piece.strip():
            continue
        name, equals, value = piece.partition("=")
        name, value = name.strip().upper(), value.strip().upper()
        if not equals or not name or not value:
            raise InvalidRecurrence(f"The repeat rule could not be read at '{piece.strip()}'.")
        if name in given:
            raise InvalidRecurrence(f"The repeat rule gives {name} more than once.")
        given[name] = value

    frequency = given.pop("FREQ", None)
    if frequency is None:
        raise InvalidRecurrence("The repeat rule has no FREQ (how often it repeats).")
    if frequency in _TOO_FREQUENT:
        raise InvalidRecurrence(
            f"The series repeats {frequency}; a series can repeat at most daily."
        )
    if frequency not in _FREQUENCIES:
        raise InvalidRecurrence(f"FREQ must be one of {', '.join(_FREQUENCIES)}.")

    count_text, until_text = given.pop("COUNT", None), given.pop("UNTIL", None)
    if count_text is None and until_text is None:
        raise InvalidRecurrence(
            "The series has no end: give a number of appointments (COUNT) or an end date (UNTIL)."
        )
    if count_text is not None and until_text is not None:
        raise InvalidRecurrence(
            "Give a number of appointments (COUNT) or an end date (UNTIL), not both."
        )
    count = None if count_text is None else _count(count_text, max_occurrences)
    until = None if until_text is None else _until(until_text)

    for name, value in given.items():
        _check_part(name, value, frequency)
    parts = tuple(given.items())
    # dateutil reads the syntax we do not check ourselves (and checks what we did, again).
    _expander(frequency, parts, dtstart=datetime(2000, 1, 3), bound=datetime(2000, 1, 3))
    return RecurrenceRule(
        frequency=frequency,
        count=count,
        until=until,
        parts=parts,
        max_occurrences=max_occurrences,
        max_span_years=max_span_years,
    )


def occurrences(
    rule: RecurrenceRule, *, first_start: datetime, zone: ZoneInfo, duration: timedelta
) -> list[Occurrence]:
    """The series' appointments, the first at `first_start`, the rest at the same local
    wall-clock time in `zone` (a time a spring-forward change skips lands after the gap,
    as in the slot engine), as UTC instants."""
    if first_start.tzinfo is None:
        raise ValueError("first_start must be an aware datetime")
    if first_start.microsecond:
        raise ValueError("first_start must be a whole second")
    if duration <= timedelta(0):
        raise ValueError("an appointment must last a positive time")

    local_first = first_start.astimezone(zone).replace(tzinfo=None)
    last_allowed = local_first + relativedelta(years=rule.max_span_years)
    too_long = InvalidRecurrence(
        f"A series can last at most {_years(rule.max_span_years)}: from "
        f"{local_first:%Y-%m-%d} it must end by {last_allowed:%Y-%m-%d}."
    )

    exact_until: datetime | None = None  # an instant no start may pass
    if rule.until is None:
        bound = last_allowed
    elif isinstance(rule.until, datetime) and rule.until.tzinfo is not None:
        exact_until = rule.until
        local_until = rule.until.astimezone(zone).replace(tzinfo=None)
        if exact_until < first_start:
            raise _ends_before(rule.until, local_first)
        if local_until > last_allowed:
            raise too_long
        bound = local_until + _UNTIL_MARGIN
    elif isinstance(rule.until, datetime):
        bound = rule.until
        if bound < local_first:
            raise _ends_before(rule.until, local_first)
        if bound > last_allowed:
            raise too_long
    else:
        if rule.until < local_first.date():
            raise _ends_before(rule.until, local_first)
        if rule.until > last_allowed.date():
            raise too_long
        bound = datetime.combine(rule.until, time(23, 59, 59))

    starts: list[datetime] = []
    for wall in _expander(rule.frequency, rule.parts, dtstart=local_first, bound=bound):
        if not starts:
            if wall != local_first:
                break
            start = first_start
        else:
            start = local_instant(wall.date(), wall.time(), zone)
        if exact_until is not None and start > exact_until:
            break
        if wall > last_allowed:
            raise too_long
        starts.append(start)
        if len(starts) == rule.count:
            break
        if len(starts) > rule.max_occurrences:
            raise InvalidRecurrence(
                f"A series can have at most {rule.max_occurrences} appointments; this rule "
                "gives more before its end date."
            )

    if not starts:
        raise InvalidRecurrence(
            f"The first appointment ({local_first:%a %Y-%m-%d %H:%M}) is not on a day the "
            "repeat rule gives; start the series on one of its days."
        )
    if rule.count is not None and len(starts) < rule.count:
        raise too_long
    return [Occurrence(s.astimezone(UTC), (s + duration).astimezone(UTC)) for s in starts]


def _count(value: str, max_occurrences: int) -> int:
    if not value.isdigit() or int(value) < 1:
        raise InvalidRecurrence("COUNT must be a whole number of appointments, at least 1.")
    count = int(value)
    if count > max_occurrences:
        raise InvalidRecurrence(
            f"A series can have at most {max_occurrences} appointments; COUNT={count} asks "
            "for more."
        )
    return count


def _until(value: str) -> date | datetime:
    """UNTIL as a date (YYYYMMDD), a local date-time (YYYYMMDDTHHMMSS) or a UTC one
    (YYYYMMDDTHHMMSSZ), the forms RFC 5545 allows."""
    matched = _UNTIL.fullmatch(value)
    try:
        if matched is None:
            raise ValueError(value)
        day, clock, utc = matched.groups()
        if clock is None:
            return datetime.strptime(day, "%Y%m%d").date()
        until = datetime.strptime(day + clock, "%Y%m%d%H%M%S")
    except ValueError:
        raise InvalidRecurrence(
            "UNTIL must be a date (YYYYMMDD) or a UTC date and time (YYYYMMDDTHHMMSSZ)."
        ) from None
    return until.replace(tzinfo=UTC) if utc else until


def _format_until(until: date | datetime) -> str:
    if not isinstance(until, datetime):
        return f"{until:%Y%m%d}"
    return f"{until:%Y%m%dT%H%M%S}" + ("Z" if until.tzinfo is not None else "")


def _check_part(name: str, value: str, frequency: str) -> None:
    """RFC 5545's ranges, checked here because dateutil accepts some values out of range
    and then fails, or loops, when expanding."""
    if name in _TIME_OF_DAY:
        raise InvalidRecurrence(
            f"{name} is not allowed: every appointment of a series is at the time of the first."
        )
    if name == "INTERVAL":
        if not value.isdigit() or int(value) < 1:
            raise InvalidRecurrence("INTERVAL must be a whole number, at least 1.")
    elif name == "WKST":
        if value not in _WEEKDAYS:
            raise InvalidRecurrence(f"WKST must be one of {', '.join(_WEEKDAYS)}.")
    elif name == "BYDAY":
        for item in value.split(","):
            _check_byday(item, frequency)
    elif name in _NUMBER_LISTS:
        low, high, negatives = _NUMBER_LISTS[name]
        for item in value.split(","):
            number = int(item) if re.fullmatch(r"[+-]?\d{1,3}", item) else 0
            if not (low <= number <= high or (negatives and low <= -number <= high)):
                allowed = f"{low} to {high}" + (f" or -{high} to -{low}" if negatives else "")
                raise InvalidRecurrence(f"{name} must be {allowed}; '{item}' is not.")
    else:
        raise InvalidRecurrence(f"The repeat rule has an unknown part {name}.")


def _check_byday(item: str, frequency: str) -> None:
    matched = _BYDAY_ITEM.fullmatch(item)
    if matched is None:
        raise InvalidRecurrence(
            f"BYDAY must list days such as MO,WE,FR or 2TU; '{item}' is not one."
        )
    if matched.group(1) is None:
        return
    ordinal = abs(int(matched.group(1)))
    largest = {"MONTHLY": 5, "YEARLY": 53}.get(frequency)
    if largest is None:
        raise InvalidRecurrence(
            f"BYDAY '{item}' numbers a weekday, which only a MONTHLY or YEARLY rule can do."
        )
    if not 1 <= ordinal <= largest:
        raise InvalidRecurrence(
            f"BYDAY '{item}': a {frequency} rule numbers weekdays 1 to {largest} "
            f"(or -1 to -{largest} from the end)."
        )


def _expander(
    frequency: str, parts: tuple[tuple[str, str], ...], *, dtstart: datetime, bound: datetime
) -> Iterable[datetime]:
    """A dateutil rrule over naive wall-clock times from `dtstart` to `bound`. It is always
    bounded (COUNT is applied by the caller), so no rule can run on for centuries, and it
    starts weeks on Monday unless told otherwise, whatever `calendar.firstweekday()` says."""
    given = dict(parts)
    given.setdefault("WKST", "MO")
    given["UNTIL"] = f"{bound:%Y%m%dT%H%M%S}"
    text = ";".join(f"{name}={value}" for name, value in [("FREQ", frequency), *given.items()])
    try:
        return rrulestr(text, dtstart=dtstart)
    except (ValueError, IndexError, KeyError) as exc:
        raise InvalidRecurrence(f"The repeat rule could not be read ({exc}).") from None


def _ends_before(until: date | datetime, local_first: datetime) -> InvalidRecurrence:
    return InvalidRecurrence(
        f"The series ends (UNTIL={_format_until(until)}) before its first appointment on "
        f"{local_first:%Y-%m-%d}."
    )


def _years(count: int) -> str:
    return f"{count} year" if count == 1 else f"{count} years"
