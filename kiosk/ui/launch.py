"""Starting the touchscreen from the settings: Kivy's own settings first (they are read when
Kivy is imported), then the parts, then the app. `frontdesk kiosk run` and the walkthrough
both come through here."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.settings import KioskSettings

if TYPE_CHECKING:
    from kiosk.ui.app import KioskParts

PANEL_SIZE = (1280, 800)  # the 10.1" Raspberry Pi touchscreen


def prepare_kivy(var_dir: Path, *, fullscreen: bool, size: tuple[int, int] = PANEL_SIZE) -> None:
    """Before the first `import kivy`: no command-line parsing, logs and config under var/,
    the panel's size (or the whole screen), no mouse cursor on the kiosk."""
    home = var_dir / "kivy"
    home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("KIVY_HOME", str(home))
    os.environ["KIVY_NO_ARGS"] = "1"
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")  # our logging, not Kivy's, decides
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    from kivy.config import Config

    Config.set("kivy", "exit_on_escape", "0")
    Config.set("kivy", "log_level", os.environ.get("FRONTDESK_KIOSK_KIVY_LOG_LEVEL", "warning"))
    Config.set("input", "mouse", "mouse,disable_multitouch")
    Config.set("graphics", "width", str(size[0]))
    Config.set("graphics", "height", str(size[1]))
    Config.set("graphics", "resizable", "0")
    if fullscreen:
        Config.set("graphics", "fullscreen", "auto")
        Config.set("graphics", "show_cursor", "0")


@contextmanager
def kiosk_parts(settings: KioskSettings, *, simulate: bool) -> Iterator[KioskParts]:
    """The flow, its driver, the outbox and the devices, closed again afterwards. The flow
    starts with the last configuration the back office gave (cached in var_dir); the
    delivery thread asks for the current one as soon as the back office answers."""
    from kiosk.client import BackOfficeClient
    from kiosk.devices import Devices
    from kiosk.driver import ConsentCache, FlowDriver
    from kiosk.flow import CheckInFlow
    from kiosk.outbox import Outbox, load_or_create_key
    from kiosk.remote_config import ConfigCache, RemoteConfig
    from kiosk.staff import StaffAccess
    from kiosk.ui.app import KioskParts
    from kiosk.ui.session import Fleet

    assert settings.token is not None
    token = settings.token.get_secret_value()
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    outbox = Outbox(settings.outbox_path, load_or_create_key(settings.key_path))
    client = BackOfficeClient(settings.server, token, timeout=settings.timeout_seconds)
    delivery_client = BackOfficeClient(settings.server, token, timeout=settings.timeout_seconds)
    remote = RemoteConfig(ConfigCache(settings.remote_config_path))
    fleet = Fleet(
        remote=remote,
        credential=settings.credential,
        credential_dir=settings.credential_dir if settings.credential is not None else None,
        clients=(client, delivery_client),
    )
    devices = Devices.simulated_set() if simulate else Devices.from_settings(settings)
    driver = FlowDriver(
        CheckInFlow(remote.start()),
        client=client,
        outbox=outbox,
        consent_cache=ConsentCache(settings.consent_cache_path),
        printer=devices.printer,
    )
    try:
        yield KioskParts(
            driver=driver,
            outbox=outbox,
            delivery_client=delivery_client,
            devices=devices,
            staff=StaffAccess(settings.staff_pin_hash),
            server=settings.server,
            clinic_name=settings.clinic_name,
            fleet=fleet,
            var_dir=settings.var_dir,
        )
    finally:
        client.close()
        delivery_client.close()
        outbox.close()
