"""`frontdesk provision enroll`: turn a one-time code into this kiosk's own credential.

The key pair is made here and its private half never leaves the kiosk. If the kiosk was
enrolled before and its old key is still on disk, the request is signed with that key, so
the back office keeps it as the same device (same name, history and settings) and the old
token stops working at once.
"""

from __future__ import annotations

import os
import pwd
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from shared.contracts.provisioning import (
    DEFAULT_CONFIG_PATH,
    DEFAULT_CREDENTIAL_DIR,
    ENROLLMENT_API,
    Enrollment,
    EnrollmentRequest,
    KioskConfigFile,
    read_config_file,
    reenrolment_message,
    render_config_file,
)
from shared.device_credential import (
    CredentialError,
    DeviceCredential,
    new_private_key,
    public_key_text,
    sign,
)
from shared.errors import AppError

KIOSK_USER = "kiosk"
CONFIG_MODE = 0o640  # root:kiosk, read-only for the kiosk: it cannot repoint its back office
# On a Pi set up by provisioning/pi/setup.sh, udev gives the devices these names.
PI_DEVICES = {
    "camera": "/dev/frontdesk-camera",
    "printer_port": "/dev/frontdesk-printer",
    "scanner_port": "/dev/frontdesk-scanner",
}
PI_VAR_DIR = Path("/var/lib/frontdesk")


@dataclass(frozen=True)
class EnrolResult:
    enrollment: Enrollment
    config_path: Path
    credential_dir: Path
    replaced: bool  # the same device as before, with a new credential

    def summary(self) -> list[str]:
        config = self.enrollment.config
        reader = config.payment_reader.id if config.payment_reader else "none yet (pay at desk)"
        return [
            f"enrolled as {self.enrollment.device_name} ({self.enrollment.device_id})"
            + (", replacing its old credential" if self.replaced else ""),
            f"location: {config.location_name or 'any'}; card reader: {reader}",
            f"configuration: {self.config_path}; credential: {self.credential_dir}",
            "next: frontdesk provision doctor, then reboot (or start frontdesk-kiosk.service)",
        ]


def default_credential_dir(config_path: Path) -> Path:
    return (
        DEFAULT_CREDENTIAL_DIR
        if config_path == DEFAULT_CONFIG_PATH
        else config_path.parent / "credential"
    )


def _owner(name: str | None) -> tuple[int, int] | None:
    """Who the kiosk runs as: `name`, or the kiosk user when root enrols on a set-up Pi."""
    if name is None:
        if os.geteuid() != 0:
            return None
        name = KIOSK_USER
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            return None  # not a set-up Pi: root keeps it
    else:
        if os.geteuid() != 0:
            raise AppError("--owner needs root: run the command with sudo")
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            raise AppError(f"no user {name!r} on this machine (--owner)") from None
    return entry.pw_uid, entry.pw_gid


def _checked_server(server: str) -> str:
    parts = urlsplit(server)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AppError(f"--server must be the back office's address, https://…; got {server!r}")
    return server.rstrip("/")


def _app_version() -> str | None:
    try:
        return version("frontdesk")
    except PackageNotFoundError:
        return None


def _previous(credential_dir: Path) -> DeviceCredential | None:
    try:
        return DeviceCredential.load(credential_dir)
    except CredentialError:
        return None


def _post(
    server: str, body: EnrollmentRequest, transport: httpx.BaseTransport | None
) -> Enrollment:
    try:
        with httpx.Client(base_url=server, timeout=15, transport=transport) as http:
            response = http.post(
                ENROLLMENT_API, json=body.model_dump(mode="json", exclude_none=True)
            )
    except httpx.TransportError as exc:
        raise AppError(
            f"cannot reach the back office at {server} ({type(exc).__name__}): check the address "
            "and this kiosk's network, then run the same command again (the code is not used up)"
        ) from exc
    if response.status_code != 201:
        try:
            detail = response.json().get("detail") or response.reason_phrase
        except ValueError:
            detail = f"HTTP {response.status_code} {response.reason_phrase}"
        raise AppError(f"enrolment refused: {detail}")
    return Enrollment.model_validate(response.json())


def _config_file(
    config_path: Path, server: str, enrollment: Enrollment, credential_dir: Path
) -> KioskConfigFile:
    """The new file, keeping what a technician set before (devices, var dir)."""
    try:
        before = read_config_file(config_path).model_dump(exclude_none=True)
    except (OSError, ValueError):
        before = {}
    on_pi = config_path == DEFAULT_CONFIG_PATH
    defaults: dict[str, object] = {**PI_DEVICES, "var_dir": PI_VAR_DIR} if on_pi else {}
    return KioskConfigFile.model_validate(
        defaults
        | before
        | {
            "server": server,
            "device_id": enrollment.device_id,
            "credential_dir": credential_dir,
            "clinic_name": enrollment.config.location_name or before.get("clinic_name"),
        }
    )


def _write_config(path: Path, text: str, owner: tuple[int, int] | None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    if owner is not None:  # root owns it; the kiosk's group may read it
        os.chown(temporary, 0, owner[1])
        os.chmod(temporary, CONFIG_MODE)
    os.replace(temporary, path)


def enrol(
    *,
    server: str,
    code: str,
    config_path: Path,
    credential_dir: Path | None = None,
    owner: str | None = None,
    hostname: str | None = None,
    transport: httpx.BaseTransport | None = None,
) -> EnrolResult:
    server = _checked_server(server)
    credential_dir = credential_dir or default_credential_dir(config_path)
    ids = _owner(owner)
    key = new_private_key()
    public_key = public_key_text(key)
    request = EnrollmentRequest(
        code=code,
        public_key=public_key,
        hostname=(hostname or socket.gethostname())[:63],
        app_version=_app_version(),
    )
    previous = _previous(credential_dir)
    if previous is not None:
        request.previous_device_id = previous.device_id
        request.previous_signature = sign(
            previous.private_key, reenrolment_message(previous.device_id, code, public_key)
        )
    enrollment = _post(server, request, transport)
    DeviceCredential(enrollment.device_id, enrollment.token, key).save(credential_dir, owner=ids)
    config = _config_file(config_path, server, enrollment, credential_dir)
    written = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    comment = (
        f"Written by `frontdesk provision enroll` on {written}.\n"
        "The token and private key are in credential_dir, readable by the kiosk user only."
    )
    _write_config(config_path, render_config_file(config, comment=comment), ids)
    return EnrolResult(
        enrollment=enrollment,
        config_path=config_path,
        credential_dir=credential_dir,
        replaced=previous is not None and previous.device_id == enrollment.device_id,
    )
