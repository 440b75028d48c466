"""The Raspberry Pi set-up files, checked with the tools that will read them: bash and
shellcheck for the script, systemd-analyze for the units, udev itself for the rules, a YAML
parser for the cloud-init user-data. The script's real run is test_pi_chroot.py's."""

from __future__ import annotations

import grp
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.provisioning.pi_checks import (
    PROVISIONING,
    RULES,
    SETUP,
    USER_DATA,
    UsbDevice,
    analyze_verify,
    udev_test,
    unit_root,
)

KIOSK_STUBS = ("/usr/bin/cage", "/opt/frontdesk/venv/bin/frontdesk")
APT_STUBS = ("/usr/lib/apt/apt-helper", "/usr/lib/apt/apt.systemd.daily")


def first_boot_script() -> str:
    user_data = yaml.safe_load(USER_DATA.read_text())
    (entry,) = [e for e in user_data["write_files"] if e["path"].endswith("frontdesk-first-boot")]
    return entry["content"]


# --- setup.sh --------------------------------------------------------------------------------


def test_setup_script_is_valid_bash() -> None:
    done = subprocess.run(["bash", "-n", str(SETUP)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("script", ["setup.sh", "first-boot (in user-data.yaml)"])
def test_shell_scripts_pass_shellcheck(script: str, tmp_path: Path) -> None:
    path = SETUP
    if script.startswith("first-boot"):
        path = tmp_path / "frontdesk-first-boot"
        path.write_text(first_boot_script())
    done = subprocess.run(
        ["shellcheck", "--severity=style", "--shell=bash", str(path)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def run_setup_as_nobody(*args: str) -> subprocess.CompletedProcess[str]:
    """setup.sh as an unprivileged user: it checks its options before it checks for root, so
    these runs show its option errors and can change nothing even if it went wrong."""
    if os.geteuid() != 0:
        pytest.skip("needs root to drop to nobody")
    return subprocess.run(
        [
            "setpriv",
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            "bash",
            str(SETUP),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"},
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "say where the app comes from: --wheel PATH or --package SPEC (one of them)"),
        (
            ("--wheel", "/nonexistent/frontdesk-0.1.0-py3-none-any.whl", "--package", "frontdesk"),
            "say where the app comes from",
        ),
        (("--wheel", "/nonexistent/frontdesk-0.1.0-py3-none-any.whl"), "no such wheel: /nonex"),
        (("--package", "frontdesk==0.1.0", "--timezone", "Mars/Olympus"), "unknown time zone"),
        (("--frobnicate",), "unknown option: --frobnicate"),
        (("--package", "frontdesk==0.1.0"), "run as root"),
    ],
)
def test_setup_says_what_is_wrong_in_one_line(args: tuple[str, ...], message: str) -> None:
    done = run_setup_as_nobody(*args)
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and message in errors[0], done.stderr
    assert "Traceback" not in done.stderr


def test_setup_installs_every_file_it_ships() -> None:
    """Nothing under systemd/, udev/ or config/ is forgotten by the script."""
    script = SETUP.read_text()
    shipped = [
        p.relative_to(PROVISIONING).as_posix()
        for folder in ("systemd", "udev", "config")
        for p in (PROVISIONING / folder).rglob("*")
        if p.is_file()
    ]
    assert shipped
    for relative in shipped:
        name = relative.split("/", 1)[1] if relative.startswith("systemd/") else relative
        assert name.replace("frontdesk-kiosk.service", "$UNIT") in script, relative


# --- systemd ---------------------------------------------------------------------------------


def test_kiosk_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    root = unit_root(tmp_path, stub=KIOSK_STUBS)
    assert analyze_verify(root, "frontdesk-kiosk.service") == []


def test_verify_would_catch_a_broken_unit(tmp_path: Path) -> None:
    """The check above can fail: a wrong Restart= and a misspelt key are reported."""
    root = unit_root(tmp_path, stub=KIOSK_STUBS)
    unit = root / "etc/systemd/system/frontdesk-kiosk.service"
    text = unit.read_text().replace("Restart=always", "Restart=sometimes\nWatchdogSecs=30s")
    unit.write_text(text)
    problems = "\n".join(analyze_verify(root, "frontdesk-kiosk.service"))
    assert "restart specifier" in problems and "WatchdogSecs" in problems


def test_verify_would_catch_a_missing_program(tmp_path: Path) -> None:
    root = unit_root(tmp_path, stub=("/opt/frontdesk/venv/bin/frontdesk",))
    problems = "\n".join(analyze_verify(root, "frontdesk-kiosk.service"))
    assert "/usr/bin/cage" in problems


def test_night_update_timer_dropin_passes_verify(tmp_path: Path) -> None:
    if not Path("/usr/lib/systemd/system/apt-daily-upgrade.timer").exists():
        pytest.skip("apt's timers are not on this machine")
    root = unit_root(tmp_path, stub=APT_STUBS)
    assert analyze_verify(root, "apt-daily-upgrade.timer") == []
    # …and verify does read the drop-in: a bad time in it is reported.
    dropin = root / "etc/systemd/system/apt-daily-upgrade.timer.d/50-frontdesk-night.conf"
    dropin.write_text(dropin.read_text().replace("*-*-* 02:00", "at two"))
    assert "at two" in "\n".join(analyze_verify(root, "apt-daily-upgrade.timer"))


def test_kiosk_unit_says_how_it_runs() -> None:
    """The parts of the unit the others rely on (see the issue 9 brief)."""
    unit = (PROVISIONING / "systemd/frontdesk-kiosk.service").read_text()
    for line in (
        "Type=notify",
        "NotifyAccess=all",
        "Restart=always",
        "User=kiosk",
        "ConditionPathExists=/etc/frontdesk/kiosk.toml",
        "Environment=FRONTDESK_KIOSK_CONFIG=/etc/frontdesk/kiosk.toml",
        "ExecStart=/usr/bin/cage -d -- /opt/frontdesk/venv/bin/frontdesk kiosk run --fullscreen",
        "TTYPath=/dev/tty1",
        "WantedBy=multi-user.target",
    ):
        assert line in unit.splitlines(), line
    assert re.search(r"^WatchdogSec=\d+s$", unit, re.M)
    assert re.search(r"^StartLimitBurst=\d+$", unit, re.M)
    for device_breaking in ("PrivateDevices=yes", "DevicePolicy=closed", "ProtectClock=yes"):
        assert device_breaking not in unit


@pytest.mark.parametrize(
    ("dropin", "program"),
    [
        ("systemd/logind.conf.d/50-frontdesk.conf", "/usr/lib/systemd/systemd-logind"),
        ("systemd/system.conf.d/50-frontdesk.conf", "/usr/lib/systemd/systemd"),
    ],
)
def test_manager_dropins_use_keys_systemd_knows(dropin: str, program: str) -> None:
    """logind.conf and system.conf have no verify: each key must be one the daemon that reads
    the file has in its own table of keys (compiled into the program as text)."""
    binary = Path(program).read_bytes() if Path(program).exists() else b""
    shared = b"".join(p.read_bytes() for p in Path("/usr/lib/systemd").glob("libsystemd-shared*"))
    if not binary:
        pytest.skip(f"{program} is not on this machine")
    keys = [
        line.split("=", 1)[0]
        for line in (PROVISIONING / dropin).read_text().splitlines()
        if "=" in line and not line.startswith("#")
    ]
    assert keys
    for key in keys:
        assert key.encode() in binary or key.encode() in shared, key


# --- udev --------------------------------------------------------------------------------------

CAMERA = UsbDevice("video0", "046d", "082d")  # Logitech C920
CAMERA_METADATA = UsbDevice("video1", "046d", "082d", index="1")
PRINTER_CABLE = UsbDevice("ttyUSB0", "0403", "6001")  # FTDI FT232
SCANNER_CDC = UsbDevice("ttyACM0", "05e0", "1701")  # Zebra, USB CDC mode
UNKNOWN_SERIAL = UsbDevice("ttyACM1", "2341", "0043")  # an Arduino Uno


@pytest.fixture(scope="module")
def udev_ready() -> None:
    if os.geteuid() != 0:
        pytest.skip("udev's checks run in a mount namespace of their own: root only")


def test_rules_parse_without_a_complaint(udev_ready: None, tmp_path: Path) -> None:
    run = udev_test(RULES, CAMERA, tmp_path)
    assert run.parsed
    assert run.diagnostics == []


def test_rule_check_would_catch_a_mistake(udev_ready: None, tmp_path: Path) -> None:
    broken = tmp_path / RULES.name
    broken.write_text(RULES.read_text().replace('SYMLINK+="frontdesk-camera"', 'SYMLNK+="x"', 1))
    broken.write_text(broken.read_text() + 'GOTO="nowhere"\n')
    run = udev_test(broken, CAMERA, tmp_path / "run")
    complaints = "\n".join(run.diagnostics)
    assert "SYMLNK" in complaints and "nowhere" in complaints


def test_rules_pass_udevadm_verify_where_udev_has_it() -> None:
    if subprocess.run(["udevadm", "verify", "--help"], capture_output=True).returncode != 0:
        pytest.skip("udevadm verify needs systemd 254; the checks above use udev's own parser")
    done = subprocess.run(["udevadm", "verify", str(RULES)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("device", "link", "group"),
    [
        (CAMERA, "/dev/frontdesk-camera", "video"),
        (PRINTER_CABLE, "/dev/frontdesk-printer", "dialout"),
        (SCANNER_CDC, "/dev/frontdesk-scanner", "dialout"),
    ],
    ids=["camera", "printer", "scanner"],
)
def test_rules_give_each_device_its_stable_name(
    udev_ready: None, device: UsbDevice, link: str, group: str, tmp_path: Path
) -> None:
    run = udev_test(RULES, device, tmp_path)
    assert link in run.links
    assert run.assignments("MODE") == ["0660"]
    assert run.assignments("GROUP") == [str(grp.getgrnam(group).gr_gid)]
    if device.name.startswith("tty"):
        assert run.properties.get("ID_MM_DEVICE_IGNORE") == "1"


@pytest.mark.parametrize("device", [CAMERA_METADATA, UNKNOWN_SERIAL], ids=["metadata", "unknown"])
def test_rules_leave_other_devices_alone(
    udev_ready: None, device: UsbDevice, tmp_path: Path
) -> None:
    run = udev_test(RULES, device, tmp_path)
    assert not [link for link in run.links if "frontdesk" in link]
    assert run.assignments("LINK") == []


# --- cloud-init --------------------------------------------------------------------------------


def test_user_data_is_cloud_config_that_runs_the_same_setup_script() -> None:
    text = USER_DATA.read_text()
    assert text.splitlines()[0] == "#cloud-config"
    user_data = yaml.safe_load(text)
    paths = {entry["path"] for entry in user_data["write_files"]}
    assert user_data["runcmd"] == [["/usr/local/sbin/frontdesk-first-boot"]]
    assert "/usr/local/sbin/frontdesk-first-boot" in paths
    script = first_boot_script()
    assert script.startswith("#!/bin/bash\n")
    assert 'exec bash "$work/provisioning/pi/setup.sh"' in script
    # It runs the script, it does not repeat its steps.
    for step in ("apt-get", "useradd", "systemctl", "udevadm", "python3 -m venv"):
        assert step not in text
    assert user_data["ssh_pwauth"] is False
    done = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_readme_walks_the_technician_through_enrolment() -> None:
    readme = (PROVISIONING / "README.md").read_text()
    for command in (
        "frontdesk devices enrollment-code --location",
        "sudo frontdesk provision enroll --server",
        "sudo -u kiosk frontdesk provision doctor",
        "provisioning/pi/setup.sh",
        "user-data",
    ):
        assert command in readme, command
