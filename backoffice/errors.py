"""The one place errors become responses: RFC 9457 problem JSON, never a stack trace.

Validation errors name each field and say what is wrong, without echoing the value sent
(it may be PHI).
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException

from shared.errors import (
    AppError,
    Conflict,
    FieldError,
    InvalidInput,
    PreconditionFailed,
    Problem,
    problem_type,
)

log = logging.getLogger("frontdesk.errors")
PROBLEM_JSON = "application/problem+json"


def problem_response(
    status: int,
    title: str,
    detail: str,
    code: str,
    *,
    errors: list[FieldError] | None = None,
    extensions: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    problem = Problem(
        type=problem_type(code),
        title=title,
        status=status,
        detail=detail,
        code=code,
        errors=errors or [],
        extensions=extensions or {},
    )
    return JSONResponse(
        problem.to_json(), status_code=status, media_type=PROBLEM_JSON, headers=headers
    )


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        where, parts = parts[0], parts[1:]
        if where == "header":
            parts = [p.replace("_", "-").title() for p in parts]
    return ".".join(parts) or "body"


def _app_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    if "retry_after" in exc.extensions:
        headers = {"Retry-After": str(exc.extensions["retry_after"])}
    return problem_response(
        exc.status,
        exc.title,
        exc.detail,
        exc.code,
        errors=getattr(exc, "errors", None),
        extensions=exc.extensions,
        headers=headers,
    )


def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        FieldError(
            # A JSON syntax error's location is a character offset, not a field.
            "body" if e.get("type") == "json_invalid" else _field_name(tuple(e.get("loc", ()))),
            str(e.get("msg", "invalid")),
        )
        for e in exc.errors()
    ]
    names = ", ".join(dict.fromkeys(e.field for e in errors))
    return problem_response(
        422, "Invalid input", f"Check these fields: {names}.", "validation-error", errors=errors
    )


def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else "Request failed."
    code = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request)
    return problem_response(exc.status_code, detail, detail, code, headers=headers or None)


def _allowed_methods(request: Request) -> str:
    """Every method any route answers at this path (Starlette names only the first route's)."""
    path = request.url.path
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.routes):
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(path) and route.methods:
            methods |= route.methods
    return ", ".join(sorted(methods))


def _stale(request: Request, exc: Exception) -> JSONResponse:
    return _app_error(
        request,
        PreconditionFailed(
            "Someone changed this record while you were saving. Read it again and re-apply."
        ),
    )


def _integrity(request: Request, exc: Exception) -> JSONResponse:
    # The constraint text can quote the values: log the kind of error only.
    log.warning("integrity error on %s", _route_path(request))
    return _app_error(request, Conflict("This conflicts with data already on file."))


_RETRYABLE_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock detected


def _operational(request: Request, exc: Exception) -> JSONResponse:
    """A transaction that lost a race (deadlock, serialization failure) was rolled back whole:
    saying so lets the caller try again; anything else is a real fault."""
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
    if sqlstate in _RETRYABLE_SQLSTATES:
        log.warning("transaction collided (%s) on %s", sqlstate, _route_path(request))
        return _app_error(request, Conflict("Another change collided with this one; try again."))
    return _unexpected(request, exc)


def _unstorable(request: Request, exc: Exception) -> JSONResponse:
    # Input that passed validation but the database cannot hold (PostgreSQL refuses NUL).
    log.warning("data error on %s", _route_path(request))
    return _app_error(
        request, InvalidInput("The input holds characters or values that cannot be stored.")
    )


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Exception messages can carry PHI (query parameters, values): log the type and where.
    frames = "".join(traceback.format_tb(exc.__traceback__))
    log.error("unhandled %s on %s\n%s", type(exc).__name__, _route_path(request), frames)
    request_id = getattr(request.state, "request_id", None)
    return problem_response(
        500,
        "Internal error",
        "Something went wrong on our side; the request was not applied.",
        "internal-error",
        extensions={"request_id": request_id},
    )


def _route_path(request: Request) -> str:
    route = request.scope.get("route")
    return getattr(route, "path", None) or "(no route)"


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(StaleDataError, _stale)
    app.add_exception_handler(IntegrityError, _integrity)
    app.add_exception_handler(DataError, _unstorable)
    app.add_exception_handler(OperationalError, _operational)
    app.add_exception_handler(Exception, _unexpected)
