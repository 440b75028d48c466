"""Open-slot search, as pure functions: templates, exceptions and bookings in, slots out.

Working hours are laid out per local calendar date in the location's time zone and only
then turned into UTC instants, so a 09:00 session is at 09:00 on both sides of a DST
change (13:00Z in summer, 14:00Z in winter in New York). All instants are aware datetimes.

    weekly rules ─┐
    extra sessions┼─▶ working intervals ─▶ candidate starts ─▶ open slots
    closures ─────┘         (UTC)            every `step`     minus bookings and their
                                                              buffers, provider rules
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True, order=True)
class Interval:
    """[start, end) between two aware instants."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("intervals take aware datetimes")
        if self.end < self.start:
            raise ValueError("an interval cannot end before it starts")

    def overlaps(self, other: Interval) -> bool:
        return self.start < other.end and other.start < self.end

    def contains(self, other: Interval) -> bool:
        return self.start <= other.start and other.end <= self.end


@dataclass(frozen=True)
class WeeklyRule:
    """A provider works `start` to `end` local time on `weekday` (0 is Monday), between
    `effective` and `expires` (inclusive), less its breaks."""

    weekday: int
    start: time
    end: time
    effective: date
    expires: date | None = None
    breaks: tuple[tuple[time, time], ...] = ()

    def applies_on(self, day: date) -> bool:
        in_force = self.effective <= day and (self.expires is None or day <= self.expires)
        return in_force and day.weekday() == self.weekday


@dataclass(frozen=True)
class Booking:
    """An appointment already on the calendar, with the buffers its type needs."""

    start: datetime
    end: datetime
    category: str
    buffer_before: timedelta = timedelta(0)
    buffer_after: timedelta = timedelta(0)
    lane: int = 0  # 1 for a deliberate overbooking beside another appointment
    patient_id: object = None  # whose it is, for the overbooking rule

    @property
    def blocked(self) -> Interval:
        return Interval(self.start - self.buffer_before, self.end + self.buffer_after)


@dataclass(frozen=True)
class SlotRequest:
    duration: timedelta
    category: str
    buffer_before: timedelta = timedelta(0)
    buffer_after: timedelta = timedelta(0)
    step: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class ProviderRules:
    max_per_day: int | None = None
    # Categories that may not follow one another without a gap (e.g. two procedures).
    not_back_to_back: frozenset[str] = field(default_factory=frozenset)


def local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a wall-clock time. A time skipped by a spring-forward change lands
    after the gap (02:30 → 03:30), and a time that happens twice in a fall-back change is
    the first of the two (PEP 495, fold=0): what a clock on the wall would show."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def subtract(intervals: Iterable[Interval], cuts: Iterable[Interval]) -> list[Interval]:
    """The parts of `intervals` that no cut covers."""
    pieces = sorted(intervals)
    for cut in sorted(cuts):
        kept = []
        for piece in pieces:
            if not piece.overlaps(cut):
                kept.append(piece)
                continue
            if piece.start < cut.start:
                kept.append(Interval(piece.start, cut.start))
            if cut.end < piece.end:
                kept.append(Interval(cut.end, piece.end))
        pieces = kept
    return pieces


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for interval in sorted(intervals):
        if merged and interval.start <= merged[-1].end:
            last = merged.pop()
            merged.append(Interval(last.start, max(last.end, interval.end)))
        else:
            merged.append(interval)
    return merged


def working_intervals(
    *,
    rules: Iterable[WeeklyRule],
    zone: ZoneInfo,
    first_day: date,
    last_day: date,
    extra_sessions: Iterable[Interval] = (),
    closures: Iterable[Interval] = (),
) -> list[Interval]:
    """When the provider works between two local dates (inclusive), in UTC."""
    rules = list(rules)
    sessions: list[Interval] = list(extra_sessions)
    for day in _days(first_day, last_day):
        for rule in rules:
            if not rule.applies_on(day):
                continue
            session = Interval(
                local_instant(day, rule.start, zone), local_instant(day, rule.end, zone)
            )
            breaks = [
                Interval(local_instant(day, b0, zone), local_instant(day, b1, zone))
                for b0, b1 in rule.breaks
            ]
            sessions.extend(subtract([session], breaks))
    return subtract(merge(sessions), closures)


@dataclass(frozen=True)
class Calendar:
    """One provider's calendar over some days: when they work and what is booked."""

    working: list[Interval]
    bookings: list[Booking]
    zone: ZoneInfo
    rules: ProviderRules = ProviderRules()

    def blocked(self) -> list[Interval]:
        return merge(b.blocked for b in self.bookings)

    def per_day(self) -> Counter[date]:
        return Counter(b.start.astimezone(self.zone).date() for b in self.bookings)


def slot_problem(
    calendar: Calendar,
    slot: Interval,
    request: SlotRequest,
    *,
    not_before: datetime | None = None,
    working: list[Interval] | None = None,
    blocked: list[Interval] | None = None,
    per_day: Counter[date] | None = None,
    bookings: list[Booking] | None = None,
    day: date | None = None,
) -> str | None:
    """Why `slot` cannot be booked, in words for staff, or None when it can. The optional
    arguments narrow the search (to one working session, what blocks it and its local day)
    for speed."""
    if not_before is not None and slot.start < not_before:
        return "that time has passed"
    needs = Interval(slot.start - request.buffer_before, slot.end + request.buffer_after)
    if not any(session.contains(needs) for session in working or calendar.working):
        return "the provider is not working then"
    if any(needs.overlaps(b) for b in (calendar.blocked() if blocked is None else blocked)):
        return "the provider has another appointment then"
    limit = calendar.rules.max_per_day
    counts = calendar.per_day() if per_day is None else per_day
    local_day = day or slot.start.astimezone(calendar.zone).date()
    if limit is not None and counts[local_day] >= limit:
        return "the provider's day is full"
    if _back_to_back(
        slot, request, calendar.bookings if bookings is None else bookings, calendar.rules
    ):
        return "this kind of appointment may not follow another one directly"
    return None


def clashes(calendar: Calendar, slot: Interval, request: SlotRequest) -> list[Booking]:
    """The bookings that stand in the way of `slot` with its buffers."""
    needs = Interval(slot.start - request.buffer_before, slot.end + request.buffer_after)
    return [b for b in calendar.bookings if b.blocked.overlaps(needs)]


def overbook_problem(
    calendar: Calendar,
    slot: Interval,
    request: SlotRequest,
    *,
    risks: dict[object, float],
    threshold: float,
    not_before: datetime | None = None,
) -> str | None:
    """Why `slot` cannot take a second booking beside the ones already there, or None.

    It can when every booking in the way is a first booking (lane 0) whose patient's
    predicted no-show probability (`risks`) is at least `threshold`, and the slot passes
    every other check (working hours, the daily maximum, back-to-back) as if they were not
    there. The daily maximum still counts them: an overbooking is a real appointment."""
    in_the_way = clashes(calendar, slot, request)
    if any(b.lane != 0 for b in in_the_way):
        return "the time is already overbooked"
    unlikely = [b for b in in_the_way if risks.get(b.patient_id, 0.0) < threshold]
    if unlikely:
        return "the booked patient is likely to come (below the provider's no-show threshold)"
    others = [b for b in calendar.bookings if b not in in_the_way]
    return slot_problem(
        Calendar(
            working=calendar.working, bookings=others, zone=calendar.zone, rules=calendar.rules
        ),
        slot,
        request,
        not_before=not_before,
        per_day=calendar.per_day(),
    )


def find_open_slots(
    calendar: Calendar,
    request: SlotRequest,
    *,
    window: Interval,
    not_before: datetime | None = None,
) -> list[Interval]:
    """Every start, at `request.step` from the beginning of each working interval, where
    the appointment and its buffers fit in working time, clear of every booking and its
    buffers, within `window`, and allowed by the provider's rules."""
    blocked, per_day = calendar.blocked(), calendar.per_day()
    slots = []
    for session in calendar.working:
        if not session.overlaps(window):
            continue
        # Only what touches this session can block a slot in it: a day's few bookings, not
        # the whole range's, are checked for each candidate start.
        nearby = [b for b in blocked if b.overlaps(session)]
        touching = [
            b for b in calendar.bookings if session.start <= b.end and b.start <= session.end
        ]
        first_day = session.start.astimezone(calendar.zone).date()
        one_day = (session.end - timedelta(microseconds=1)).astimezone(
            calendar.zone
        ).date() == first_day
        start = session.start
        while start + request.duration <= session.end:
            slot = Interval(start, start + request.duration)
            start += request.step
            if window.contains(slot) and not slot_problem(
                calendar,
                slot,
                request,
                not_before=not_before,
                working=[session],
                blocked=nearby,
                per_day=per_day,
                bookings=touching,
                day=first_day if one_day else None,
            ):
                slots.append(slot)
    return slots


def _back_to_back(
    slot: Interval, request: SlotRequest, bookings: list[Booking], rules: ProviderRules
) -> bool:
    if request.category not in rules.not_back_to_back:
        return False
    return any(
        b.category in rules.not_back_to_back and (b.end == slot.start or slot.end == b.start)
        for b in bookings
    )


def nearest(slots: Iterable[Interval], to: datetime, count: int = 3) -> list[Interval]:
    """The `count` slots whose start is closest to `to`, in time order (for a 409's
    alternatives)."""
    closest = sorted(slots, key=lambda s: (abs(s.start - to), s.start))[:count]
    return sorted(closest)
