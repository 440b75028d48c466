"""The doctor's verdicts: probed facts in, one `Check` out, no I/O, so every decision (and
every fix a technician reads) is tested without a camera, a serial port or a back office.
`provisioning.probes` gathers the facts; `provisioning.doctor` runs both and prints.

Each check ends in one of four states:

    ok     all is well, and `detail` says what was found
    warn   works, but something deserves attention; does not fail the run
    fail   the kiosk will not work properly until the `fix` is done
    skip   could not be checked, because something it needs failed or is not set
"""

from __future__ import annotations

import errno
import re
import stat
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import ValidationError

from shared.contracts.provisioning import KioskConfig, KioskConfigFile, heartbeat_offset_ms

__all__ = [
    "Account",
    "CameraFacts",
    "Check",
    "ConfigFacts",
    "CredentialFacts",
    "DiskFacts",
    "Failure",
    "LibraryFacts",
    "Node",
    "Reply",
    "SerialFacts",
    "Status",
    "TesseractFacts",
]

GIB = 1024**3
MIB = 1024**2
DISK_FAIL_BYTES = 200 * MIB
DISK_WARN_BYTES = 1 * GIB
DISK_WARN_FRACTION = 0.10
CLOCK_WARN_MS = 5_000
CLOCK_FAIL_MS = 60_000
SLOW_ANSWER_MS = 1_000
MIN_TESSERACT_MAJOR = 4
V4L2_MAJOR = 81  # the Linux major number of every /dev/videoN
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")  # hardware.camera's
DEFAULT_CAMERA = "0"  # the kiosk's own default: V4L2 index 0
DEFAULT_VAR_DIR = Path("/var/lib/frontdesk")
KIOSK_USER = "kiosk"
ENROL = "sudo frontdesk provision enroll --server URL --code CODE"


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str | None = None

    def as_json(self) -> dict[str, str | None]:
        return {
            "name": self.name,
            "status": self.status.value,
            "detail": self.detail,
            "fix": self.fix,
        }


def skipped(name: str, because: str, fix: str | None = None) -> Check:
    return Check(name, Status.SKIP, because, fix)


# --- who the kiosk runs as, and what stat says ----------------------------------------------


@dataclass(frozen=True)
class Account:
    """The user whose access matters: the kiosk's. `is_process` when it is also the user
    running the doctor, so real opens tell the truth; when root runs the doctor for the
    kiosk user, access is judged from the files' modes instead."""

    name: str
    uid: int
    gids: frozenset[int]
    is_process: bool = True


NodeKind = Literal["missing", "char", "dir", "file", "other", "unknown"]


@dataclass(frozen=True)
class Node:
    """What `stat` says of a path, without opening it."""

    path: str
    kind: NodeKind
    resolved: str | None = None  # where a symlink leads
    mode: int = 0  # st_mode
    uid: int = -1
    gid: int = -1
    owner: str = ""
    group: str = ""
    rdev_major: int | None = None
    error: str | None = None  # why stat failed, when it did not say "missing"

    @property
    def shown(self) -> str:
        """`/dev/frontdesk-camera → /dev/video0`, or just the path."""
        if self.resolved and self.resolved != self.path:
            return f"{self.path} → {self.resolved}"
        return self.path

    @property
    def permissions(self) -> str:
        return f"{stat.filemode(self.mode)} {self.owner}:{self.group}"


def may(
    account: Account, node: Node, *, read: bool = False, write: bool = False, search: bool = False
) -> bool:
    """Whether `account` has the asked access to `node` by its owner, group and mode bits."""
    if account.uid == 0:
        return True
    if node.uid == account.uid:
        shift = 6
    elif node.gid in account.gids:
        shift = 3
    else:
        shift = 0
    bits = (node.mode >> shift) & 0o7
    wanted = (4 if read else 0) | (2 if write else 0) | (1 if search else 0)
    return bits & wanted == wanted


_KIND_WORDS = {
    "missing": "missing",
    "char": "character device",
    "dir": "folder",
    "file": "regular file",
    "other": "special file",
    "unknown": "path that cannot be examined",
}


def unexaminable(name: str, node: Node, account: Account) -> Check:
    """stat itself was refused: a folder on the way is closed to this user."""
    return Check(
        name,
        Status.FAIL,
        f"{node.path} cannot be examined by user {account.name} ({node.error})",
        f"Run the doctor as root or as the kiosk user: `sudo frontdesk provision doctor` "
        f"(or `sudo -u {KIOSK_USER} …`).",
    )


# --- configuration ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ConfigFacts:
    path: Path
    node: Node
    config: KioskConfigFile | None = None
    error: str | None = None  # why it could not be read or understood, in words
    unreadable: bool = False  # the error is a permission one


def describe_validation(exc: ValidationError) -> str:
    """`missing server; device_id: not a valid UUID` — what a person can act on."""
    parts = []
    for error in exc.errors()[:4]:
        where = ".".join(str(p) for p in error["loc"]) or "[kiosk]"
        if error["type"] == "missing":
            parts.append(f"`{where}` is missing")
        elif error["type"] == "extra_forbidden":
            parts.append(f"`{where}` is not a setting the kiosk knows")
        else:
            parts.append(f"`{where}`: {error['msg'].lower()}")
    return "; ".join(parts)


def check_configuration(facts: ConfigFacts, account: Account) -> Check:
    name, path, node = "configuration", facts.path, facts.node
    permissions_fix = (
        f"`sudo chown root:{KIOSK_USER} {path} && sudo chmod 0640 {path}` "
        f"(the kiosk user reads it; only root may change it)"
    )
    if node.kind == "missing":
        return Check(
            name,
            Status.FAIL,
            f"No configuration at {path}",
            f"Enrol this kiosk (an admin makes the code): `{ENROL}`; or, if the file is "
            f"elsewhere, pass `--config PATH` or set FRONTDESK_KIOSK_CONFIG.",
        )
    if facts.unreadable:
        return Check(
            name,
            Status.FAIL,
            f"{path} cannot be read by user {account.name}",
            f"Run the doctor as root or as the kiosk user: `sudo frontdesk provision doctor` "
            f"(or `sudo -u {KIOSK_USER} …`).",
        )
    if node.kind == "unknown":
        return unexaminable(name, node, account)
    if node.kind != "file":
        return Check(
            name,
            Status.FAIL,
            f"{path} is a {_KIND_WORDS[node.kind]}, not a configuration file",
            f"Point --config at the kiosk's kiosk.toml, or enrol again: `{ENROL}`.",
        )
    if facts.config is None:
        return Check(
            name,
            Status.FAIL,
            f"{path} is not a valid kiosk configuration: {facts.error}",
            f"Correct it (`sudoedit {path}`), or enrol again to rewrite it: `{ENROL}`.",
        )
    config = facts.config
    if node.mode & stat.S_IWOTH:
        return Check(
            name,
            Status.FAIL,
            f"{path} can be changed by every user ({node.permissions}): anyone could point "
            f"this kiosk at another server",
            permissions_fix,
        )
    if not account.is_process and not may(account, node, read=True):
        return Check(
            name,
            Status.FAIL,
            f"the kiosk user {account.name} cannot read {path} ({node.permissions})",
            permissions_fix,
        )
    found = f"{path}: server {config.server}, device {config.device_id}"
    if node.mode & stat.S_IROTH:
        return Check(
            name,
            Status.WARN,
            f"{found}; readable by every user ({node.permissions})",
            permissions_fix,
        )
    return Check(name, Status.OK, found)


# --- credential on disk -----------------------------------------------------------------------


@dataclass(frozen=True)
class CredentialFacts:
    directory: Path
    node: Node  # the directory
    files: tuple[Node, ...] = ()  # token and key, those that exist
    device_id: uuid.UUID | None = None
    token: str | None = field(default=None, repr=False)  # for the calls; never shown
    not_private: str | None = None  # check_private's complaint
    error: str | None = None  # DeviceCredential.load's complaint


def check_credential_files(
    facts: CredentialFacts, account: Account, *, config_device_id: uuid.UUID
) -> Check:
    name, directory = "credential-files", facts.directory
    enrol_fix = f"Enrol this kiosk again with a new code from an admin: `{ENROL}`."
    if facts.node.kind == "missing":
        return Check(name, Status.FAIL, f"No credential at {directory}", enrol_fix)
    if facts.node.kind == "unknown":
        return unexaminable(name, facts.node, account)
    if facts.node.kind != "dir":
        return Check(
            name,
            Status.FAIL,
            f"{directory} is a {_KIND_WORDS[facts.node.kind]}, not the credential folder",
            enrol_fix,
        )
    if facts.not_private:
        return Check(
            name,
            Status.FAIL,
            f"{facts.not_private.split(': run', 1)[0]}: anyone who copies it can act as this kiosk",
            f"`sudo chmod -R go= {directory}`; if others may have copied it, ask an admin to "
            f"revoke this kiosk and enrol it again.",
        )
    if facts.error or facts.device_id is None:
        return Check(name, Status.FAIL, facts.error or f"{directory} holds no token", enrol_fix)
    ownership_fix = f"`sudo chown -R {account.name}: {directory}`"
    if not account.is_process:
        if not may(account, facts.node, read=True, write=True, search=True):
            return Check(
                name,
                Status.FAIL,
                f"the kiosk user {account.name} cannot use {directory} "
                f"({facts.node.permissions}); it reads its token there and rewrites it on "
                f"rotation",
                ownership_fix,
            )
        for node in facts.files:
            if not may(account, node, read=True):
                return Check(
                    name,
                    Status.FAIL,
                    f"the kiosk user {account.name} cannot read {node.path} ({node.permissions})",
                    ownership_fix,
                )
    if facts.device_id != config_device_id:
        return Check(
            name,
            Status.FAIL,
            f"the credential in {directory} is for device {facts.device_id}, but the "
            f"configuration names device {config_device_id}",
            enrol_fix,
        )
    return Check(
        name, Status.OK, f"{directory}: token and key for device {facts.device_id}, private"
    )


# --- camera -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CameraFacts:
    source: str  # as configured (or the default)
    configured: bool
    node: Node
    images: int = 0  # in a folder of frames
    device_name: str | None = None  # /sys/class/video4linux/videoN/name


def camera_path(source: str) -> str:
    """The kiosk's reading of its `camera` setting: an index N is /dev/videoN."""
    return f"/dev/video{source}" if source.isdigit() else source


def check_camera(facts: CameraFacts, account: Account, *, config_path: Path) -> Check:
    name, node = "camera", facts.node
    path = node.path
    default = "" if facts.configured else " (camera is not set: the kiosk's default, index 0)"
    set_it = f'set camera = "/dev/frontdesk-camera" under [kiosk] in {config_path}'
    if node.kind == "missing":
        listing = (
            "ls -l /dev/video*" if path.startswith("/dev/video") else f"ls -l {path} /dev/video*"
        )
        udev = (
            f"; if /dev/video* is there but {path} is not, the udev rule that names it is "
            f"missing (see provisioning/README.md)"
            if path.startswith("/dev/frontdesk-")
            else ""
        )
        return Check(
            name,
            Status.FAIL,
            f"No camera at {path}{default}",
            f"Check the camera's USB cable, then run `{listing}`{udev}"
            + ("" if facts.configured else f"; {set_it}")
            + ".",
        )
    if node.kind == "dir":
        if facts.images == 0:
            return Check(
                name,
                Status.FAIL,
                f"{path} is a folder with no images in it (a demo camera plays image files)",
                f"For the real camera, {set_it}; for a demo, put .png or .jpg frames in {path}.",
            )
        frames = f"{facts.images} frame" + ("s" if facts.images != 1 else "")
        return Check(name, Status.OK, f"{path}: a folder of {frames} (a demo camera)")
    if node.kind == "unknown":
        return unexaminable(name, node, account)
    if node.kind != "char":
        return Check(
            name,
            Status.FAIL,
            f"{path} is a {_KIND_WORDS[node.kind]}, not a camera{default}",
            f"{set_it[0].upper()}{set_it[1:]} (or the camera's /dev/videoN).",
        )
    if not may(account, node, read=True, write=True):
        return Check(
            name,
            Status.FAIL,
            f"user {account.name} may not open {node.shown} ({node.permissions})",
            f"Add the kiosk user to the camera's group: `sudo usermod -aG {node.group} "
            f"{account.name}`, then restart the kiosk.",
        )
    if node.rdev_major != V4L2_MAJOR:
        return Check(
            name,
            Status.WARN,
            f"{node.shown} is a character device but not a video device "
            f"(major {node.rdev_major}){default}",
            f"Check `ls -l {path} /dev/video*`: {path} should lead to the camera's /dev/videoN.",
        )
    found = f" {facts.device_name!r}" if facts.device_name else ""
    return Check(
        name, Status.OK, f"{node.shown}: video device{found} ({node.permissions}){default}"
    )


# --- OCR and barcode libraries ----------------------------------------------------------------


@dataclass(frozen=True)
class TesseractFacts:
    executable: str | None
    version_text: str = ""  # what `tesseract --version` printed
    languages: tuple[str, ...] | None = None  # from `--list-langs`; None: it failed
    error: str | None = None


_TESSERACT_VERSION = re.compile(r"tesseract\s+v?(\d+)\.(\d+)(?:\.(\d+))?", re.I)


def tesseract_version(text: str) -> tuple[int, int, int] | None:
    match = _TESSERACT_VERSION.search(text)
    if not match:
        return None
    major, minor, patch = match.groups()
    return int(major), int(minor), int(patch or 0)


def check_ocr(facts: TesseractFacts) -> Check:
    name = "ocr-engine"
    install = "`sudo apt install tesseract-ocr tesseract-ocr-eng`"
    if facts.executable is None:
        return Check(name, Status.FAIL, "tesseract is not installed (not on PATH)", install)
    if facts.error:
        return Check(name, Status.FAIL, f"{facts.executable} does not run: {facts.error}", install)
    version = tesseract_version(facts.version_text)
    if version is None:
        return Check(
            name,
            Status.FAIL,
            f"{facts.executable} did not say its version: {facts.version_text.strip()[:80]!r}",
            install,
        )
    shown = ".".join(map(str, version))
    if version[0] < MIN_TESSERACT_MAJOR:
        return Check(
            name,
            Status.FAIL,
            f"tesseract {shown} is too old (version {MIN_TESSERACT_MAJOR} or later reads cards)",
            f"{install} from a current Raspberry Pi OS (Debian 11 or later).",
        )
    if facts.languages is None or "eng" not in facts.languages:
        have = ", ".join(facts.languages or ()) or "none"
        return Check(
            name,
            Status.FAIL,
            f"tesseract {shown} has no English language data (has: {have})",
            "`sudo apt install tesseract-ocr-eng`",
        )
    return Check(name, Status.OK, f"tesseract {shown} at {facts.executable}, with eng")


@dataclass(frozen=True)
class LibraryFacts:
    """One barcode library: where it was found and its version, or why it was not."""

    found: bool
    version: str | None = None
    where: str | None = None
    error: str | None = None
    binding_version: str | None = None  # pyzbar, for zbar
    binding_error: str | None = None


def hardware_extra_fix(prefix: str) -> str:
    return (
        f"The app was installed without its hardware extra: re-run the Pi set-up script "
        f"(see provisioning/README.md), which installs `frontdesk[kiosk,hardware]` into "
        f"{prefix}."
    )


def check_zbar(facts: LibraryFacts, *, prefix: str) -> Check:
    name = "barcode-zbar"
    if not facts.found:
        return Check(
            name,
            Status.FAIL,
            "the zbar library (libzbar) is not installed: QR codes and 1-D barcodes cannot be read",
            "`sudo apt install libzbar0`",
        )
    library = f"libzbar {facts.version}" if facts.version else "libzbar"
    if facts.binding_error:
        return Check(
            name,
            Status.FAIL,
            f"{library} is there, but pyzbar cannot be loaded: {facts.binding_error}",
            hardware_extra_fix(prefix),
        )
    return Check(
        name,
        Status.OK,
        f"{library} ({facts.where}), pyzbar {facts.binding_version or '(version unknown)'}",
    )


def check_zxing(facts: LibraryFacts, *, prefix: str) -> Check:
    name = "barcode-zxing"
    if not facts.found:
        return Check(
            name,
            Status.FAIL,
            f"zxing-cpp cannot be loaded ({facts.error}): licence barcodes (PDF417) cannot be read",
            hardware_extra_fix(prefix),
        )
    return Check(name, Status.OK, f"zxing-cpp {facts.version or '(version unknown)'}")


# --- serial devices ---------------------------------------------------------------------------


SerialRole = Literal["printer", "scanner"]


@dataclass(frozen=True)
class SerialFacts:
    role: SerialRole
    path: str | None  # None: not configured
    node: Node | None = None
    open_errno: int | None = None  # from os.open(O_RDWR | O_NOCTTY | O_NONBLOCK)
    open_error: str | None = None
    opened: bool = False


def check_serial(facts: SerialFacts, account: Account, *, config_path: Path) -> Check:
    role = facts.role
    name, setting = f"{role}-port", f"{role}_port"
    device = f"/dev/frontdesk-{role}"
    if facts.path is None:
        return Check(
            name,
            Status.SKIP,
            f"no {role} configured ({setting} is not set)",
            f'If this kiosk has a {role}, set {setting} = "{device}" under [kiosk] in '
            f"{config_path}.",
        )
    node, path = facts.node, facts.path
    assert node is not None
    if node.kind == "missing":
        udev = (
            f"; if /dev/ttyUSB* or /dev/ttyACM* is there but {path} is not, the udev rule "
            f"that names it is missing (see provisioning/README.md)"
            if path.startswith("/dev/frontdesk-")
            else ""
        )
        return Check(
            name,
            Status.FAIL,
            f"No {role} at {path}",
            f"Check the {role}'s USB cable and power, then run "
            f"`ls -l {path} /dev/ttyUSB* /dev/ttyACM*`{udev}.",
        )
    if node.kind == "unknown":
        return unexaminable(name, node, account)
    if node.kind != "char":
        return Check(
            name,
            Status.FAIL,
            f"{path} is a {_KIND_WORDS[node.kind]}, not a serial device",
            f"Set {setting} in {config_path} to the {role}'s device, e.g. {device} or "
            f"/dev/ttyUSB0.",
        )
    group_fix = (
        f"Add the kiosk user to the device's group: `sudo usermod -aG {node.group or 'dialout'} "
        f"{account.name}`, then restart the kiosk; and check that the udev rule gives the "
        f'device GROUP="dialout", MODE="0660" (`ls -l {path}`).'
    )
    denied = facts.open_errno in (errno.EACCES, errno.EPERM)
    if denied or not may(account, node, read=True, write=True):
        return Check(
            name,
            Status.FAIL,
            f"permission denied: user {account.name} may not open {node.shown} read/write "
            f"({node.permissions})",
            group_fix,
        )
    if facts.open_errno == errno.EBUSY:
        return Check(
            name,
            Status.WARN,
            f"{node.shown} is busy: another program holds it open (the kiosk app?)",
            f"See who has it: `sudo fuser -v {path}`.",
        )
    if facts.open_errno in (errno.ENXIO, errno.ENODEV, errno.EIO):
        return Check(
            name,
            Status.FAIL,
            f"{node.shown} is there but the {role} does not answer ({facts.open_error})",
            f"Check the {role} is switched on and its USB cable is in; unplug it and plug it "
            f"back in.",
        )
    if facts.open_errno is not None or not facts.opened:
        return Check(
            name,
            Status.FAIL,
            f"{node.shown} cannot be opened: {facts.open_error or 'unknown error'}",
            f"Unplug the {role} and plug it back in, then run the doctor again.",
        )
    return Check(
        name,
        Status.OK,
        f"{node.shown}: serial device, opens read/write as {account.name} ({node.permissions})",
    )


# --- the back office --------------------------------------------------------------------------

FailureKind = Literal[
    "bad-url",
    "dns",
    "refused",
    "unreachable",
    "connect-timeout",
    "read-timeout",
    "tls",
    "tls-certificate",
    "protocol",
    "other",
]


@dataclass(frozen=True)
class Failure:
    """Why a call had no answer, as a kind and the system's own words."""

    kind: FailureKind
    message: str


@dataclass(frozen=True)
class Reply:
    """One call to the back office: its answer, or why there was none."""

    url: str
    sent: datetime
    received: datetime
    elapsed_ms: int
    status: int | None = None
    body: Any = None  # the JSON, when there was JSON
    headers: Mapping[str, str] = field(default_factory=dict)
    failure: Failure | None = None

    @property
    def problem(self) -> str:
        """The problem JSON's detail, or the status."""
        detail = self.body.get("detail") if isinstance(self.body, dict) else None
        return detail if isinstance(detail, str) else f"HTTP {self.status}"


def server_problem(server: str) -> str | None:
    """Why `server` is not a URL the kiosk can call, or None."""
    parts = urlsplit(server)
    if parts.scheme not in ("http", "https"):
        return f"{server!r} does not start with https:// (or http://)"
    if not parts.hostname:
        return f"{server!r} names no host"
    try:
        parts.port  # noqa: B018  (it is parsed, and checked, when read)
    except ValueError:
        return f"{server!r} has a port that is not a number from 1 to 65535"
    return None


def _host_port(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.hostname}:{port}"


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host in ("localhost", "::1") or host.startswith("127.")


def describe_failure(failure: Failure, *, url: str, config_path: Path, timeout: float) -> Check:
    """A call with no answer, in words, with what to do about it."""
    name, where = "back-office", _host_port(url)
    host = urlsplit(url).hostname or url
    server_fix = f"check `server` in {config_path}"
    words: dict[str, tuple[str, str]] = {
        "bad-url": (
            f"the back office's address is not usable: {failure.message}",
            f'Set server = "https://…" under [kiosk] in {config_path} to the back office\'s '
            f"address, or enrol again: `{ENROL}`.",
        ),
        "dns": (
            f"{host} cannot be found (DNS): {failure.message}",
            f"Check the spelling of the name ({server_fix}) and this kiosk's network: "
            f"`getent hosts {host}`, `resolvectl status`.",
        ),
        "refused": (
            f"connection refused by {where}: nothing is listening there",
            f"Check that the back office is running, and that the address and port are right "
            f"({server_fix}).",
        ),
        "unreachable": (
            f"{where} cannot be reached from here ({failure.message})",
            "This kiosk is not on the network, or has no route to the back office: check the "
            "network cable or Wi-Fi, then `ip addr` and `ip route`.",
        ),
        "connect-timeout": (
            f"no answer from {where} within {timeout:g} s",
            f"Check the network cable or Wi-Fi and that no firewall blocks {where}, then try "
            f"`curl -v {url}`.",
        ),
        "read-timeout": (
            f"{where} took the connection but did not answer within {timeout:g} s",
            "The back office is overloaded or stuck: ask whoever runs it to look at it.",
        ),
        "tls-certificate": (
            f"{host}'s certificate is not trusted: {failure.message}",
            f"Check this kiosk's date and time (`timedatectl`), that {server_fix} names the "
            f"host on the certificate, and, if the clinic has its own certificate authority, "
            f"that SSL_CERT_FILE points the kiosk at it.",
        ),
        "tls": (
            f"the secure connection (TLS) to {where} failed: {failure.message}",
            f"Check that the back office serves HTTPS on that port: use https:// only if it "
            f"does ({server_fix}).",
        ),
        "protocol": (
            f"{where} did not answer in HTTP: {failure.message}",
            f"Check that the address and port are the back office's ({server_fix}).",
        ),
        "other": (
            f"the call to {where} failed: {failure.message}",
            f"Check the network and {server_fix}, then run the doctor again.",
        ),
    }
    detail, fix = words[failure.kind]
    return Check(name, Status.FAIL, detail, fix)


def check_back_office(server: str, health: Reply, *, config_path: Path, timeout: float) -> Check:
    name = "back-office"
    if health.failure:
        return describe_failure(
            health.failure, url=health.url, config_path=config_path, timeout=timeout
        )
    status = health.status or 0
    if 300 <= status < 400:
        location = health.headers.get("location", "somewhere else")
        return Check(
            name,
            Status.FAIL,
            f"{health.url} redirects to {location}",
            f"Set `server` in {config_path} to the address it redirects to (without "
            f"/api/v1/health).",
        )
    if status == 404:
        return Check(
            name,
            Status.FAIL,
            f"{server} answered 404 for /api/v1/health: it is not a Frontdesk back office",
            f"Check `server` in {config_path}: the back office's address, without /api/v1.",
        )
    if status >= 500:
        return Check(
            name,
            Status.FAIL,
            f"the back office answered {status}: it is running but unwell (its database may "
            f"be down)",
            "Ask whoever runs the back office to look at its logs; the kiosk keeps check-ins "
            "in its outbox meanwhile.",
        )
    if status != 200:
        return Check(
            name,
            Status.FAIL,
            f"{health.url} answered {health.problem}",
            f"Check `server` in {config_path}.",
        )
    found = f"{server} answered in {health.elapsed_ms} ms"
    if not server.startswith("https://") and not _is_loopback(server):
        return Check(
            name,
            Status.WARN,
            f"{found}, over plain http: the device token crosses the network unencrypted",
            f'Serve the back office over HTTPS and set server = "https://…" in {config_path}.',
        )
    if health.elapsed_ms > SLOW_ANSWER_MS:
        return Check(
            name,
            Status.WARN,
            f"{found}: slow (more than {SLOW_ANSWER_MS} ms)",
            "Check the network's quality (`ping` the back office); ask whoever runs the back "
            "office whether it is overloaded.",
        )
    return Check(name, Status.OK, found)


REFUSED_FIX = (
    "Ask an admin for an enrolment code and run "
    "`sudo frontdesk provision enroll --server URL --code CODE`."
)


def check_credential(me: Reply | None, *, skip_reason: str, device_id: uuid.UUID | None) -> Check:
    name = "credential"
    if me is None:
        return skipped(name, skip_reason)
    if me.failure:
        return Check(
            name,
            Status.FAIL,
            f"the back office answered its health check but not this call: {me.failure.message}",
            "Run the doctor again; if it keeps failing, ask whoever runs the back office.",
        )
    if me.status == 401:
        return Check(
            name,
            Status.FAIL,
            f"this kiosk's credential was refused (revoked or replaced): {me.problem}",
            REFUSED_FIX,
        )
    if me.status == 403:
        return Check(name, Status.FAIL, f"the token is not a kiosk's: {me.problem}", REFUSED_FIX)
    if me.status != 200 or not isinstance(me.body, dict):
        return Check(
            name,
            Status.FAIL,
            f"the back office answered {me.problem} to {me.url}",
            "Check that the kiosk and the back office are of matching versions.",
        )
    answered_id, device_name = me.body.get("device_id"), me.body.get("name")
    if device_id is not None and answered_id != str(device_id):
        return Check(
            name,
            Status.FAIL,
            f"the token belongs to device {answered_id}, not to this kiosk's {device_id}",
            REFUSED_FIX,
        )
    return Check(name, Status.OK, f"accepted: this kiosk is {device_name!r} ({answered_id})")


def check_card_reader(reply: Reply | None, *, skip_reason: str) -> Check:
    name = "card-reader"
    if reply is None:
        return skipped(name, skip_reason)
    if reply.failure:
        return Check(
            name,
            Status.FAIL,
            f"the kiosk's configuration could not be fetched: {reply.failure.message}",
            "Run the doctor again; if it keeps failing, ask whoever runs the back office.",
        )
    if reply.status in (401, 403):
        return skipped(name, "the back office refused this kiosk's credential (see credential)")
    if reply.status == 404:
        return Check(
            name,
            Status.FAIL,
            f"the back office does not offer the kiosk's configuration ({reply.problem}): it "
            f"is older than this kiosk",
            "Update the back office to the kiosk's version.",
        )
    if reply.status != 200:
        return Check(
            name,
            Status.FAIL,
            f"the back office answered {reply.problem} to {reply.url}",
            "Ask whoever runs the back office to look at its logs.",
        )
    try:
        config = KioskConfig.model_validate(reply.body)
    except ValidationError as exc:
        return Check(
            name,
            Status.FAIL,
            f"the kiosk's configuration from the back office is not understood: "
            f"{describe_validation(exc)}",
            "The kiosk and the back office are of different versions: update the older one.",
        )
    reader = config.payment_reader
    if reader is None:
        return Check(
            name,
            Status.WARN,
            "no card reader is assigned to this kiosk: patients cannot pay by card here",
            "An admin assigns a card reader to this kiosk on the staff console's Devices page.",
        )
    label = f"{reader.label} ({reader.id})" if reader.label else reader.id
    return Check(name, Status.OK, f"card reader {label} assigned")


@dataclass(frozen=True)
class ClockReading:
    offset_ms: int  # this kiosk's clock minus the back office's
    uncertainty_ms: int
    source: str


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def clock_reading(me: Reply | None, health: Reply | None) -> ClockReading | None:
    """The offset NTP-style from /kiosk/me's server_time; failing that (a refused token),
    from the health answer's Date header, which has whole seconds only."""
    if me is not None and me.status == 200 and isinstance(me.body, dict):
        try:
            server_time = _aware(datetime.fromisoformat(me.body["server_time"]))
        except (KeyError, TypeError, ValueError):
            server_time = None
        if server_time is not None:
            return ClockReading(
                heartbeat_offset_ms(me.sent, me.received, server_time),
                (me.elapsed_ms + 1) // 2,
                "its server_time",
            )
    if health is not None and health.status is not None and health.headers.get("date"):
        try:
            date = _aware(parsedate_to_datetime(health.headers["date"]))
        except (TypeError, ValueError):
            return None
        # The header is the server's clock rounded down to the second: half a second more.
        middle = date + timedelta(milliseconds=500)
        return ClockReading(
            heartbeat_offset_ms(health.sent, health.received, middle),
            (health.elapsed_ms + 1) // 2 + 500,
            "its Date header",
        )
    return None


def _duration(ms: int) -> str:
    size = abs(ms)
    if size < 1_000:
        return f"{size} ms"
    if size < 120_000:
        return f"{size / 1000:.1f} s"
    if size < 7_200_000:
        return f"{size / 60_000:.0f} min"
    return f"{size / 3_600_000:.1f} h"


CLOCK_FIX = (
    'Set the clock from the network: `timedatectl status` should say "System clock '
    "synchronized: yes\"; turn it on with `sudo timedatectl set-ntp true`. If the clinic's "
    "network blocks NTP (UDP port 123), ask IT for an NTP server, put it in "
    "/etc/systemd/timesyncd.conf (NTP=…) and run `sudo systemctl restart systemd-timesyncd`."
)


def check_clock(reading: ClockReading | None, *, skip_reason: str) -> Check:
    name = "clock"
    if reading is None:
        return skipped(name, skip_reason)
    offset = reading.offset_ms
    direction = "ahead of" if offset > 0 else "behind"
    found = (
        f"{_duration(offset)} {direction} the back office (±{_duration(reading.uncertainty_ms)}, "
        f"from {reading.source})"
    )
    if abs(offset) > CLOCK_FAIL_MS:
        return Check(
            name,
            Status.FAIL,
            f"{found}: tokens, today's appointments and HTTPS certificates depend on the clock",
            CLOCK_FIX,
        )
    if abs(offset) > CLOCK_WARN_MS:
        return Check(name, Status.WARN, found, CLOCK_FIX)
    return Check(name, Status.OK, found)


# --- disk -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DiskFacts:
    var_dir: Path  # where the kiosk keeps its outbox
    measured: Path  # var_dir, or its nearest existing parent
    free_bytes: int = 0
    total_bytes: int = 0
    error: str | None = None


def _size(count: int) -> str:
    if count >= GIB:
        return f"{count / GIB:.1f} GiB"
    return f"{count / MIB:.0f} MiB"


def check_disk(facts: DiskFacts) -> Check:
    name = "disk"
    if facts.error:
        return Check(
            name,
            Status.FAIL,
            f"free space at {facts.var_dir} cannot be read: {facts.error}",
            f"Check that {facts.var_dir} exists and is on a mounted disk (`df -h`).",
        )
    free, total = facts.free_bytes, facts.total_bytes
    share = free / total if total else 0.0
    where = (
        facts.var_dir
        if facts.measured == facts.var_dir
        else (f"{facts.measured} ({facts.var_dir} does not exist yet)")
    )
    found = f"{_size(free)} free of {_size(total)} ({share:.0%}) at {where}"
    fix = (
        f"Make room: `sudo apt clean`, `sudo journalctl --vacuum-size=100M`, and see what "
        f"grew with `sudo du -xsh /var/* {facts.var_dir}/*`. A large outbox means check-ins "
        f"are not reaching the back office: see back-office."
    )
    if free < DISK_FAIL_BYTES:
        return Check(name, Status.FAIL, f"{found}: the outbox needs room", fix)
    if free < DISK_WARN_BYTES or share < DISK_WARN_FRACTION:
        return Check(name, Status.WARN, f"{found}: running low", fix)
    return Check(name, Status.OK, found)
