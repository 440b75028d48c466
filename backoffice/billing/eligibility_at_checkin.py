"""Eligibility at check-in: once a patient is on the queue, ask the payer whether the primary
policy is active, and alert the front desk when it is not, before the patient is seen.

    check-in committed, response sent ──▶ check_after_check_in (own session, never raises)
        clearinghouse set up? payer answers 270s? no answer in the last N hours?
            (should_check: pure)
        ──▶ eligibility_service.check_eligibility (records every outcome, failures too)
        ──▶ "inactive": a coverage_inactive staff alert

It runs after the check-in's answer has gone (FastAPI background task), so a clearinghouse
that is slow or down never delays or fails a check-in; anything it cannot do is logged by
type only (no PHI) and dropped.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi import BackgroundTasks
from sqlmodel import Session, col, func, select
from starlette.datastructures import State

from backoffice.billing import eligibility_service
from backoffice.billing import service as billing_service
from backoffice.billing.eligibility_service import EligibilityTransport
from backoffice.billing.models import EligibilityCheck, Payer
from backoffice.checkin import service as checkin_service
from backoffice.checkin.broadcast import QueueBroadcaster
from backoffice.checkin.models import Arrival, StaffAlert
from backoffice.clinic.models import Location, Provider
from backoffice.scheduling.models import Appointment
from backoffice.security.actor import Actor
from backoffice.settings import Settings

__all__ = [
    "ALERT_KIND",
    "check_after_check_in",
    "schedule_after_check_in",
    "should_check",
]

log = logging.getLogger(__name__)

ALERT_KIND = "coverage_inactive"
ANSWERED = ("active", "inactive", "rejected")  # the payer answered, whatever it said


def should_check(
    *,
    configured: bool,
    payer_supports_eligibility: bool,
    last_checked_at: datetime | None,
    now: datetime,
    recheck_after: timedelta,
) -> bool:
    """Whether a check-in asks the payer: only with a clearinghouse, a payer that answers
    270s, and no answer about the policy within `recheck_after`."""
    if not configured or not payer_supports_eligibility:
        return False
    return last_checked_at is None or now - last_checked_at >= recheck_after


def _last_answered_at(session: Session, policy_id: uuid.UUID) -> datetime | None:
    """When the payer last answered about the policy: a check that timed out or was refused
    is tried again at the next check-in."""
    return session.exec(
        select(func.max(EligibilityCheck.checked_at)).where(
            EligibilityCheck.policy_id == policy_id,
            col(EligibilityCheck.outcome).in_(ANSWERED),
        )
    ).one()


def check_after_check_in(
    session_factory: Callable[[], Session],
    *,
    actor: Actor,
    settings: Settings,
    broadcaster: QueueBroadcaster,
    appointment_id: uuid.UUID,
    now: datetime | None = None,
    transport: EligibilityTransport | None = None,
) -> EligibilityCheck | None:
    """The check a check-in asks for, in its own session and transaction; the check made,
    or None when none was due or it could not be made. Never raises."""
    owned = None
    try:
        if transport is None:
            owned = transport = eligibility_service.transport_from_settings(settings)
        if transport is None:
            return None  # no clearinghouse: not even a query
        with session_factory() as session:
            check = _check(
                session,
                actor=actor,
                settings=settings,
                broadcaster=broadcaster,
                appointment_id=appointment_id,
                now=now or datetime.now(UTC),
                transport=transport,
            )
            session.commit()
            return check
    except Exception as error:  # after the response: nobody to tell but the log
        log.warning("eligibility at check-in failed: %s", type(error).__name__)
        return None
    finally:
        if owned is not None:
            owned.close()


def _check(
    session: Session,
    *,
    actor: Actor,
    settings: Settings,
    broadcaster: QueueBroadcaster,
    appointment_id: uuid.UUID,
    now: datetime,
    transport: EligibilityTransport,
) -> EligibilityCheck | None:
    appointment = session.get(Appointment, appointment_id)
    if appointment is None:
        return None
    location = session.get(Location, appointment.location_id)
    zone = ZoneInfo(location.timezone) if location else settings.timezone
    policy = billing_service.primary_policy(
        session, patient_id=appointment.patient_id, on=now.astimezone(zone).date()
    )
    if policy is None:
        return None
    payer = session.exec(select(Payer).where(Payer.payer_id == policy.payer_id)).first()
    due = should_check(
        configured=True,
        payer_supports_eligibility=payer is not None and payer.eligibility_supported,
        last_checked_at=_last_answered_at(session, policy.id),
        now=now,
        recheck_after=timedelta(hours=settings.eligibility_recheck_hours),
    )
    if not due:
        return None
    check = eligibility_service.check_eligibility(
        session,
        actor,
        policy_id=policy.id,
        transport=eligibility_service.ReleasingTransport(session, transport),
        settings=settings,
        now=now,
    )
    if check.outcome == "inactive":
        _alert_inactive(session, broadcaster, appointment=appointment, zone=zone)
    return check


def _alert_inactive(
    session: Session, broadcaster: QueueBroadcaster, *, appointment: Appointment, zone: ZoneInfo
) -> StaffAlert:
    """Names the visit by its times and provider, as other alerts name a kiosk and a time:
    the board shows who that is to staff who may see it."""
    arrival = session.exec(select(Arrival).where(Arrival.appointment_id == appointment.id)).first()
    provider = session.get(Provider, appointment.provider_id)
    with_whom = f" with {provider.first_name} {provider.last_name}" if provider else ""
    arrived = f" checked in at {arrival.arrived_at.astimezone(zone):%H:%M}" if arrival else ""
    return checkin_service.raise_alert(
        session,
        broadcaster,
        kind=ALERT_KIND,
        message=(
            f"The payer says the primary coverage of the patient{arrived} for the "
            f"{appointment.starts_at.astimezone(zone):%H:%M} visit{with_whom} is not active; "
            "review the insurance before the visit."
        ),
        device_id=arrival.device_id if arrival else None,
        location_id=appointment.location_id,
    )


def schedule_after_check_in(
    tasks: BackgroundTasks, app_state: State, *, actor: Actor, appointment_id: uuid.UUID
) -> None:
    """Queue the check to run once the check-in's response has gone, with the app's own
    session factory, settings and broadcaster (`request.app.state`)."""
    tasks.add_task(
        check_after_check_in,
        app_state.session_factory,
        actor=actor,
        settings=app_state.settings,
        broadcaster=app_state.queue_broadcaster,
        appointment_id=appointment_id,
    )
