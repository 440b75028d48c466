"""Who is calling, and may they? Every endpoint but sign-in and health goes through `require`."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session

from backoffice.audit.dependencies import origin_of
from backoffice.db import SessionDep
from backoffice.devices.enrolment import device_for_token
from backoffice.kit.columns import utcnow
from backoffice.security.actor import Actor
from backoffice.security.permissions import Permission
from backoffice.security.principal import Principal
from backoffice.security.tokens import DEVICE_TOKEN_PREFIX, decode_access_token
from backoffice.staff.models import StaffUser
from shared.enums import PrincipalKind, Role
from shared.errors import NotAuthenticated, PermissionDenied

_bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
_DEVICE_SEEN_EVERY = timedelta(minutes=1)


def _user_principal(session: Session, token: str, request: Request) -> Principal:
    claims = decode_access_token(token, key=request.app.state.signing_key)
    if claims is None:
        raise NotAuthenticated("Your sign-in has expired or is not valid; sign in again.")
    try:
        user = session.get(StaffUser, uuid.UUID(claims["sub"]))
    except ValueError:
        user = None
    if user is None or not user.active or user.token_version != claims["ver"]:
        raise NotAuthenticated("Your sign-in is no longer valid; sign in again.")
    return Principal(kind=PrincipalKind.USER, id=user.id, name=user.username, role=Role(user.role))


def _device_principal(session: Session, token: str) -> Principal:
    now = utcnow()
    device = device_for_token(session, token=token, now=now)
    if device.last_seen_at is None or now - device.last_seen_at > _DEVICE_SEEN_EVERY:
        device.last_seen_at = now
        session.add(device)
    return Principal(
        kind=PrincipalKind.DEVICE, id=device.id, name=device.name, device_kind=device.kind
    )


def authenticate(
    request: Request, session: SessionDep, token: Annotated[str | None, Depends(_bearer)]
) -> Actor:
    if not token:
        raise NotAuthenticated("Sign in first: this needs a bearer token.")
    if token.startswith(DEVICE_TOKEN_PREFIX):
        principal = _device_principal(session, token)
    else:
        principal = _user_principal(session, token, request)
    request.state.principal = principal
    return Actor(principal=principal, origin=origin_of(request))


AuthenticatedActor = Annotated[Actor, Depends(authenticate)]


def require(permission: Permission) -> Callable[..., Actor]:
    """A dependency that lets the call through only if the caller holds `permission`."""

    def dependency(actor: AuthenticatedActor) -> Actor:
        if not actor.principal.can(permission):
            raise PermissionDenied(f"Your account is not allowed to do this ({permission.value}).")
        return actor

    dependency.permission = permission  # type: ignore[attr-defined]
    return dependency


def require_staff(actor: AuthenticatedActor) -> Actor:
    """Any signed-in staff member, whatever the role; not devices."""
    if actor.principal.kind is not PrincipalKind.USER:
        raise PermissionDenied("Only staff accounts can do this.")
    return actor


StaffActor = Annotated[Actor, Depends(require_staff)]
