from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class AuditEventPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    seq: int
    occurred_at: datetime
    actor_kind: str
    actor_id: str | None
    actor_name: str
    actor_role: str | None
    action: str
    resource_type: str | None
    resource_id: str | None
    outcome: str
    status_code: int | None
    ip: str | None
    user_agent: str | None
    request_id: str | None
    detail: dict[str, Any]
    hash: str


class ChainStatus(BaseModel):
    ok: bool
    events_checked: int
    head_seq: int
    broken_at_seq: int | None
    reason: str | None
