from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from backoffice.audit.dependencies import origin_of
from backoffice.audit.service import record_event
from backoffice.db import SessionDep
from backoffice.kit.pagination import Page, PageDep
from backoffice.security.actor import Actor
from backoffice.security.dependencies import StaffActor, require
from backoffice.security.permissions import Permission
from backoffice.security.principal import Principal
from backoffice.staff import service as staff_service
from backoffice.staff.schemas import (
    RefreshRequest,
    StaffUserCreate,
    StaffUserPublic,
    StaffUserUpdate,
    TokenResponse,
)
from shared.enums import PrincipalKind, Role
from shared.errors import NotAuthenticated, TooManyRequests

auth_router = APIRouter(prefix="/auth", tags=["auth"])
users_router = APIRouter(prefix="/users", tags=["staff accounts"])

UserManager = Annotated[Actor, Depends(require(Permission.USERS_MANAGE))]


@auth_router.post("/token", name="auth.token", response_model=TokenResponse)
def sign_in(
    request: Request, session: SessionDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> TokenResponse:
    """Exchange a username and password for a short-lived access token and a refresh token."""
    request.state.audit_detail = {"username": form.username[:64]}
    settings = request.app.state.settings
    result = staff_service.sign_in(
        session, username=form.username, password=form.password, settings=settings
    )
    if result.user is None:
        session.commit()  # keep the failure count although the request fails
        if result.failure == "locked":
            raise TooManyRequests("Too many failed sign-ins; try again later or ask an admin.")
        raise NotAuthenticated("Wrong username or password.")
    user = result.user
    tokens = staff_service.issue_tokens(
        session, user=user, settings=settings, signing_key=request.app.state.signing_key
    )
    principal = Principal(PrincipalKind.USER, user.id, user.username, Role(user.role))
    record_event(session, principal=principal, origin=origin_of(request), action="auth.token")
    return tokens


@auth_router.post("/refresh", name="auth.refresh", response_model=TokenResponse)
def refresh(request: Request, session: SessionDep, body: RefreshRequest) -> TokenResponse:
    tokens = staff_service.rotate_refresh_token(
        session,
        token=body.refresh_token,
        settings=request.app.state.settings,
        signing_key=request.app.state.signing_key,
    )
    if tokens is None:
        session.commit()  # a replayed token's family stays revoked
        raise NotAuthenticated("This refresh token is not valid; sign in again.")
    return tokens


@auth_router.post("/logout", name="auth.logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(request: Request, session: SessionDep, body: RefreshRequest) -> Response:
    user = staff_service.revoke_refresh_token(session, token=body.refresh_token)
    if user is not None:
        principal = Principal(PrincipalKind.USER, user.id, user.username, Role(user.role))
        record_event(session, principal=principal, origin=origin_of(request), action="auth.logout")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@auth_router.get("/me", name="auth.me", response_model=StaffUserPublic)
def me(session: SessionDep, actor: StaffActor) -> StaffUserPublic:
    assert actor.principal.id is not None
    user = staff_service.get_user(session, user_id=actor.principal.id)
    return StaffUserPublic.model_validate(user)


@users_router.get("", name="users.list", response_model=Page[StaffUserPublic])
def list_users(session: SessionDep, actor: UserManager, page: PageDep) -> Page[StaffUserPublic]:
    rows = staff_service.list_users(session, limit=page.limit, offset=page.offset)
    return Page.from_rows([StaffUserPublic.model_validate(u) for u in rows], page)


@users_router.post(
    "", name="users.create", response_model=StaffUserPublic, status_code=status.HTTP_201_CREATED
)
def create_user(session: SessionDep, actor: UserManager, body: StaffUserCreate) -> StaffUserPublic:
    user = staff_service.create_user(session, actor=actor, data=body)
    return StaffUserPublic.model_validate(user)


@users_router.get("/{user_id}", name="users.read", response_model=StaffUserPublic)
def read_user(session: SessionDep, actor: UserManager, user_id: uuid.UUID) -> StaffUserPublic:
    return StaffUserPublic.model_validate(staff_service.get_user(session, user_id=user_id))


@users_router.patch("/{user_id}", name="users.update", response_model=StaffUserPublic)
def update_user(
    session: SessionDep, actor: UserManager, user_id: uuid.UUID, body: StaffUserUpdate
) -> StaffUserPublic:
    user = staff_service.get_user(session, user_id=user_id)
    staff_service.update_user(session, actor=actor, user=user, data=body)
    return StaffUserPublic.model_validate(user)
