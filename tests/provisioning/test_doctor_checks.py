"""The doctor's verdicts, from facts alone: which state each check ends in, what it says it
found, and the fix a technician reads. No device, program or server is touched here."""

from __future__ import annotations

import errno
import json
import stat
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from provisioning import checks as c
from provisioning.checks import Account, Check, Failure, Node, Reply, Status
from provisioning.doctor import Report, render_json, render_table
from shared.contracts.provisioning import KioskConfigFile

CONFIG = Path("/etc/frontdesk/kiosk.toml")
DEVICE = uuid.UUID("0b7c1c8e-5a0f-4c36-9a53-3e0c2a1f6d10")
ROOT = Account("root", 0, frozenset({0}))
TECH = Account("pi", 1000, frozenset({1000, 27}))  # the process itself, not root
KIOSK = Account("kiosk", 999, frozenset({999, 44, 20}), is_process=False)  # video, dialout
DIALOUT, VIDEO = 20, 44
NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def node(
    path: str,
    kind: str = "file",
    *,
    mode: int = 0o640,
    uid: int = 0,
    gid: int = 999,
    major: int | None = None,
    resolved: str | None = None,
) -> Node:
    type_bits = {"file": stat.S_IFREG, "dir": stat.S_IFDIR, "char": stat.S_IFCHR}.get(kind, 0)
    return Node(
        path,
        kind,
        resolved=resolved,
        mode=type_bits | mode,
        uid=uid,
        gid=gid,
        owner="root" if uid == 0 else "kiosk",
        group={20: "dialout", 44: "video"}.get(gid, "kiosk"),
        rdev_major=major,
    )


def config_file(**overrides: str) -> KioskConfigFile:
    values = {
        "server": "https://frontdesk.example.org",
        "device_id": str(DEVICE),
        "credential_dir": "/var/lib/frontdesk/credential",
    } | overrides
    return KioskConfigFile.model_validate(values)


# --- access by mode -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "uid", "gid", "read", "write", "allowed"),
    [
        (0o600, 999, 0, True, True, True),  # the owner
        (0o600, 0, 999, True, False, False),  # the group has nothing
        (0o660, 0, DIALOUT, True, True, True),  # a group the kiosk is in
        (0o640, 0, DIALOUT, True, True, False),  # the group may read, not write
        (0o660, 0, 5, True, False, False),  # a group the kiosk is not in
        (0o644, 0, 5, True, False, True),  # everyone may read
        (0o044, 999, 0, True, False, False),  # the owner's bits decide, not the others'
    ],
)
def test_access_is_judged_by_owner_then_group_then_others(mode, uid, gid, read, write, allowed):
    target = node("/dev/x", "char", mode=mode, uid=uid, gid=gid)
    assert c.may(KIOSK, target, read=read, write=write) is allowed


def test_root_may_do_anything():
    assert c.may(ROOT, node("/dev/x", "char", mode=0o000, uid=5, gid=5), read=True, write=True)


# --- configuration --------------------------------------------------------------------------


def test_a_missing_configuration_fails_and_says_to_enrol():
    check = c.check_configuration(c.ConfigFacts(CONFIG, Node(str(CONFIG), "missing")), ROOT)
    assert check.status is Status.FAIL
    assert check.detail == f"No configuration at {CONFIG}"
    assert "sudo frontdesk provision enroll --server URL --code CODE" in check.fix
    assert "FRONTDESK_KIOSK_CONFIG" in check.fix


def test_an_unreadable_configuration_says_to_run_as_root_or_the_kiosk_user():
    facts = c.ConfigFacts(CONFIG, node(str(CONFIG)), unreadable=True)
    check = c.check_configuration(facts, TECH)
    assert (check.status, check.detail) == (Status.FAIL, f"{CONFIG} cannot be read by user pi")
    assert "sudo frontdesk provision doctor" in check.fix


def test_a_path_stat_is_refused_on_says_to_run_as_root_or_the_kiosk_user():
    closed = Node("/var/lib/frontdesk/credential", "unknown", error="Permission denied")
    facts = c.CredentialFacts(Path(closed.path), closed)
    check = c.check_credential_files(facts, TECH, config_device_id=DEVICE)
    assert check.detail == (
        "/var/lib/frontdesk/credential cannot be examined by user pi (Permission denied)"
    )
    assert "sudo frontdesk provision doctor" in check.fix


def test_an_invalid_configuration_fails_with_what_is_wrong():
    facts = c.ConfigFacts(CONFIG, node(str(CONFIG)), error="`server` is missing")
    check = c.check_configuration(facts, ROOT)
    assert check.status is Status.FAIL
    assert check.detail.endswith("is not a valid kiosk configuration: `server` is missing")
    assert f"sudoedit {CONFIG}" in check.fix


def test_a_world_writable_configuration_fails():
    facts = c.ConfigFacts(CONFIG, node(str(CONFIG), mode=0o666), config=config_file())
    check = c.check_configuration(facts, ROOT)
    assert check.status is Status.FAIL
    assert "can be changed by every user (-rw-rw-rw- root:kiosk)" in check.detail
    assert f"sudo chmod 0640 {CONFIG}" in check.fix


def test_a_world_readable_configuration_warns():
    facts = c.ConfigFacts(CONFIG, node(str(CONFIG), mode=0o644), config=config_file())
    check = c.check_configuration(facts, ROOT)
    assert check.status is Status.WARN
    assert "readable by every user" in check.detail
    assert f"sudo chown root:kiosk {CONFIG}" in check.fix


def test_root_judges_the_configuration_for_the_kiosk_user():
    """root can read anything; the kiosk, in group kiosk, cannot read a root:root 0600 file."""
    facts = c.ConfigFacts(CONFIG, node(str(CONFIG), mode=0o600, gid=0), config=config_file())
    check = c.check_configuration(facts, KIOSK)
    assert check.status is Status.FAIL
    assert check.detail.startswith(f"the kiosk user kiosk cannot read {CONFIG}")


def test_a_good_configuration_says_where_it_points():
    facts = c.ConfigFacts(CONFIG, node(str(CONFIG)), config=config_file())
    check = c.check_configuration(facts, KIOSK)
    assert check == Check(
        "configuration",
        Status.OK,
        f"{CONFIG}: server https://frontdesk.example.org, device {DEVICE}",
    )


# --- credential on disk ---------------------------------------------------------------------

CRED = Path("/var/lib/frontdesk/credential")


def credential(**overrides) -> c.CredentialFacts:
    values = {
        "directory": CRED,
        "node": node(str(CRED), "dir", mode=0o700, uid=999, gid=999),
        "files": (node(f"{CRED}/token", mode=0o600, uid=999, gid=999),),
        "device_id": DEVICE,
        "token": "fdk_secret",
    } | overrides
    return c.CredentialFacts(**values)


def test_a_missing_credential_says_to_enrol():
    check = c.check_credential_files(
        c.CredentialFacts(CRED, Node(str(CRED), "missing")), KIOSK, config_device_id=DEVICE
    )
    assert (check.status, check.detail) == (Status.FAIL, f"No credential at {CRED}")
    assert "provision enroll" in check.fix


def test_a_credential_others_can_read_fails_with_chmod():
    complaint = f"{CRED}/token is readable by others (mode 644): run `chmod go= {CRED}/token`"
    check = c.check_credential_files(
        credential(not_private=complaint, device_id=None), KIOSK, config_device_id=DEVICE
    )
    assert check.status is Status.FAIL
    assert check.detail.startswith(f"{CRED}/token is readable by others (mode 644)")
    assert f"sudo chmod -R go= {CRED}" in check.fix


def test_a_damaged_credential_says_so_and_to_enrol_again():
    damaged = f"the credential in {CRED} is damaged: enrol again"
    check = c.check_credential_files(
        credential(error=damaged, device_id=None), KIOSK, config_device_id=DEVICE
    )
    assert (check.status, check.detail) == (Status.FAIL, damaged)


def test_a_credential_root_owns_is_useless_to_the_kiosk_user():
    facts = credential(node=node(str(CRED), "dir", mode=0o700, uid=0, gid=0))
    check = c.check_credential_files(facts, KIOSK, config_device_id=DEVICE)
    assert check.status is Status.FAIL
    assert "the kiosk user kiosk cannot use" in check.detail
    assert check.fix == f"`sudo chown -R kiosk: {CRED}`"


def test_a_credential_for_another_device_fails():
    other = uuid.uuid4()
    check = c.check_credential_files(credential(device_id=other), KIOSK, config_device_id=DEVICE)
    assert check.status is Status.FAIL
    assert f"is for device {other}" in check.detail


def test_a_good_credential_never_shows_its_token():
    check = c.check_credential_files(credential(), KIOSK, config_device_id=DEVICE)
    assert check.status is Status.OK
    assert "fdk_secret" not in check.detail
    assert "fdk_secret" not in repr(credential())


# --- camera ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "path"),
    [
        ("0", "/dev/video0"),
        ("12", "/dev/video12"),
        ("/dev/frontdesk-camera", "/dev/frontdesk-camera"),
    ],
)
def test_a_camera_index_means_a_video_node(source, path):
    assert c.camera_path(source) == path


def camera(path: str, kind: str = "char", *, configured: bool = True, **facts) -> c.CameraFacts:
    target = (
        node(path, kind, mode=0o660, gid=VIDEO, major=81)
        if kind != "missing"
        else Node(path, "missing")
    )
    return c.CameraFacts(path, configured, facts.pop("node", target), **facts)


def test_a_missing_camera_fails_with_what_to_look_at():
    check = c.check_camera(camera("/dev/frontdesk-camera", "missing"), KIOSK, config_path=CONFIG)
    assert check.status is Status.FAIL
    assert check.detail == "No camera at /dev/frontdesk-camera"
    assert check.fix.startswith(
        "Check the camera's USB cable, then run `ls -l /dev/frontdesk-camera /dev/video*`"
    )
    assert "udev rule" in check.fix


def test_a_missing_default_camera_says_how_to_set_it():
    check = c.check_camera(
        camera("/dev/video0", "missing", configured=False), KIOSK, config_path=CONFIG
    )
    assert "camera is not set" in check.detail
    assert f'set camera = "/dev/frontdesk-camera" under [kiosk] in {CONFIG}' in check.fix


def test_a_folder_of_frames_is_a_demo_camera():
    check = c.check_camera(camera("/srv/frames", "dir", images=3), KIOSK, config_path=CONFIG)
    assert (check.status, check.detail) == (
        Status.OK,
        "/srv/frames: a folder of 3 frames (a demo camera)",
    )


def test_an_empty_folder_is_no_camera():
    check = c.check_camera(camera("/srv/frames", "dir", images=0), KIOSK, config_path=CONFIG)
    assert check.status is Status.FAIL
    assert "no images" in check.detail


def test_a_regular_file_is_no_camera():
    check = c.check_camera(camera("/srv/frame.png", "file"), KIOSK, config_path=CONFIG)
    assert (check.status, check.detail) == (
        Status.FAIL,
        "/srv/frame.png is a regular file, not a camera",
    )


def test_a_camera_the_kiosk_user_may_not_open_names_the_group():
    locked = node("/dev/video0", "char", mode=0o660, gid=5, major=81)
    check = c.check_camera(camera("/dev/video0", node=locked), KIOSK, config_path=CONFIG)
    assert check.status is Status.FAIL
    assert "sudo usermod -aG kiosk kiosk" in check.fix  # the device's group, shown by name


def test_a_character_device_that_is_not_video_warns():
    tty = node("/dev/frontdesk-camera", "char", mode=0o666, major=188, resolved="/dev/ttyUSB0")
    check = c.check_camera(camera("/dev/frontdesk-camera", node=tty), KIOSK, config_path=CONFIG)
    assert check.status is Status.WARN
    assert "/dev/frontdesk-camera → /dev/ttyUSB0 is a character device but not a video" in (
        check.detail
    )


def test_a_video_device_is_ok_and_named():
    video = node(
        "/dev/frontdesk-camera", "char", mode=0o660, gid=VIDEO, major=81, resolved="/dev/video0"
    )
    facts = camera("/dev/frontdesk-camera", node=video, device_name="HD USB Camera")
    check = c.check_camera(facts, KIOSK, config_path=CONFIG)
    assert check == Check(
        "camera",
        Status.OK,
        "/dev/frontdesk-camera → /dev/video0: video device 'HD USB Camera' (crw-rw---- root:video)",
    )


# --- OCR and barcodes -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "version"),
    [
        ("tesseract 5.3.0\n leptonica-1.82.0\n", (5, 3, 0)),
        ("tesseract v4.1.1-rc2-25-g9707\n", (4, 1, 1)),
        ("tesseract 3.05.02\n", (3, 5, 2)),
        ("tesseract 4.0\n", (4, 0, 0)),
        ("command not understood", None),
    ],
)
def test_tesseract_versions_are_read_from_what_it_prints(text, version):
    assert c.tesseract_version(text) == version


def test_no_tesseract_says_what_to_install():
    check = c.check_ocr(c.TesseractFacts(None))
    assert check.status is Status.FAIL
    assert check.fix == "`sudo apt install tesseract-ocr tesseract-ocr-eng`"


def test_tesseract_3_is_too_old():
    check = c.check_ocr(c.TesseractFacts("/usr/bin/tesseract", "tesseract 3.05.02", ("eng",)))
    assert (check.status, check.detail) == (
        Status.FAIL,
        "tesseract 3.5.2 is too old (version 4 or later reads cards)",
    )


def test_tesseract_without_english_fails():
    check = c.check_ocr(c.TesseractFacts("/usr/bin/tesseract", "tesseract 5.3.0", ("osd",)))
    assert check.status is Status.FAIL
    assert check.detail == "tesseract 5.3.0 has no English language data (has: osd)"
    assert check.fix == "`sudo apt install tesseract-ocr-eng`"


def test_tesseract_with_english_is_ok():
    facts = c.TesseractFacts("/usr/bin/tesseract", "tesseract 5.3.0", ("eng", "osd"))
    assert c.check_ocr(facts) == Check(
        "ocr-engine", Status.OK, "tesseract 5.3.0 at /usr/bin/tesseract, with eng"
    )


def test_no_libzbar_says_what_to_install():
    check = c.check_zbar(c.LibraryFacts(found=False), prefix="/opt/frontdesk/venv")
    assert check.status is Status.FAIL
    assert check.fix == "`sudo apt install libzbar0`"


def test_libzbar_without_pyzbar_points_at_the_hardware_extra():
    facts = c.LibraryFacts(True, "0.23.92", "libzbar.so.0", binding_error="ImportError: x")
    check = c.check_zbar(facts, prefix="/opt/frontdesk/venv")
    assert check.status is Status.FAIL
    assert "frontdesk[kiosk,hardware]" in check.fix and "/opt/frontdesk/venv" in check.fix


def test_zbar_and_zxing_report_their_versions():
    zbar = c.LibraryFacts(True, "0.23.92", "libzbar.so.0", binding_version="0.1.9")
    assert c.check_zbar(zbar, prefix="/p").detail == "libzbar 0.23.92 (libzbar.so.0), pyzbar 0.1.9"
    zxing = c.check_zxing(c.LibraryFacts(True, "2.3.0"), prefix="/p")
    assert (zxing.status, zxing.detail) == (Status.OK, "zxing-cpp 2.3.0")


def test_no_zxing_fails_because_licences_cannot_be_read():
    check = c.check_zxing(
        c.LibraryFacts(False, error="ModuleNotFoundError: no zxingcpp"), prefix="/p"
    )
    assert check.status is Status.FAIL
    assert "PDF417" in check.detail


# --- serial ports ---------------------------------------------------------------------------

TTY = node(
    "/dev/frontdesk-printer", "char", mode=0o660, gid=DIALOUT, major=188, resolved="/dev/ttyUSB0"
)


def serial(path: str | None = "/dev/frontdesk-printer", **facts) -> c.SerialFacts:
    return c.SerialFacts("printer", path, facts.pop("node", TTY if path else None), **facts)


def test_an_unset_port_is_skipped_with_how_to_set_it():
    check = c.check_serial(serial(None), KIOSK, config_path=CONFIG)
    assert (check.status, check.detail) == (
        Status.SKIP,
        "no printer configured (printer_port is not set)",
    )
    assert f'set printer_port = "/dev/frontdesk-printer" under [kiosk] in {CONFIG}' in check.fix


def test_a_missing_port_fails_with_what_to_look_at():
    check = c.check_serial(
        serial(node=Node("/dev/frontdesk-printer", "missing")), KIOSK, config_path=CONFIG
    )
    assert (check.status, check.detail) == (Status.FAIL, "No printer at /dev/frontdesk-printer")
    assert "`ls -l /dev/frontdesk-printer /dev/ttyUSB* /dev/ttyACM*`" in check.fix


def test_a_port_that_is_not_a_device_fails():
    check = c.check_serial(
        serial("/tmp/printer", node=node("/tmp/printer", "file")), KIOSK, config_path=CONFIG
    )
    assert (check.status, check.detail) == (
        Status.FAIL,
        "/tmp/printer is a regular file, not a serial device",
    )


def test_permission_denied_on_open_names_the_dialout_group():
    facts = serial(open_errno=errno.EACCES, open_error="Permission denied")
    check = c.check_serial(facts, TECH, config_path=CONFIG)
    assert check.status is Status.FAIL
    assert check.detail.startswith("permission denied: user pi may not open")
    assert "`sudo usermod -aG dialout pi`" in check.fix
    assert 'GROUP="dialout", MODE="0660"' in check.fix


def test_root_judges_a_port_for_the_kiosk_user_by_its_mode():
    """root opened it fine; the kiosk user is not in the port's group."""
    locked = node("/dev/frontdesk-printer", "char", mode=0o660, gid=5, major=188)
    check = c.check_serial(serial(node=locked, opened=True), KIOSK, config_path=CONFIG)
    assert check.status is Status.FAIL
    assert "user kiosk may not open" in check.detail


def test_a_busy_port_warns():
    check = c.check_serial(
        serial(open_errno=errno.EBUSY, open_error="busy"), KIOSK, config_path=CONFIG
    )
    assert check.status is Status.WARN
    assert check.fix == "See who has it: `sudo fuser -v /dev/frontdesk-printer`."


def test_a_port_whose_device_is_gone_fails():
    facts = serial(open_errno=errno.ENXIO, open_error="No such device or address")
    check = c.check_serial(facts, KIOSK, config_path=CONFIG)
    assert check.status is Status.FAIL
    assert "the printer does not answer" in check.detail


def test_a_port_that_opens_is_ok():
    check = c.check_serial(serial(opened=True), KIOSK, config_path=CONFIG)
    assert check == Check(
        "printer-port",
        Status.OK,
        "/dev/frontdesk-printer → /dev/ttyUSB0: serial device, opens read/write as kiosk "
        "(crw-rw---- root:dialout)",
    )


# --- the back office ------------------------------------------------------------------------

SERVER = "https://frontdesk.example.org"


def reply(
    url: str = f"{SERVER}/api/v1/health",
    status: int | None = 200,
    *,
    ms: int = 12,
    body=None,
    headers=None,
    failure: Failure | None = None,
) -> Reply:
    return Reply(
        url, NOW, NOW + timedelta(milliseconds=ms), ms, status, body, headers or {}, failure
    )


@pytest.mark.parametrize(
    ("kind", "detail", "in_fix"),
    [
        ("refused", "connection refused by frontdesk.example.org:443", "back office is running"),
        ("dns", "frontdesk.example.org cannot be found (DNS)", "getent hosts"),
        ("connect-timeout", "no answer from frontdesk.example.org:443 within 2 s", "firewall"),
        ("read-timeout", "did not answer within 2 s", "overloaded"),
        ("tls-certificate", "certificate is not trusted", "timedatectl"),
        ("tls", "the secure connection (TLS) to frontdesk.example.org:443 failed", "https://"),
        ("unreachable", "cannot be reached from here", "ip route"),
    ],
)
def test_each_kind_of_no_answer_is_said_plainly(kind, detail, in_fix):
    health = reply(status=None, failure=Failure(kind, "words"))
    check = c.check_back_office(SERVER, health, config_path=CONFIG, timeout=2)
    assert check.status is Status.FAIL
    assert detail in check.detail
    assert in_fix in check.fix


def test_a_redirect_says_where_to():
    health = reply(status=308, headers={"location": "https://new.example.org/api/v1/health"})
    check = c.check_back_office(SERVER, health, config_path=CONFIG, timeout=2)
    assert check.status is Status.FAIL
    assert "redirects to https://new.example.org/api/v1/health" in check.detail


def test_a_404_is_not_a_back_office():
    check = c.check_back_office(SERVER, reply(status=404), config_path=CONFIG, timeout=2)
    assert check.status is Status.FAIL
    assert "not a Frontdesk back office" in check.detail


def test_a_503_is_a_back_office_in_trouble():
    check = c.check_back_office(SERVER, reply(status=503), config_path=CONFIG, timeout=2)
    assert check.status is Status.FAIL
    assert "answered 503" in check.detail


def test_an_answer_reports_the_time_taken():
    check = c.check_back_office(SERVER, reply(ms=37), config_path=CONFIG, timeout=2)
    assert check == Check("back-office", Status.OK, f"{SERVER} answered in 37 ms")


def test_a_slow_answer_warns():
    check = c.check_back_office(SERVER, reply(ms=1800), config_path=CONFIG, timeout=2)
    assert check.status is Status.WARN


def test_plain_http_across_the_network_warns_but_not_on_loopback():
    lan = "http://10.0.0.5:8000"
    check = c.check_back_office(lan, reply(f"{lan}/api/v1/health"), config_path=CONFIG, timeout=2)
    assert check.status is Status.WARN
    assert "unencrypted" in check.detail
    local = "http://127.0.0.1:8000"
    check = c.check_back_office(
        local, reply(f"{local}/api/v1/health"), config_path=CONFIG, timeout=2
    )
    assert check.status is Status.OK


@pytest.mark.parametrize(
    ("server", "problem"),
    [
        ("frontdesk.example.org", "does not start with https://"),
        ("ftp://frontdesk.example.org", "does not start with https://"),
        ("https://", "names no host"),
        ("https://frontdesk.example.org:99999", "port"),
        ("https://frontdesk.example.org", None),
    ],
)
def test_server_addresses_are_checked_before_calling(server, problem):
    found = c.server_problem(server)
    assert found is None if problem is None else problem in found


ME = f"{SERVER}/api/v1/kiosk/me"


def test_a_refused_credential_fails_with_the_enrolment_fix():
    refused = reply(ME, 401, body={"detail": "This device token is not valid or was revoked."})
    check = c.check_credential(refused, skip_reason="", device_id=DEVICE)
    assert check.status is Status.FAIL
    assert check.detail.startswith("this kiosk's credential was refused (revoked or replaced)")
    assert check.fix == (
        "Ask an admin for an enrolment code and run "
        "`sudo frontdesk provision enroll --server URL --code CODE`."
    )


def test_an_accepted_credential_names_the_device():
    body = {"device_id": str(DEVICE), "name": "Lobby 1", "server_time": NOW.isoformat()}
    check = c.check_credential(reply(ME, body=body), skip_reason="", device_id=DEVICE)
    assert check == Check("credential", Status.OK, f"accepted: this kiosk is 'Lobby 1' ({DEVICE})")


def test_a_token_of_another_device_fails():
    body = {"device_id": str(uuid.uuid4()), "name": "Lobby 2"}
    check = c.check_credential(reply(ME, body=body), skip_reason="", device_id=DEVICE)
    assert check.status is Status.FAIL


def test_no_call_is_a_skip_with_the_reason():
    check = c.check_credential(None, skip_reason="the back office did not answer", device_id=None)
    assert check == Check("credential", Status.SKIP, "the back office did not answer")


def kiosk_config(reader: dict | None) -> dict:
    return {
        "version": 7,
        "device_id": str(DEVICE),
        "device_name": "Lobby 1",
        "location_id": None,
        "location_name": None,
        "timezone": "America/New_York",
        "languages": ["en", "es"],
        "consent_documents": ["hipaa"],
        "idle_timeout_seconds": 120,
        "payment_reader": reader,
        "server_time": NOW.isoformat(),
    }


def test_no_card_reader_warns_and_says_who_assigns_one():
    check = c.check_card_reader(reply(body=kiosk_config(None)), skip_reason="")
    assert check.status is Status.WARN
    assert check.fix == (
        "An admin assigns a card reader to this kiosk on the staff console's Devices page."
    )


def test_an_assigned_card_reader_is_named():
    answer = reply(body=kiosk_config({"id": "tmr_123", "label": "Front desk"}))
    check = c.check_card_reader(answer, skip_reason="")
    assert check == Check("card-reader", Status.OK, "card reader Front desk (tmr_123) assigned")


def test_a_back_office_without_kiosk_configuration_is_too_old():
    check = c.check_card_reader(reply(status=404, body={"detail": "Not Found"}), skip_reason="")
    assert check.status is Status.FAIL
    assert "older than this kiosk" in check.detail


def test_a_configuration_not_matching_the_contract_fails():
    check = c.check_card_reader(reply(body={"version": "x"}), skip_reason="")
    assert check.status is Status.FAIL
    assert "not understood" in check.detail


def test_a_refused_credential_skips_the_card_reader():
    check = c.check_card_reader(reply(status=401), skip_reason="")
    assert check.status is Status.SKIP


# --- clock ----------------------------------------------------------------------------------


def test_the_offset_is_measured_ntp_style_from_server_time():
    """Sent at 0, answered at 400 ms; the server read its clock at the midpoint (200 ms), and
    said 10 s earlier: this kiosk is 10 s ahead, give or take 200 ms."""
    server_time = NOW + timedelta(milliseconds=200) - timedelta(seconds=10)
    me = reply(ME, ms=400, body={"server_time": server_time.isoformat()})
    assert c.clock_reading(me, None) == c.ClockReading(10_000, 200, "its server_time")


def test_the_date_header_stands_in_when_the_credential_is_refused():
    refused = reply(ME, 401)
    health = reply(ms=100, headers={"date": "Mon, 02 Mar 2026 14:59:00 GMT"})
    reading = c.clock_reading(refused, health)
    assert reading is not None
    # The server's second began a minute before our midpoint; its middle was 59.5 s before.
    assert reading.offset_ms == 59_550
    assert reading.source == "its Date header"


def test_no_answer_gives_no_reading():
    assert c.clock_reading(None, None) is None


@pytest.mark.parametrize(
    ("offset_ms", "status"),
    [
        (0, Status.OK),
        (-4_900, Status.OK),
        (5_001, Status.WARN),
        (-59_000, Status.WARN),
        (60_001, Status.FAIL),
        (-3_600_000, Status.FAIL),
    ],
)
def test_the_clock_warns_above_5_s_and_fails_above_60_s(offset_ms, status):
    check = c.check_clock(c.ClockReading(offset_ms, 5, "x"), skip_reason="")
    assert check.status is status
    if status is not Status.OK:
        assert "timedatectl" in check.fix


def test_the_clock_says_which_way_it_is_off():
    behind = c.check_clock(c.ClockReading(-90_000, 5, "its server_time"), skip_reason="")
    assert behind.detail.startswith("90.0 s behind the back office (±5 ms, from its server_time)")
    assert "HTTPS certificates depend on the clock" in behind.detail


# --- disk -----------------------------------------------------------------------------------

VAR = Path("/var/lib/frontdesk")


@pytest.mark.parametrize(
    ("free", "total", "status"),
    [
        (100 * c.MIB, 32 * c.GIB, Status.FAIL),
        (800 * c.MIB, 4 * c.GIB, Status.WARN),  # under 1 GiB
        (2 * c.GIB, 32 * c.GIB, Status.WARN),  # under 10 %
        (12 * c.GIB, 32 * c.GIB, Status.OK),
    ],
)
def test_free_disk_thresholds(free, total, status):
    assert c.check_disk(c.DiskFacts(VAR, VAR, free, total)).status is status


def test_free_disk_says_how_much_and_where():
    check = c.check_disk(c.DiskFacts(VAR, Path("/var/lib"), 12 * c.GIB, 32 * c.GIB))
    assert check.detail == (
        "12.0 GiB free of 32.0 GiB (38%) at /var/lib (/var/lib/frontdesk does not exist yet)"
    )


# --- the report -----------------------------------------------------------------------------

REPORT = Report(
    [
        Check("configuration", Status.OK, "fine"),
        Check(
            "camera",
            Status.FAIL,
            "No camera at /dev/frontdesk-camera",
            "Check the camera's USB cable, then run "
            "`ls -l /dev/frontdesk-camera /dev/video*`; and more words to make it wrap.",
        ),
        Check("clock", Status.WARN, "6.0 s ahead", "Set it."),
        Check("credential", Status.SKIP, "the back office did not answer"),
    ],
    ROOT,
)


def test_the_table_has_a_line_per_check_and_fixes_under_the_failing_ones():
    text = render_table(REPORT, config_path=CONFIG, width=70)
    lines = text.splitlines()
    assert "ok    configuration  fine" in lines
    assert "FAIL  camera         No camera at /dev/frontdesk-camera" in lines
    camera_at = lines.index("FAIL  camera         No camera at /dev/frontdesk-camera")
    assert lines[camera_at + 1].startswith(" " * 21 + "fix: Check the camera's USB cable")
    assert "WARN  clock          6.0 s ahead" in lines
    assert lines[-1] == "4 checks: 1 ok, 1 warning(s), 1 failed, 1 skipped"


def test_a_command_in_a_fix_is_never_split_across_lines():
    text = render_table(REPORT, config_path=CONFIG, width=60)
    assert "`ls -l /dev/frontdesk-camera /dev/video*`" in text


def test_the_json_is_the_contract_shape():
    data = json.loads(render_json(REPORT.checks))
    assert data["ok"] is False
    assert data["checks"][1] == {
        "name": "camera",
        "status": "fail",
        "detail": "No camera at /dev/frontdesk-camera",
        "fix": REPORT.checks[1].fix,
    }
    assert data["checks"][0]["fix"] is None
