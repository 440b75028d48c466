"""The doctor's eyes: each probe looks at one part of this kiosk (a file's mode, a device
node, a program, a library, the back office) and returns facts for `provisioning.checks`
to judge. Nothing is opened for capture or printing; a serial port is opened read/write and
closed at once, and the back office is asked only what a kiosk asks it anyway.

Probes never raise for what they find: a missing device or a refused call is a fact."""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import grp
import importlib
import importlib.metadata
import os
import pwd
import shutil
import socket
import ssl
import stat
import subprocess
import threading
import time
import tomllib
import urllib.request
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from ipaddress import ip_address
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from pydantic import ValidationError

from provisioning.checks import (
    DEFAULT_CAMERA,
    IMAGE_SUFFIXES,
    KIOSK_USER,
    Account,
    CameraFacts,
    ConfigFacts,
    CredentialFacts,
    DiskFacts,
    Failure,
    LibraryFacts,
    Node,
    NodeKind,
    Reply,
    SerialFacts,
    SerialRole,
    TesseractFacts,
    camera_path,
    describe_validation,
)
from shared.contracts.provisioning import PRIVATE_KEY_FILE, TOKEN_FILE, read_config_file
from shared.device_credential import CredentialError, DeviceCredential, check_private

PROGRAM_TIMEOUT = 10.0  # tesseract answers --version in well under a second


# --- files and device nodes -------------------------------------------------------------------


def _name(lookup: Callable[[int], Sequence[object]], number: int) -> str:
    """A user's or group's name, or its number when it has none."""
    try:
        return str(lookup(number)[0])
    except KeyError:
        return str(number)


def _kind(mode: int) -> NodeKind:
    if stat.S_ISCHR(mode):
        return "char"
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISREG(mode):
        return "file"
    return "other"


def stat_node(path: str | Path) -> Node:
    """Follows symlinks, as opening would; never opens."""
    text = str(path)
    try:
        info = os.stat(text)
    except FileNotFoundError:
        return Node(text, "missing")
    except NotADirectoryError:
        return Node(text, "missing")
    except OSError as exc:
        return Node(text, "unknown", error=exc.strerror)
    mode = info.st_mode
    kind = _kind(mode)
    resolved = os.path.realpath(text)
    return Node(
        text,
        kind,
        resolved=resolved if resolved != text else None,
        mode=mode,
        uid=info.st_uid,
        gid=info.st_gid,
        owner=_name(pwd.getpwuid, info.st_uid),
        group=_name(grp.getgrgid, info.st_gid),
        rdev_major=os.major(info.st_rdev) if kind == "char" else None,
    )


def process_account() -> Account:
    uid = os.geteuid()
    return Account(_name(pwd.getpwuid, uid), uid, frozenset({os.getegid(), *os.getgroups()}))


def kiosk_account(credential_dir: Path | None) -> Account:
    """Whose access the checks judge: this process's user, unless that is root, in which case
    the kiosk user's (the credential folder's owner, or `kiosk`) when there is one."""
    me = process_account()
    if me.uid != 0:
        return me
    entry = None
    if credential_dir is not None:
        try:
            owner = credential_dir.stat().st_uid
            entry = pwd.getpwuid(owner) if owner != 0 else None
        except (OSError, KeyError):
            entry = None
    if entry is None:
        try:
            entry = pwd.getpwnam(KIOSK_USER)
        except KeyError:
            return me
    gids = frozenset(os.getgrouplist(entry.pw_name, entry.pw_gid))
    return Account(entry.pw_name, entry.pw_uid, gids, is_process=False)


def probe_config(path: Path) -> ConfigFacts:
    node = stat_node(path)
    if node.kind != "file":
        return ConfigFacts(path, node)
    try:
        config = read_config_file(path)
    except PermissionError:
        return ConfigFacts(path, node, unreadable=True)
    except OSError as exc:
        return ConfigFacts(path, node, error=exc.strerror or str(exc))
    except UnicodeDecodeError:
        return ConfigFacts(path, node, error="it is not text (UTF-8)")
    except tomllib.TOMLDecodeError as exc:
        return ConfigFacts(path, node, error=f"not valid TOML ({exc})")
    except ValidationError as exc:
        return ConfigFacts(path, node, error=describe_validation(exc))
    return ConfigFacts(path, node, config=config)


def probe_credential(directory: Path) -> CredentialFacts:
    node = stat_node(directory)
    if node.kind != "dir":
        return CredentialFacts(directory, node)
    files = tuple(
        n
        for n in (stat_node(directory / TOKEN_FILE), stat_node(directory / PRIVATE_KEY_FILE))
        if n.kind != "missing"
    )
    try:
        check_private(directory)
    except CredentialError as exc:
        return CredentialFacts(directory, node, files, not_private=str(exc))
    try:
        credential = DeviceCredential.load(directory)
    except CredentialError as exc:
        return CredentialFacts(directory, node, files, error=str(exc))
    except OSError as exc:
        return CredentialFacts(directory, node, files, error=f"{directory}: {exc.strerror}")
    except ValueError as exc:  # a token file that is not text, for one
        return CredentialFacts(
            directory, node, files, error=f"the credential in {directory} is damaged ({exc})"
        )
    return CredentialFacts(
        directory, node, files, device_id=credential.device_id, token=credential.token
    )


def probe_camera(source: str | None) -> CameraFacts:
    configured = source is not None
    source = source or DEFAULT_CAMERA
    node = stat_node(camera_path(source))
    if node.kind == "dir":
        try:
            images = sum(1 for p in Path(node.path).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        except OSError:
            images = 0
        return CameraFacts(source, configured, node, images=images)
    device_name = None
    if node.kind == "char":
        sysfs = Path("/sys/class/video4linux") / Path(node.resolved or node.path).name / "name"
        try:
            device_name = sysfs.read_text().strip() or None
        except OSError:
            device_name = None
    return CameraFacts(source, configured, node, device_name=device_name)


def probe_serial(role: SerialRole, path: str | None) -> SerialFacts:
    """Opened read/write as the kiosk's driver would, without becoming our controlling
    terminal and without waiting for a modem line, then closed at once."""
    if path is None:
        return SerialFacts(role, None)
    node = stat_node(path)
    if node.kind != "char":
        return SerialFacts(role, path, node)
    try:
        fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    except OSError as exc:
        return SerialFacts(role, path, node, open_errno=exc.errno, open_error=exc.strerror)
    os.close(fd)
    return SerialFacts(role, path, node, opened=True)


def probe_disk(var_dir: Path) -> DiskFacts:
    measured = var_dir
    while not measured.exists() and measured != measured.parent:
        measured = measured.parent
    try:
        info = os.statvfs(measured)
    except OSError as exc:
        return DiskFacts(var_dir, measured, error=exc.strerror)
    return DiskFacts(
        var_dir, measured, info.f_bavail * info.f_frsize, info.f_blocks * info.f_frsize
    )


# --- programs and libraries -------------------------------------------------------------------


def _run(argv: list[str]) -> str:
    done = subprocess.run(  # noqa: S603  (our own fixed argv)
        argv, capture_output=True, text=True, timeout=PROGRAM_TIMEOUT, check=False
    )
    return done.stdout + done.stderr  # tesseract 3 wrote its version on stderr


def probe_tesseract() -> TesseractFacts:
    executable = shutil.which("tesseract")
    if executable is None:
        return TesseractFacts(None)
    try:
        version = _run([executable, "--version"])
        listing = _run([executable, "--list-langs"])
    except (OSError, subprocess.TimeoutExpired) as exc:
        return TesseractFacts(executable, error=str(exc))
    lines = [line.strip() for line in listing.splitlines() if line.strip()]
    languages = tuple(line for line in lines if " " not in line and ":" not in line)
    return TesseractFacts(executable, version, languages)


def _zbar_version(library: str) -> str | None:
    """libzbar's own version, from zbar_version() (0.10 fills two numbers, later three)."""
    try:
        zbar = ctypes.CDLL(library)
        numbers = (ctypes.c_uint(), ctypes.c_uint(), ctypes.c_uint())
        zbar.zbar_version(*(ctypes.byref(n) for n in numbers))
    except (OSError, AttributeError):
        return None
    major, minor, patch = (n.value for n in numbers)
    return f"{major}.{minor}.{patch}" if patch else f"{major}.{minor}"


def _distribution_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def probe_zbar() -> LibraryFacts:
    library = ctypes.util.find_library("zbar")
    if library is None:
        return LibraryFacts(found=False)
    try:
        importlib.import_module("pyzbar.pyzbar")
    except Exception as exc:  # ImportError, or zbar's own loader failing
        binding_error: str | None = f"{type(exc).__name__}: {exc}"
    else:
        binding_error = None
    return LibraryFacts(
        found=True,
        version=_zbar_version(library),
        where=library,
        binding_version=_distribution_version("pyzbar"),
        binding_error=binding_error,
    )


def probe_zxing() -> LibraryFacts:
    try:
        module = importlib.import_module("zxingcpp")
    except Exception as exc:  # ImportError, or the compiled module failing to load
        return LibraryFacts(found=False, error=f"{type(exc).__name__}: {exc}")
    version = getattr(module, "__version__", None) or _distribution_version("zxing-cpp")
    return LibraryFacts(found=True, version=version, where=getattr(module, "__file__", None))


# --- the back office --------------------------------------------------------------------------


def failure_of(exc: BaseException) -> Failure:
    """What went wrong with a call, from httpx's exception and the system's error under it."""
    if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
        return Failure("connect-timeout", "no answer in time")
    if isinstance(exc, httpx.TimeoutException):
        return Failure("read-timeout", "no answer in time")
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return Failure("bad-url", str(exc))
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return Failure("tls-certificate", cause.verify_message or str(cause))
        if isinstance(cause, ssl.SSLError):
            return Failure("tls", cause.reason or str(cause))
        if isinstance(cause, socket.gaierror):
            return Failure("dns", cause.strerror or str(cause))
        if isinstance(cause, ConnectionRefusedError):
            return Failure("refused", cause.strerror or "connection refused")
        if isinstance(cause, OSError) and cause.errno in (
            errno.ENETUNREACH,
            errno.EHOSTUNREACH,
            errno.ENETDOWN,
            errno.EHOSTDOWN,
        ):
            return Failure("unreachable", cause.strerror or str(cause))
        if isinstance(cause, TimeoutError | socket.timeout):
            return Failure("connect-timeout", "no answer in time")
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, httpx.RemoteProtocolError | httpx.LocalProtocolError):
        return Failure("protocol", str(exc) or type(exc).__name__)
    return Failure("other", str(exc) or type(exc).__name__)


def resolve(host: str, port: int, *, timeout: float) -> Failure | None:
    """Look `host` up with a deadline: getaddrinfo has none of its own, and a kiosk whose
    name server is gone would otherwise wait for its resolver's retries."""
    try:
        ip_address(host.strip("[]"))
        return None  # an address needs no name server
    except ValueError:
        pass
    outcome: list[Failure | None] = []

    def look_up() -> None:
        try:
            socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            outcome.append(None)
        except OSError as exc:
            outcome.append(failure_of(exc))

    worker = threading.Thread(target=look_up, name="doctor-dns", daemon=True)
    worker.start()
    worker.join(timeout)
    if not outcome:
        return Failure("dns", f"the name server did not answer within {timeout:g} s")
    return outcome[0]


def call(client: httpx.Client, url: str, *, token: str | None = None) -> Reply:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    sent, started = datetime.now(UTC), time.monotonic()
    try:
        response = client.get(url, headers=headers)
    except httpx.HTTPError as exc:
        failure = failure_of(exc)
    except httpx.InvalidURL as exc:
        failure = Failure("bad-url", str(exc))
    else:
        received = datetime.now(UTC)
        try:
            body = response.json()
        except ValueError:
            body = None
        return Reply(
            url,
            sent,
            received,
            round((time.monotonic() - started) * 1000),
            status=response.status_code,
            body=body,
            headers={k.lower(): v for k, v in response.headers.items()},
        )
    return Reply(
        url, sent, datetime.now(UTC), round((time.monotonic() - started) * 1000), failure=failure
    )


def health_reply(client: httpx.Client, server: str, *, timeout: float) -> Reply:
    url = f"{server}/api/v1/health"
    parts = urlsplit(server)
    if parts.hostname and not urllib.request.getproxies():
        port = parts.port or (443 if parts.scheme == "https" else 80)
        now = datetime.now(UTC)
        failure = resolve(parts.hostname, port, timeout=timeout)
        if failure is not None:
            return Reply(url, now, datetime.now(UTC), 0, failure=failure)
    return call(client, url)


def http_client(timeout: float) -> httpx.Client:
    """As the kiosk's own client: the same trust (certifi, or SSL_CERT_FILE) and no
    redirects followed, so a wrong address shows as one."""
    return httpx.Client(timeout=timeout, headers={"User-Agent": "frontdesk-doctor"})
