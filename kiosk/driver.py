"""Carries out what the check-in flow asks: the only place the flow meets the network, the
outbox and the clock. The Kivy screens and the headless `frontdesk kiosk check-in` both
drive the flow through `FlowDriver.send`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from kiosk.client import BackOfficeClient, BackOfficeUnreachable, HttpTransport, KioskApiError
from kiosk.flow import (
    BirthDateChecked,
    CheckBirthDate,
    CheckInFlow,
    ConsentsLoaded,
    CopayLoaded,
    DetailsLoaded,
    Effect,
    Event,
    FlowErrorCode,
    LoadCachedConsents,
    LoadConsents,
    LoadCopay,
    LoadDetails,
    Lookup,
    LookupAnswered,
    ReleaseSession,
    Request,
    RequestFailed,
    Submit,
)
from kiosk.outbox import DeliveryReport, Outbox, OutgoingRequest
from shared.contracts.kiosk import KIOSK_API, ConsentDocument, ConsentsNeeded, KioskErrorCode

log = logging.getLogger("frontdesk.kiosk")


def utc_now() -> datetime:
    return datetime.now(UTC)


class ConsentCache:
    """The clinic's current forms, kept so patients can sign while the back office is down.
    Forms hold no PHI."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def save(self, documents: list[ConsentDocument]) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        payload = ConsentsNeeded(documents=documents).model_dump_json()
        temporary = self._path.with_suffix(".tmp")
        temporary.write_text(payload)
        temporary.replace(self._path)

    def load(self) -> tuple[ConsentDocument, ...]:
        try:
            return tuple(ConsentsNeeded.model_validate_json(self._path.read_text()).documents)
        except (OSError, ValueError):
            return ()


class FlowDriver:
    def __init__(
        self,
        flow: CheckInFlow,
        *,
        client: BackOfficeClient,
        outbox: Outbox,
        consent_cache: ConsentCache,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.flow = flow
        self._client = client
        self._outbox = outbox
        self._consents = consent_cache
        self._clock = clock
        self.last_delivery: DeliveryReport | None = None

    def now(self) -> datetime:
        return self._clock()

    def send(self, event: Event) -> None:
        """Hand the flow an event, then do what it asks until it asks for nothing more."""
        effects = self.flow.handle(event)
        while effects:
            effect, *effects = effects
            answer = self._carry_out(effect)
            if answer is not None:
                effects = [*effects, *self.flow.handle(answer)]

    def _carry_out(self, effect: Effect) -> Event | None:
        if isinstance(effect, Submit):
            self._submit(effect)
            return None
        if isinstance(effect, ReleaseSession):
            with contextlib.suppress(BackOfficeUnreachable, KioskApiError):
                self._client.end_session(effect.session_id)  # else it lapses in minutes
            return None
        assert isinstance(effect, Request)
        return self._answer(effect)

    def _answer(self, request: Request) -> Event:
        at = self.now()
        try:
            if isinstance(request, Lookup):
                return LookupAnswered(
                    at=at, request=request, result=self._client.lookup(request.identification)
                )
            if isinstance(request, CheckBirthDate):
                return self._check_birth_date(request)
            if isinstance(request, LoadDetails):
                details = self._client.demographics(request.session_id)
                return DetailsLoaded(at=at, request=request, demographics=details)
            if isinstance(request, LoadConsents):
                documents = tuple(self._client.consents(request.session_id).documents)
                return ConsentsLoaded(at=at, request=request, documents=documents)
            if isinstance(request, LoadCachedConsents):
                return ConsentsLoaded(at=at, request=request, documents=self._consents.load())
            if isinstance(request, LoadCopay):
                return CopayLoaded(
                    at=at, request=request, copay=self._client.copay(request.session_id)
                )
        except BackOfficeUnreachable:
            return RequestFailed(
                at=self.now(), request=request, code=FlowErrorCode.BACK_OFFICE_UNREACHABLE
            )
        except KioskApiError as exc:
            return RequestFailed(at=self.now(), request=request, code=_flow_code(exc.code))
        raise TypeError(f"no way to answer {type(request).__name__}")

    def _check_birth_date(self, request: CheckBirthDate) -> Event:
        try:
            self._client.check_birth_date(request.session_id, request.date_of_birth)
        except KioskApiError as exc:
            if exc.code != KioskErrorCode.WRONG_BIRTH_DATE:
                raise
            return BirthDateChecked(at=self.now(), request=request, ok=False)
        return BirthDateChecked(at=self.now(), request=request, ok=True)

    def _submit(self, effect: Submit) -> None:
        submission = effect.submission
        self._outbox.put(
            OutgoingRequest(
                method="POST",
                path=f"{KIOSK_API}/check-ins",
                body=submission.model_dump(mode="json"),
                idempotency_key=str(submission.check_in_id),
                kind="check-in",
            )
        )
        # Try at once; if the back office is away, the outbox keeps it for later.
        self.last_delivery = self._outbox.deliver_due(HttpTransport(self._client))

    def refresh_consent_cache(self) -> None:
        try:
            self._consents.save(self._client.consent_documents().documents)
        except (BackOfficeUnreachable, KioskApiError) as exc:
            log.info("consent forms not refreshed (%s)", type(exc).__name__)


def _flow_code(code: str) -> KioskErrorCode | FlowErrorCode:
    try:
        return KioskErrorCode(code)
    except ValueError:
        return FlowErrorCode.BACK_OFFICE_ERROR
