"""Between the touchscreen and the flow: the UI thread never waits on the network.

    UI thread ──post(event)──▶ queue ──▶ worker thread: driver.send(event) (may wait on the
        ▲                                  back office), then asks the UI to redraw and waits
        └──────────── redraw ◀─────────────until it has, so screens read a flow nobody changes

A second thread, `Delivery`, keeps the offline banner honest (it asks the back office's
health every few seconds), sends what waits in the outbox and, about once a minute, a
heartbeat for the devices page (`build_heartbeat`). It follows the heartbeat's answer:

    heartbeat ──▶ answer {config_version, rotate_credential, server_time}
        server_time              the clock offset, sent with the next heartbeat
        a version not yet seen   GET /kiosk/config ──▶ RemoteConfig.offer: the flow's thread
                                 applies it at the welcome screen, between patients
        rotate_credential        challenge, new key signed for by the current one, new token
                                 saved, then every client switched to it (`rotate_credential`)

Each of these fails alone, is logged without patient data and is tried again at a later
heartbeat: none holds up delivery or the screens. Neither thread imports Kivy; the app
hands in `call_on_ui` (Kivy's Clock) and the tests can hand in anything.
"""

from __future__ import annotations

import logging
import queue
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.client import BackOfficeClient, BackOfficeUnreachable, HttpTransport, KioskApiError
from kiosk.driver import FlowDriver
from kiosk.flow import CheckInFlow, Event, IllegalEvent
from kiosk.outbox import Outbox, OutboxStatus
from kiosk.remote_config import RemoteConfig
from shared.contracts.kiosk import KioskHeartbeat, PeripheralState, PeripheralStatus
from shared.contracts.provisioning import (
    CredentialRotation,
    HeartbeatAnswer,
    KioskConfig,
    heartbeat_offset_ms,
    rotation_message,
)
from shared.device_credential import DeviceCredential, new_private_key, public_key_text, sign

if TYPE_CHECKING:
    from kiosk.devices import Devices

log = logging.getLogger("frontdesk.kiosk.ui")

UiCall = Callable[[Callable[[], None]], None]
REDRAW_WAIT_SECONDS = 5.0  # a UI that does not redraw by then is closing
HEARTBEAT_EVERY_SECONDS = 60.0
HEARTBEAT_BOUNDS = (15.0, 3600.0)  # what the back office may set the heartbeat to
SIMULATED_PERIPHERALS = ("camera", "scanner", "printer", "card_reader")


class KioskSession:
    """Feeds the flow events in the order they were posted, one at a time."""

    def __init__(
        self,
        driver: FlowDriver,
        *,
        call_on_ui: UiCall,
        redraw: Callable[[], None],
        remote: RemoteConfig | None = None,
    ):
        self.driver = driver
        self._call_on_ui = call_on_ui
        self._redraw = redraw
        self._remote = remote  # a new configuration waits here for the welcome screen
        self._jobs: queue.SimpleQueue[Callable[[], Any] | None] = queue.SimpleQueue()
        self._busy = threading.Event()
        self._worker = threading.Thread(target=self._work, name="kiosk-flow", daemon=True)

    @property
    def flow(self) -> CheckInFlow:
        return self.driver.flow

    @property
    def busy(self) -> bool:
        """An event is being handled (perhaps waiting on the back office): show it."""
        return self._busy.is_set() or not self._jobs.empty()

    def start(self) -> None:
        self._worker.start()

    def stop(self) -> None:
        self._jobs.put(None)
        self._worker.join(timeout=REDRAW_WAIT_SECONDS + 1)

    def post(self, event_type: type[Event], /, **fields: Any) -> None:
        """An event from a screen, dated now (when the patient touched), handled in turn."""
        event = event_type(at=self.driver.now(), **fields)
        self._jobs.put(lambda: self.driver.send(event))

    def run(self, job: Callable[[], Any]) -> None:
        """Anything else that uses the driver (a test card, the form cache), in turn."""
        self._jobs.put(job)

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            self._busy.set()
            try:
                job()
            except IllegalEvent as exc:
                # A second tap on a button whose screen has already gone: nothing to do.
                log.info("event ignored: %s", exc)
            except Exception:
                log.exception("the kiosk's flow failed on an event")
            finally:
                self._busy.clear()
            self._apply_remote_config()
            done = threading.Event()

            def redraw(done: threading.Event = done) -> None:
                try:
                    self._redraw()
                finally:
                    done.set()

            self._call_on_ui(redraw)
            done.wait(REDRAW_WAIT_SECONDS)

    def _apply_remote_config(self) -> None:
        """Here, between two events, nobody else touches the flow; a Tick comes every second,
        so a waiting configuration is taken within a second of the welcome screen."""
        if self._remote is None or self._remote.pending is None:
            return
        try:
            self._remote.apply_between_patients(self.driver)
        except Exception:
            log.exception("the new configuration could not be applied")


def app_version() -> str:
    try:
        return version("frontdesk")
    except PackageNotFoundError:
        return "unknown"


def peripheral_states(
    devices: Devices | None, *, printer_problem: str | None = None
) -> dict[str, PeripheralStatus]:
    """The peripherals as the kiosk already knows them: nothing is asked of the hardware, so
    a heartbeat never waits on a serial port or gets between the printer and a receipt."""
    if devices is None:
        return {}
    if devices.simulated:
        return {
            name: PeripheralStatus(state=PeripheralState.SIMULATED)
            for name in SIMULATED_PERIPHERALS
        }
    states = {
        "camera": PeripheralStatus(state=PeripheralState.OK)
        if devices.camera_present()
        else PeripheralStatus(state=PeripheralState.MISSING, detail="not connected")
    }
    scanner = devices.scanner
    if scanner is None:
        states["scanner"] = PeripheralStatus(state=PeripheralState.MISSING, detail="not set up")
    elif not scanner.connected:
        states["scanner"] = PeripheralStatus(state=PeripheralState.MISSING, detail="not connected")
    else:
        states["scanner"] = PeripheralStatus(state=PeripheralState.OK)
    if devices.printer is None:
        states["printer"] = PeripheralStatus(state=PeripheralState.MISSING, detail="not set up")
    elif printer_problem:
        states["printer"] = PeripheralStatus(
            state=PeripheralState.ERROR, detail=printer_problem[:120]
        )
    else:
        states["printer"] = PeripheralStatus(state=PeripheralState.OK)
    return states


def build_heartbeat(
    outbox: OutboxStatus,
    devices: Devices | None,
    *,
    app_version: str,
    printer_problem: str | None = None,
    uptime_seconds: float | None = None,
    disk: shutil._ntuple_diskusage | None = None,
    clock_offset_ms: int | None = None,
    config_version: int | None = None,
) -> KioskHeartbeat:
    """The heartbeat: counts and states only, never anything about a patient."""
    return KioskHeartbeat(
        app_version=app_version,
        outbox_pending=outbox.pending,
        outbox_held=outbox.held,
        peripherals=peripheral_states(devices, printer_problem=printer_problem),
        uptime_seconds=None if uptime_seconds is None else int(uptime_seconds),
        disk_free_bytes=None if disk is None else disk.free,
        disk_total_bytes=None if disk is None else disk.total,
        clock_offset_ms=clock_offset_ms,
        config_version=config_version,
    )


def rotate_credential(
    client: BackOfficeClient, credential: DeviceCredential, directory: Path
) -> DeviceCredential:
    """A new key and token for this kiosk, asked for with a signature by its current key, and
    saved before anything uses them: should the kiosk stop now, it starts with the new
    credential, and the back office keeps the old token until the new one is first used."""
    challenge = client.credential_challenge().challenge
    key = new_private_key()
    public_key = public_key_text(key)
    message = rotation_message(credential.device_id, challenge, public_key)
    issued = client.rotate_credential(
        CredentialRotation(
            challenge=challenge,
            public_key=public_key,
            signature=sign(credential.private_key, message),
        )
    )
    renewed = DeviceCredential(credential.device_id, issued.token, key)
    renewed.save(directory)
    return renewed


@dataclass
class Fleet:
    """What lets the back office manage this kiosk from afar: its configuration, and for an
    enrolled kiosk the credential a rotation replaces."""

    remote: RemoteConfig
    credential: DeviceCredential | None = None  # None: a token from the environment
    credential_dir: Path | None = None
    clients: tuple[BackOfficeClient, ...] = ()  # every client that must switch to a new token

    @property
    def can_rotate(self) -> bool:
        return self.credential is not None and self.credential_dir is not None


def _reason(exc: Exception) -> str:
    """Why a call failed, for the log: a status and a code, never a body."""
    if isinstance(exc, KioskApiError | BackOfficeUnreachable):
        return f"{type(exc).__name__}: {exc}"
    return type(exc).__name__


class Delivery:
    """Every `interval` seconds: is the back office there, and if so, deliver the outbox;
    every `heartbeat_every` seconds, while it is there, say how this kiosk is doing and do
    what the answer asks (with a `fleet`: pull a new configuration, rotate the credential)."""

    def __init__(
        self,
        client: BackOfficeClient,
        outbox: Outbox,
        *,
        interval: float = 5.0,
        on_change: Callable[[], None] = lambda: None,
        devices: Devices | None = None,
        printer_problem: Callable[[], str | None] = lambda: None,
        heartbeat_every: float = HEARTBEAT_EVERY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        fleet: Fleet | None = None,
        var_dir: Path | None = None,
        utcnow: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._client, self._outbox, self._interval = client, outbox, interval
        self._on_change = on_change
        self._devices, self._printer_problem = devices, printer_problem
        self._heartbeat_every, self._clock = heartbeat_every, clock
        self._next_heartbeat: float | None = None  # None: at the first chance
        self._version = app_version()
        self._fleet, self._var_dir, self._utcnow = fleet, var_dir, utcnow
        self._started = clock()
        self._config_pulled = False  # once after start-up, whatever the cache holds
        self._said_cannot_rotate = False
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="kiosk-delivery", daemon=True)
        self.online: bool | None = None  # None until first asked
        self.delivered = 0  # check-ins this kiosk delivered since it started
        self.clock_offset_ms: int | None = None  # ours minus the back office's, last measured
        self.rotations = 0  # credentials rotated since start-up

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=self._interval + 5)

    def check_now(self) -> None:
        online = self._client.ping()
        if online:
            report = self._outbox.deliver_due(HttpTransport(self._client))
            self.delivered += report.delivered
        if online != self.online:
            self.online = online
            self._on_change()
        if online:
            self.heartbeat_if_due()

    def heartbeat_if_due(self) -> None:
        """At most one try a `heartbeat_every`. A failure is logged and forgotten: the next
        heartbeat says the same, and delivery must not wait on it."""
        now = self._clock()
        if self._next_heartbeat is not None and now < self._next_heartbeat:
            return
        self._next_heartbeat = now + self._heartbeat_every
        answer: HeartbeatAnswer | None = None
        try:
            heartbeat = self._heartbeat(uptime=now - self._started)
            sent = self._utcnow()
            answer = self._client.heartbeat(heartbeat)
            received = self._utcnow()
        except Exception as exc:
            log.warning("heartbeat not sent (%s)", _reason(exc))
        if answer is not None:
            self.clock_offset_ms = heartbeat_offset_ms(sent, received, answer.server_time)
        if self._fleet is not None:
            self._follow(self._fleet, answer)

    def _heartbeat(self, *, uptime: float) -> KioskHeartbeat:
        disk = None
        if self._var_dir is not None:
            try:
                disk = shutil.disk_usage(self._var_dir)
            except OSError:
                disk = None
        return build_heartbeat(
            self._outbox.status(),
            self._devices,
            app_version=self._version,
            printer_problem=self._printer_problem(),
            uptime_seconds=uptime,
            disk=disk,
            clock_offset_ms=self.clock_offset_ms,
            config_version=None if self._fleet is None else self._fleet.remote.applied_version,
        )

    def _follow(self, fleet: Fleet, answer: HeartbeatAnswer | None) -> None:
        """Do what the answer asks; the first time, pull the configuration whatever it says."""
        rotate = answer is not None and answer.rotate_credential
        if not self._config_pulled or (
            answer is not None and not fleet.remote.is_known(answer.config_version)
        ):
            config = self.pull_config()
            rotate = rotate or (config is not None and config.rotate_credential)
        if rotate:
            self.rotate()

    def pull_config(self) -> KioskConfig | None:
        """The configuration as the back office has it, handed on for the welcome screen."""
        assert self._fleet is not None
        try:
            config = self._client.config()
        except Exception as exc:
            log.warning("configuration not fetched (%s); asked again later", _reason(exc))
            return None
        self._config_pulled = True
        low, high = HEARTBEAT_BOUNDS
        self._heartbeat_every = min(max(float(config.heartbeat_seconds), low), high)
        self._fleet.remote.offer(config)
        return config

    def rotate(self) -> bool:
        """Rotate the credential as the back office asked; False when it was not done (and
        will be when asked again)."""
        fleet = self._fleet
        assert fleet is not None
        if fleet.credential is None or fleet.credential_dir is None:
            if not self._said_cannot_rotate:
                log.warning(
                    "the back office asks for a new credential, but this kiosk's token comes "
                    "from FRONTDESK_KIOSK_TOKEN, without a key to sign with: enrol the kiosk"
                )
                self._said_cannot_rotate = True
            return False
        try:
            renewed = rotate_credential(self._client, fleet.credential, fleet.credential_dir)
        except Exception as exc:
            log.warning("credential not rotated (%s); tried again when asked again", _reason(exc))
            return False
        fleet.credential = renewed
        for client in dict.fromkeys((self._client, *fleet.clients)):
            client.set_token(renewed.token)
        self.rotations += 1
        log.info("credential rotated")
        return True

    def _loop(self) -> None:
        while not self._stopped.is_set():
            try:
                self.check_now()
            except Exception:
                log.exception("outbox delivery failed")
            self._stopped.wait(self._interval)
