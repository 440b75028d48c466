"""provisioning/pi/setup.sh, run for real in a fresh Debian 12 (bookworm) chroot made from
Debian's mirror, with a wheel built from this checkout; then what it left there.

The chroot is built by tests/provisioning/chroot_build.py, which scripts/test starts in the
background before pytest (it is mostly network and disk): these tests wait for its result, or
build it when nobody started it. What it cannot show: the Pi's own hardware and firmware (the
chroot is x86-64, with a copy of a Pi's /boot/firmware files), and anything that needs systemd
running (units are checked with systemd-analyze and systemctl --root instead).
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.provisioning.chroot_build import DEFAULT_DIR, ensure_built, mounts_under
from tests.provisioning.pi_checks import PROVISIONING, analyze_verify

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="building a chroot needs root")

DIRECTORY = Path(os.environ.get("FRONTDESK_TEST_PI_CHROOT", DEFAULT_DIR))


class Chroot:
    def __init__(self, directory: Path, result: dict[str, Any]) -> None:
        self.directory, self.result = directory, result
        self.root = directory / "root"

    def step(self, name: str) -> dict[str, Any]:
        steps = self.result.get("steps", {})
        assert name in steps, f"the chroot build did not get to {name!r}: see {self.directory}"
        return steps[name]

    def log(self, name: str) -> str:
        return (self.directory / self.step(name)["log"]).read_text(errors="replace")

    def succeeded(self, name: str) -> str:
        """The step's output, once it is known to have exited 0."""
        output = self.log(name)
        assert self.step(name)["rc"] == 0, (
            f"{name} exited {self.step(name)['rc']}:\n{output[-4000:]}"
        )
        return output

    def path(self, inside: str) -> Path:
        return self.root / inside.lstrip("/")

    def passwd(self, name: str) -> list[str]:
        return _entry(self.path("/etc/passwd"), name)

    def members(self, group: str) -> set[str]:
        return set(filter(None, _entry(self.path("/etc/group"), group)[3].split(",")))


def _entry(table: Path, name: str) -> list[str]:
    for line in table.read_text().splitlines():
        fields = line.split(":")
        if fields[0] == name:
            return fields
    raise AssertionError(f"no {name!r} in {table}")


@pytest.fixture(scope="module")
def chroot() -> Chroot:
    result = ensure_built(DIRECTORY)
    if result.get("status") != "complete":
        log = (DIRECTORY / "build.log").read_text(errors="replace")[-4000:]
        pytest.fail(f"the chroot could not be built: {result.get('reason')}\n{log}")
    return Chroot(DIRECTORY, result)


# --- the runs ------------------------------------------------------------------------------


def test_setup_runs_cleanly_in_a_fresh_debian_12(chroot: Chroot) -> None:
    output = chroot.succeeded("setup-1")
    assert re.search(r"^frontdesk-setup: done: [1-9]\d* changes$", output, re.M)
    assert "sudo frontdesk provision enroll --server" in output
    assert "policy-rc.d" not in os.listdir(chroot.path("/usr/sbin"))  # its own, removed again


def test_a_second_run_changes_nothing(chroot: Chroot) -> None:
    output = chroot.succeeded("setup-2")
    assert "frontdesk-setup: done: 0 changes" in output
    assert "changed:" not in output


def test_user_data_first_boot_runs_the_same_script_from_the_wheel(chroot: Chroot) -> None:
    output = chroot.succeeded("first-boot")
    assert "frontdesk-setup: done:" in output
    assert chroot.path("/var/cache/frontdesk-setup/provisioning/pi/setup.sh").is_file()
    # Only the app is put in place again (another path, and no constraints file this time).
    changes = re.findall(r"changed: (.*)", output)
    assert len(changes) == 1
    assert changes[0].startswith("frontdesk installed in /opt/frontdesk/venv")


def test_every_dependency_has_a_wheel_for_a_64_bit_pi(chroot: Chroot) -> None:
    """The chroot is x86-64: PyPI is asked for aarch64 (Pi OS bookworm) wheels separately."""
    chroot.succeeded("pi-wheels")
    report = json.loads((chroot.directory / "logs/pi-wheels.json").read_text())
    names = {item["metadata"]["name"].lower() for item in report["install"]}
    assert {"kivy", "numpy", "opencv-python-headless", "cryptography", "zxing-cpp"} <= names
    for item in report["install"]:
        url = item["download_info"]["url"]
        assert url.endswith(("-none-any.whl", "_aarch64.whl")), url


def test_cloud_init_accepts_the_user_data(chroot: Chroot) -> None:
    assert "Valid cloud-config" in chroot.succeeded("cloud-init-schema")


def test_no_mount_is_left_behind(chroot: Chroot) -> None:
    assert chroot.result["mounts_left"] == []
    assert mounts_under(chroot.directory) == []


# --- the kiosk user and its directories ----------------------------------------------------


def test_kiosk_user_never_logs_in(chroot: Chroot) -> None:
    _, _, uid, _, _, home, shell = chroot.passwd("kiosk")
    assert int(uid) < 1000  # a system account
    assert (home, shell) == ("/var/lib/frontdesk", "/usr/sbin/nologin")
    password = _entry(chroot.path("/etc/shadow"), "kiosk")[1]
    assert password.startswith("!") or password == "*"
    assert chroot.succeeded("passwd-status").split()[1] == "L"


def test_kiosk_user_has_its_device_groups_and_no_sudo(chroot: Chroot) -> None:
    for group in ("video", "dialout", "input", "render"):
        assert "kiosk" in chroot.members(group), group
    for group in ("sudo", "adm", "root"):
        assert "kiosk" not in chroot.members(group), group
    sudoers = chroot.path("/etc/sudoers.d")
    assert not any("kiosk" in p.read_text() for p in sudoers.iterdir() if p.is_file())


@pytest.mark.parametrize(
    ("path", "owner", "group", "mode"),
    [
        ("/etc/frontdesk", "root", "kiosk", 0o750),
        ("/var/lib/frontdesk", "kiosk", "kiosk", 0o750),
        ("/opt/frontdesk", "root", "root", 0o755),
    ],
)
def test_directories_have_their_owners_and_modes(
    chroot: Chroot, path: str, owner: str, group: str, mode: int
) -> None:
    info = chroot.path(path).stat()
    assert stat.S_IMODE(info.st_mode) == mode
    assert info.st_uid == int(chroot.passwd(owner)[2])
    assert info.st_gid == int(_entry(chroot.path("/etc/group"), group)[2])


def test_the_app_runs_as_the_kiosk_user(chroot: Chroot) -> None:
    output = chroot.succeeded("frontdesk-help")
    assert "provision" in output and "kiosk" in output
    assert "provision" in chroot.succeeded("frontdesk-provision-help")  # /usr/local/bin/frontdesk


def test_the_doctor_runs_before_enrolment_and_says_so(chroot: Chroot) -> None:
    output = chroot.log("doctor-unenrolled")
    assert chroot.step("doctor-unenrolled")["rc"] != 0
    assert "configuration" in output and "Traceback" not in output


# --- units ---------------------------------------------------------------------------------


def test_installed_units_pass_verify_with_the_real_programs(chroot: Chroot) -> None:
    """Here cage and /opt/frontdesk/venv/bin/frontdesk are the installed ones, not stubs."""
    units = ("frontdesk-kiosk.service", "apt-daily-upgrade.timer", "seatd.service")
    assert analyze_verify(chroot.root, *units) == []


@pytest.mark.parametrize(
    ("unit", "state"),
    [
        ("frontdesk-kiosk.service", "enabled"),
        ("seatd.service", "enabled"),
        ("ssh.service", "enabled"),
        ("unattended-upgrades.service", "enabled"),
        ("getty@tty1.service", "masked"),
        ("autovt@tty1.service", "masked"),
        ("ctrl-alt-del.target", "masked"),
        ("udisks2.service", "masked"),
    ],
)
def test_units_are_enabled_or_masked(chroot: Chroot, unit: str, state: str) -> None:
    shown = subprocess.run(
        ["systemctl", f"--root={chroot.root}", "is-enabled", unit], capture_output=True, text=True
    )
    assert shown.stdout.strip() == state


def test_kiosk_unit_starts_at_boot_once_enrolled(chroot: Chroot) -> None:
    link = chroot.path("/etc/systemd/system/multi-user.target.wants/frontdesk-kiosk.service")
    assert os.readlink(link) == "/etc/systemd/system/frontdesk-kiosk.service"
    unit = chroot.path("/etc/systemd/system/frontdesk-kiosk.service").read_text()
    assert "ConditionPathExists=/etc/frontdesk/kiosk.toml" in unit
    assert not chroot.path("/etc/frontdesk/kiosk.toml").exists()  # enrolment writes it


# --- files ---------------------------------------------------------------------------------

INSTALLED = {
    "systemd/frontdesk-kiosk.service": "/etc/systemd/system/frontdesk-kiosk.service",
    "systemd/apt-daily-upgrade.timer.d/50-frontdesk-night.conf": (
        "/etc/systemd/system/apt-daily-upgrade.timer.d/50-frontdesk-night.conf"
    ),
    "systemd/logind.conf.d/50-frontdesk.conf": "/etc/systemd/logind.conf.d/50-frontdesk.conf",
    "systemd/system.conf.d/50-frontdesk.conf": "/etc/systemd/system.conf.d/50-frontdesk.conf",
    "udev/99-frontdesk.rules": "/etc/udev/rules.d/99-frontdesk.rules",
    "config/apt/20auto-upgrades": "/etc/apt/apt.conf.d/20auto-upgrades",
    "config/apt/52frontdesk-unattended-upgrades": (
        "/etc/apt/apt.conf.d/52frontdesk-unattended-upgrades"
    ),
    "config/modprobe/frontdesk-no-usb-storage.conf": (
        "/etc/modprobe.d/frontdesk-no-usb-storage.conf"
    ),
    "config/sysctl/90-frontdesk.conf": "/etc/sysctl.d/90-frontdesk.conf",
    "config/ssh/10-frontdesk.conf": "/etc/ssh/sshd_config.d/10-frontdesk.conf",
}


@pytest.mark.parametrize(("source", "target"), INSTALLED.items(), ids=list(INSTALLED))
def test_files_are_installed_as_shipped(chroot: Chroot, source: str, target: str) -> None:
    installed = chroot.path(target)
    assert installed.read_bytes() == (PROVISIONING / source).read_bytes()
    assert stat.S_IMODE(installed.stat().st_mode) == 0o644
    assert installed.stat().st_uid == 0


def test_usb_storage_cannot_load(chroot: Chroot) -> None:
    config = chroot.succeeded("modprobe-config")
    for module in ("usb_storage", "uas"):
        assert f"blacklist {module}" in config
        assert re.search(rf"^install {module} /bin/false$", config, re.M), module


def test_unattended_upgrades_take_security_updates_and_reboot_at_night(chroot: Chroot) -> None:
    config = chroot.succeeded("apt-config")
    patterns = re.findall(r'^Unattended-Upgrade::Origins-Pattern:: "(.*)";$', config, re.M)
    assert patterns and all("label=Debian-Security" in p for p in patterns)
    for setting in (
        'Unattended-Upgrade::Automatic-Reboot "true";',
        'Unattended-Upgrade::Automatic-Reboot-Time "03:30";',
        'APT::Periodic::Unattended-Upgrade "1";',
        'APT::Periodic::Update-Package-Lists "1";',
    ):
        assert setting in config.splitlines(), setting


def test_ssh_takes_keys_only(chroot: Chroot) -> None:
    effective = dict(
        line.split(" ", 1)
        for line in chroot.succeeded("sshd-effective").splitlines()
        if " " in line
    )
    assert effective["passwordauthentication"] == "no"
    assert effective["kbdinteractiveauthentication"] == "no"
    assert effective["authenticationmethods"] == "publickey"
    assert effective["permitrootlogin"] == "without-password"
    assert effective["denyusers"] == "kiosk"


def test_pi_boot_files_are_quiet_and_keep_the_root(chroot: Chroot) -> None:
    cmdline = chroot.path("/boot/firmware/cmdline.txt").read_text()
    words = cmdline.split()
    assert len(cmdline.splitlines()) == 1
    assert "root=PARTUUID=6c586e13-02" in words and "rootwait" in words
    assert "console=tty3" in words and "console=tty1" not in words
    assert not [w for w in words if w.startswith("console=serial0")]
    for word in ("quiet", "loglevel=3", "logo.nologo", "vt.global_cursor_default=0"):
        assert words.count(word) == 1, word  # once, after three runs
    config = chroot.path("/boot/firmware/config.txt").read_text()
    assert config.splitlines().count("disable_splash=1") == 1
    assert "dtoverlay=vc4-kms-v3d" in config  # the rest is left alone
