"""The Kivy app: one window, a top bar (language, text size, start over), the offline banner,
one screen per step of the flow, "Still there?", and the staff's maintenance screens.

The app never decides where a check-in goes: screens post events (`Kiosk.post`), the flow
moves, and `redraw` shows the screen of the flow's step. Its own state is only what is on
the glass: keypad text, the signature being drawn, the camera picture.
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.lang import Builder
from kivy.properties import BooleanProperty, ObjectProperty, StringProperty
from kivy.uix.floatlayout import FloatLayout

from kiosk.devices import Devices
from kiosk.driver import FlowDriver
from kiosk.flow import (
    Back,
    CheckInFlow,
    Event,
    Identified,
    LanguageChosen,
    StaffReset,
    Started,
    StartOver,
    Step,
    Tick,
    Touched,
)
from kiosk.i18n import LANGUAGE_NAMES
from kiosk.outbox import Outbox
from kiosk.scans import identification_from_scan
from kiosk.staff import StaffAccess
from kiosk.ui.look import LOOK
from kiosk.ui.screens import SCREENS, StepScreen
from kiosk.ui.session import Delivery, Fleet, KioskSession
from kiosk.watchdog import Watchdog, watch_over_ui
from shared.contracts.kiosk import CheckInReceipt

log = logging.getLogger("frontdesk.kiosk.ui")

HERE = Path(__file__).parent
TICK_SECONDS = 1.0
TOUCH_EVERY_SECONDS = 5.0  # keypad presses tell the flow "still busy" at most this often


@dataclass
class KioskParts:
    """What the app runs on, made by `frontdesk kiosk run` (or a test) from the settings."""

    driver: FlowDriver
    outbox: Outbox
    delivery_client: Any  # a BackOfficeClient of its own for the delivery thread
    devices: Devices
    staff: StaffAccess
    server: str = ""
    clinic_name: str = "Frontdesk"
    delivery_interval: float = 5.0
    fleet: Fleet | None = None  # remote configuration and credential rotation
    var_dir: Path | None = None  # its free disk goes in the heartbeat


class Overlay(FloatLayout):
    """A modal layer: while shown it takes every touch; hidden, it lets every touch through
    (a disabled widget would swallow them instead)."""

    shown = BooleanProperty(False)

    def on_touch_down(self, touch):
        return super().on_touch_down(touch) or True if self.shown else False

    def on_touch_move(self, touch):
        return super().on_touch_move(touch) or True if self.shown else False

    def on_touch_up(self, touch):
        return super().on_touch_up(touch) or True if self.shown else False


class KioskRoot(FloatLayout):
    kiosk = ObjectProperty(None)
    clinic_name = StringProperty("")
    other_language_name = StringProperty("")
    can_switch_language = BooleanProperty(False)
    can_start_over = BooleanProperty(False)
    can_go_back = BooleanProperty(False)
    offline = BooleanProperty(False)
    asking_still_there = BooleanProperty(False)
    busy = BooleanProperty(False)


class Kiosk:
    """The screens' one way to the flow and the devices (their presenter)."""

    def __init__(self, parts: KioskParts, root: KioskRoot) -> None:
        self.parts = parts
        self.devices = parts.devices
        self.staff = parts.staff
        self.root = root
        fleet = parts.fleet
        self.session = KioskSession(
            parts.driver,
            call_on_ui=lambda job: Clock.schedule_once(lambda _dt: job()),
            redraw=self.redraw,
            remote=None if fleet is None else fleet.remote,
        )
        self.delivery = Delivery(
            parts.delivery_client,
            parts.outbox,
            interval=parts.delivery_interval,
            on_change=lambda: Clock.schedule_once(lambda _dt: self.redraw()),
            devices=parts.devices,
            printer_problem=lambda: parts.driver.printer_problem,
            fleet=fleet,
            var_dir=parts.var_dir,
        )
        if fleet is not None:
            # New forms may be asked for: keep the offline copy in step (on the flow's thread).
            fleet.remote.on_applied(lambda _config: self.driver.refresh_consent_cache())
        self.check_in_id: uuid.UUID | None = None
        self.in_maintenance = False
        self._busy_last_tick = False
        self._listening_for_scans = False
        self._scans_stopped = threading.Event()
        self._scans = threading.Thread(target=self._read_scans, name="kiosk-scans", daemon=True)
        self._last_touch_posted: datetime | None = None
        self._shown: dict[str, StepScreen] = {}  # by screen name, built when first shown

    # --- what screens call ---------------------------------------------------------------

    @property
    def flow(self) -> CheckInFlow:
        return self.session.flow

    @property
    def driver(self) -> FlowDriver:
        return self.parts.driver

    def post(self, event_type: type[Event], /, **fields: Any) -> None:
        self._last_touch_posted = self.driver.now()
        self.session.post(event_type, **fields)

    def start(self) -> None:
        """The welcome screen was touched: a new check-in, in a fresh look."""
        self.check_in_id = uuid.uuid4()
        self.post(Started, check_in_id=self.check_in_id)

    def touched(self) -> None:
        """A key or a stroke: activity for the idle timeout, sent now and then."""
        now = self.driver.now()
        last = self._last_touch_posted
        if self.flow.step is Step.WELCOME or self.in_maintenance:
            return
        if last is None or (now - last).total_seconds() >= TOUCH_EVERY_SECONDS:
            self.post(Touched)

    def still_here(self) -> None:
        self.post(Touched)
        self.root.asking_still_there = False

    def start_over(self) -> None:
        self.post(StartOver)

    def back(self) -> None:
        self.post(Back)

    def switch_language(self) -> None:
        languages = [code for code in self.flow.rules.languages if code != LOOK.language]
        if languages:
            self.post(LanguageChosen, code=languages[0])

    def bigger_text(self) -> None:
        LOOK.next_scale()
        self.touched()

    def receipt(self) -> CheckInReceipt | None:
        """The back office's answer to this check-in, once delivered."""
        report = self.driver.last_delivery
        if report is None or self.check_in_id is None:
            return None
        body = report.receipts.get(str(self.check_in_id))
        return CheckInReceipt.model_validate(body) if body else None

    def devices_listen_for_scans(self, listening: bool) -> None:
        """Scans count only on the identify screen; elsewhere they are dropped unread."""
        self._listening_for_scans = listening

    def driver_server(self) -> str:
        return self.parts.server

    def _read_scans(self) -> None:
        scanner = self.devices.scanner
        while scanner is not None and not self._scans_stopped.is_set():
            for text in scanner.read_scans(0.5):
                identification = identification_from_scan(text)
                if not self._listening_for_scans:
                    continue
                if identification is None:
                    log.info("a scan that is neither a check-in code nor a licence")
                    continue
                self.post(Identified, identification=identification)

    def open_maintenance(self) -> None:
        self.in_maintenance = True
        self._switch_to("staff_pin")

    def close_maintenance(self, *, reset: bool = False) -> None:
        self.in_maintenance = False
        if reset:
            self.post(StaffReset if self.flow.step is Step.ERROR else StartOver)
        self.redraw()

    def show_maintenance(self) -> None:
        self._switch_to("maintenance")

    # --- drawing ------------------------------------------------------------------------------

    def redraw(self) -> None:
        flow, root = self.flow, self.root
        LOOK.language = flow.language
        if flow.step is Step.WELCOME and LOOK.scale != 1.0 and not self.in_maintenance:
            LOOK.reset(flow.language)  # the next patient starts from the standard size
        root.offline = self.delivery.online is False or flow.offline
        languages = flow.rules.languages  # the clinic's, as configured
        root.can_switch_language = (
            flow.step not in (Step.WELCOME, Step.LANGUAGE) and len(languages) > 1
        )
        root.other_language_name = " / ".join(
            LANGUAGE_NAMES[code] for code in languages if code != flow.language
        )
        root.can_start_over = (
            flow.step not in (Step.WELCOME, Step.DONE)
            and not (flow.step is Step.ERROR and flow.is_locked)
            and not flow.paying
        )
        root.can_go_back = flow.can_go_back and not self.in_maintenance
        self._ask_still_there()
        if self.in_maintenance:
            return
        self._switch_to(flow.step)

    def _switch_to(self, name: Step | str) -> None:
        manager = self.root.ids.screens
        screen = self._screen(name)
        if manager.current != screen.name:
            current = self._shown.get(manager.current) if manager.current else None
            if current is not None:
                current.leave()
            manager.current = screen.name
        screen.show(self)

    def _screen(self, name: Step | str) -> StepScreen:
        if str(name) not in self._shown:
            screen_class = SCREENS[str(name)]
            load_kv(HERE / "screens" / f"{name}.kv")
            screen = screen_class(name=str(name), kiosk=self)
            self.root.ids.screens.add_widget(screen)
            self._shown[str(name)] = screen
        return self._shown[str(name)]

    def tick(self, _dt: float) -> None:
        """Once a second: let time pass in the flow, ask "Still there?", show "One moment"."""
        root = self.root
        busy = self.session.busy
        root.busy = busy and self._busy_last_tick  # only a wait the patient would notice
        self._busy_last_tick = busy
        if not self.session.busy:
            self.session.post(Tick)
        self._ask_still_there()

    def _ask_still_there(self) -> None:
        """On each tick, and as soon as a wipe is drawn (nothing may linger over welcome)."""
        self.root.asking_still_there = not self.in_maintenance and self.flow.still_there_asked(
            self.driver.now()
        )

    def begin(self) -> None:
        self.session.start()
        self.delivery.start()
        self._scans.start()
        self.session.run(self.driver.refresh_consent_cache)  # forms for offline check-ins
        self.redraw()

    def end(self) -> None:
        for screen in self._shown.values():
            screen.leave()
        self._scans_stopped.set()
        self.session.stop()
        self.delivery.stop()


_LOADED: set[Path] = set()


def load_kv(path: Path) -> None:
    """Once per process: a second app in the same process (tests) reuses the rules."""
    if path not in _LOADED:
        Builder.load_file(str(path))
        _LOADED.add(path)


class KioskApp(App):
    title = "Frontdesk check-in"

    def __init__(
        self, parts: KioskParts, *, watchdog: Watchdog | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.parts = parts
        self.kiosk: Kiosk | None = None
        self.watchdog = watchdog or Watchdog()  # does nothing outside systemd

    def build(self) -> KioskRoot:
        load_kv(HERE / "kiosk.kv")
        root = KioskRoot(clinic_name=self.parts.clinic_name)
        self.kiosk = Kiosk(self.parts, root)
        root.kiosk = self.kiosk
        return root

    def on_start(self) -> None:
        assert self.kiosk is not None
        Window.clearcolor = LOOK.colour("page")
        self.kiosk.begin()
        self._ticker = Clock.schedule_interval(self.kiosk.tick, TICK_SECONDS)
        self._pings = watch_over_ui(self.watchdog, Clock)

    def on_stop(self) -> None:
        self.watchdog.stopping()
        self._ticker.cancel()
        if self._pings is not None:
            self._pings.cancel()
        if self.kiosk is not None:
            self.kiosk.end()
