"""The kiosk's devices, real or simulated: the card camera, the barcode scanner, the receipt
printer, and whether the card reader takes test cards (the simulated reader only)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from hardware.ports import BarcodeScanner, ReceiptPrinter

if TYPE_CHECKING:
    from hardware.camera import Camera
    from kiosk.settings import KioskSettings


@dataclass
class Devices:
    camera: Callable[[], Camera]  # opened for each capture
    scanner: BarcodeScanner | None
    printer: ReceiptPrinter | None
    test_cards: bool = False  # the copay screen offers the simulated reader's test cards
    simulated: bool = False
    # Where the camera is (a /dev/video node, or a folder of frames): checked for being
    # there without opening it, so a heartbeat never takes the camera from a capture.
    camera_path: Path | None = None

    def camera_present(self) -> bool:
        return self.camera_path is None or self.camera_path.exists()

    @classmethod
    def simulated_set(cls) -> Devices:
        from hardware.camera import SimulatedCardCamera
        from hardware.printer import SimulatedPrinter
        from hardware.scanner import SimulatedScanner

        camera = SimulatedCardCamera()
        return cls(
            camera=lambda: camera,
            scanner=SimulatedScanner(),
            printer=SimulatedPrinter(),
            test_cards=True,
            simulated=True,
        )

    @classmethod
    def from_settings(cls, settings: KioskSettings) -> Devices:
        from hardware.camera import FolderCamera, VideoCamera

        source = settings.camera
        camera: Callable[[], Camera]
        if Path(source).is_dir():
            camera = partial(FolderCamera, Path(source), repeat=4)
            camera_path = Path(source)
        else:
            camera = partial(VideoCamera, int(source) if source.isdigit() else source)
            camera_path = Path(f"/dev/video{source}" if source.isdigit() else source)
        scanner = printer = None
        if settings.scanner_port:
            from hardware.scanner.driver import SerialBarcodeScanner

            scanner = SerialBarcodeScanner(settings.scanner_port)
        if settings.printer_port:
            from hardware.printer.driver import SerialReceiptPrinter

            printer = SerialReceiptPrinter(settings.printer_port)
        return cls(camera=camera, scanner=scanner, printer=printer, camera_path=camera_path)
