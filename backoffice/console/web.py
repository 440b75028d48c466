"""What every console page shares: templates, who is signed in, CSRF, rendering, errors.

Pages are server-rendered HTML. A failure on a console page becomes an HTML page (or a
redirect to sign-in), never the API's problem JSON; a form that fails validation is shown
again with each field's message beside it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import quote, unquote, urlsplit
from zoneinfo import ZoneInfo

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ValidationError
from sqlmodel import Session

from backoffice.audit.dependencies import origin_of
from backoffice.console import auth
from backoffice.db import SessionDep
from backoffice.kit.columns import utcnow
from backoffice.security.actor import Actor
from backoffice.security.permissions import Permission
from backoffice.security.principal import Principal
from shared.enums import PrincipalKind, Role
from shared.errors import AppError, FieldError, PermissionDenied

log = logging.getLogger("frontdesk.console")
HERE = Path(__file__).parent
NOTICE_COOKIE = "frontdesk_notice"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ModelT = TypeVar("ModelT", bound=BaseModel)


def _local(value: datetime | None, zone: str | ZoneInfo, fmt: str = "%H:%M") -> str:
    if value is None:
        return ""
    tz = ZoneInfo(zone) if isinstance(zone, str) else zone
    return value.astimezone(tz).strftime(fmt)


def _money(cents: int | None) -> str:
    if cents is None:
        return ""
    sign = "-" if cents < 0 else ""
    return f"{sign}${abs(cents) // 100:,}.{abs(cents) % 100:02d}"


templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["local"] = _local
templates.env.filters["money"] = _money


class SignInNeeded(Exception):
    """No valid sign-in: pages send the browser to sign in; scripts get a 401."""

    def __init__(self, where: str = "/staff/login") -> None:
        self.where = where


# --- who is signed in -------------------------------------------------------------------


def _signed_in(request: Request, session: Session) -> auth.SignedIn | None:
    found = auth.resolve(
        session,
        request.cookies.get(auth.COOKIE),
        settings=request.app.state.settings,
        now=utcnow(),
    )
    request.state.console = found
    return found


def staff_actor(request: Request, session: SessionDep) -> Actor:
    found = _signed_in(request, session)
    if found is None or found.user is None:
        raise SignInNeeded()
    user = found.user
    principal = Principal(PrincipalKind.USER, user.id, user.username, Role(user.role))
    request.state.principal = principal
    request.state.display_name = user.display_name
    return Actor(principal=principal, origin=origin_of(request))


def display_actor(request: Request, session: SessionDep) -> Actor:
    found = _signed_in(request, session)
    if found is None or found.device is None:
        raise SignInNeeded("/lobby/sign-in")
    device = found.device
    principal = Principal(PrincipalKind.DEVICE, device.id, device.name, device_kind=device.kind)
    request.state.principal = principal
    return Actor(principal=principal, origin=origin_of(request))


StaffPage = Annotated[Actor, Depends(staff_actor)]
DisplayPage = Annotated[Actor, Depends(display_actor)]


def page_requires(permission: Permission) -> Callable[..., Actor]:
    """A page or action only for those holding `permission`."""

    def dependency(actor: StaffPage) -> Actor:
        if not actor.principal.can(permission):
            raise PermissionDenied(
                f"Your account ({actor.principal.role}) cannot do this; ask an administrator."
            )
        return actor

    dependency.permission = permission  # type: ignore[attr-defined]
    return dependency


def _same_origin(request: Request) -> bool:
    """Origin (or Referer) names this server: a form on another site cannot post here."""
    sent = request.headers.get("origin") or request.headers.get("referer")
    if not sent:
        return False
    parts = urlsplit(sent)
    return f"{parts.scheme}://{parts.netloc}" == f"{request.url.scheme}://{request.url.netloc}"


async def csrf_protect(request: Request) -> None:
    """Every unsafe request: from one of our pages, carrying the sign-in's CSRF token."""
    if request.method in SAFE_METHODS:
        return
    if not _same_origin(request):
        raise PermissionDenied("This form came from another site; open the page and try again.")
    offered = request.headers.get("x-csrf-token")
    if offered is None and "form" in request.headers.get("content-type", ""):
        offered = str((await request.form()).get("csrf_token", ""))
    key = request.app.state.signing_key
    if not auth.csrf_matches(key, request.cookies.get(auth.COOKIE), offered):
        raise PermissionDenied("This page has expired; reload it and try again.")


async def same_origin_only(request: Request) -> None:
    """Sign-in forms, before there is a token to check."""
    if request.method not in SAFE_METHODS and not _same_origin(request):
        raise PermissionDenied("This form came from another site; open the page and try again.")


# --- rendering ----------------------------------------------------------------------------


def location_zone(request: Request) -> ZoneInfo:
    return request.app.state.settings.timezone  # type: ignore[no-any-return]


def render(request: Request, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    principal: Principal | None = getattr(request.state, "principal", None)
    token = request.cookies.get(auth.COOKIE)
    notice = unquote(request.cookies.get(NOTICE_COOKIE, ""))
    response = templates.TemplateResponse(
        request,
        template,
        {
            "principal": principal,
            "display_name": getattr(request.state, "display_name", None),
            "can": (lambda name: principal is not None and principal.can(Permission(name))),
            "csrf_token": auth.csrf_token(request.app.state.signing_key, token) if token else "",
            "notice": notice,
            "zone": location_zone(request),
            "now": utcnow(),
            "path": request.url.path,
            **context,
        },
        status_code=status,
    )
    if notice:
        response.delete_cookie(NOTICE_COOKIE, path="/")
    return response


def see_other(url: str, notice: str | None = None) -> RedirectResponse:
    """After a form: back to a page, with a one-line notice for it (never PHI: it is a
    cookie)."""
    response = RedirectResponse(url, status_code=303)
    if notice:
        response.set_cookie(
            NOTICE_COOKIE, quote(notice), max_age=60, path="/", httponly=True, samesite="strict"
        )
    return response


def set_session_cookie(request: Request, response: Response, token: str, max_age: int) -> None:
    """The sign-in cookie: script cannot read it, other sites cannot send it."""
    response.set_cookie(
        auth.COOKIE,
        token,
        max_age=max_age,
        path="/",
        httponly=True,
        secure=request.app.state.settings.console_secure_cookies,
        samesite="strict",
    )


def safe_next(value: str | None, default: str = "/staff/queue") -> str:
    """Where to go after signing in: only a path on this console, never another site."""
    if value and value.startswith("/staff/") and not value.startswith("//") and "\\" not in value:
        return value
    return default


# --- forms --------------------------------------------------------------------------------


def parse_form(model: type[ModelT], data: dict[str, Any]) -> tuple[ModelT | None, dict[str, str]]:
    """The form as `model`, or each field's message. Empty inputs count as not given."""
    cleaned = {k: v for k, v in data.items() if v not in ("", None) and k != "csrf_token"}
    try:
        return model.model_validate(cleaned), {}
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors():
            name = ".".join(str(p) for p in error["loc"]) or "form"
            errors.setdefault(name, str(error["msg"]).removeprefix("Value error, "))
        return None, errors


def field_errors(errors: list[FieldError]) -> dict[str, str]:
    return {e.field: e.message for e in errors}


def attempt(session: Session, work: Callable[[], Any]) -> tuple[Any, AppError | None]:
    """Run `work` in a savepoint: a refusal (a duplicate, a stale version, a slot taken)
    undoes only its own writes and comes back to be shown on the form."""
    try:
        with session.begin_nested():
            return work(), None
    except AppError as exc:
        return None, exc


def parse_uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def parse_date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


# --- errors as pages ----------------------------------------------------------------------


def _is_console(request: Request) -> bool:
    path = request.url.path
    return path.startswith(("/staff", "/lobby"))


def _wants_html(request: Request) -> bool:
    return request.headers.get("x-requested-with") != "fetch"


def _error_page(request: Request, status: int, title: str, detail: str) -> Response:
    if not _wants_html(request):
        return Response(detail, status_code=status, media_type="text/plain")
    return render(request, "error.html", status=status, title=title, detail=detail)


def install_console_errors(app: FastAPI) -> None:
    """Console paths answer failures with pages; everything else keeps its handler."""
    api_handlers = dict(app.exception_handlers)

    def sign_in_needed(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SignInNeeded)
        if not _wants_html(request) or request.url.path.endswith("/events"):
            return Response("Sign in again.", status_code=401, media_type="text/plain")
        where = exc.where
        if request.method == "GET" and where == "/staff/login":
            where += "?next=" + quote(
                request.url.path + (f"?{request.url.query}" if request.url.query else "")
            )
        return RedirectResponse(where, status_code=303)

    app.add_exception_handler(SignInNeeded, sign_in_needed)

    def wrap(exc_class: Any, api_handler: Callable[..., Any]) -> None:
        def handler(request: Request, exc: Exception) -> Any:
            if not _is_console(request):
                return api_handler(request, exc)
            if isinstance(exc, AppError):
                return _error_page(request, exc.status, exc.title, exc.detail)
            if isinstance(exc, RequestValidationError):
                names = ", ".join(dict.fromkeys(_field(e) for e in exc.errors()))
                return _error_page(request, 422, "Check the form", f"Check: {names}.")
            status = getattr(exc, "status_code", 500)
            if status >= 500:
                api_handler(request, exc)  # logs the fault, without PHI
                return _error_page(
                    request, 500, "Something went wrong", "Nothing was saved; try again."
                )
            return _error_page(request, status, "Not here", str(getattr(exc, "detail", "")))

        app.add_exception_handler(exc_class, handler)

    for exc_class, api_handler in api_handlers.items():
        wrap(exc_class, api_handler)


def _field(error: dict[str, Any]) -> str:
    loc = [str(p) for p in error.get("loc", ())]
    return ".".join(loc[1:] if loc and loc[0] in ("body", "query", "path") else loc)
