"""Who is making a request, and where from: what the audit trail records about the actor."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from backoffice.security.permissions import DEVICE_PERMISSIONS, ROLE_PERMISSIONS, Permission
from shared.enums import PrincipalKind, Role


@dataclass(frozen=True)
class Principal:
    kind: PrincipalKind
    id: uuid.UUID | None
    name: str
    role: Role | None = None
    device_kind: str | None = None  # kiosk or display, for a device

    @property
    def permissions(self) -> frozenset[Permission]:
        if self.kind is PrincipalKind.USER and self.role is not None:
            return ROLE_PERMISSIONS[self.role]
        if self.kind is PrincipalKind.DEVICE:
            return DEVICE_PERMISSIONS.get(self.device_kind or "kiosk", frozenset())
        return frozenset()

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions


ANONYMOUS = Principal(kind=PrincipalKind.ANONYMOUS, id=None, name="anonymous")
SYSTEM = Principal(kind=PrincipalKind.SYSTEM, id=None, name="system")


@dataclass(frozen=True)
class RequestOrigin:
    ip: str | None
    user_agent: str | None
    request_id: str | None


CLI_ORIGIN = RequestOrigin(ip=None, user_agent="frontdesk-cli", request_id=None)
