"""`frontdesk provision doctor`, the real command, on a kiosk's files made here: a kiosk
with its camera gone and its back office down; a good kiosk against a real back office
(the app served on a loopback port, real device tokens); a revoked one. Pseudo-terminals
stand in for the serial printer and scanner, a folder of frames for the camera.

Each kiosk is run once per module (the command takes about a second to start) and its
report is looked at by several tests, one behaviour each."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator

import pytest

from provisioning.doctor import run_doctor
from tests.provisioning.doctor_fixtures import (
    LiveBackOffice,
    Run,
    closed_port,
    doctor,
    frame_folder,
    make_kiosk,
    without_root_privilege,
)

STATUSES = {"ok", "warn", "fail", "skip"}


@pytest.fixture(scope="module")
def ports() -> Iterator[tuple[str, str]]:
    """Two serial ports, as the kernel makes them: pseudo-terminals' slave sides."""
    pairs = [os.openpty() for _ in range(2)]
    try:
        yield os.ttyname(pairs[0][1]), os.ttyname(pairs[1][1])
    finally:
        for fd in (fd for pair in pairs for fd in pair):
            os.close(fd)


@pytest.fixture(scope="module")
def backoffice(tmp_path_factory) -> Iterator[LiveBackOffice]:
    with LiveBackOffice(tmp_path_factory.mktemp("backoffice")).running() as live:
        yield live


# --- camera gone, back office down ------------------------------------------------------------


@pytest.fixture(scope="module")
def down(tmp_path_factory, ports) -> tuple[Run, dict[str, str]]:
    folder = tmp_path_factory.mktemp("down")
    not_a_device = folder / "printer.txt"
    not_a_device.write_text("")
    port = closed_port()
    facts = {
        "camera": str(folder / "dev" / "frontdesk-camera"),
        "server": f"http://127.0.0.1:{port}",
        "printer_port": str(not_a_device),
        "scanner_port": ports[1],
    }
    config = make_kiosk(
        folder,
        server=facts["server"],
        camera=facts["camera"],
        printer_port=facts["printer_port"],
        scanner_port=facts["scanner_port"],
    )
    return doctor(config), facts


def test_a_missing_camera_is_a_failure_with_its_fix(down):
    run, facts = down
    assert run.line("camera") == (
        f"FAIL  camera            No camera at {facts['camera']} "
        f"fix: Check the camera's USB cable, then run `ls -l {facts['camera']} /dev/video*`."
    )
    assert run.code == 1


def test_an_unreachable_back_office_says_what_happened_and_what_to_do(down):
    run, facts = down
    port = facts["server"].rsplit(":", 1)[1]
    line = run.line("back-office")
    assert line.startswith(
        f"FAIL  back-office       connection refused by 127.0.0.1:{port}: nothing is listening"
    )
    assert "fix: Check that the back office is running" in line


@pytest.mark.parametrize("name", ["credential", "card-reader", "clock"])
def test_what_needs_the_back_office_is_skipped_not_failed(down, name):
    run, _ = down
    assert run.line(name).startswith("skip  ")
    assert "the back office did not answer (see back-office)" in run.line(name)


def test_a_serial_path_that_is_not_a_device_fails(down):
    run, facts = down
    assert run.line("printer-port").startswith(
        f"FAIL  printer-port      {facts['printer_port']} is a regular file, not a serial device"
    )


def test_a_pseudo_terminal_passes_as_a_serial_port(down):
    run, facts = down
    assert run.line("scanner-port").startswith(f"ok    scanner-port      {facts['scanner_port']}")


def test_the_report_ends_with_the_counts_and_nothing_on_stderr(down):
    run, _ = down
    # ok and warnings depend on this machine's free disk; the rest does not
    assert re.fullmatch(
        r"13 checks: \d+ ok, \d+ warning\(s\), 3 failed, 3 skipped", run.stdout.splitlines()[-1]
    )
    assert run.stderr == ""


def test_a_back_office_that_is_down_costs_no_time(down):
    run, _ = down
    assert run.seconds < 5


def test_a_serial_port_this_user_may_not_open_fails_with_the_group_fix(tmp_path):
    """A real "permission denied": a port whose mode lets nobody open it, and the doctor run
    as this user (as root, without root's power to ignore file modes)."""
    wrapper = without_root_privilege()
    if wrapper is None:
        pytest.skip("root here, and setpriv cannot drop its file-mode override")
    master, slave = os.openpty()
    try:
        locked = os.ttyname(slave)
        os.chmod(locked, 0)
        config = make_kiosk(
            tmp_path, server=f"http://127.0.0.1:{closed_port()}", printer_port=locked
        )
        run = doctor(config, wrapper=wrapper)
    finally:
        os.close(master)
        os.close(slave)
    line = run.line("printer-port")
    assert line.startswith("FAIL  printer-port      permission denied: user ")
    assert f"may not open {locked} read/write (c--------- " in line
    assert "fix: Add the kiosk user to the device's group: `sudo usermod -aG " in line
    assert 'GROUP="dialout", MODE="0660"' in line


# --- a good kiosk against a real back office ------------------------------------------------


@pytest.fixture(scope="module")
def good(tmp_path_factory, backoffice, ports) -> tuple[Run, dict[str, str]]:
    folder = tmp_path_factory.mktemp("good")
    device_id, token = backoffice.add_kiosk("Doctor lobby", reader="tmr_doctor_1")
    config = make_kiosk(
        folder,
        server=backoffice.url,
        device_id=device_id,
        token=token,
        camera=str(frame_folder(folder / "frames")),
        printer_port=ports[0],
        scanner_port=ports[1],
    )
    return doctor(config, "--json"), {"device_id": str(device_id), "token": token}


def test_json_is_one_object_of_the_documented_shape(good):
    run, _ = good
    data = json.loads(run.stdout)  # the whole of stdout: one object, nothing else
    assert set(data) == {"ok", "checks"}
    assert isinstance(data["ok"], bool)
    for check in data["checks"]:
        assert set(check) == {"name", "status", "detail", "fix"}
        assert check["status"] in STATUSES
        assert isinstance(check["detail"], str) and check["detail"]
    assert [c["name"] for c in data["checks"]] == [
        "configuration",
        "credential-files",
        "camera",
        "ocr-engine",
        "barcode-zbar",
        "barcode-zxing",
        "printer-port",
        "scanner-port",
        "back-office",
        "credential",
        "card-reader",
        "clock",
        "disk",
    ]


def test_a_good_kiosk_passes_and_exits_0(good):
    run, _ = good
    failed = [c for c in run.json()["checks"] if c["status"] == "fail"]
    assert failed == []
    assert (run.json()["ok"], run.code) == (True, 0)


def test_the_back_office_answers_and_the_time_is_reported(good):
    run, _ = good
    check = run.checks()["back-office"]
    assert check["status"] == "ok"
    assert check["detail"].endswith(" ms")


def test_the_real_token_is_accepted_and_the_device_named(good):
    run, kiosk = good
    assert run.checks()["credential"] == {
        "name": "credential",
        "status": "ok",
        "detail": f"accepted: this kiosk is 'Doctor lobby' ({kiosk['device_id']})",
        "fix": None,
    }


def test_the_clock_agrees_with_the_back_office(good):
    run, _ = good
    check = run.checks()["clock"]
    assert check["status"] == "ok"
    assert "from its server_time" in check["detail"]


def test_the_card_reader_an_admin_assigned_is_reported(good):
    """Live against GET /api/v1/kiosk/config."""
    run, _ = good
    assert run.checks()["card-reader"]["status"] == "ok"
    assert run.checks()["card-reader"]["detail"] == "card reader tmr_doctor_1 assigned"


def test_pseudo_terminals_pass_as_the_printer_and_scanner(good):
    run, _ = good
    assert run.checks()["printer-port"]["status"] == "ok"
    assert run.checks()["scanner-port"]["status"] == "ok"


def test_the_token_never_appears_in_the_report(good):
    run, kiosk = good
    assert kiosk["token"] not in run.stdout


def test_a_kiosk_without_a_card_reader_is_told_who_assigns_one(tmp_path, backoffice, capsys):
    """Live against GET /api/v1/kiosk/config, in this process: a warning, not a failure."""
    device_id, token = backoffice.add_kiosk("Doctor no reader")
    config = make_kiosk(
        tmp_path,
        server=backoffice.url,
        device_id=device_id,
        token=token,
        camera=str(frame_folder(tmp_path / "frames")),
    )
    code = run_doctor(config, as_json=True, timeout=2)
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
    assert checks["card-reader"]["status"] == "warn"
    assert checks["card-reader"]["fix"] == (
        "An admin assigns a card reader to this kiosk on the staff console's Devices page."
    )
    assert code == 0


# --- a revoked kiosk ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def revoked(tmp_path_factory, backoffice) -> Run:
    folder = tmp_path_factory.mktemp("revoked")
    device_id, token = backoffice.add_kiosk("Doctor revoked")
    backoffice.revoke(device_id)
    config = make_kiosk(folder, server=backoffice.url, device_id=device_id, token=token)
    return doctor(config, "--json")


def test_a_revoked_credential_fails_with_the_enrolment_fix(revoked):
    check = revoked.checks()["credential"]
    assert check["status"] == "fail"
    assert check["detail"].startswith("this kiosk's credential was refused (revoked or replaced)")
    assert check["fix"] == (
        "Ask an admin for an enrolment code and run "
        "`sudo frontdesk provision enroll --server URL --code CODE`."
    )
    assert (revoked.json()["ok"], revoked.code) == (False, 1)


def test_a_revoked_kiosk_still_has_its_clock_checked(revoked):
    """From the Date header of the back office's health answer."""
    check = revoked.checks()["clock"]
    assert check["status"] == "ok"
    assert "from its Date header" in check["detail"]


def test_a_revoked_kiosk_skips_the_card_reader(revoked):
    assert revoked.checks()["card-reader"]["status"] == "skip"


# --- no configuration -----------------------------------------------------------------------


def test_a_missing_configuration_is_a_failing_check_not_a_traceback(tmp_path, capsys):
    missing = tmp_path / "kiosk.toml"
    code = run_doctor(missing, as_json=False, timeout=1)
    out = capsys.readouterr().out
    assert f"FAIL  configuration     No configuration at {missing}" in out
    assert "Traceback" not in out
    assert code == 1
