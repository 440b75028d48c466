"""The pure slot engine: templates, breaks, exceptions, bookings, buffers, rules and DST."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from backoffice.scheduling.slots import (
    Booking,
    Calendar,
    Interval,
    ProviderRules,
    SlotRequest,
    WeeklyRule,
    find_open_slots,
    merge,
    nearest,
    slot_problem,
    subtract,
    working_intervals,
)

NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
MIN = timedelta(minutes=1)
VISIT = SlotRequest(duration=30 * MIN, category="primary_care", step=30 * MIN)
EVERY_WEEKDAY = [WeeklyRule(wd, time(9), time(12), date(2026, 1, 1)) for wd in range(5)]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(zone: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=zone)


def slots_between(
    first: date,
    last: date,
    *,
    rules=EVERY_WEEKDAY,
    zone=NEW_YORK,
    request=VISIT,
    bookings=(),
    closures=(),
    extra=(),
    provider=ProviderRules(),
    not_before=None,
) -> list[Interval]:
    working = working_intervals(
        rules=rules,
        zone=zone,
        first_day=first,
        last_day=last,
        extra_sessions=extra,
        closures=closures,
    )
    window = Interval(utc(2000, 1, 1), utc(2100, 1, 1))
    calendar = Calendar(working=working, bookings=list(bookings), zone=zone, rules=provider)
    return find_open_slots(calendar, request, window=window, not_before=not_before)


def wall_clock(slots: list[Interval], zone: ZoneInfo) -> list[str]:
    return [s.start.astimezone(zone).strftime("%a %H:%M") for s in slots]


def test_a_morning_session_gives_half_hour_slots_in_local_time():
    slots = slots_between(date(2026, 6, 1), date(2026, 6, 1))
    assert wall_clock(slots, NEW_YORK) == [
        "Mon 09:00",
        "Mon 09:30",
        "Mon 10:00",
        "Mon 10:30",
        "Mon 11:00",
        "Mon 11:30",
    ]
    assert slots[0].start == utc(2026, 6, 1, 13, 0)  # EDT, UTC-4


def test_lunch_break_is_not_offered():
    rules = [WeeklyRule(0, time(9), time(17), date(2026, 1, 1), breaks=((time(12), time(13)),))]
    times = wall_clock(slots_between(date(2026, 6, 1), date(2026, 6, 1), rules=rules), NEW_YORK)
    assert "Mon 11:30" in times and "Mon 13:00" in times
    assert "Mon 12:00" not in times and "Mon 12:30" not in times
    assert len(times) == 14


@pytest.mark.parametrize(
    ("zone", "before", "after", "offset_before", "offset_after"),
    [
        pytest.param(NEW_YORK, date(2026, 3, 6), date(2026, 3, 9), -5, -4, id="New York spring"),
        pytest.param(NEW_YORK, date(2026, 10, 30), date(2026, 11, 2), -4, -5, id="New York fall"),
        pytest.param(LONDON, date(2026, 3, 27), date(2026, 3, 30), 0, 1, id="London spring"),
        pytest.param(LONDON, date(2026, 10, 23), date(2026, 10, 26), 1, 0, id="London fall"),
    ],
)
def test_sessions_keep_their_wall_clock_hours_across_a_dst_change(
    zone, before, after, offset_before, offset_after
):
    slots = slots_between(before, after, zone=zone)
    by_day: dict[date, list[str]] = {}
    for slot in slots:
        by_day.setdefault(slot.start.astimezone(zone).date(), []).append(
            slot.start.astimezone(zone).strftime("%H:%M")
        )
    assert by_day[before] == by_day[after] == ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]
    first_before = next(s for s in slots if s.start.astimezone(zone).date() == before)
    first_after = next(s for s in slots if s.start.astimezone(zone).date() == after)
    assert first_before.start.astimezone(zone).utcoffset() == timedelta(hours=offset_before)
    assert first_after.start.astimezone(zone).utcoffset() == timedelta(hours=offset_after)
    assert first_before.start.hour == 9 - offset_before  # in UTC
    assert first_after.start.hour == 9 - offset_after


def test_a_session_across_the_spring_gap_lasts_the_real_hours():
    # 01:00 to 04:00 on the night clocks jump from 02:00 to 03:00 is two real hours.
    sunday = WeeklyRule(6, time(1), time(4), date(2026, 1, 1))
    slots = slots_between(date(2026, 3, 8), date(2026, 3, 8), rules=[sunday])
    assert wall_clock(slots, NEW_YORK) == ["Sun 01:00", "Sun 01:30", "Sun 03:00", "Sun 03:30"]


def test_a_session_across_the_fall_overlap_lasts_the_real_hours():
    # 00:00 to 03:00 on the night 01:00-02:00 happens twice is four real hours.
    sunday = WeeklyRule(6, time(0), time(3), date(2026, 1, 1))
    slots = slots_between(date(2026, 11, 1), date(2026, 11, 1), rules=[sunday])
    assert len(slots) == 8
    assert [s.start.astimezone(NEW_YORK).utcoffset().total_seconds() / 3600 for s in slots].count(
        -4
    ) == 4


def test_rules_apply_only_between_effective_and_expiry():
    rule = WeeklyRule(0, time(9), time(10), date(2026, 6, 8), expires=date(2026, 6, 15))
    slots = slots_between(date(2026, 6, 1), date(2026, 6, 30), rules=[rule])
    days = sorted({s.start.astimezone(NEW_YORK).date() for s in slots})
    assert days == [date(2026, 6, 8), date(2026, 6, 15)]


def test_a_closure_removes_the_day_and_an_extra_session_adds_hours():
    pto = Interval(local(NEW_YORK, 2026, 6, 2), local(NEW_YORK, 2026, 6, 3))
    saturday = Interval(local(NEW_YORK, 2026, 6, 6, 10), local(NEW_YORK, 2026, 6, 6, 11))
    slots = slots_between(date(2026, 6, 1), date(2026, 6, 7), closures=[pto], extra=[saturday])
    days = [s.start.astimezone(NEW_YORK).date() for s in slots]
    assert date(2026, 6, 2) not in days
    assert days.count(date(2026, 6, 6)) == 2


def test_a_booking_and_its_buffers_block_the_slots_they_touch():
    booked = Booking(
        local(NEW_YORK, 2026, 6, 1, 10),
        local(NEW_YORK, 2026, 6, 1, 10, 30),
        "procedure",
        buffer_after=15 * MIN,
    )
    times = wall_clock(
        slots_between(date(2026, 6, 1), date(2026, 6, 1), bookings=[booked]), NEW_YORK
    )
    assert times == ["Mon 09:00", "Mon 09:30", "Mon 11:00", "Mon 11:30"]


def test_the_requested_types_buffers_must_fit_too():
    request = SlotRequest(
        duration=30 * MIN,
        category="procedure",
        step=30 * MIN,
        buffer_before=10 * MIN,
        buffer_after=10 * MIN,
    )
    times = wall_clock(slots_between(date(2026, 6, 1), date(2026, 6, 1), request=request), NEW_YORK)
    # The buffers must lie in working hours: not at 09:00 (prep at 08:50) nor 11:30.
    assert times == ["Mon 09:30", "Mon 10:00", "Mon 10:30", "Mon 11:00"]


def test_a_daily_maximum_closes_the_day_once_reached():
    bookings = [
        Booking(local(NEW_YORK, 2026, 6, 1, 9), local(NEW_YORK, 2026, 6, 1, 9, 30), "x"),
        Booking(local(NEW_YORK, 2026, 6, 1, 9, 30), local(NEW_YORK, 2026, 6, 1, 10), "x"),
    ]
    slots = slots_between(
        date(2026, 6, 1), date(2026, 6, 2), bookings=bookings, provider=ProviderRules(max_per_day=2)
    )
    assert {s.start.astimezone(NEW_YORK).date() for s in slots} == {date(2026, 6, 2)}


def test_procedures_are_not_booked_back_to_back():
    procedure = SlotRequest(duration=30 * MIN, category="procedure", step=30 * MIN)
    booked = Booking(
        local(NEW_YORK, 2026, 6, 1, 10), local(NEW_YORK, 2026, 6, 1, 10, 30), "procedure"
    )
    rules = ProviderRules(not_back_to_back=frozenset({"procedure"}))
    for_procedure = wall_clock(
        slots_between(
            date(2026, 6, 1), date(2026, 6, 1), request=procedure, bookings=[booked], provider=rules
        ),
        NEW_YORK,
    )
    for_visit = wall_clock(
        slots_between(date(2026, 6, 1), date(2026, 6, 1), bookings=[booked], provider=rules),
        NEW_YORK,
    )
    assert "Mon 09:30" not in for_procedure and "Mon 10:30" not in for_procedure
    assert "Mon 09:30" in for_visit and "Mon 10:30" in for_visit


def test_slots_before_not_before_are_left_out():
    slots = slots_between(
        date(2026, 6, 1), date(2026, 6, 1), not_before=local(NEW_YORK, 2026, 6, 1, 10, 45)
    )
    assert wall_clock(slots, NEW_YORK) == ["Mon 11:00", "Mon 11:30"]


def test_nearest_gives_the_closest_three_in_time_order():
    slots = slots_between(date(2026, 6, 1), date(2026, 6, 1))
    alternatives = nearest(slots, local(NEW_YORK, 2026, 6, 1, 10, 10))
    assert wall_clock(alternatives, NEW_YORK) == ["Mon 09:30", "Mon 10:00", "Mon 10:30"]


def test_subtract_and_merge():
    a = Interval(utc(2026, 1, 1, 9), utc(2026, 1, 1, 12))
    cut = Interval(utc(2026, 1, 1, 10), utc(2026, 1, 1, 11))
    assert subtract([a], [cut]) == [Interval(a.start, cut.start), Interval(cut.end, a.end)]
    assert merge([Interval(a.start, cut.start), Interval(cut.start, a.end)]) == [a]


def test_intervals_refuse_naive_times():
    with pytest.raises(ValueError, match="aware"):
        Interval(datetime(2026, 1, 1), datetime(2026, 1, 2))


@pytest.mark.parametrize(
    ("start", "problem"),
    [
        ((2026, 6, 1, 8, 30), "the provider is not working then"),
        ((2026, 6, 1, 10, 15), "the provider has another appointment then"),
        ((2026, 6, 1, 9, 10), None),  # off the 30-minute grid but free: staff may book it
    ],
)
def test_slot_problem_says_why_a_time_cannot_be_booked(start, problem):
    working = working_intervals(
        rules=EVERY_WEEKDAY, zone=NEW_YORK, first_day=date(2026, 6, 1), last_day=date(2026, 6, 1)
    )
    booked = Booking(local(NEW_YORK, 2026, 6, 1, 10), local(NEW_YORK, 2026, 6, 1, 10, 30), "x")
    calendar = Calendar(working=working, bookings=[booked], zone=NEW_YORK)
    slot_start = local(NEW_YORK, *start)
    slot = Interval(slot_start, slot_start + VISIT.duration)
    assert slot_problem(calendar, slot, VISIT) == problem
