"""Staff accounts and sign-in: lockout after repeated failures, rotating refresh tokens."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from backoffice.kit.columns import utcnow
from backoffice.security.actor import Actor
from backoffice.security.passwords import hash_password, needs_rehash, verify_password
from backoffice.security.tokens import (
    REFRESH_TOKEN_PREFIX,
    digest,
    encode_access_token,
    new_opaque_token,
)
from backoffice.settings import Settings
from backoffice.staff.models import RefreshToken, StaffUser
from backoffice.staff.schemas import StaffUserCreate, StaffUserUpdate, TokenResponse
from shared.enums import Role
from shared.errors import Conflict, NotFound


def create_user(session: Session, *, actor: Actor, data: StaffUserCreate) -> StaffUser:
    if session.exec(select(StaffUser).where(StaffUser.username == data.username)).first():
        raise Conflict(f"The username {data.username!r} is taken.")
    user = StaffUser(
        username=data.username,
        display_name=data.display_name,
        role=data.role,
        password_hash=hash_password(data.password),
    )
    session.add(user)
    session.flush()
    actor.audit(
        session,
        "users.create",
        resource_type="staff_user",
        resource_id=user.id,
        detail={"role": user.role},
    )
    return user


def get_user(session: Session, *, user_id: uuid.UUID) -> StaffUser:
    user = session.get(StaffUser, user_id)
    if user is None:
        raise NotFound("No staff account with that id.")
    return user


def list_users(session: Session, *, limit: int, offset: int) -> list[StaffUser]:
    query = select(StaffUser).order_by(col(StaffUser.username)).offset(offset).limit(limit + 1)
    return list(session.exec(query))


def update_user(
    session: Session, *, actor: Actor, user: StaffUser, data: StaffUserUpdate
) -> list[str]:
    """Apply the change and audit it; return the names of the fields changed."""
    loses_admin = (
        user.role == Role.ADMIN
        and user.active
        and ((data.role is not None and data.role != Role.ADMIN) or data.active is False)
    )
    if loses_admin and _active_admins(session) <= 1:
        raise Conflict("This is the last active admin account; make another admin first.")
    changed = []
    if data.display_name is not None:
        user.display_name = data.display_name
        changed.append("display_name")
    if data.role is not None and data.role != user.role:
        user.role = data.role
        changed.append("role")
    if data.active is not None and data.active != user.active:
        user.active = data.active
        changed.append("active")
        if not data.active:
            user.token_version += 1
            _revoke_all_refresh_tokens(session, user_id=user.id)
    if data.password is not None:
        user.password_hash = hash_password(data.password)
        user.token_version += 1
        user.failed_logins, user.locked_until = 0, None
        _revoke_all_refresh_tokens(session, user_id=user.id)
        changed.append("password")
    user.updated_at = utcnow()
    session.add(user)
    actor.audit(
        session,
        "users.update",
        resource_type="staff_user",
        resource_id=user.id,
        detail={"fields": changed},
    )
    return changed


def _active_admins(session: Session) -> int:
    """Counted under row locks, so two admins demoting each other at once cannot both pass."""
    query = select(StaffUser.id).where(
        col(StaffUser.role) == Role.ADMIN, col(StaffUser.active).is_(True)
    )
    return len(session.exec(query.with_for_update()).all())


@dataclass
class SignInResult:
    user: StaffUser | None
    failure: str | None = None


def sign_in(session: Session, *, username: str, password: str, settings: Settings) -> SignInResult:
    """Check the password and keep count of failures; the caller commits either way."""
    now = utcnow()
    user = session.exec(
        select(StaffUser).where(StaffUser.username == username.strip().lower())
    ).first()
    if user is not None and user.locked_until is not None and user.locked_until > now:
        return SignInResult(None, "locked")
    if not verify_password(user.password_hash if user else None, password):
        if user is not None:
            user.failed_logins += 1
            if user.failed_logins >= settings.login_max_failures:
                user.locked_until = now + timedelta(minutes=settings.login_lockout_minutes)
                user.failed_logins = 0
            session.add(user)
        return SignInResult(None, "bad-credentials")
    if user is None or not user.active:
        return SignInResult(None, "inactive")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    session.add(user)
    return SignInResult(user)


def issue_tokens(
    session: Session,
    *,
    user: StaffUser,
    settings: Settings,
    signing_key: str,
    family_id: uuid.UUID | None = None,
) -> TokenResponse:
    access, _ = encode_access_token(
        key=signing_key,
        user_id=str(user.id),
        token_version=user.token_version,
        minutes=settings.access_token_minutes,
    )
    refresh = new_opaque_token(REFRESH_TOKEN_PREFIX)
    session.add(
        RefreshToken(
            user_id=user.id,
            token_hash=digest(refresh),
            family_id=family_id or uuid.uuid4(),
            expires_at=utcnow() + timedelta(hours=settings.refresh_token_hours),
        )
    )
    session.flush()
    return TokenResponse(
        access_token=access,
        expires_in=settings.access_token_minutes * 60,
        refresh_token=refresh,
        refresh_expires_in=settings.refresh_token_hours * 3600,
    )


def rotate_refresh_token(
    session: Session, *, token: str, settings: Settings, signing_key: str
) -> TokenResponse | None:
    """Swap a refresh token for a new pair. A token used twice means it leaked: the whole
    family is revoked and None is returned (the caller commits, then refuses)."""
    now = utcnow()
    stored = session.exec(
        select(RefreshToken).where(RefreshToken.token_hash == digest(token)).with_for_update()
    ).first()
    if stored is None or stored.revoked_at is not None or stored.expires_at <= now:
        return None
    if stored.used_at is not None:
        session.execute(
            update(RefreshToken)
            .where(col(RefreshToken.family_id) == stored.family_id)
            .values(revoked_at=now)
        )
        return None
    user = session.get(StaffUser, stored.user_id)
    if user is None or not user.active:
        return None
    stored.used_at = now
    session.add(stored)
    return issue_tokens(
        session, user=user, settings=settings, signing_key=signing_key, family_id=stored.family_id
    )


def revoke_refresh_token(session: Session, *, token: str) -> StaffUser | None:
    stored = session.exec(
        select(RefreshToken).where(RefreshToken.token_hash == digest(token))
    ).first()
    if stored is None:
        return None
    session.execute(
        update(RefreshToken)
        .where(col(RefreshToken.family_id) == stored.family_id)
        .values(revoked_at=utcnow())
    )
    return session.get(StaffUser, stored.user_id)


def _revoke_all_refresh_tokens(session: Session, *, user_id: uuid.UUID) -> None:
    session.execute(
        update(RefreshToken)
        .where(col(RefreshToken.user_id) == user_id, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    )
