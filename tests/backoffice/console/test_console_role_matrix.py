"""Every console page and action against every kind of browser: the five staff roles, a
lobby display and nobody signed in.

The routes are walked from the application, so a new page is checked the day it is added:
it must declare what it needs through `page_requires` (or be one of the few sign-in pages),
and then exactly the roles the permission table grants get past the check.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import create_engine

from backoffice.app import create_app
from backoffice.console import auth
from backoffice.console.web import display_actor, staff_actor
from backoffice.devices.models import Device
from backoffice.kit.columns import utcnow
from backoffice.security.permissions import ROLE_PERMISSIONS, Permission
from backoffice.settings import Settings
from shared.enums import Role
from tests.conftest import bound_to
from tests.fixtures.console import Console, console_as
from tests.fixtures.endpoints import dependency_calls

# Pages anyone may open: signing in, and the redirect to it.
OPEN_TO_ALL = {
    "console.home",
    "console.login_form",
    "console.login",
    "console.logout",
    "console.lobby_sign_in_form",
    "console.lobby_sign_in",
}
BROWSERS = ("front_desk", "nurse", "provider", "billing", "admin", "display", "anonymous")


@dataclass(frozen=True)
class Page:
    name: str
    method: str
    path: str
    need: Permission | str | None  # a permission, "display", or None (open to all)


def console_pages() -> list[Page]:
    app = create_app(Settings(), engine=create_engine("sqlite://"))
    pages = []
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute):
            continue
        if not route.path.startswith(("/staff", "/lobby")):
            continue
        calls = list(dependency_calls(route.dependant))
        needs = [c.permission for c in calls if hasattr(c, "permission")]
        need: Permission | str | None = needs[0] if needs else None
        if need is None and display_actor in calls:
            need = "display"
        elif need is None and staff_actor in calls:
            need = "staff"
        for method in sorted(route.methods):
            pages.append(Page(route.name, method, route.path, need))
    return pages


PAGES = console_pages()


def test_every_console_page_says_who_may_open_it():
    unguarded = [p.name for p in PAGES if p.need is None and p.name not in OPEN_TO_ALL]
    assert unguarded == []
    assert not [p.name for p in PAGES if p.need == "staff"], "use page_requires(Permission)"
    assert {p.name for p in PAGES if p.need is None} <= OPEN_TO_ALL


@pytest.fixture
def app(module_app, connection):
    return bound_to(module_app, connection)


def allowed(page: Page, who: str) -> bool:
    if page.need is None:
        return True
    if page.need == "display":
        return who == "display"
    if who in ("display", "anonymous"):
        return False
    return page.need in ROLE_PERMISSIONS[Role(who)]


def _display(app, session) -> Console:
    device = Device(
        name=f"lobby-{uuid.uuid4().hex[:6]}",
        kind="display",
        token_hash=uuid.uuid4().hex * 2,
        token_hint="x",
    )
    session.add(device)
    session.flush()
    token = auth.open_session(session, settings=app.state.settings, now=utcnow(), device=device)
    session.commit()
    console = Console(app)
    console.http.cookies.set(auth.COOKIE, token)
    return console


def browser(app, session, who: str) -> Console:
    if who == "anonymous":
        return Console(app)
    if who == "display":
        return _display(app, session)
    return console_as(app, session, Role(who))


def _fill(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda _: str(uuid.uuid4()), path)


def refused(response: Any) -> bool:
    if response.status_code in (401, 403):
        return True
    location = response.headers.get("location", "")
    return response.status_code == 303 and (
        "/staff/login" in location or "/lobby/sign-in" in location
    )


def _calls(console: Console) -> Iterator[tuple[Page, Any]]:
    for page in PAGES:
        if page.name in OPEN_TO_ALL:
            continue
        path = _fill(page.path)
        if page.method == "GET":
            if path.endswith("/events"):
                continue  # a stream never ends; its guard is the page's, checked below
            yield page, console.get(path)
        else:
            yield page, console.post(path, {})


@pytest.mark.parametrize("who", BROWSERS)
def test_each_browser_gets_past_exactly_the_pages_its_permissions_allow(app, session, who):
    console = browser(app, session, who)
    wrong = []
    for page, response in _calls(console):
        if refused(response) == allowed(page, who):
            wrong.append(f"{page.method} {page.path}: {response.status_code}")
    assert wrong == []


@pytest.mark.parametrize("who", BROWSERS)
def test_event_streams_refuse_who_may_not_watch(app, session, who):
    console = browser(app, session, who)
    for page in PAGES:
        if page.path.endswith("/events") and not allowed(page, who):
            response = console.get(_fill(page.path))
            assert response.status_code in (401, 403), page.path
