"""Business errors, one tree, rendered as RFC 9457 problem JSON by the back office.

AppError
 ├── BadRequest              400
 ├── NotAuthenticated        401
 ├── PermissionDenied        403
 ├── NotFound                404
 ├── Conflict                409
 │    └── PossibleDuplicate  409  (carries the candidate records)
 ├── PreconditionFailed      412  (stale If-Match)
 ├── InvalidInput            422  (carries field errors)
 ├── PreconditionRequired    428  (If-Match missing)
 └── TooManyRequests         429
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass
class FieldError:
    field: str
    message: str


class AppError(Exception):
    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions


class BadRequest(AppError):
    pass


class NotAuthenticated(AppError):
    status = 401
    code = "not-authenticated"
    title = "Not authenticated"


class PermissionDenied(AppError):
    status = 403
    code = "permission-denied"
    title = "Permission denied"


class NotFound(AppError):
    status = 404
    code = "not-found"
    title = "Not found"


class Conflict(AppError):
    status = 409
    code = "conflict"
    title = "Conflict"


class PossibleDuplicate(Conflict):
    code = "possible-duplicate"
    title = "Possible duplicate record"


class PreconditionFailed(AppError):
    status = 412
    code = "stale-version"
    title = "The record changed since you read it"


class InvalidInput(AppError):
    status = 422
    code = "validation-error"
    title = "Invalid input"

    def __init__(self, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.errors = errors or []


class PreconditionRequired(AppError):
    status = 428
    code = "precondition-required"
    title = "If-Match header required"


class TooManyRequests(AppError):
    status = 429
    code = "too-many-requests"
    title = "Too many requests"


@dataclass
class Problem:
    """The RFC 9457 body, kept here so the kiosk can parse what the back office sends."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[FieldError] = field(default_factory=list)
    extensions: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
        }
        if self.errors:
            body["errors"] = [{"field": e.field, "message": e.message} for e in self.errors]
        body.update(self.extensions)
        return body


def problem_type(code: str) -> str:
    return f"urn:frontdesk:problem:{code}"


def problem_of(exc: AppError) -> Problem:
    return Problem(
        type=problem_type(exc.code),
        title=exc.title,
        status=exc.status,
        detail=exc.detail,
        code=exc.code,
        errors=list(getattr(exc, "errors", None) or []),
        extensions=dict(exc.extensions),
    )
