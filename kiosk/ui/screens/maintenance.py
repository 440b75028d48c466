from __future__ import annotations

from datetime import UTC, datetime

from kivy.clock import Clock
from kivy.properties import BooleanProperty, StringProperty

from hardware.printer import PrinterError, Receipt, ReceiptLine
from kiosk.card_capture import CardCapture
from kiosk.client import HttpTransport
from kiosk.ui.screens.base import StepScreen


class MaintenanceScreen(StepScreen):
    """For staff and technicians, in English: is this kiosk well, and its devices tested.
    Shows no patient data: the outbox is counted, never opened."""

    status = StringProperty("")
    message = StringProperty("")
    camera_on = BooleanProperty(False)

    def show(self, kiosk) -> None:
        outbox = kiosk.parts.outbox.status()
        devices, delivery = kiosk.devices, kiosk.delivery
        online = {True: "reachable", False: "NOT reachable", None: "not asked yet"}[delivery.online]
        age = outbox.oldest_pending_age
        oldest = f", oldest {int(age)} s" if age is not None else ""
        lines = [
            f"Back office: {kiosk.driver_server()} — {online}",
            f"Outbox: {outbox.pending} waiting{oldest}, {outbox.held} held"
            + (f" (last error: {outbox.last_error})" if outbox.last_error else ""),
            f"Check-ins delivered since start: {delivery.delivered}",
            f"Printer: {self._printer_status()}",
            f"Scanner: {self._scanner_status()}",
            f"Devices: {'simulated' if devices.simulated else 'real'}"
            f"{' (test cards on the reader)' if devices.test_cards else ''}",
            f"Check-in screen: {kiosk.flow.step.value}"
            + (" (locked: needs staff)" if kiosk.flow.is_locked else ""),
        ]
        self.status = "\n".join(lines)

    def leave(self) -> None:
        self.stop_camera()
        self.message = ""

    def _printer_status(self) -> str:
        printer = self.kiosk.devices.printer
        if printer is None:
            return "none configured"
        try:
            status = printer.status()
        except PrinterError as exc:
            return f"not answering ({type(exc).__name__})"
        if status.paper_out:
            return "PAPER OUT"
        return "paper low" if status.paper_near_end else "ready"

    def _scanner_status(self) -> str:
        scanner = self.kiosk.devices.scanner
        if scanner is None:
            return "none configured"
        return "connected" if scanner.connected else "DISCONNECTED"

    def print_test(self) -> None:
        printer = self.kiosk.devices.printer
        if printer is None:
            self.message = "No printer configured."
            return
        page = Receipt(
            clinic_name=self.kiosk.parts.clinic_name,
            lines=(
                ReceiptLine("Printer test"),
                ReceiptLine(datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")),
                ReceiptLine("Amount column", 12345),
            ),
        )
        try:
            printer.print_receipt(page)
        except PrinterError as exc:
            self.message = f"Test page not printed: {exc or type(exc).__name__}"
            return
        self.message = "Test page printed."

    def send_outbox(self) -> None:
        report = self.kiosk.parts.outbox.flush(HttpTransport(self.kiosk.parts.delivery_client))
        self.message = (
            f"Delivered {report.delivered}, retrying {report.retried}, held {report.held}."
        )
        self.show(self.kiosk)

    def toggle_camera(self) -> None:
        if self.camera_on:
            self.stop_camera()
            return
        self.camera_on = True
        self._capture = CardCapture(
            self.kiosk.devices.camera,
            on_frame=lambda frame, guidance, _side: Clock.schedule_once(
                lambda _dt: self._frame(frame, guidance)
            ),
            on_card=lambda _card: Clock.schedule_once(lambda _dt: self._taken()),
            on_failure=lambda: Clock.schedule_once(lambda _dt: self._failed()),
        )
        self._capture.start()

    def _frame(self, frame, guidance) -> None:
        if self.camera_on:
            self.ids.camera.show_frame(frame)
            self.message = f"Camera: {guidance.value}"

    def _taken(self) -> None:
        self.message = "Camera test: a card was found, judged sharp and read."
        self.stop_camera()

    def _failed(self) -> None:
        self.message = "Camera test failed: no frames from the camera."
        self.stop_camera()

    def stop_camera(self) -> None:
        capture = getattr(self, "_capture", None)
        if capture is not None:
            capture.stop()
            self._capture = None
        self.camera_on = False

    def reset_kiosk(self) -> None:
        self.kiosk.close_maintenance(reset=True)

    def close(self) -> None:
        self.kiosk.close_maintenance()
