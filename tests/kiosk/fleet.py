"""An enrolled kiosk against the in-process back office: enrolled through the real endpoint
with a code an admin made, its credential saved as `frontdesk provision enroll` saves it, and
its HTTP clients routed into the FastAPI app (a transport that can also fail on one path)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from backoffice.devices.models import Device
from kiosk.client import BackOfficeClient
from kiosk.outbox import OutgoingRequest
from shared.contracts.kiosk import KIOSK_API
from shared.contracts.provisioning import ENROLLMENT_API, KioskConfig
from shared.device_credential import DeviceCredential, new_private_key, public_key_text
from tests.fixtures.checkin import book_today, by_name, submission

CODES = "/api/v1/devices/enrollment-codes"

# The kiosk's side does not change with the back office's database, which the back office's
# own tests cover on both: these run on SQLite only, to keep the suite inside its budget.
ON_SQLITE = pytest.mark.parametrize("database", ["sqlite"], indirect=True)
DEVICES = "/api/v1/devices"


class Clock:
    """The delivery thread's monotonic clock, moved on by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Link:
    """How the kiosk's HTTP reaches the in-process app. `fail` makes calls to one path blow
    up inside the transport (like a network that drops them); `lose_answer` lets the next
    call to one path reach the back office but loses its answer on the way back; `seen`
    records each request's path and bearer token, and `on_request` may look at the kiosk as
    each request leaves."""

    client: TestClient
    fail: str | None = None
    lose_answer: str | None = None
    seen: list[tuple[str, str]] | None = None
    on_request: Callable[[httpx.Request], None] | None = None

    def transport(self) -> httpx.MockTransport:
        def handler(request: httpx.Request) -> httpx.Response:
            token = request.headers.get("Authorization", "").removeprefix("Bearer ")
            if self.seen is not None:
                self.seen.append((request.url.path, token))
            if self.on_request is not None:
                self.on_request(request)
            if request.url.path == self.fail:
                raise httpx.ConnectError("dropped by the test")
            answer = self.client.request(
                request.method, request.url.path, content=request.content, headers=request.headers
            )
            if request.url.path == self.lose_answer:
                self.lose_answer = None
                raise httpx.ReadTimeout("the answer was lost")
            return httpx.Response(
                answer.status_code, content=answer.content, headers=answer.headers
            )

        return httpx.MockTransport(handler)

    def kiosk_client(self, token: str) -> BackOfficeClient:
        return BackOfficeClient("http://testserver", token, transport=self.transport())


@dataclass
class EnrolledKiosk:
    device_id: uuid.UUID
    credential: DeviceCredential
    credential_dir: Path
    config: KioskConfig

    @property
    def token(self) -> str:
        return self.credential.token


def enrol(client: TestClient, admin: dict[str, str], location_id: uuid.UUID, var: Path):
    """A code from the admin, the kiosk's own key, POST /enrollments, the credential saved."""
    made = client.post(CODES, json={"location_id": str(location_id)}, headers=admin)
    assert made.status_code == 201, made.text
    key = new_private_key()
    body = {"code": made.json()["code"], "public_key": public_key_text(key), "hostname": "lobby"}
    answer = client.post(ENROLLMENT_API, json=body)
    assert answer.status_code == 201, answer.text
    enrolment = answer.json()
    device_id = uuid.UUID(enrolment["device_id"])
    credential = DeviceCredential(device_id, enrolment["token"], key)
    credential.save(var / "credential")
    return EnrolledKiosk(
        device_id,
        credential,
        var / "credential",
        KioskConfig.model_validate(enrolment["config"]),
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def device(session: Session, device_id: uuid.UUID) -> Device:
    session.expire_all()
    return session.exec(select(Device).where(Device.id == device_id)).one()


def book_at_a_lobby(session: Session, cipher, last_name: str = "Quimby") -> uuid.UUID:
    """A patient due today at a new location, for a kiosk enrolled there; the location."""
    return book_today(session, cipher, last_name=last_name)["location"].id


def check_in_by_name(last_name: str = "Quimby") -> OutgoingRequest:
    """A check-in, as the outbox keeps it, of a patient booked with `book_at_a_lobby`."""
    body = submission(identification=by_name(last_name))
    return OutgoingRequest(
        method="POST",
        path=f"{KIOSK_API}/check-ins",
        body=body,
        idempotency_key=body["check_in_id"],
        kind="check-in",
    )
