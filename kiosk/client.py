"""The kiosk's side of the kiosk API, over HTTPS with the device token.

    KioskApiError            the back office answered with a problem (its `code` says which)
    BackOfficeUnreachable    no answer: network down, the back office stopped, a timeout

`HttpTransport` delivers outbox items through the same client.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import httpx
from pydantic import TypeAdapter

from kiosk.outbox import DeliveryResult, OutgoingRequest, RetryLater, classify_response
from shared.contracts import kiosk as contract
from shared.contracts.provisioning import (
    CONFIG_API,
    CREDENTIAL_API,
    CredentialChallenge,
    CredentialRotation,
    HeartbeatAnswer,
    IssuedCredential,
    KioskConfig,
)


class BackOfficeUnreachable(Exception):
    pass


class KioskApiError(Exception):
    def __init__(self, status: int, code: str, detail: str, body: dict[str, Any]) -> None:
        super().__init__(f"{status} {code}")
        self.status, self.code, self.detail, self.body = status, code, detail, body


_DOCUMENTS = TypeAdapter(contract.ConsentsNeeded)


class BackOfficeClient:
    def __init__(
        self,
        server: str,
        token: str,
        *,
        timeout: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._http = httpx.Client(
            base_url=server.rstrip("/"),
            headers={"Authorization": f"Bearer {token}", "User-Agent": "frontdesk-kiosk"},
            timeout=timeout,
            transport=transport,
        )

    def set_token(self, token: str) -> None:
        """A rotated token, used from the next call on (no restart)."""
        self._http.headers["Authorization"] = f"Bearer {token}"

    def close(self) -> None:
        self._http.close()

    def ping(self) -> bool:
        """Whether the back office answers its health check: the kiosk's offline banner."""
        try:
            return self._http.get("/api/v1/health").status_code == 200
        except httpx.TransportError:
            return False

    def _call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        try:
            return self._http.request(
                method, f"{contract.KIOSK_API}{path}", json=body, headers=headers
            )
        except httpx.TransportError as exc:
            raise BackOfficeUnreachable(type(exc).__name__) from exc

    def _json(self, method: str, path: str, body: Any = None) -> Any:
        response = self._call(method, path, body=body)
        if response.status_code >= 400:
            problem = _problem(response)
            raise KioskApiError(
                response.status_code,
                str(problem.get("code", "error")),
                str(problem.get("detail", "")),
                problem,
            )
        return response.json() if response.content else None

    def lookup(self, identification: contract.Identification) -> contract.LookupResult:
        body = TypeAdapter(contract.Identification).dump_python(identification, mode="json")
        return contract.LookupResult.model_validate(self._json("POST", "/lookups", body))

    def check_birth_date(
        self, session_id: uuid.UUID, date_of_birth: date
    ) -> contract.AppointmentMatch:
        answer = self._json(
            "POST",
            f"/sessions/{session_id}/verify",
            {"date_of_birth": date_of_birth.isoformat()},
        )
        return contract.AppointmentMatch.model_validate(answer)

    def demographics(self, session_id: uuid.UUID) -> contract.Demographics:
        return contract.Demographics.model_validate(
            self._json("GET", f"/sessions/{session_id}/demographics")
        )

    def consents(self, session_id: uuid.UUID) -> contract.ConsentsNeeded:
        return _DOCUMENTS.validate_python(self._json("GET", f"/sessions/{session_id}/consents"))

    def copay(self, session_id: uuid.UUID) -> contract.CopayDue:
        return contract.CopayDue.model_validate(self._json("GET", f"/sessions/{session_id}/copay"))

    def start_payment(self, session_id: uuid.UUID, check_in_id: uuid.UUID) -> contract.PaymentState:
        body = {"check_in_id": str(check_in_id)}
        return _payment(self._json("POST", f"/sessions/{session_id}/payment", body))

    def payment(self, check_in_id: uuid.UUID) -> contract.PaymentState:
        return _payment(self._json("GET", f"/payments/{check_in_id}"))

    def cancel_payment(
        self, check_in_id: uuid.UUID, reason: contract.PaymentFailure
    ) -> contract.PaymentState:
        body = {"reason": reason.value}
        return _payment(self._json("POST", f"/payments/{check_in_id}/cancel", body))

    def present_test_card(self, check_in_id: uuid.UUID, number: str) -> contract.PaymentState:
        """Test mode only: a test card tapped on the reader (the demo's simulated reader)."""
        body = {"number": number}
        return _payment(self._json("POST", f"/payments/{check_in_id}/test-card", body))

    def end_session(self, session_id: uuid.UUID) -> None:
        self._json("DELETE", f"/sessions/{session_id}")

    def consent_documents(self) -> contract.ConsentsNeeded:
        return _DOCUMENTS.validate_python(self._json("GET", "/consent-documents"))

    def heartbeat(self, heartbeat: contract.KioskHeartbeat) -> HeartbeatAnswer | None:
        """This kiosk is up: its version, outbox backlog and peripherals, for the devices
        page. Empty fields are left out, so a back office that predates them still accepts;
        such a back office answers 204 with nothing to say (None)."""
        answer = self._json(
            "POST", "/heartbeat", heartbeat.model_dump(mode="json", exclude_none=True)
        )
        return None if answer is None else HeartbeatAnswer.model_validate(answer)

    def config(self) -> KioskConfig:
        """This kiosk's configuration as an admin set it (languages, forms, idle timeout)."""
        return KioskConfig.model_validate(self._json("GET", _kiosk_path(CONFIG_API)))

    def credential_challenge(self) -> CredentialChallenge:
        """A one-time challenge to sign for a new token."""
        path = f"{_kiosk_path(CREDENTIAL_API)}/challenge"
        return CredentialChallenge.model_validate(self._json("POST", path))

    def rotate_credential(self, rotation: CredentialRotation) -> IssuedCredential:
        """A new token for a new key, against the current key's signature of the challenge."""
        body = rotation.model_dump(mode="json")
        return IssuedCredential.model_validate(
            self._json("POST", _kiosk_path(CREDENTIAL_API), body)
        )


class HttpTransport:
    """Delivers outbox items to the back office: an answer is acknowledged, retried or
    rejected by `classify_response`; no answer at all is retried later."""

    def __init__(self, client: BackOfficeClient) -> None:
        self._client = client

    def send(self, request: OutgoingRequest) -> DeliveryResult:
        assert request.path.startswith(contract.KIOSK_API)
        try:
            response = self._client._call(
                request.method,
                request.path.removeprefix(contract.KIOSK_API),
                body=request.body,
                headers={contract.IDEMPOTENCY_HEADER: request.idempotency_key},
            )
        except BackOfficeUnreachable as exc:
            return RetryLater(reason=f"unreachable: {exc}")
        retry_after = response.headers.get("Retry-After")
        return classify_response(
            response.status_code,
            _problem(response) if response.status_code >= 400 else response.json(),
            retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None,
        )


def _kiosk_path(api: str) -> str:
    assert api.startswith(contract.KIOSK_API)
    return api.removeprefix(contract.KIOSK_API)


def _payment(answer: Any) -> contract.PaymentState:
    return contract.PaymentState.model_validate(answer)


def _problem(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {"code": "error", "detail": f"HTTP {response.status_code}"}
    return body if isinstance(body, dict) else {"code": "error"}
