"""Overbooking by rule: a second booking may share a slot when the patient already booked
is predicted, from their own attendance, not to come."""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest

from backoffice.scheduling.models import Appointment
from backoffice.scheduling.no_show import (
    DEFAULT_RATE,
    Attendance,
    clinic_rate,
    no_show_probability,
)
from backoffice.scheduling.slots import (
    Booking,
    Calendar,
    Interval,
    ProviderRules,
    SlotRequest,
    overbook_problem,
)
from shared.enums import Role
from tests.fixtures.builders import create_patient
from tests.fixtures.scheduling import MONDAY_AFTER, NEW_YORK, at, booking, open_calendar

# --- the prediction ------------------------------------------------------------------------


def test_a_new_patient_gets_the_clinic_rate():
    assert no_show_probability(Attendance(), base_rate=0.2) == pytest.approx(0.2)


def test_a_short_record_moves_the_estimate_only_part_of_the_way():
    one_miss_in_two = no_show_probability(Attendance(kept=1, no_shows=1), base_rate=0.1)
    assert 0.1 < one_miss_in_two < 0.5
    assert one_miss_in_two == pytest.approx((1 + 0.4) / 6)


def test_a_long_record_mostly_speaks_for_itself():
    habitual = no_show_probability(Attendance(kept=5, no_shows=15), base_rate=0.1)
    assert habitual == pytest.approx((15 + 0.4) / 24)
    assert habitual > 0.6


def test_the_clinic_rate_waits_for_enough_history():
    assert clinic_rate(Attendance(kept=10, no_shows=9)) == DEFAULT_RATE
    assert clinic_rate(Attendance(kept=80, no_shows=20)) == pytest.approx(0.2)


def test_a_base_rate_outside_zero_to_one_is_a_programming_error():
    with pytest.raises(ValueError):
        no_show_probability(Attendance(), base_rate=1.5)


# --- the rule, as a pure function ----------------------------------------------------------

DAY = date(2027, 3, 15)
NINE = datetime.combine(DAY, time(9), tzinfo=NEW_YORK).astimezone(UTC)
VISIT = SlotRequest(duration=timedelta(minutes=30), category="primary_care")


def calendar_with(*bookings: Booking, max_per_day: int | None = None) -> Calendar:
    morning = Interval(NINE, NINE + timedelta(hours=3))
    return Calendar(
        working=[morning],
        bookings=list(bookings),
        zone=NEW_YORK,
        rules=ProviderRules(max_per_day=max_per_day),
    )


def at_nine(patient: str, lane: int = 0) -> Booking:
    return Booking(
        NINE, NINE + timedelta(minutes=30), "primary_care", lane=lane, patient_id=patient
    )


SLOT = Interval(NINE, NINE + timedelta(minutes=30))


def test_a_likely_no_show_leaves_room_for_a_second_booking():
    problem = overbook_problem(
        calendar_with(at_nine("a")), SLOT, VISIT, risks={"a": 0.45}, threshold=0.3
    )
    assert problem is None


def test_a_likely_attender_does_not():
    problem = overbook_problem(
        calendar_with(at_nine("a")), SLOT, VISIT, risks={"a": 0.1}, threshold=0.3
    )
    assert (
        problem == "the booked patient is likely to come (below the provider's no-show threshold)"
    )


def test_a_slot_takes_one_overbooking_only():
    problem = overbook_problem(
        calendar_with(at_nine("a"), at_nine("b", lane=1)),
        SLOT,
        VISIT,
        risks={"a": 0.9, "b": 0.9},
        threshold=0.3,
    )
    assert problem == "the time is already overbooked"


def test_an_overbooking_still_counts_toward_the_daily_maximum():
    problem = overbook_problem(
        calendar_with(at_nine("a"), max_per_day=1), SLOT, VISIT, risks={"a": 0.9}, threshold=0.3
    )
    assert problem == "the provider's day is full"


def test_outside_working_hours_there_is_nothing_to_overbook():
    evening = Interval(NINE + timedelta(hours=8), NINE + timedelta(hours=8, minutes=30))
    problem = overbook_problem(calendar_with(), evening, VISIT, risks={}, threshold=0.3)
    assert problem == "the provider is not working then"


# --- through the API -----------------------------------------------------------------------


@pytest.fixture
def desk(principals):
    return principals.staff(Role.FRONT_DESK)


@pytest.fixture
def calendar(session, cipher):
    calendar = open_calendar(session, cipher)
    calendar["provider"].overbook_threshold = Decimal("0.300")
    session.add(calendar["provider"])
    session.commit()
    return calendar


def give_history(session, calendar, patient, *, kept: int, no_shows: int) -> None:
    """Past visits with the calendar's provider, a week apart, last summer."""
    first = datetime(2026, 6, 1, 14, tzinfo=UTC)
    statuses = ["completed"] * kept + ["no_show"] * no_shows
    for i, status in enumerate(statuses):
        start = first - timedelta(days=7 * i)
        session.add(
            Appointment(
                patient_id=patient.id,
                provider_id=calendar["provider"].id,
                location_id=calendar["location"].id,
                appointment_type_id=calendar["kind"].id,
                starts_at=start,
                ends_at=start + timedelta(minutes=30),
                blocked_start=start,
                blocked_end=start + timedelta(minutes=30),
                status=status,
                created_by="history",
            )
        )
    session.commit()


def book(client, desk, calendar, patient, start, **extra):
    return client.post(
        "/api/v1/appointments",
        json={**booking(calendar, start), "patient_id": str(patient.id), **extra},
        headers=desk,
    )


def test_staff_are_told_they_may_overbook_beside_a_likely_no_show_and_can(
    client, desk, session, cipher, calendar
):
    unreliable, second = calendar["patient"], create_patient(session, cipher)
    give_history(session, calendar, unreliable, kept=1, no_shows=5)
    assert book(client, desk, calendar, unreliable, at(MONDAY_AFTER, 9)).status_code == 201

    refused = book(client, desk, calendar, second, at(MONDAY_AFTER, 9))
    assert (refused.status_code, refused.json()["overbook_allowed"]) == (409, True)

    placed = book(client, desk, calendar, second, at(MONDAY_AFTER, 9), overbook=True)
    assert placed.status_code == 201, placed.text
    assert placed.json()["overbooked"] is True

    third = book(
        client, desk, calendar, create_patient(session, cipher), at(MONDAY_AFTER, 9), overbook=True
    )
    assert (third.status_code, third.json()["reason"]) == (409, "the time is already overbooked")


def test_no_overbooking_beside_a_patient_who_comes(client, desk, session, cipher, calendar):
    reliable = calendar["patient"]
    give_history(session, calendar, reliable, kept=12, no_shows=0)
    assert book(client, desk, calendar, reliable, at(MONDAY_AFTER, 10)).status_code == 201
    other = create_patient(session, cipher)
    plain = book(client, desk, calendar, other, at(MONDAY_AFTER, 10))
    assert (plain.status_code, plain.json()["overbook_allowed"]) == (409, False)
    forced = book(client, desk, calendar, other, at(MONDAY_AFTER, 10), overbook=True)
    assert forced.status_code == 409
    assert "likely to come" in forced.json()["reason"]
    assert len(forced.json()["alternatives"]) == 3


def test_asking_to_overbook_a_free_slot_books_it_normally(client, desk, calendar):
    r = book(client, desk, calendar, calendar["patient"], at(MONDAY_AFTER, 11), overbook=True)
    assert (r.status_code, r.json()["overbooked"]) == (201, False)


def test_a_provider_without_a_threshold_never_overbooks(client, desk, session, calendar):
    calendar["provider"].overbook_threshold = None
    session.add(calendar["provider"])
    session.commit()
    r = book(client, desk, calendar, calendar["patient"], at(MONDAY_AFTER, 9), overbook=True)
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "overbook")
