from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from backoffice.audit import service as audit_service
from backoffice.audit.schemas import AuditEventPublic, ChainStatus
from backoffice.db import SessionDep
from backoffice.kit.columns import Timestamp
from backoffice.kit.pagination import Page, PageDep
from backoffice.security.actor import Actor
from backoffice.security.dependencies import require
from backoffice.security.permissions import Permission
from shared.enums import AuditOutcome

audit_router = APIRouter(prefix="/audit-events", tags=["audit"])

Auditor = Annotated[Actor, Depends(require(Permission.AUDIT_READ))]


@audit_router.get("", name="audit.list", response_model=Page[AuditEventPublic])
def list_audit_events(
    session: SessionDep,
    actor: Auditor,
    page: PageDep,
    actor_id: Annotated[str | None, Query(max_length=36)] = None,
    resource_type: Annotated[str | None, Query(max_length=40)] = None,
    resource_id: Annotated[str | None, Query(max_length=36)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    outcome: AuditOutcome | None = None,
    since: Timestamp | None = None,
    until: Timestamp | None = None,
) -> Page[AuditEventPublic]:
    """Newest first. Reading the trail is itself recorded in the trail."""
    rows = audit_service.list_events(
        session,
        limit=page.limit,
        offset=page.offset,
        actor_id=actor_id,
        resource_type=resource_type,
        resource_id=resource_id,
        action=action,
        outcome=outcome.value if outcome else None,
        since=since,
        until=until,
    )
    result = Page.from_rows([AuditEventPublic.model_validate(r) for r in rows], page)
    actor.audit(
        session, "audit.list", detail={"resource_type": resource_type, "resource_id": resource_id}
    )
    return result


@audit_router.get("/verify", name="audit.verify", response_model=ChainStatus)
def verify_audit_chain(session: SessionDep, actor: Auditor) -> ChainStatus:
    report = audit_service.verify_chain(session)
    return ChainStatus(**asdict(report))
