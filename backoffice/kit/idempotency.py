"""Replayable writes: the first answer to a (device, Idempotency-Key) pair is kept and
returned again for a replay, so a kiosk that never heard the answer can simply resend.

The key is claimed before the work runs: a concurrent duplicate waits on the unique index
(PostgreSQL) or the write lock (SQLite) and then reads the answer the first one stored.
Business refusals are answers too and are kept, except those worth retrying later (a
check-in that matched no appointment may match once staff add it); a crash keeps nothing.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, select

from backoffice.kit.columns import UTCDateTime, new_id, utcnow
from shared.errors import AppError, Conflict, problem_of


class IdempotentRequest(SQLModel, table=True):
    """The first answer to a kiosk write, returned again when the same key comes back."""

    __tablename__ = "idempotent_requests"
    __table_args__ = (UniqueConstraint("device_id", "key"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    device_id: uuid.UUID = Field(foreign_key="devices.id")
    key: str = Field(max_length=100)
    request_hash: str = Field(max_length=64)
    status_code: int
    response: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class IdempotencyKeyReused(Conflict):
    code = "idempotency-key-reused"
    title = "That idempotency key was used for another request"


@dataclass(frozen=True)
class StoredAnswer:
    status: int
    body: dict[str, Any]
    replayed: bool


def _stored(session: Session, device_id: uuid.UUID, key: str) -> IdempotentRequest | None:
    return session.exec(
        select(IdempotentRequest).where(
            IdempotentRequest.device_id == device_id, IdempotentRequest.key == key
        )
    ).first()


def _answer(row: IdempotentRequest, digest: str) -> StoredAnswer:
    if row.request_hash != digest:
        raise IdempotencyKeyReused("This key was already used with a different request.")
    return StoredAnswer(row.status_code, row.response, replayed=True)


def run_once(
    session: Session,
    *,
    device_id: uuid.UUID,
    key: str,
    request_body: bytes,
    work: Callable[[], tuple[int, dict[str, Any]]],
) -> StoredAnswer:
    digest = hashlib.sha256(request_body).hexdigest()
    existing = _stored(session, device_id, key)
    if existing is not None:
        return _answer(existing, digest)
    claim = IdempotentRequest(
        device_id=device_id, key=key, request_hash=digest, status_code=0, response={}
    )
    try:
        with session.begin_nested():
            session.add(claim)
            session.flush()
    except IntegrityError:
        winner = _stored(session, device_id, key)
        assert winner is not None
        return _answer(winner, digest)
    attempt = session.begin_nested()
    try:
        status, body = work()
        attempt.commit()
    except AppError as exc:
        if getattr(exc, "keeps_work", False):
            attempt.commit()
        else:
            attempt.rollback()
        status, body = exc.status, problem_of(exc).to_json()
        if getattr(exc, "worth_retrying", False):
            # Not an answer to keep: the same request may succeed once staff fix things.
            session.delete(claim)
            session.flush()
            return StoredAnswer(status, body, replayed=False)
    claim.status_code, claim.response = status, body
    session.add(claim)
    session.flush()
    return StoredAnswer(status, body, replayed=False)
