"""The wait list: who gets a time that frees up, and the offer made to them.

Choosing is pure (`rank_entries`): among waiting patients whose wish covers the freed time,
those who asked for this provider come before those who take anyone, and within each the
one who has waited longest comes first. Making the offer writes a `wait_list.offered`
domain event in the same transaction, for messaging to tell the patient.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from backoffice.scheduling.models import DomainEvent, WaitListEntry

OFFER_LIFETIME = timedelta(hours=2)


@dataclass(frozen=True)
class FreedTime:
    provider_id: uuid.UUID
    location_id: uuid.UUID
    appointment_type_id: uuid.UUID
    start: datetime
    end: datetime
    freed_by_patient_id: uuid.UUID


def wants(entry: WaitListEntry, time: FreedTime) -> bool:
    return (
        entry.status == "waiting"
        and entry.appointment_type_id == time.appointment_type_id
        and entry.provider_id in (None, time.provider_id)
        and entry.location_id in (None, time.location_id)
        and entry.earliest <= time.start
        and time.end <= entry.latest
        and entry.patient_id != time.freed_by_patient_id
        and time.start.isoformat() not in entry.passed_over
    )


def rank_entries(entries: Iterable[WaitListEntry], time: FreedTime) -> list[WaitListEntry]:
    """The entries that want `time`, best first."""
    eligible = [e for e in entries if wants(e, time)]
    return sorted(eligible, key=lambda e: (e.provider_id is None, e.created_at, str(e.id)))


def offer(session: Session, *, time: FreedTime, now: datetime) -> WaitListEntry | None:
    """Offer `time` to the best waiting entry, if any wants it."""
    candidates = session.exec(
        select(WaitListEntry).where(
            WaitListEntry.status == "waiting",
            WaitListEntry.appointment_type_id == time.appointment_type_id,
            col(WaitListEntry.earliest) <= time.start,
            col(WaitListEntry.latest) >= time.end,
        )
    ).all()
    ranked = rank_entries(candidates, time)
    if not ranked:
        return None
    entry = ranked[0]
    entry.status = "offered"
    entry.offered_provider_id = time.provider_id
    entry.offered_location_id = time.location_id
    entry.offered_start = time.start
    entry.offer_expires_at = now + OFFER_LIFETIME
    session.add(entry)
    session.add(
        DomainEvent(
            kind="wait_list.offered",
            payload={
                "entry_id": str(entry.id),
                "patient_id": str(entry.patient_id),
                "provider_id": str(time.provider_id),
                "location_id": str(time.location_id),
                "start": time.start.isoformat(),
                "expires_at": entry.offer_expires_at.isoformat(),
            },
        )
    )
    session.flush()
    return entry


def withdraw_offer(
    session: Session, *, entry: WaitListEntry, duration: timedelta
) -> FreedTime | None:
    """Put an offered entry back to waiting (declined or lapsed), remembering the time so it
    is not offered to them again; return the time, to offer to the next in line."""
    if entry.status != "offered" or entry.offered_start is None:
        return None
    assert entry.offered_provider_id and entry.offered_location_id
    time = FreedTime(
        provider_id=entry.offered_provider_id,
        location_id=entry.offered_location_id,
        appointment_type_id=entry.appointment_type_id,
        start=entry.offered_start,
        end=entry.offered_start + duration,
        freed_by_patient_id=entry.patient_id,
    )
    entry.passed_over = [*entry.passed_over, entry.offered_start.isoformat()]
    entry.status = "waiting"
    entry.offered_provider_id = entry.offered_location_id = None
    entry.offered_start = entry.offer_expires_at = None
    session.add(entry)
    session.flush()
    return time


def retract_offers(session: Session, *, provider_id: uuid.UUID, start: datetime) -> int:
    """The time is taken again (a cancellation was undone): offers of it go back to waiting,
    without counting against the patient, and messaging is told to say sorry."""
    offered = session.exec(
        select(WaitListEntry).where(
            WaitListEntry.status == "offered",
            WaitListEntry.offered_provider_id == provider_id,
            WaitListEntry.offered_start == start,
        )
    ).all()
    for entry in offered:
        entry.status = "waiting"
        entry.offered_provider_id = entry.offered_location_id = None
        entry.offered_start = entry.offer_expires_at = None
        session.add(entry)
        session.add(
            DomainEvent(
                kind="wait_list.offer_retracted",
                payload={"entry_id": str(entry.id), "patient_id": str(entry.patient_id)},
            )
        )
    session.flush()
    return len(offered)
