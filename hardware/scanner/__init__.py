"""The hand-held barcode scanner in serial mode: `protocol` cuts the byte stream into scans,
`simulator` stands in for it; the serial driver is
`hardware.scanner.driver.SerialBarcodeScanner`, imported from there so that using the
scanner's types does not need pyserial installed."""

from hardware.scanner.protocol import MAX_SCAN_LENGTH, ScanBuffer
from hardware.scanner.simulator import SimulatedScanner

__all__ = ["MAX_SCAN_LENGTH", "ScanBuffer", "SimulatedScanner"]
