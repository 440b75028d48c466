"""For the doctor's tests: a kiosk's files made in a temporary folder, the real `frontdesk`
command run on them, and a real back office (the app, on a migrated SQLite file, served by
uvicorn on a loopback port in this process) that issues and revokes real device tokens."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.contracts.provisioning import KioskConfigFile, render_config_file
from shared.device_credential import DeviceCredential, new_private_key

ROOT = Path(__file__).resolve().parents[2]
FRONTDESK = Path(sys.executable).with_name("frontdesk")


def closed_port() -> int:
    """A loopback port nobody listens on: bound, then let go."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_kiosk(
    folder: Path,
    *,
    server: str,
    device_id: uuid.UUID | None = None,
    token: str = "fdk_not-a-real-token",
    **settings: str,
) -> Path:
    """kiosk.toml (0640) and its credential folder (0700, files 0600) as enrolment leaves
    them, under `folder`; `settings` are kiosk.toml's optional keys (camera, printer_port…).
    Returns the configuration's path."""
    device_id = device_id or uuid.uuid4()
    credential_dir = folder / "credential"
    DeviceCredential(device_id, token, new_private_key()).save(credential_dir)
    config = KioskConfigFile(
        server=server,
        device_id=device_id,
        credential_dir=credential_dir,
        var_dir=settings.pop("var_dir", str(folder)),
        **settings,
    )
    path = folder / "kiosk.toml"
    path.write_text(render_config_file(config, comment="made by the doctor's tests"))
    path.chmod(0o640)
    return path


def frame_folder(folder: Path) -> Path:
    """A demo camera: a folder with one frame in it."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "frame-001.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    return folder


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    seconds: float

    def json(self) -> dict[str, Any]:
        return json.loads(self.stdout)

    def checks(self) -> dict[str, dict[str, Any]]:
        return {c["name"]: c for c in self.json()["checks"]}

    def line(self, name: str) -> str:
        """The table's line for check `name`, and the fix under it when there is one."""
        lines = self.stdout.splitlines()
        for i, text in enumerate(lines):
            if text[6:].startswith(f"{name} "):
                following = []
                for more in lines[i + 1 :]:
                    if not more.startswith(" "):
                        break
                    following.append(more.strip())
                return " ".join([text, *following])
        raise AssertionError(f"no line for {name} in:\n{self.stdout}")


def doctor(config: Path, *args: str, timeout: float = 2.0, wrapper: Sequence[str] = ()) -> Run:
    """`frontdesk provision doctor --config CONFIG …`, the real command, as a technician
    would run it (under `wrapper`, such as setpriv, when given)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
    env["FRONTDESK_DOCTOR_TIMEOUT"] = str(timeout)
    started = time.monotonic()
    done = subprocess.run(
        [*wrapper, str(FRONTDESK), "provision", "doctor", "--config", str(config), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return Run(done.returncode, done.stdout, done.stderr, time.monotonic() - started)


def without_root_privilege() -> list[str] | None:
    """A command prefix that runs as this user but, for root, without the capabilities that
    let root open any file, so file modes bind it as they bind the kiosk user; None when
    that cannot be done here."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    dropped = "-dac_override,-dac_read_search"
    prefix = [setpriv, f"--bounding-set={dropped}", f"--inh-caps={dropped}"]
    try:
        works = subprocess.run([*prefix, "true"], capture_output=True, timeout=10, check=False)
    except OSError:
        return None
    return prefix if works.returncode == 0 else None


class LiveBackOffice:
    """The back office's real app on a loopback port, its database a migrated SQLite file;
    kiosks are added, given card readers and revoked through its own service functions."""

    def __init__(self, folder: Path) -> None:
        from backoffice.app import create_app
        from backoffice.db import make_engine
        from backoffice.migrate import upgrade
        from backoffice.settings import Settings

        self.engine = make_engine(f"sqlite:///{folder / 'backoffice.db'}")
        upgrade(self.engine)
        self.app = create_app(Settings(), engine=self.engine)
        self.port = closed_port()
        self.url = f"http://127.0.0.1:{self.port}"

    @contextmanager
    def running(self) -> Iterator[LiveBackOffice]:
        import uvicorn

        server = uvicorn.Server(
            uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, name="doctor-backoffice", daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the back office did not start")
            time.sleep(0.02)
        try:
            yield self
        finally:
            server.should_exit = True
            thread.join(10)
            self.engine.dispose()

    def _session(self) -> Any:
        from sqlmodel import Session

        return Session(self.engine, expire_on_commit=False)

    def add_kiosk(self, name: str, *, reader: str | None = None) -> tuple[uuid.UUID, str]:
        """A kiosk as the back office enrols it: its id and its one-time token."""
        from backoffice.devices import service as devices_service
        from tests.fixtures.builders import TEST_ACTOR

        with self._session() as session:
            device, token = devices_service.add_kiosk(session, actor=TEST_ACTOR, name=name)
            if reader is not None:
                devices_service.set_payment_reader(
                    session, actor=TEST_ACTOR, device=device, reader_id=reader
                )
            session.commit()
            return device.id, token

    def revoke(self, device_id: uuid.UUID) -> None:
        from backoffice.devices import service as devices_service
        from tests.fixtures.builders import TEST_ACTOR

        with self._session() as session:
            device = devices_service.get_device(session, device_id=device_id)
            devices_service.revoke(session, actor=TEST_ACTOR, device=device)
            session.commit()
