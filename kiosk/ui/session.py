"""Between the touchscreen and the flow: the UI thread never waits on the network.

    UI thread ──post(event)──▶ queue ──▶ worker thread: driver.send(event) (may wait on the
        ▲                                  back office), then asks the UI to redraw and waits
        └──────────── redraw ◀─────────────until it has, so screens read a flow nobody changes

A second thread, `Delivery`, keeps the offline banner honest (it asks the back office's
health every few seconds) and sends what waits in the outbox. Neither thread imports Kivy;
the app hands in `call_on_ui` (Kivy's Clock) and the tests can hand in anything.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from kiosk.client import BackOfficeClient, HttpTransport
from kiosk.driver import FlowDriver
from kiosk.flow import CheckInFlow, Event, IllegalEvent
from kiosk.outbox import Outbox

log = logging.getLogger("frontdesk.kiosk.ui")

UiCall = Callable[[Callable[[], None]], None]
REDRAW_WAIT_SECONDS = 5.0  # a UI that does not redraw by then is closing


class KioskSession:
    """Feeds the flow events in the order they were posted, one at a time."""

    def __init__(self, driver: FlowDriver, *, call_on_ui: UiCall, redraw: Callable[[], None]):
        self.driver = driver
        self._call_on_ui = call_on_ui
        self._redraw = redraw
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
            done = threading.Event()

            def redraw(done: threading.Event = done) -> None:
                try:
                    self._redraw()
                finally:
                    done.set()

            self._call_on_ui(redraw)
            done.wait(REDRAW_WAIT_SECONDS)


class Delivery:
    """Every `interval` seconds: is the back office there, and if so, deliver the outbox."""

    def __init__(
        self,
        client: BackOfficeClient,
        outbox: Outbox,
        *,
        interval: float = 5.0,
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self._client, self._outbox, self._interval = client, outbox, interval
        self._on_change = on_change
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="kiosk-delivery", daemon=True)
        self.online: bool | None = None  # None until first asked
        self.delivered = 0  # check-ins this kiosk delivered since it started

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

    def _loop(self) -> None:
        while not self._stopped.is_set():
            try:
                self.check_now()
            except Exception:
                log.exception("outbox delivery failed")
            self._stopped.wait(self._interval)
