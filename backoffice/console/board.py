"""The arrival board's order and colours, as plain functions (no I/O).

Waiting patients come first, longest wait at the top, and each wait has a band the page
colours: calm under 15 minutes, rising to 30, long past 30. Roomed patients follow (longest
since arrival first), then those with the provider, then who is expected and not here yet,
then the day's finished visits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from shared.contracts.kiosk import ArrivalState, QueueFlag

RISING_AFTER_MINUTES = 15
LONG_AFTER_MINUTES = 30

FLAG_LABELS: dict[str, str] = {
    QueueFlag.INSURANCE_TO_REVIEW: "Insurance to review",
    QueueFlag.COPAY_UNPAID: "Copay unpaid",
    QueueFlag.CONSENT_PENDING: "Consent pending",
    QueueFlag.DEMOGRAPHICS_PENDING: "Details changed",
    QueueFlag.OFFLINE_CHECK_IN: "Checked in offline",
    QueueFlag.LATE: "Late",
    QueueFlag.CARD_READ_UNSURE: "Card read unsure",
}

# What staff can do next from each state, as (target state, button label).
NEXT_STEPS: dict[ArrivalState, tuple[tuple[str, str], ...]] = {
    ArrivalState.WAITING: (("roomed", "Room"), ("with_provider", "With provider")),
    ArrivalState.ROOMED: (("with_provider", "With provider"), ("checked_out", "Check out")),
    ArrivalState.WITH_PROVIDER: (("checked_out", "Check out"),),
    ArrivalState.CHECKED_OUT: (),
    ArrivalState.SENT_HOME: (),
}


def wait_band(minutes: int) -> str:
    if minutes >= LONG_AFTER_MINUTES:
        return "long"
    if minutes >= RISING_AFTER_MINUTES:
        return "rising"
    return "calm"


@dataclass
class Lane:
    key: str
    title: str
    rows: list = field(default_factory=list)  # QueueItem, or Expected for "expected"


@dataclass(frozen=True)
class Expected:
    """Booked for today here and not checked in yet."""

    appointment_id: str
    appointment_version: int
    patient_id: str
    patient_name: str
    provider_name: str
    appointment_type: str
    starts_at: datetime
    overdue: bool  # its start has passed: a no-show can be recorded


def arrange(items: Sequence, expected: Sequence[Expected]) -> list[Lane]:  # type: ignore[type-arg]
    lanes = {
        "waiting": Lane("waiting", "Waiting"),
        "roomed": Lane("roomed", "Roomed"),
        "with_provider": Lane("with_provider", "With provider"),
        "expected": Lane("expected", "Expected, not here yet"),
        "done": Lane("done", "Done today"),
    }
    for item in items:
        key = item.state.value if item.state.value in lanes else "done"
        lanes[key].rows.append(item)
    for key in ("waiting", "roomed", "with_provider"):
        lanes[key].rows.sort(key=lambda i: (-i.waited_minutes, i.arrived_at))
    lanes["expected"].rows = sorted(expected, key=lambda e: e.starts_at)
    lanes["done"].rows.sort(key=lambda i: i.arrived_at, reverse=True)
    return list(lanes.values())


def counts(lanes: Sequence[Lane]) -> dict[str, int]:
    return {lane.key: len(lane.rows) for lane in lanes}
