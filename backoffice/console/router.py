"""The staff console's sign-in and the routers of its pages, in one place for the app."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from backoffice.audit.dependencies import origin_of
from backoffice.audit.service import record_event
from backoffice.console import auth
from backoffice.console.billing import billing_pages
from backoffice.console.checkout import checkout_pages
from backoffice.console.devices import devices_pages
from backoffice.console.lobby import lobby_pages, lobby_sign_in_pages
from backoffice.console.patients import patients_pages
from backoffice.console.queue import queue_pages
from backoffice.console.review import review_pages
from backoffice.console.schedule import schedule_pages
from backoffice.console.web import (
    csrf_protect,
    render,
    safe_next,
    same_origin_only,
    see_other,
    set_session_cookie,
)
from backoffice.db import SessionDep
from backoffice.kit.columns import utcnow
from backoffice.security.principal import Principal
from backoffice.staff import service as staff_service
from backoffice.staff.models import StaffUser
from shared.enums import PrincipalKind, Role

sign_in_pages = APIRouter(dependencies=[Depends(same_origin_only)])


@sign_in_pages.get("/staff", name="console.home")
def home() -> RedirectResponse:
    return RedirectResponse("/staff/queue", status_code=303)


@sign_in_pages.get("/staff/login", name="console.login_form")
def login_form(request: Request, next: str | None = None) -> Response:
    return render(request, "login.html", next=safe_next(next), username="", error=None)


@sign_in_pages.post("/staff/login", name="console.login")
def login(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    next: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    settings = request.app.state.settings
    result = staff_service.sign_in(session, username=username, password=password, settings=settings)
    user = result.user
    if user is None:
        error = (
            "Too many failed sign-ins: try again later or ask an administrator."
            if result.failure == "locked"
            else "Wrong username or password."
        )
        return render(
            request, "login.html", status=401, next=safe_next(next), username=username, error=error
        )
    now = utcnow()
    token = auth.open_session(session, settings=settings, now=now, user=user)
    principal = Principal(PrincipalKind.USER, user.id, user.username, Role(user.role))
    record_event(session, principal=principal, origin=origin_of(request), action="console.sign_in")
    response = see_other(safe_next(next))
    set_session_cookie(request, response, token, settings.console_session_hours * 3600)
    return response


@sign_in_pages.post("/staff/logout", name="console.logout", dependencies=[Depends(csrf_protect)])
def logout(request: Request, session: SessionDep) -> Response:
    row = auth.end_session(session, request.cookies.get(auth.COOKIE), now=utcnow())
    user = session.get(StaffUser, row.user_id) if row is not None and row.user_id else None
    if user is not None:
        principal = Principal(PrincipalKind.USER, user.id, user.username, Role(user.role))
        record_event(
            session, principal=principal, origin=origin_of(request), action="console.sign_out"
        )
    response = see_other("/staff/login", "You are signed out.")
    response.delete_cookie(auth.COOKIE, path="/")
    return response


console_router = APIRouter(include_in_schema=False)
console_router.include_router(sign_in_pages)
console_router.include_router(lobby_sign_in_pages)
for pages in (
    queue_pages,
    patients_pages,
    schedule_pages,
    review_pages,
    checkout_pages,
    devices_pages,
    lobby_pages,
    billing_pages,
):
    console_router.include_router(pages, dependencies=[Depends(csrf_protect)])
