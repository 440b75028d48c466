"""The caller of a service: who and from where. Services audit through it, so the HTTP layer,
the CLI and jobs all leave the same trail."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from backoffice.audit.service import record_event
from backoffice.security.principal import Principal, RequestOrigin
from shared.enums import AuditOutcome


@dataclass(frozen=True)
class Actor:
    """The authenticated caller and where the call came from; services audit through it."""

    principal: Principal
    origin: RequestOrigin

    def audit(
        self,
        session: Session,
        action: str,
        *,
        resource_type: str | None = None,
        resource_id: object | None = None,
        detail: dict[str, Any] | None = None,
        outcome: AuditOutcome = AuditOutcome.SUCCESS,
    ) -> None:
        record_event(
            session,
            principal=self.principal,
            origin=self.origin,
            action=action,
            resource_type=resource_type,
            resource_id=resource_id,
            outcome=outcome,
            detail=detail,
        )
