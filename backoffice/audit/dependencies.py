"""The HTTP edge of the audit trail: where a request came from, and recording the ones that fail."""

from __future__ import annotations

import logging

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from sqlmodel import Session
from starlette.exceptions import HTTPException

from backoffice.audit.service import record_event
from backoffice.security.principal import ANONYMOUS, RequestOrigin
from shared.enums import AuditOutcome
from shared.errors import AppError

log = logging.getLogger(__name__)


def origin_of(request: Request) -> RequestOrigin:
    return RequestOrigin(
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
        request_id=getattr(request.state, "request_id", None),
    )


def _status_of(error: Exception) -> int:
    if isinstance(error, AppError):
        return error.status
    if isinstance(error, RequestValidationError):
        return 422
    if isinstance(error, HTTPException):
        return error.status_code
    if getattr(getattr(error, "orig", None), "sqlstate", None) in ("40001", "40P01"):
        return 409  # a lost race, answered as a conflict to retry
    return 500


def record_request_failure(session: Session, request: Request, error: Exception) -> None:
    """Record a refused or failed request in its own transaction (the work was rolled back).

    The action is the route's name; the record is taken from the path (`patient_id` → a
    patient). Failures here are logged and swallowed so the original error still answers.
    """
    route = request.scope.get("route")
    if route is None:
        return
    status = _status_of(error)
    resource_type = resource_id = None
    for name, value in request.path_params.items():
        if name.endswith("_id"):
            resource_type, resource_id = name.removesuffix("_id"), value
            break
    detail = dict(getattr(request.state, "audit_detail", {}) or {})
    if isinstance(error, AppError):
        detail["error"] = error.code
    try:
        record_event(
            session,
            principal=getattr(request.state, "principal", ANONYMOUS),
            origin=origin_of(request),
            action=getattr(route, "name", "unknown"),
            resource_type=resource_type,
            resource_id=resource_id,
            outcome=AuditOutcome.DENIED if status in (401, 403) else AuditOutcome.FAILURE,
            status_code=status,
            detail=detail,
        )
        session.commit()
    except Exception:
        session.rollback()
        log.exception("could not record a failed request in the audit trail")
