"""A friendly answer before the unique index gives an unfriendly one."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session, col, select

from shared.errors import Conflict


def ensure_unique(
    session: Session, column: Any, value: object, *, own_id: uuid.UUID | None, field: str
) -> None:
    """409 naming `field` when another row than `own_id` holds `value` in `column`. The
    unique index still decides a race; this only explains the common case."""
    table = column.class_
    other = session.exec(select(table.id).where(col(column) == value)).first()
    if other is not None and other != own_id:
        raise Conflict(
            f"Another record has that {field}.", errors=[{"field": field, "message": "in use"}]
        )
