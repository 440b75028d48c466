"""How long a patient who has just checked in should expect to wait, for the kiosk's done
screen: a figure the front desk could work out on paper, and none when it would be a guess.

The rule. The patient is seen no earlier than their scheduled start. Before them come the
patients of the same provider already waiting in the queue (arrived, not yet roomed) whose
appointments are scheduled earlier (an equal start: whoever arrived first), each taking the
time booked for their appointment. The provider is taken to work through those back to back
from the moment this patient arrived, so their time adds to the wait only beyond what fits
before the scheduled start:

    wait = max(scheduled start - arrival, sum of the durations of the waiting ahead, 0)

rounded up to the next 5 minutes. Past 2 hours the estimate says nothing useful and is None.
Patients already in a room, and anyone scheduled later, are not counted: the figure leans
short rather than inventing how long a visit in progress has left.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["LONGEST_ESTIMATE", "ROUNDED_TO", "WaitingVisit", "estimate_wait_minutes"]

ROUNDED_TO = timedelta(minutes=5)
LONGEST_ESTIMATE = timedelta(minutes=120)


@dataclass(frozen=True)
class WaitingVisit:
    """A patient in the queue waiting to be roomed, as the estimate sees them."""

    provider_id: uuid.UUID
    scheduled_start: datetime
    duration: timedelta  # as booked: the appointment's end minus its start
    arrived_at: datetime


def estimate_wait_minutes(
    *,
    arrived_at: datetime,
    scheduled_start: datetime,
    provider_id: uuid.UUID,
    waiting: Iterable[WaitingVisit],
) -> int | None:
    """Minutes until the patient is likely seen, a multiple of 5; None past the cap."""
    if arrived_at.utcoffset() is None or scheduled_start.utcoffset() is None:
        raise ValueError("the times of a wait estimate must be timezone-aware")
    ours = (scheduled_start, arrived_at)
    ahead = sum(
        (
            visit.duration
            for visit in waiting
            if visit.provider_id == provider_id and (visit.scheduled_start, visit.arrived_at) < ours
        ),
        timedelta(),
    )
    wait = max(scheduled_start - arrived_at, ahead, timedelta())
    steps = -(-wait // ROUNDED_TO)  # ceiling division of timedeltas: an exact int
    if steps * ROUNDED_TO > LONGEST_ESTIMATE:
        return None
    return steps * (ROUNDED_TO // timedelta(minutes=1))
