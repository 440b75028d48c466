from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, String
from sqlmodel import Field, SQLModel

from backoffice.kit.columns import UTCDateTime, new_id


class AuditEvent(SQLModel, table=True):
    """One access or change. `hash` covers every other column and the previous row's hash,
    so changing, removing or reordering any row breaks the chain from there on."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_resource", "resource_type", "resource_id"),
        Index("ix_audit_events_actor", "actor_id"),
        Index("ix_audit_events_occurred_at", "occurred_at"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    seq: int = Field(sa_column=Column(BigInteger, unique=True, nullable=False))
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    actor_kind: str = Field(max_length=16)
    actor_id: str | None = Field(default=None, max_length=36)
    actor_name: str = Field(max_length=120)
    actor_role: str | None = Field(default=None, max_length=20)
    action: str = Field(max_length=64)
    resource_type: str | None = Field(default=None, max_length=40)
    resource_id: str | None = Field(default=None, max_length=36)
    outcome: str = Field(max_length=16)
    status_code: int | None = None
    ip: str | None = Field(default=None, max_length=45)
    user_agent: str | None = Field(default=None, max_length=200)
    request_id: str | None = Field(default=None, max_length=64)
    # Identifiers and field names only, never PHI values.
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    prev_hash: str = Field(sa_column=Column(String(64), nullable=False))
    hash: str = Field(sa_column=Column(String(64), nullable=False))


class AuditChainHead(SQLModel, table=True):
    """A single row naming the last event: the row every writer locks, so the chain stays
    linear across processes, and the anchor that shows when rows were cut from the end."""

    __tablename__ = "audit_chain_head"

    id: int = Field(default=1, primary_key=True)
    seq: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    hash: str = Field(sa_column=Column(String(64), nullable=False))
