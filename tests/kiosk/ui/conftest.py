"""A real X screen (Xvfb) for the real Kivy window, one per test worker, and the kiosk's
parts against a real back office. Kivy is imported only after the screen is there."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

PANEL = "1280x800x24"


@pytest.fixture(scope="session")
def x_screen(tmp_path_factory) -> str:
    if shutil.which("Xvfb") is None:
        pytest.fail("Xvfb is missing: run scripts/bootstrap")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    display = f":{150 + int(worker or 0)}"
    server = subprocess.Popen(
        ["Xvfb", display, "-screen", "0", PANEL, "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while not Path(f"/tmp/.X11-unix/X{display[1:]}").exists():
        if time.monotonic() > deadline or server.poll() is not None:
            pytest.fail(f"Xvfb did not start on {display}")
        time.sleep(0.05)
    os.environ["DISPLAY"] = display
    from kiosk.ui.launch import prepare_kivy

    prepare_kivy(tmp_path_factory.mktemp("kivy"), fullscreen=False)
    from kivy.config import Config

    Config.set("graphics", "maxfps", "20")
    yield display
    server.terminate()
    server.wait(timeout=10)
