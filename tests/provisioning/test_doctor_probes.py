"""The doctor's probes on real things of this machine: pseudo-terminals as serial ports,
folders as demo cameras, files with the wrong modes, programs on PATH, and sockets that
refuse, stay silent or speak the wrong TLS. Each is judged by its check too, so these show
the words a technician would read for a real fault."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import pytest

from provisioning import checks as c
from provisioning import probes
from provisioning.checks import Failure, Status
from shared.contracts.provisioning import TOKEN_FILE
from tests.provisioning.doctor_fixtures import closed_port, frame_folder, make_kiosk

CONFIG = Path("/etc/frontdesk/kiosk.toml")


@pytest.fixture
def pty_port() -> Iterator[str]:
    """A serial port as the kernel makes one: the slave side of a pseudo-terminal."""
    master, slave = os.openpty()
    try:
        yield os.ttyname(slave)
    finally:
        os.close(master)
        os.close(slave)


# --- serial ports ---------------------------------------------------------------------------


def test_a_pty_is_a_serial_port_that_opens(pty_port):
    facts = probes.probe_serial("printer", pty_port)
    assert facts.node is not None and facts.node.kind == "char"
    assert facts.opened and facts.open_errno is None
    account = probes.process_account()
    assert c.check_serial(facts, account, config_path=CONFIG).status is Status.OK


def test_a_regular_file_is_not_opened_as_a_port(tmp_path):
    path = tmp_path / "printer"
    path.write_text("")
    facts = probes.probe_serial("printer", str(path))
    assert (facts.node.kind, facts.opened) == ("file", False)
    check = c.check_serial(facts, probes.process_account(), config_path=CONFIG)
    assert check.detail == f"{path} is a regular file, not a serial device"


def test_a_missing_port_is_missing(tmp_path):
    facts = probes.probe_serial("scanner", str(tmp_path / "ttyUSB9"))
    assert facts.node.kind == "missing"


def test_a_port_behind_a_symlink_shows_where_it_leads(pty_port, tmp_path):
    link = tmp_path / "frontdesk-printer"
    link.symlink_to(pty_port)
    facts = probes.probe_serial("printer", str(link))
    assert facts.node.shown == f"{link} → {os.path.realpath(pty_port)}"
    assert facts.opened


# --- camera ---------------------------------------------------------------------------------


def test_a_folder_camera_counts_only_images(tmp_path):
    folder = frame_folder(tmp_path / "frames")
    (folder / "frame-002.JPG").write_bytes(b"")
    (folder / "notes.txt").write_text("not a frame")
    facts = probes.probe_camera(str(folder))
    assert (facts.node.kind, facts.images) == ("dir", 2)


def test_a_camera_index_is_looked_for_as_its_video_node():
    facts = probes.probe_camera("987")
    assert facts.node.path == "/dev/video987"
    assert facts.node.kind == "missing"


def test_no_camera_setting_looks_at_the_default(monkeypatch):
    facts = probes.probe_camera(None)
    assert (facts.source, facts.configured, facts.node.path) == ("0", False, "/dev/video0")


# --- configuration and credential -----------------------------------------------------------


def test_a_kiosk_as_enrolment_leaves_it_reads_back(tmp_path):
    config = make_kiosk(tmp_path, server="https://frontdesk.example.org")
    facts = probes.probe_config(config)
    assert facts.config is not None and facts.config.server == "https://frontdesk.example.org"
    credential = probes.probe_credential(facts.config.credential_dir)
    assert credential.device_id == facts.config.device_id
    assert credential.token == "fdk_not-a-real-token"
    account = probes.process_account()
    assert c.check_configuration(facts, account).status is Status.OK
    check = c.check_credential_files(credential, account, config_device_id=facts.config.device_id)
    assert check.status is Status.OK


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('[kiosk]\nserver = "https://x.example.org"\ndevice_id = \n', "not valid TOML"),
        ('[kiosk]\ndevice_id = "0b7c1c8e-5a0f-4c36-9a53-3e0c2a1f6d10"\n', "`server` is missing"),
        ('[kiosk]\nserver = "https://x"\ndevice_id = "nope"\ncredential_dir = "/c"\n',
         "`device_id`: input should be a valid uuid"),
        ('[kiosk]\nserver = "https://x"\ndevice_id = "0b7c1c8e-5a0f-4c36-9a53-3e0c2a1f6d10"\n'
         'credential_dir = "/c"\nprinter = "/dev/ttyUSB0"\n',
         "`printer` is not a setting the kiosk knows"),
    ],
)  # fmt: skip
def test_a_broken_configuration_says_what_is_wrong(tmp_path, text, error):
    path = tmp_path / "kiosk.toml"
    path.write_text(text)
    facts = probes.probe_config(path)
    assert facts.config is None
    assert error in facts.error


def test_a_credential_others_can_read_is_not_private(tmp_path):
    config = probes.probe_config(make_kiosk(tmp_path, server="https://x.example.org")).config
    config.credential_dir.chmod(0o755)
    facts = probes.probe_credential(config.credential_dir)
    assert facts.token is None
    assert "is readable by others (mode 755)" in facts.not_private


def test_a_credential_without_its_token_says_to_enrol(tmp_path):
    config = probes.probe_config(make_kiosk(tmp_path, server="https://x.example.org")).config
    (config.credential_dir / TOKEN_FILE).unlink()
    facts = probes.probe_credential(config.credential_dir)
    assert facts.error.endswith("is missing: enrol this kiosk")


# --- disk -----------------------------------------------------------------------------------


def test_free_disk_is_measured_on_the_nearest_folder_that_exists(tmp_path):
    facts = probes.probe_disk(tmp_path / "not" / "yet")
    assert facts.measured == tmp_path
    assert 0 < facts.free_bytes <= facts.total_bytes


# --- programs and libraries -----------------------------------------------------------------


def test_this_machine_has_the_ocr_engine_and_barcode_libraries():
    """The development machine is set up as a kiosk's software is: all three are ok."""
    assert c.check_ocr(probes.probe_tesseract()).status is Status.OK
    assert c.check_zbar(probes.probe_zbar(), prefix="/p").status is Status.OK
    assert c.check_zxing(probes.probe_zxing(), prefix="/p").status is Status.OK


def test_no_tesseract_on_path_is_not_installed(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert probes.probe_tesseract().executable is None


def test_an_old_tesseract_is_read_from_what_it_prints(tmp_path, monkeypatch):
    program = tmp_path / "tesseract"
    program.write_text(
        '#!/bin/sh\nif [ "$1" = --version ]; then echo "tesseract 3.05.02" >&2; '
        'else printf "List of available languages (2):\\neng\\nosd\\n"; fi\n'
    )
    program.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    facts = probes.probe_tesseract()
    assert facts.languages == ("eng", "osd")
    check = c.check_ocr(facts)
    assert (check.status, check.detail) == (
        Status.FAIL,
        "tesseract 3.5.2 is too old (version 4 or later reads cards)",
    )


# --- the network ----------------------------------------------------------------------------


@contextmanager
def serving(answer) -> Iterator[int]:
    """A loopback listener whose connections `answer(conn, stop)` handles one by one on a
    thread; `stop` is set when the test is done with it."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn, suppress(OSError, ssl.SSLError):
                answer(conn, stop)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        stop.set()
        with suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)  # wakes the accept()
        listener.close()
        thread.join(2)


def get(url: str, timeout: float = 1.0) -> c.Reply:
    with probes.http_client(timeout) as client:
        return probes.call(client, url)


def test_a_closed_port_is_refused():
    reply = get(f"http://127.0.0.1:{closed_port()}/api/v1/health")
    assert reply.failure == Failure("refused", "Connection refused")


def test_a_name_nobody_knows_is_a_dns_failure():
    failure = probes.resolve("no-such-host.invalid", 443, timeout=2)
    assert failure is not None and failure.kind == "dns"


def test_an_address_needs_no_name_server():
    assert probes.resolve("127.0.0.1", 80, timeout=0.01) is None


def test_a_back_office_that_takes_the_call_but_never_answers_times_out():
    def silent(conn: socket.socket, stop: threading.Event) -> None:
        conn.recv(4096)
        stop.wait(5)

    with serving(silent) as port:
        reply = get(f"http://127.0.0.1:{port}/api/v1/health", timeout=0.3)
    assert reply.failure is not None and reply.failure.kind == "read-timeout"
    assert reply.elapsed_ms < 900
    check = c.check_back_office(f"http://127.0.0.1:{port}", reply, config_path=CONFIG, timeout=0.3)
    assert check.detail == (f"127.0.0.1:{port} took the connection but did not answer within 0.3 s")


def test_https_to_a_plain_http_port_is_a_tls_failure():
    def plain(conn: socket.socket, stop: threading.Event) -> None:
        conn.recv(4096)
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    with serving(plain) as port:
        reply = get(f"https://127.0.0.1:{port}/api/v1/health")
    assert reply.failure is not None and reply.failure.kind == "tls"


def _self_signed(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "frontdesk.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_a_certificate_nobody_vouches_for_is_not_trusted(tmp_path):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*_self_signed(tmp_path))

    def tls(conn: socket.socket, stop: threading.Event) -> None:
        with context.wrap_socket(conn, server_side=True) as secure:
            secure.recv(4096)

    with serving(tls) as port:
        reply = get(f"https://127.0.0.1:{port}/api/v1/health")
    assert reply.failure is not None
    assert reply.failure.kind == "tls-certificate"
    assert "self-signed certificate" in reply.failure.message


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (httpx.ConnectTimeout("timed out"), "connect-timeout"),
        (httpx.ReadTimeout("timed out"), "read-timeout"),
        (httpx.UnsupportedProtocol("Request URL is missing a scheme"), "bad-url"),
        (httpx.RemoteProtocolError("Server disconnected"), "protocol"),
    ],
)
def test_httpx_errors_without_a_system_cause_are_classified(error, kind):
    assert probes.failure_of(error).kind == kind


def test_no_route_to_the_host_is_unreachable():
    error = httpx.ConnectError("[Errno 101] Network is unreachable")
    error.__cause__ = OSError(101, "Network is unreachable")
    assert probes.failure_of(error) == Failure("unreachable", "Network is unreachable")
