"""Providers' iCalendar subscription feeds: issuing and revoking tokens, and the feed itself.

The feed is fetched by calendar services outside the practice, so it names patients by
initials only, and every fetch is audited against the feed.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from backoffice.clinic.models import Location, Provider
from backoffice.kit.columns import utcnow
from backoffice.patients.models import Patient
from backoffice.scheduling.calendar_feed import FeedEvent, feed_summary, render_feed
from backoffice.scheduling.models import Appointment, AppointmentType, CalendarFeed
from backoffice.security.actor import Actor
from backoffice.security.principal import Principal, RequestOrigin
from backoffice.security.tokens import digest, new_opaque_token
from shared.enums import PrincipalKind
from shared.errors import NotFound

FEED_TOKEN_PREFIX = "fdc_"
FEED_PAST = timedelta(days=30)
FEED_FUTURE = timedelta(days=180)
_FEED_STATUS = {"cancelled": "cancelled", "no_show": "cancelled", "rescheduled": "cancelled"}


def issue_feed(
    session: Session, *, actor: Actor, provider_id: uuid.UUID
) -> tuple[CalendarFeed, str]:
    if session.get(Provider, provider_id) is None:
        raise NotFound("No provider with that id.")
    token = new_opaque_token(FEED_TOKEN_PREFIX)
    feed = CalendarFeed(
        provider_id=provider_id,
        token_hash=digest(token),
        token_hint=token[: len(FEED_TOKEN_PREFIX) + 4],
        created_by=actor.principal.name,
    )
    session.add(feed)
    session.flush()
    actor.audit(
        session,
        "calendar_feeds.create",
        resource_type="provider",
        resource_id=provider_id,
        detail={"feed_id": str(feed.id)},
    )
    return feed, token


def revoke_feed(session: Session, *, actor: Actor, feed_id: uuid.UUID) -> CalendarFeed:
    feed = session.get(CalendarFeed, feed_id)
    if feed is None:
        raise NotFound("No calendar feed with that id.")
    if feed.revoked_at is None:
        feed.revoked_at = utcnow()
        session.add(feed)
    actor.audit(
        session,
        "calendar_feeds.revoke",
        resource_type="provider",
        resource_id=feed.provider_id,
        detail={"feed_id": str(feed.id)},
    )
    return feed


def feed_for_token(session: Session, *, token: str) -> CalendarFeed:
    feed = session.exec(
        select(CalendarFeed).where(CalendarFeed.token_hash == digest(token))
    ).first()
    if feed is None or feed.revoked_at is not None:
        raise NotFound("No such calendar feed.")  # the same answer for revoked and unknown
    return feed


def read_feed(session: Session, *, token: str, origin: RequestOrigin, zone_name: str) -> bytes:
    """The feed behind `token`; the fetch is audited with the feed as the actor."""
    feed = feed_for_token(session, token=token)
    principal = Principal(PrincipalKind.CALENDAR_FEED, feed.id, f"calendar-feed:{feed.token_hint}")
    Actor(principal, origin).audit(
        session, "calendar_feeds.read", resource_type="provider", resource_id=feed.provider_id
    )
    return render_provider_feed(session, feed=feed, zone_name=zone_name)


def render_provider_feed(
    session: Session, *, feed: CalendarFeed, zone_name: str, now: datetime | None = None
) -> bytes:
    now = now or utcnow()
    provider = session.get(Provider, feed.provider_id)
    assert provider is not None
    rows = session.exec(
        select(Appointment, AppointmentType, Patient, Location)
        .join(AppointmentType, col(AppointmentType.id) == Appointment.appointment_type_id)
        .join(Patient, col(Patient.id) == Appointment.patient_id)
        .join(Location, col(Location.id) == Appointment.location_id)
        .where(
            Appointment.provider_id == feed.provider_id,
            col(Appointment.starts_at) >= now - FEED_PAST,
            col(Appointment.starts_at) < now + FEED_FUTURE,
        )
    ).all()
    events = [
        FeedEvent(
            uid=f"{appointment.id}@frontdesk",
            start=appointment.starts_at,
            end=appointment.ends_at,
            summary=feed_summary(kind.name, patient.first_name, patient.last_name),
            location=location.name,
            status=_FEED_STATUS.get(appointment.status, "confirmed"),
            sequence=appointment.version - 1,
            last_modified=appointment.updated_at,
        )
        for appointment, kind, patient, location in rows
    ]
    ZoneInfo(zone_name)  # a bad zone is a settings error: fail loudly here, not in a client
    name = f"{provider.first_name} {provider.last_name} - Frontdesk"
    return render_feed(events, calendar_name=name, zone_name=zone_name, now=now)
