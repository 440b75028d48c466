"""When a kiosk has failed to find patients too often: someone may be trying names and
birth dates. Pure: the failures in, the decision out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

FAILURES_ALLOWED = 5
WINDOW = timedelta(minutes=10)


@dataclass(frozen=True)
class ThrottleDecision:
    blocked: bool
    retry_after: timedelta = timedelta(0)


def decide(failures: Sequence[datetime], *, now: datetime) -> ThrottleDecision:
    """Blocked once `FAILURES_ALLOWED` failures fall within `WINDOW`, until the oldest of
    them leaves it."""
    recent = sorted(f for f in failures if now - f < WINDOW)
    if len(recent) < FAILURES_ALLOWED:
        return ThrottleDecision(blocked=False)
    oldest_that_counts = recent[-FAILURES_ALLOWED]
    return ThrottleDecision(blocked=True, retry_after=oldest_that_counts + WINDOW - now)
