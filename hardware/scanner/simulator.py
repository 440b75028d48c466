"""A barcode scanner fed by hand, for the kiosk's demo and tests."""

from __future__ import annotations

import queue
import time

__all__ = ["SimulatedScanner"]


class SimulatedScanner:
    """Returns what was fed, in order; `connected` can be switched off to rehearse the
    "scanner disconnected" screen, during which fed scans wait."""

    def __init__(self) -> None:
        self.connected = True
        self._scans: queue.SimpleQueue[str] = queue.SimpleQueue()

    def feed(self, *scans: str) -> None:
        """Safe from another thread, like a scanner's own timing."""
        for scan in scans:
            self._scans.put(scan)

    def read_scans(self, timeout: float) -> list[str]:
        """Waits like the real scanner does, so a polling loop does not spin."""
        if not self.connected:
            time.sleep(timeout)
            return []
        try:
            scans = [self._scans.get(timeout=timeout)]
        except queue.Empty:
            return []
        while True:
            try:
                scans.append(self._scans.get_nowait())
            except queue.Empty:
                return scans
