"""Writing and verifying the audit trail.

Every event is chained to the one before: hash = SHA-256(previous hash + the event's
canonical JSON). Writers lock the single chain-head row first, so concurrent processes
append one at a time and the chain never forks.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from backoffice.audit.models import AuditChainHead, AuditEvent
from backoffice.kit.columns import utcnow
from backoffice.security.principal import Principal, RequestOrigin
from shared.enums import AuditOutcome

GENESIS_HASH = "0" * 64
_HASHED_FIELDS = (
    "seq",
    "occurred_at",
    "actor_kind",
    "actor_id",
    "actor_name",
    "actor_role",
    "action",
    "resource_type",
    "resource_id",
    "outcome",
    "status_code",
    "ip",
    "user_agent",
    "request_id",
    "detail",
)


def compute_hash(event: AuditEvent, prev_hash: str) -> str:
    body = {name: getattr(event, name) for name in _HASHED_FIELDS}
    body["occurred_at"] = event.occurred_at.isoformat(timespec="microseconds")
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


def record_event(
    session: Session,
    *,
    principal: Principal,
    origin: RequestOrigin,
    action: str,
    resource_type: str | None = None,
    resource_id: object | None = None,
    outcome: AuditOutcome = AuditOutcome.SUCCESS,
    status_code: int | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event in the caller's transaction: it commits, or vanishes, with the work."""
    head = session.exec(
        select(AuditChainHead).where(AuditChainHead.id == 1).with_for_update()
    ).one()
    event = AuditEvent(
        seq=head.seq + 1,
        occurred_at=utcnow(),
        actor_kind=principal.kind.value,
        actor_id=str(principal.id) if principal.id else None,
        actor_name=principal.name,
        actor_role=principal.role.value if principal.role else None,
        action=action,
        resource_type=resource_type,
        resource_id=str(resource_id) if resource_id is not None else None,
        outcome=outcome.value,
        status_code=status_code,
        ip=origin.ip,
        user_agent=(origin.user_agent or "")[:200] or None,
        request_id=origin.request_id,
        detail=json.loads(json.dumps(detail or {}, default=str)),
        prev_hash=head.hash,
        hash="",
    )
    event.hash = compute_hash(event, head.hash)
    head.seq, head.hash = event.seq, event.hash
    session.add(event)
    session.add(head)
    session.flush()
    return event


@dataclass
class ChainReport:
    ok: bool
    events_checked: int
    head_seq: int
    broken_at_seq: int | None = None
    reason: str | None = None


def verify_chain(session: Session, *, batch: int = 2000) -> ChainReport:
    """Walk the chain in order; report the first event whose link or content does not hold."""
    head = session.get(AuditChainHead, 1)
    head_seq = head.seq if head else 0
    expected_seq, prev_hash, checked = 1, GENESIS_HASH, 0
    rows: Iterable[AuditEvent] = session.exec(
        select(AuditEvent).order_by(col(AuditEvent.seq)).execution_options(yield_per=batch)
    )
    for event in rows:
        checked += 1
        if event.seq != expected_seq:
            return ChainReport(False, checked, head_seq, expected_seq, "an event is missing")
        if event.prev_hash != prev_hash:
            return ChainReport(
                False, checked, head_seq, event.seq, "link to the previous event is broken"
            )
        if compute_hash(event, prev_hash) != event.hash:
            return ChainReport(False, checked, head_seq, event.seq, "event content was changed")
        prev_hash, expected_seq = event.hash, expected_seq + 1
    if head is None or head.seq != expected_seq - 1:
        return ChainReport(
            False, checked, head_seq, expected_seq, "events were removed from the end"
        )
    if head.hash != prev_hash:
        return ChainReport(False, checked, head_seq, head.seq, "the last event was changed")
    return ChainReport(True, checked, head_seq)


def list_events(
    session: Session,
    *,
    limit: int,
    offset: int,
    actor_id: str | None = None,
    resource_type: str | None = None,
    resource_id: str | None = None,
    action: str | None = None,
    outcome: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[AuditEvent]:
    query = select(AuditEvent)
    if actor_id:
        query = query.where(AuditEvent.actor_id == actor_id)
    if resource_type:
        query = query.where(AuditEvent.resource_type == resource_type)
    if resource_id:
        query = query.where(AuditEvent.resource_id == resource_id)
    if action:
        query = query.where(AuditEvent.action == action)
    if outcome:
        query = query.where(AuditEvent.outcome == outcome)
    if since:
        query = query.where(AuditEvent.occurred_at >= since)
    if until:
        query = query.where(AuditEvent.occurred_at < until)
    query = query.order_by(col(AuditEvent.seq).desc()).offset(offset).limit(limit + 1)
    return list(session.exec(query))


def count_events(session: Session) -> int:
    return session.exec(select(func.count()).select_from(AuditEvent)).one()
