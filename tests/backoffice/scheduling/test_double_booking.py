"""The database itself refuses a double booking on PostgreSQL (exclusion constraint)."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from backoffice.scheduling.models import Appointment
from tests.fixtures.builders import (
    create_appointment_type,
    create_location,
    create_patient,
    create_provider,
)

NINE = datetime(2026, 6, 1, 13, 0, tzinfo=UTC)


@pytest.fixture
def calendar(database, session, cipher):
    if database.backend != "postgresql":
        pytest.skip("the exclusion constraint is PostgreSQL's; SQLite serialises writers")
    location = create_location(session)
    return {
        "patient": create_patient(session, cipher),
        "provider": create_provider(session, location),
        "location": location,
        "kind": create_appointment_type(session),
    }


def book(session, calendar, start, *, minutes=30, lane=0, status="scheduled", buffer=0):
    appointment = Appointment(
        patient_id=calendar["patient"].id,
        provider_id=calendar["provider"].id,
        location_id=calendar["location"].id,
        appointment_type_id=calendar["kind"].id,
        starts_at=start,
        ends_at=start + timedelta(minutes=minutes),
        blocked_start=start - timedelta(minutes=buffer),
        blocked_end=start + timedelta(minutes=minutes + buffer),
        lane=lane,
        status=status,
        created_by="test",
    )
    with session.begin_nested():
        session.add(appointment)
        session.flush()
    return appointment


def test_an_overlapping_live_appointment_is_refused(session, calendar):
    book(session, calendar, NINE)
    with pytest.raises(IntegrityError, match="appointments_no_double_booking"):
        book(session, calendar, NINE + timedelta(minutes=15))


def test_buffers_count_as_taken_time(session, calendar):
    book(session, calendar, NINE, buffer=10)
    with pytest.raises(IntegrityError):
        book(session, calendar, NINE + timedelta(minutes=35))


def test_back_to_back_appointments_are_allowed(session, calendar):
    book(session, calendar, NINE)
    assert book(session, calendar, NINE + timedelta(minutes=30)).id


@pytest.mark.parametrize("status", ["cancelled", "no_show", "rescheduled", "completed"])
def test_a_slot_freed_by_a_finished_appointment_can_be_booked(session, calendar, status):
    book(session, calendar, NINE, status=status)
    assert book(session, calendar, NINE).id


def test_an_overbooking_lane_holds_one_more(session, calendar):
    book(session, calendar, NINE)
    book(session, calendar, NINE, lane=1)
    with pytest.raises(IntegrityError):
        book(session, calendar, NINE, lane=1)
