"""The wait estimate on the kiosk's done screen: scheduled start, the queue ahead, the cap."""

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from backoffice.checkin.wait import WaitingVisit, estimate_wait_minutes

NEW_YORK = ZoneInfo("America/New_York")
MIN = timedelta(minutes=1)
DR_A, DR_B = uuid.uuid4(), uuid.uuid4()
START = datetime(2026, 3, 9, 10, 0, tzinfo=NEW_YORK)  # our patient's appointment


def waiting(start_minutes: int, duration_minutes: int = 20, *, provider=DR_A, arrived=-60):
    """Someone in the queue, times in minutes from our patient's scheduled start."""
    return WaitingVisit(
        provider_id=provider,
        scheduled_start=START + start_minutes * MIN,
        duration=duration_minutes * MIN,
        arrived_at=START + arrived * MIN,
    )


def estimate(arrived_minutes: int | timedelta, *queue: WaitingVisit) -> int | None:
    offset = arrived_minutes if isinstance(arrived_minutes, timedelta) else arrived_minutes * MIN
    return estimate_wait_minutes(
        arrived_at=START + offset, scheduled_start=START, provider_id=DR_A, waiting=queue
    )


@pytest.mark.parametrize(
    ("arrived", "minutes"),
    [(-30, 30), (-12, 15), (-10, 10), (-1, 5), (0, 0)],
    ids=["half-hour-early", "rounded-up", "on-a-multiple", "a-minute-early", "on-time"],
)
def test_an_early_patient_waits_for_the_scheduled_start(arrived, minutes):
    assert estimate(arrived) == minutes


def test_seconds_round_up_too():
    assert estimate(-(10 * MIN + timedelta(seconds=1))) == 15


def test_a_late_patient_with_nobody_ahead_is_seen_now():
    assert estimate(25) == 0


def test_the_queue_ahead_adds_only_beyond_what_fits_before_the_start():
    ahead = [waiting(-15, 20), waiting(-5, 15)]  # 35 minutes of visits
    assert estimate(-10, *ahead) == 35  # 10 of them fit before 10:00, the rest do not
    assert estimate(-40, *ahead) == 40  # all of them fit: the scheduled start decides


def test_a_late_patient_waits_for_everyone_scheduled_before_them():
    assert estimate(20, waiting(-30, 30), waiting(-15, 20)) == 50


def test_patients_scheduled_after_ours_are_not_ahead():
    assert estimate(-5, waiting(15, 30), waiting(60, 45)) == 5


def test_on_the_same_start_whoever_arrived_first_is_ahead():
    overbooked = waiting(0, 30, arrived=-20)
    assert estimate(-25, overbooked) == 25  # we were here first
    assert estimate(-15, overbooked) == 30


def test_other_providers_patients_are_ignored():
    others = [waiting(-30, 60, provider=DR_B), waiting(-10, 45, provider=DR_B)]
    assert estimate(-5, *others) == 5
    assert estimate(-5, *others, waiting(-20, 30)) == 30


@pytest.mark.parametrize(
    ("arrived", "queue", "minutes"),
    [
        (-120, [], 120),
        (-121, [], None),
        (-5, [waiting(-60, 60), waiting(-30, 60)], 120),
        (-5, [waiting(-60, 60), waiting(-30, 61)], None),
    ],
    ids=["early-at-the-cap", "early-past-it", "queue-at-the-cap", "queue-past-it"],
)
def test_past_two_hours_there_is_no_estimate(arrived, queue, minutes):
    assert estimate(arrived, *queue) == minutes


def test_zones_do_not_change_the_answer():
    arrived = (START - 20 * MIN).astimezone(UTC)
    assert (
        estimate_wait_minutes(
            arrived_at=arrived, scheduled_start=START, provider_id=DR_A, waiting=[waiting(-10, 30)]
        )
        == 30
    )


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        estimate_wait_minutes(
            arrived_at=START.replace(tzinfo=None),
            scheduled_start=START,
            provider_id=DR_A,
            waiting=[],
        )
