"""Recurring series: RRULE checks, local wall-clock expansion across DST, COUNT and UNTIL."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from backoffice.scheduling.recurrence import (
    InvalidRecurrence,
    Occurrence,
    RecurrenceRule,
    occurrences,
    parse_rule,
)

NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
HALF_HOUR = timedelta(minutes=30)
# A Monday, two weeks before New York springs forward (2026-03-08).
MONDAY_9AM = datetime(2026, 2, 23, 9, tzinfo=NEW_YORK)


def expand(
    rule: str, first_start: datetime = MONDAY_9AM, zone: ZoneInfo = NEW_YORK
) -> list[Occurrence]:
    return occurrences(parse_rule(rule), first_start=first_start, zone=zone, duration=HALF_HOUR)


def local_days(series: list[Occurrence], zone: ZoneInfo = NEW_YORK) -> list[date]:
    return [o.start.astimezone(zone).date() for o in series]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- DST: the wall-clock time holds, the UTC hour moves -------------------------------------


@pytest.mark.parametrize(
    ("zone", "first_start", "utc_hours"),
    [
        # New York: EST → EDT on 2026-03-08, EDT → EST on 2026-11-01.
        (
            NEW_YORK,
            datetime(2026, 2, 23, 9, tzinfo=NEW_YORK),
            {
                date(2026, 3, 2): 14,
                date(2026, 3, 9): 13,
                date(2026, 10, 26): 13,
                date(2026, 11, 2): 14,
            },
        ),
        # London: GMT → BST on 2026-03-29, BST → GMT on 2026-10-25.
        (
            LONDON,
            datetime(2026, 3, 2, 9, tzinfo=LONDON),
            {
                date(2026, 3, 23): 9,
                date(2026, 3, 30): 8,
                date(2026, 10, 19): 8,
                date(2026, 10, 26): 9,
            },
        ),
    ],
)
def test_a_weekly_series_stays_at_9am_local_across_both_dst_changes(zone, first_start, utc_hours):
    series = expand("FREQ=WEEKLY;COUNT=40", first_start, zone)
    assert {o.start.astimezone(zone).strftime("%a %H:%M") for o in series} == {"Mon 09:00"}
    by_day = {o.start.astimezone(zone).date(): o.start.hour for o in series}
    assert {day: by_day[day] for day in utc_hours} == utc_hours


def test_occurrences_are_utc_instants():
    series = expand("FREQ=WEEKLY;COUNT=3")
    assert all(o.start.tzinfo is UTC and o.end.tzinfo is UTC for o in series)


def test_the_first_occurrence_is_the_first_start():
    assert expand("FREQ=WEEKLY;COUNT=3")[0] == Occurrence(
        utc(2026, 2, 23, 14), utc(2026, 2, 23, 14, 30)
    )


def test_each_occurrence_lasts_the_duration_even_across_a_dst_change():
    series = expand("FREQ=DAILY;COUNT=14", datetime(2026, 3, 7, 23, 45, tzinfo=NEW_YORK))
    assert {o.end - o.start for o in series} == {HALF_HOUR}


def test_a_wall_clock_time_skipped_by_spring_forward_lands_after_the_gap():
    series = expand("FREQ=DAILY;COUNT=3", datetime(2026, 3, 7, 2, 30, tzinfo=NEW_YORK))
    assert [o.start.astimezone(NEW_YORK).strftime("%d %H:%M") for o in series] == [
        "07 02:30",
        "08 03:30",
        "09 02:30",
    ]


def test_a_wall_clock_time_repeated_by_fall_back_is_the_first_of_the_two():
    series = expand("FREQ=DAILY;COUNT=3", datetime(2026, 10, 31, 1, 30, tzinfo=NEW_YORK))
    assert series[1].start == utc(2026, 11, 1, 5, 30)  # 01:30 EDT, not 01:30 EST


def test_a_series_may_start_at_the_second_of_two_repeated_times():
    second_pass = datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=NEW_YORK)  # 01:30 EST
    series = expand("FREQ=DAILY;COUNT=2", second_pass)
    assert [o.start for o in series] == [utc(2026, 11, 1, 6, 30), utc(2026, 11, 2, 6, 30)]


# --- how a series ends -----------------------------------------------------------------------


def test_count_gives_that_many_appointments():
    series = expand("FREQ=WEEKLY;COUNT=5")
    assert local_days(series)[-1] == date(2026, 3, 23)
    assert len(series) == 5


@pytest.mark.parametrize(
    ("until", "last_day"),
    [
        # 2026-03-16 09:00 EDT is 13:00Z: UNTIL is inclusive, and in UTC, not local time.
        ("20260316T130000Z", date(2026, 3, 16)),
        # Read as local wall-clock time, 12:59:59 would wrongly keep the 16th in.
        ("20260316T125959Z", date(2026, 3, 9)),
        # Before the change: 2026-03-02 09:00 EST is 14:00Z.
        ("20260302T140000Z", date(2026, 3, 2)),
        ("20260302T135959Z", date(2026, 2, 23)),
    ],
)
def test_a_utc_until_ends_the_series_at_that_instant(until, last_day):
    assert local_days(expand(f"FREQ=WEEKLY;UNTIL={until}"))[-1] == last_day


def test_a_date_until_includes_that_local_day():
    assert local_days(expand("FREQ=WEEKLY;UNTIL=20260316"))[-1] == date(2026, 3, 16)


def test_a_local_until_is_wall_clock_time_in_the_zone():
    assert local_days(expand("FREQ=WEEKLY;UNTIL=20260316T090000"))[-1] == date(2026, 3, 16)
    assert local_days(expand("FREQ=WEEKLY;UNTIL=20260316T085959"))[-1] == date(2026, 3, 9)


def test_a_series_may_last_exactly_two_years():
    series = expand("FREQ=YEARLY;COUNT=3")
    assert local_days(series) == [date(2026, 2, 23), date(2027, 2, 23), date(2028, 2, 23)]


def test_the_full_104_appointments_are_allowed():
    assert len(expand("FREQ=WEEKLY;COUNT=104")) == 104


# --- patterns -------------------------------------------------------------------------------


def test_weekly_on_monday_wednesday_and_friday():
    series = expand("FREQ=WEEKLY;BYDAY=MO,WE,FR;COUNT=7")
    assert local_days(series) == [
        date(2026, 2, 23),
        date(2026, 2, 25),
        date(2026, 2, 27),
        date(2026, 3, 2),
        date(2026, 3, 4),
        date(2026, 3, 6),
        date(2026, 3, 9),  # after spring forward, still 09:00 local
    ]
    assert series[-1].start == utc(2026, 3, 9, 13)


def test_monthly_on_the_second_tuesday():
    series = expand("FREQ=MONTHLY;BYDAY=2TU;COUNT=6", datetime(2026, 1, 13, 10, tzinfo=NEW_YORK))
    assert local_days(series) == [
        date(2026, 1, 13),
        date(2026, 2, 10),
        date(2026, 3, 10),
        date(2026, 4, 14),
        date(2026, 5, 12),
        date(2026, 6, 9),
    ]
    assert {o.start.astimezone(NEW_YORK).hour for o in series} == {10}


def test_every_other_week():
    series = expand("FREQ=WEEKLY;INTERVAL=2;COUNT=3")
    assert local_days(series) == [date(2026, 2, 23), date(2026, 3, 9), date(2026, 3, 23)]


def test_weeks_start_on_monday_whatever_the_calendar_module_says(monkeypatch):
    import calendar

    monkeypatch.setattr(calendar, "firstweekday", lambda: 6)
    # Every other week on Monday and Sunday: with weeks from Monday, the Sunday is the 1st.
    series = expand("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,SU;COUNT=3")
    assert local_days(series) == [date(2026, 2, 23), date(2026, 3, 1), date(2026, 3, 9)]


# --- the rule text ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=4",
        "RRULE:FREQ=WEEKLY;BYDAY=MO,WE;COUNT=4",
        "rrule:freq=weekly;byday=mo,we;count=4",
        "  RRULE: FREQ=WEEKLY; BYDAY=MO,WE; COUNT=4; ",
        "BYDAY=MO,WE;COUNT=4;FREQ=WEEKLY",
    ],
)
def test_the_prefix_case_spacing_and_order_do_not_matter(text):
    assert parse_rule(text).text == "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=4"


@pytest.mark.parametrize(
    "text",
    [
        "FREQ=WEEKLY;COUNT=4",
        "FREQ=MONTHLY;BYDAY=-1FR;UNTIL=20261231T235959Z",
        "FREQ=DAILY;INTERVAL=3;UNTIL=20261231",
        "FREQ=WEEKLY;WKST=SU;BYDAY=TU,TH;UNTIL=20261231T170000",
    ],
)
def test_the_canonical_text_parses_back_to_the_same_rule(text):
    rule = parse_rule(text)
    assert parse_rule(rule.text) == rule
    assert rule.text == text


def test_until_in_utc_is_kept_as_an_instant():
    rule = parse_rule("FREQ=WEEKLY;UNTIL=20260316T130000Z")
    assert rule == RecurrenceRule(
        frequency="WEEKLY", count=None, until=utc(2026, 3, 16, 13), parts=()
    )


# --- what a clinic should not book ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("FREQ=WEEKLY", "no end"),
        ("FREQ=WEEKLY;INTERVAL=2", "no end"),
        ("FREQ=HOURLY;COUNT=3", "at most daily"),
        ("FREQ=MINUTELY;COUNT=3", "at most daily"),
        ("FREQ=SECONDLY;UNTIL=20260301T000000Z", "at most daily"),
        ("FREQ=WEEKLY;COUNT=500", "at most 104 appointments"),
        ("FREQ=WEEKLY;COUNT=105", "at most 104 appointments"),
        ("FREQ=WEEKLY;COUNT=0", "COUNT must be"),
        ("FREQ=WEEKLY;COUNT=-3", "COUNT must be"),
        ("FREQ=WEEKLY;COUNT=3;UNTIL=20260401T000000Z", "not both"),
        ("this is not a rule", "could not be read"),
        ("FREQ=WEEKLY;COUNT", "could not be read"),
        ("", "empty"),
        ("RRULE:", "empty"),
        ("COUNT=3", "no FREQ"),
        ("FREQ=FORTNIGHTLY;COUNT=3", "FREQ must be one of"),
        ("FREQ=WEEKLY;COUNT=3;COUNT=4", "more than once"),
        ("DTSTART:20260101T090000\nRRULE:FREQ=WEEKLY;COUNT=3", "single RRULE"),
        ("FREQ=WEEKLY;UNTIL=next tuesday", "UNTIL must be"),
        ("FREQ=WEEKLY;UNTIL=20261345", "UNTIL must be"),
        ("FREQ=WEEKLY;UNTIL=20260401T000000+0100", "UNTIL must be"),
        ("FREQ=DAILY;BYHOUR=9,15;COUNT=4", "BYHOUR is not allowed"),
        ("FREQ=DAILY;BYMINUTE=0,30;COUNT=4", "BYMINUTE is not allowed"),
        ("FREQ=WEEKLY;BYDAY=XX;COUNT=3", "BYDAY must list days"),
        ("FREQ=WEEKLY;BYDAY=MO(+1);COUNT=3", "BYDAY must list days"),
        ("FREQ=WEEKLY;BYDAY=2TU;COUNT=3", "only a MONTHLY or YEARLY rule"),
        ("FREQ=MONTHLY;BYDAY=9TU;COUNT=3", "1 to 5"),
        ("FREQ=MONTHLY;BYDAY=0TU;COUNT=3", "1 to 5"),
        ("FREQ=MONTHLY;BYMONTHDAY=32;COUNT=3", "BYMONTHDAY must be"),
        ("FREQ=MONTHLY;BYMONTHDAY=0;COUNT=3", "BYMONTHDAY must be"),
        ("FREQ=YEARLY;BYMONTH=13;COUNT=3", "BYMONTH must be"),
        ("FREQ=YEARLY;BYMONTH=-1;COUNT=3", "BYMONTH must be"),
        ("FREQ=MONTHLY;BYSETPOS=x;BYDAY=MO;COUNT=3", "BYSETPOS must be"),
        ("FREQ=WEEKLY;INTERVAL=0;COUNT=3", "INTERVAL must be"),
        ("FREQ=WEEKLY;WKST=XX;COUNT=3", "WKST must be"),
        ("FREQ=YEARLY;BYEASTER=0;COUNT=3", "unknown part BYEASTER"),
    ],
)
def test_a_rule_the_text_shows_to_be_wrong_is_refused_with_a_reason(text, message):
    with pytest.raises(InvalidRecurrence, match=message):
        parse_rule(text)


@pytest.mark.parametrize(
    ("text", "first_start", "message"),
    [
        ("FREQ=MONTHLY;UNTIL=20290223T140000Z", MONDAY_9AM, "at most 2 years"),
        ("FREQ=MONTHLY;UNTIL=20290223", MONDAY_9AM, "at most 2 years"),
        ("FREQ=MONTHLY;UNTIL=20280224", MONDAY_9AM, "must end by 2028-02-23"),
        ("FREQ=YEARLY;COUNT=4", MONDAY_9AM, "at most 2 years"),
        ("FREQ=MONTHLY;INTERVAL=3;COUNT=12", MONDAY_9AM, "at most 2 years"),
        ("FREQ=DAILY;UNTIL=20270223", MONDAY_9AM, "at most 104 appointments"),
        ("FREQ=WEEKLY;UNTIL=20280223", MONDAY_9AM, "at most 104 appointments"),
        ("FREQ=WEEKLY;UNTIL=20260101T000000Z", MONDAY_9AM, "before its first appointment"),
        ("FREQ=WEEKLY;UNTIL=20260223T135959Z", MONDAY_9AM, "before its first appointment"),
        ("FREQ=WEEKLY;BYDAY=TU,TH;COUNT=4", MONDAY_9AM, "not on a day the repeat rule gives"),
        (
            "FREQ=MONTHLY;BYDAY=2TU;COUNT=6",
            datetime(2026, 1, 14, 10, tzinfo=NEW_YORK),
            "Wed 2026-01-14 10:00",
        ),
        # Never occurs at all: refused, and found out without expanding for centuries.
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30;COUNT=2", MONDAY_9AM, "not on a day"),
        # The next 29 February is beyond the two years.
        (
            "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29;COUNT=2",
            datetime(2028, 2, 29, 9, tzinfo=NEW_YORK),
            "at most 2 years",
        ),
    ],
)
def test_a_rule_wrong_for_its_first_start_is_refused_with_a_reason(text, first_start, message):
    with pytest.raises(InvalidRecurrence, match=message):
        expand(text, first_start)


def test_the_number_of_appointments_can_be_limited():
    rule = parse_rule("FREQ=WEEKLY;UNTIL=20260501", max_occurrences=8)
    with pytest.raises(InvalidRecurrence, match="at most 8 appointments"):
        occurrences(rule, first_start=MONDAY_9AM, zone=NEW_YORK, duration=HALF_HOUR)


def test_the_span_can_be_limited():
    rule = parse_rule("FREQ=MONTHLY;COUNT=14", max_span_years=1)
    with pytest.raises(InvalidRecurrence, match="at most 1 year: from 2026-02-23"):
        occurrences(rule, first_start=MONDAY_9AM, zone=NEW_YORK, duration=HALF_HOUR)


def test_an_invalid_rule_is_a_value_error():
    assert issubclass(InvalidRecurrence, ValueError)


# --- caller bugs: plain ValueErrors, not messages for staff -----------------------------------


@pytest.mark.parametrize(
    ("first_start", "duration"),
    [
        (datetime(2026, 2, 23, 9), HALF_HOUR),
        (datetime(2026, 2, 23, 9, 0, 0, 500, tzinfo=NEW_YORK), HALF_HOUR),
        (MONDAY_9AM, timedelta(0)),
        (MONDAY_9AM, -HALF_HOUR),
    ],
    ids=["naive", "sub-second", "zero duration", "negative duration"],
)
def test_a_caller_bug_is_a_plain_value_error(first_start, duration):
    rule = parse_rule("FREQ=WEEKLY;COUNT=3")
    with pytest.raises(ValueError) as raised:
        occurrences(rule, first_start=first_start, zone=NEW_YORK, duration=duration)
    assert not isinstance(raised.value, InvalidRecurrence)
