"""The clinic's scheduling set-up: appointment types, providers' weekly templates and the
exceptions to them. Changing these never moves a booked appointment; taking time out
reports the appointments it strands so staff can move them or call the patients."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col, select

from backoffice.clinic import service as clinic_service
from backoffice.clinic.models import Provider
from backoffice.kit.unique import ensure_unique
from backoffice.scheduling.models import (
    LIVE_STATUSES,
    Appointment,
    AppointmentType,
    AppointmentTypeProvider,
    ScheduleException,
    ScheduleRule,
)
from backoffice.scheduling.schemas import (
    AppointmentTypeCreate,
    AppointmentTypeDetail,
    AppointmentTypeUpdate,
    ScheduleExceptionCreate,
    ScheduleExceptionCreated,
    ScheduleExceptionPublic,
    ScheduleRuleIn,
)
from backoffice.scheduling.service import CLOSING_KINDS, lock_calendar, weekly_rule
from backoffice.scheduling.slots import WeeklyRule
from backoffice.security.actor import Actor
from shared.enums import ScheduleExceptionKind
from shared.errors import FieldError, InvalidInput, NotFound

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


# --- pure checks ---------------------------------------------------------------------------


def _dates_overlap(a: WeeklyRule, b: WeeklyRule) -> bool:
    far = date.max
    return a.effective <= (b.expires or far) and b.effective <= (a.expires or far)


def rule_problems(rule: WeeklyRule, others: Iterable[WeeklyRule] = ()) -> list[FieldError]:
    """What is wrong with a weekly session, field by field: hours backwards, breaks outside
    the session or on top of each other, or an overlap with another of the provider's
    sessions (at any location: nobody is in two places)."""
    problems = []
    if rule.end <= rule.start:
        problems.append(FieldError("end_time", "must be after start_time"))
    if rule.expires is not None and rule.expires < rule.effective:
        problems.append(FieldError("expiration_date", "must not be before effective_date"))
    previous_end = None
    for i, (begins, ends) in enumerate(sorted(rule.breaks)):
        if ends <= begins:
            problems.append(FieldError(f"breaks.{i}", "must end after it starts"))
        elif begins <= rule.start or ends >= rule.end:
            problems.append(FieldError(f"breaks.{i}", "must fall inside the session"))
        elif previous_end is not None and begins < previous_end:
            problems.append(FieldError(f"breaks.{i}", "overlaps another break"))
        previous_end = ends
    for other in others:
        if (
            other.weekday == rule.weekday
            and _dates_overlap(rule, other)
            and rule.start < other.end
            and other.start < rule.end
        ):
            problems.append(
                FieldError(
                    "start_time",
                    f"overlaps the provider's {WEEKDAYS[other.weekday]} session "
                    f"{other.start:%H:%M}-{other.end:%H:%M} from {other.effective}",
                )
            )
    return problems


def exception_problems(data: ScheduleExceptionCreate) -> list[FieldError]:
    problems = []
    if data.end <= data.start:
        problems.append(FieldError("end", "must be after start"))
    needs_provider = (ScheduleExceptionKind.PTO, ScheduleExceptionKind.EXTRA_SESSION)
    if data.kind in needs_provider and data.provider_id is None:
        problems.append(FieldError("provider_id", f"a {data.kind.value} needs a provider"))
    if data.kind is ScheduleExceptionKind.EXTRA_SESSION and data.location_id is None:
        problems.append(FieldError("location_id", "an extra session needs a location"))
    return problems


# --- appointment types ---------------------------------------------------------------------


def appointment_type_detail(session: Session, kind: AppointmentType) -> AppointmentTypeDetail:
    provider_ids = session.exec(
        select(AppointmentTypeProvider.provider_id).where(
            AppointmentTypeProvider.appointment_type_id == kind.id
        )
    ).all()
    return AppointmentTypeDetail.model_validate(
        {**kind.model_dump(), "provider_ids": sorted(provider_ids, key=str)}
    )


def list_appointment_types(
    session: Session, *, active: bool | None = None, limit: int = 200, offset: int = 0
) -> list[AppointmentType]:
    query = select(AppointmentType).order_by(col(AppointmentType.name), col(AppointmentType.id))
    if active is not None:
        query = query.where(AppointmentType.active == active)
    return list(session.exec(query.offset(offset).limit(limit)))


def find_appointment_type(session: Session, *, appointment_type_id: uuid.UUID) -> AppointmentType:
    """Active or retired; booking asks for an active one."""
    kind = session.get(AppointmentType, appointment_type_id)
    if kind is None:
        raise NotFound("No appointment type with that id.")
    return kind


def _set_providers(session: Session, kind: AppointmentType, provider_ids: list[uuid.UUID]) -> None:
    wanted = set(provider_ids)
    found = set(session.exec(select(Provider.id).where(col(Provider.id).in_(wanted))).all())
    if wanted - found:
        raise InvalidInput(
            "Some providers do not exist.",
            [
                FieldError("provider_ids", f"no provider {p}")
                for p in sorted(map(str, wanted - found))
            ],
        )
    session.exec(  # type: ignore[call-overload]
        delete(AppointmentTypeProvider).where(
            col(AppointmentTypeProvider.appointment_type_id) == kind.id
        )
    )
    session.add_all(
        AppointmentTypeProvider(appointment_type_id=kind.id, provider_id=p) for p in wanted
    )


def create_appointment_type(
    session: Session, *, actor: Actor, data: AppointmentTypeCreate
) -> AppointmentType:
    ensure_unique(session, AppointmentType.code, data.code, own_id=None, field="code")
    kind = AppointmentType(**data.model_dump(exclude={"provider_ids"}))
    session.add(kind)
    session.flush()
    _set_providers(session, kind, data.provider_ids)
    session.flush()
    actor.audit(
        session, "appointment_types.create", resource_type="appointment_type", resource_id=kind.id
    )
    return kind


def update_appointment_type(
    session: Session, *, actor: Actor, kind: AppointmentType, data: AppointmentTypeUpdate
) -> AppointmentType:
    changes = data.model_dump(exclude_unset=True)
    if "provider_ids" in changes:
        _set_providers(session, kind, changes["provider_ids"])
    for name, value in changes.items():
        if name != "provider_ids":
            setattr(kind, name, value)
    session.add(kind)
    session.flush()
    actor.audit(
        session,
        "appointment_types.update",
        resource_type="appointment_type",
        resource_id=kind.id,
        detail={"fields": sorted(changes)},
    )
    return kind


# --- weekly templates ----------------------------------------------------------------------


def list_rules(session: Session, *, provider_id: uuid.UUID) -> list[ScheduleRule]:
    return list(
        session.exec(
            select(ScheduleRule)
            .where(ScheduleRule.provider_id == provider_id)
            .order_by(
                col(ScheduleRule.weekday),
                col(ScheduleRule.start_time),
                col(ScheduleRule.effective_date),
            )
        )
    )


def get_rule(session: Session, *, rule_id: uuid.UUID) -> ScheduleRule:
    rule = session.get(ScheduleRule, rule_id)
    if rule is None:
        raise NotFound("No schedule rule with that id.")
    return rule


def _checked(
    session: Session, provider: Provider, data: ScheduleRuleIn, replacing: uuid.UUID | None
) -> None:
    if data.location_id not in {loc.id for loc in provider.locations}:
        raise InvalidInput(
            "The provider does not work at that location.",
            [FieldError("location_id", "not one of the provider's locations")],
        )
    others = [
        weekly_rule(r) for r in list_rules(session, provider_id=provider.id) if r.id != replacing
    ]
    proposed = WeeklyRule(
        data.weekday,
        data.start_time,
        data.end_time,
        data.effective_date,
        data.expiration_date,
        tuple(data.breaks),
    )
    problems = rule_problems(proposed, others)
    if problems:
        raise InvalidInput("The weekly session does not fit.", problems)


def _rule_json(data: ScheduleRuleIn) -> dict[str, Any]:
    return {
        **data.model_dump(exclude={"breaks"}),
        "breaks": [[f"{a:%H:%M}", f"{b:%H:%M}"] for a, b in sorted(data.breaks)],
    }


def create_rule(
    session: Session, *, actor: Actor, provider_id: uuid.UUID, data: ScheduleRuleIn
) -> ScheduleRule:
    provider = clinic_service.get_provider(session, provider_id=provider_id)
    lock_calendar(session, provider_id=provider.id)
    _checked(session, provider, data, replacing=None)
    rule = ScheduleRule(provider_id=provider.id, **_rule_json(data))
    session.add(rule)
    session.flush()
    actor.audit(
        session,
        "schedule_rules.create",
        resource_type="provider",
        resource_id=provider.id,
        detail={"rule_id": str(rule.id)},
    )
    return rule


def replace_rule(
    session: Session, *, actor: Actor, rule: ScheduleRule, data: ScheduleRuleIn
) -> ScheduleRule:
    provider = clinic_service.get_provider(session, provider_id=rule.provider_id)
    lock_calendar(session, provider_id=provider.id)
    _checked(session, provider, data, replacing=rule.id)
    for name, value in _rule_json(data).items():
        setattr(rule, name, value)
    session.add(rule)
    session.flush()
    actor.audit(
        session,
        "schedule_rules.replace",
        resource_type="provider",
        resource_id=provider.id,
        detail={"rule_id": str(rule.id)},
    )
    return rule


def delete_rule(session: Session, *, actor: Actor, rule: ScheduleRule) -> None:
    """To stop a template from a date but keep its past, set its expiration_date instead."""
    session.delete(rule)
    session.flush()
    actor.audit(
        session,
        "schedule_rules.delete",
        resource_type="provider",
        resource_id=rule.provider_id,
        detail={"rule_id": str(rule.id)},
    )


# --- exceptions ----------------------------------------------------------------------------


def exception_public(row: ScheduleException) -> ScheduleExceptionPublic:
    return ScheduleExceptionPublic(
        id=row.id,
        kind=row.kind,
        provider_id=row.provider_id,
        location_id=row.location_id,
        start=row.starts_at,
        end=row.ends_at,
        reason=row.reason,
    )


def list_exceptions(
    session: Session,
    *,
    start: datetime,
    end: datetime,
    provider_id: uuid.UUID | None = None,
    location_id: uuid.UUID | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[ScheduleException]:
    """Exceptions overlapping [start, end); with a provider or location, also the ones that
    apply to everyone there (a clinic-wide holiday applies to every provider)."""
    query = select(ScheduleException).where(
        col(ScheduleException.starts_at) < end, col(ScheduleException.ends_at) > start
    )
    if provider_id is not None:
        query = query.where(
            (col(ScheduleException.provider_id) == provider_id)
            | col(ScheduleException.provider_id).is_(None)
        )
    if location_id is not None:
        query = query.where(
            (col(ScheduleException.location_id) == location_id)
            | col(ScheduleException.location_id).is_(None)
        )
    query = query.order_by(col(ScheduleException.starts_at), col(ScheduleException.id))
    return list(session.exec(query.offset(offset).limit(limit)))


def get_exception(session: Session, *, exception_id: uuid.UUID) -> ScheduleException:
    row = session.get(ScheduleException, exception_id)
    if row is None:
        raise NotFound("No schedule exception with that id.")
    return row


def stranded_appointments(session: Session, row: ScheduleException) -> list[uuid.UUID]:
    """Live appointments inside time an exception takes out."""
    if row.kind not in CLOSING_KINDS:
        return []
    query = select(Appointment.id).where(
        col(Appointment.status).in_(LIVE_STATUSES),
        col(Appointment.starts_at) < row.ends_at,
        col(Appointment.ends_at) > row.starts_at,
    )
    if row.provider_id is not None:
        query = query.where(Appointment.provider_id == row.provider_id)
    if row.location_id is not None:
        query = query.where(Appointment.location_id == row.location_id)
    return list(session.exec(query.order_by(col(Appointment.starts_at))))


def create_exception(
    session: Session, *, actor: Actor, data: ScheduleExceptionCreate
) -> ScheduleExceptionCreated:
    problems = exception_problems(data)
    if problems:
        raise InvalidInput("The exception does not make sense.", problems)
    provider = (
        None
        if data.provider_id is None
        else clinic_service.get_provider(session, provider_id=data.provider_id)
    )
    if data.location_id is not None:
        clinic_service.get_location(session, location_id=data.location_id)
        if provider is not None and data.location_id not in {loc.id for loc in provider.locations}:
            raise InvalidInput(
                "The provider does not work at that location.",
                [FieldError("location_id", "not one of the provider's locations")],
            )
    row = ScheduleException(
        kind=data.kind.value,
        provider_id=data.provider_id,
        location_id=data.location_id,
        starts_at=data.start,
        ends_at=data.end,
        reason=data.reason,
    )
    session.add(row)
    session.flush()
    stranded = stranded_appointments(session, row)
    actor.audit(
        session,
        "schedule_exceptions.create",
        resource_type="schedule_exception",
        resource_id=row.id,
        detail={"kind": row.kind, "stranded": len(stranded)},
    )
    return ScheduleExceptionCreated(
        **exception_public(row).model_dump(), affected_appointment_ids=stranded
    )


def delete_exception(session: Session, *, actor: Actor, row: ScheduleException) -> None:
    session.delete(row)
    session.flush()
    actor.audit(
        session,
        "schedule_exceptions.delete",
        resource_type="schedule_exception",
        resource_id=row.id,
        detail={"kind": row.kind},
    )
