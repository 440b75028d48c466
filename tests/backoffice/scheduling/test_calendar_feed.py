"""The provider calendar feed: render, parse back with icalendar, and compare."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from backoffice.scheduling.calendar_feed import FeedEvent, feed_summary, render_feed

NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
HALF_HOUR = timedelta(minutes=30)


def event(uid: str = "appt-1@frontdesk", start: datetime | None = None, **changes) -> FeedEvent:
    start = start or datetime(2026, 3, 10, 9, 0, tzinfo=NEW_YORK)
    base = FeedEvent(
        uid=uid,
        start=start,
        end=start.astimezone(UTC) + HALF_HOUR,  # elapsed time, not wall-clock arithmetic
        summary="Follow-up (J.S.)",
        location="Main St clinic, room 2",
        status="confirmed",
        sequence=0,
        last_modified=datetime(2026, 2, 20, 16, 5, tzinfo=UTC),
    )
    return replace(base, **changes)


def render(*events: FeedEvent) -> bytes:
    return render_feed(events, calendar_name="Dr Rivera", zone_name="America/New_York", now=NOW)


def parsed(*events: FeedEvent) -> Calendar:
    return Calendar.from_ical(render(*events))


def only_vevent(feed: Calendar):
    (vevent,) = feed.walk("VEVENT")
    return vevent


# --- the calendar -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PRODID", "-//Frontdesk//Provider calendar//EN"),
        ("VERSION", "2.0"),
        ("CALSCALE", "GREGORIAN"),
        ("METHOD", "PUBLISH"),
        ("X-WR-CALNAME", "Dr Rivera"),
        ("X-WR-TIMEZONE", "America/New_York"),
    ],
)
def test_the_calendar_says_what_it_is(name, value):
    assert str(parsed()[name]) == value


def test_subscribers_are_asked_to_refresh_every_15_minutes():
    feed = parsed()
    assert feed["REFRESH-INTERVAL"].dt == timedelta(minutes=15)
    assert str(feed["X-PUBLISHED-TTL"]) == "PT15M"  # Outlook's name; icalendar reads it as text


def test_refresh_interval_carries_the_value_type_rfc_7986_requires():
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT15M\r\n" in render()
    assert b"X-PUBLISHED-TTL:PT15M\r\n" in render()


def test_an_empty_feed_is_a_valid_calendar_with_no_events():
    assert parsed().walk("VEVENT") == []


# --- events -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "in_utc"),
    [
        (datetime(2026, 3, 10, 9, 0, tzinfo=NEW_YORK), datetime(2026, 3, 10, 13, 0, tzinfo=UTC)),
        # DST-change days in New York: spring forward on 8 March, fall back on 1 November.
        (datetime(2026, 3, 8, 9, 0, tzinfo=NEW_YORK), datetime(2026, 3, 8, 13, 0, tzinfo=UTC)),
        (datetime(2026, 3, 8, 1, 45, tzinfo=NEW_YORK), datetime(2026, 3, 8, 6, 45, tzinfo=UTC)),
        (datetime(2026, 3, 8, 3, 15, tzinfo=NEW_YORK), datetime(2026, 3, 8, 7, 15, tzinfo=UTC)),
        (datetime(2026, 11, 1, 9, 0, tzinfo=NEW_YORK), datetime(2026, 11, 1, 14, 0, tzinfo=UTC)),
        # The two 01:30s of the fall-back night: EDT, then EST.
        (datetime(2026, 11, 1, 1, 30, tzinfo=NEW_YORK), datetime(2026, 11, 1, 5, 30, tzinfo=UTC)),
        (
            datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=NEW_YORK),
            datetime(2026, 11, 1, 6, 30, tzinfo=UTC),
        ),
        (datetime(2026, 7, 1, 13, 0, tzinfo=UTC), datetime(2026, 7, 1, 13, 0, tzinfo=UTC)),
    ],
)
def test_start_and_end_come_back_as_the_same_instants_in_utc(start, in_utc):
    vevent = only_vevent(parsed(event(start=start)))
    assert vevent["DTSTART"].dt == in_utc
    assert vevent["DTEND"].dt == in_utc + HALF_HOUR
    assert vevent["DTSTART"].dt.utcoffset() == timedelta(0)
    assert vevent["DTEND"].dt.utcoffset() == timedelta(0)


def test_times_are_written_in_utc_form_without_a_timezone_id():
    feed = render(event(start=datetime(2026, 3, 8, 9, 0, tzinfo=NEW_YORK)))
    assert b"DTSTART:20260308T130000Z\r\n" in feed
    assert b"DTEND:20260308T133000Z\r\n" in feed
    assert b"TZID" not in feed
    assert b"VTIMEZONE" not in feed


def test_events_on_a_fall_back_night_are_in_real_time_order_not_wall_clock_order():
    # 01:15 the second time round (EST, 06:15Z) comes after 01:45 the first time (EDT, 05:45Z).
    second_pass = event("a", datetime(2026, 11, 1, 1, 15, fold=1, tzinfo=NEW_YORK))
    first_pass = event("b", datetime(2026, 11, 1, 1, 45, tzinfo=NEW_YORK))
    assert [str(v["UID"]) for v in parsed(second_pass, first_pass).walk("VEVENT")] == ["b", "a"]


@pytest.mark.parametrize(
    ("status", "written"),
    [("confirmed", "CONFIRMED"), ("cancelled", "CANCELLED"), ("tentative", "TENTATIVE")],
)
def test_the_status_is_written_in_rfc_5545_form(status, written):
    assert only_vevent(parsed(event(status=status)))["STATUS"] == written


def test_a_cancelled_appointment_stays_in_the_feed_marked_cancelled():
    cancelled = event("gone@frontdesk", status="cancelled", sequence=3)
    kept = event("kept@frontdesk", start=datetime(2026, 3, 11, 9, tzinfo=NEW_YORK))
    feed = render(cancelled, kept)
    statuses = {str(v["UID"]): str(v["STATUS"]) for v in Calendar.from_ical(feed).walk("VEVENT")}
    assert statuses == {"gone@frontdesk": "CANCELLED", "kept@frontdesk": "CONFIRMED"}
    assert b"STATUS:CANCELLED\r\n" in feed


@pytest.mark.parametrize(
    ("uid", "sequence"),
    [("appt-1@frontdesk", 0), ("0f8fad5b-d9cb-469f-a165-70867728950e@frontdesk.example", 12)],
)
def test_uid_and_sequence_round_trip(uid, sequence):
    vevent = only_vevent(parsed(event(uid, sequence=sequence)))
    assert str(vevent["UID"]) == uid
    assert vevent["SEQUENCE"] == sequence


def test_summary_and_location_round_trip_with_characters_ical_escapes():
    vevent = only_vevent(
        parsed(event(summary="Consult; pre-op, (Z.N.)", location="Suite 4, Rue d'Éole; 2nd\\3rd"))
    )
    assert str(vevent["SUMMARY"]) == "Consult; pre-op, (Z.N.)"
    assert str(vevent["LOCATION"]) == "Suite 4, Rue d'Éole; 2nd\\3rd"


def test_no_location_writes_no_location_line():
    assert "LOCATION" not in only_vevent(parsed(event(location=None)))


def test_dtstamp_is_now_and_last_modified_is_the_events_in_utc():
    vevent = only_vevent(parsed(event(last_modified=datetime(2026, 2, 20, 11, 5, tzinfo=NEW_YORK))))
    assert vevent["DTSTAMP"].dt == NOW
    assert vevent["LAST-MODIFIED"].dt == datetime(2026, 2, 20, 16, 5, tzinfo=UTC)
    assert vevent["LAST-MODIFIED"].dt.utcoffset() == timedelta(0)


def test_an_appointment_blocks_time():
    assert only_vevent(parsed(event()))["TRANSP"] == "OPAQUE"


def test_events_are_in_start_order_whatever_order_they_come_in():
    later = event("later", datetime(2026, 3, 12, 9, tzinfo=NEW_YORK))
    earlier = event("earlier", datetime(2026, 3, 11, 9, tzinfo=NEW_YORK))
    assert [str(v["UID"]) for v in parsed(later, earlier).walk("VEVENT")] == ["earlier", "later"]


def test_the_renderer_writes_only_the_summary_it_is_given():
    vevent = only_vevent(parsed(event(summary="Follow-up (J.S.)")))
    assert set(vevent) == {
        "UID",
        "DTSTAMP",
        "DTSTART",
        "DTEND",
        "SUMMARY",
        "LOCATION",
        "STATUS",
        "SEQUENCE",
        "LAST-MODIFIED",
        "TRANSP",
    }
    assert vevent["SUMMARY"] == "Follow-up (J.S.)"


def test_an_event_across_the_fall_back_hour_may_end_at_an_earlier_wall_clock_time():
    start = datetime(2026, 11, 1, 1, 45, tzinfo=NEW_YORK)  # EDT, 05:45Z
    end = datetime(2026, 11, 1, 1, 15, fold=1, tzinfo=NEW_YORK)  # EST, 06:15Z
    vevent = only_vevent(parsed(event(start=start, end=end)))
    assert vevent["DTEND"].dt - vevent["DTSTART"].dt == HALF_HOUR


# --- caller bugs ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"start": datetime(2026, 3, 10, 9)},
        {"end": datetime(2026, 3, 10, 9)},
        {"last_modified": datetime(2026, 3, 1)},
        {"end": datetime(2026, 3, 10, 8, tzinfo=NEW_YORK)},
        {"status": "CONFIRMED"},
        {"status": "no_show"},
        {"uid": " "},
        {"sequence": -1},
    ],
    ids=[
        "naive start",
        "naive end",
        "naive last-modified",
        "ends first",
        "status case",
        "unknown status",
        "blank uid",
        "negative sequence",
    ],
)
def test_a_malformed_event_is_refused(changes):
    with pytest.raises(ValueError):
        event(**changes)


def test_a_naive_now_is_refused():
    with pytest.raises(ValueError, match="aware"):
        render_feed([], calendar_name="Dr Rivera", zone_name="UTC", now=datetime(2026, 3, 1))


# --- feed_summary -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "last", "summary"),
    [
        ("Jane", "Smith", "New patient visit (J.S.)"),
        ("Zoë", "Núñez-Smith", "New patient visit (Z.N.)"),
        ("Anne-Marie", "O'Brien", "New patient visit (A.O.)"),
        ("Élodie", "Ødegård", "New patient visit (É.Ø.)"),
        ("E\u0301lodie", "Lefèvre", "New patient visit (É.L.)"),  # E + combining acute accent
        ("  jane ", " van der Berg", "New patient visit (J.V.)"),
        ("'Ilima", "Kealoha", "New patient visit (I.K.)"),
        ("Łukasz", "Żółć", "New patient visit (Ł.Ż.)"),
        ("Jane", "", "New patient visit (J.)"),
        ("", "", "New patient visit"),
    ],
)
def test_feed_summary_gives_the_type_and_initials_only(first, last, summary):
    assert feed_summary("New patient visit", first, last) == summary


@pytest.mark.parametrize(("first", "last"), [("Zoë", "Núñez-Smith"), ("Jane", "Smith")])
def test_feed_summary_never_contains_more_of_a_name_than_its_first_letter(first, last):
    summary = feed_summary("Follow-up", first, last)
    assert first[1:] not in summary
    assert last[1:] not in summary
