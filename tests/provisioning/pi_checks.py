"""Checks on the Raspberry Pi set-up files with the system's own tools, for test_pi_*.py:
systemd-analyze verify on units, and udev's own rule parser and rule engine on our rules (this
host's udevadm, systemd 252, has no `udevadm verify`: that came with 254).

The udev checks run `udevadm test` under umockdev, which shows udevadm a made-up sysfs with
just the device in question (a USB webcam, a USB-serial cable, …). udevadm test applies what
the rules say (symlinks, owners, its database), so it runs in a mount namespace of its own with
a fresh /dev and /run: nothing it does reaches the host's.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PROVISIONING = REPO / "provisioning"
UNIT = PROVISIONING / "systemd" / "frontdesk-kiosk.service"
RULES = PROVISIONING / "udev" / "99-frontdesk.rules"
SETUP = PROVISIONING / "pi" / "setup.sh"
USER_DATA = PROVISIONING / "pi" / "user-data.yaml"


# --- systemd-analyze verify ------------------------------------------------------------------


def analyze_verify(root: Path, *units: str) -> list[str]:
    """What `systemd-analyze verify --root=ROOT UNITS` has to say: every line is a problem.

    verify exits 0 on unknown keys and unparsable values (it only logs them), so silence, not
    the exit code, is the pass mark. --man=no: it would look the Documentation= man pages up
    in this host's man database, not in ROOT's."""
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", f"--root={root}", *units],
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = (done.stdout + done.stderr).splitlines()
    if done.returncode and not lines:
        lines = [f"systemd-analyze verify exited {done.returncode}"]
    return lines


def unit_root(tmp_path: Path, *, stub: tuple[str, ...]) -> Path:
    """A root for verify: this host's own unit files (for sysinit.target, seatd's absence and
    the like) with ours installed on top the way setup.sh installs them, and empty executables
    at the STUB paths. verify only checks that ExecStart's program exists and is executable;
    cage and frontdesk are not on this machine, so they are stubbed here, and checked for real
    in the chroot test, where setup.sh installed them."""
    root = tmp_path / "root"
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    etc = root / "etc/systemd/system"
    etc.mkdir(parents=True)
    shutil.copy(UNIT, etc / UNIT.name)
    for dropin in (PROVISIONING / "systemd").glob("*.timer.d"):
        shutil.copytree(dropin, etc / dropin.name)
    for path in stub:
        program = root / path.lstrip("/")
        program.parent.mkdir(parents=True, exist_ok=True)
        program.write_text("#!/bin/sh\n")
        program.chmod(0o755)
    return root


# --- udev ------------------------------------------------------------------------------------

_NAMESPACE_SCRIPT = r"""
set -eu
rules="$1"; device="$2"; sysfs="$3"
mount -t tmpfs none /run
mkdir -p /run/udev
mount -t tmpfs none /dev
for node in "null 1 3" "zero 1 5" "full 1 7" "random 1 8" "urandom 1 9"; do
  set -- $node
  mknod "/dev/$1" c "$2" "$3"
  chmod 0666 "/dev/$1"
done
mkdir /dev/pts
mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts
ln -s pts/ptmx /dev/ptmx
mount --bind "$rules" /etc/udev/rules.d
exec umockdev-run --device "$device" -- udevadm test --action=add "$sysfs"
"""


@dataclass(frozen=True)
class UsbDevice:
    """A device on a Pi's USB port as sysfs shows it, enough for udev's rules to match on."""

    name: str  # video0, ttyUSB0, ttyACM0
    vendor: str
    product: str
    index: str = "0"  # video4linux only: 0 capture, 1 metadata

    @property
    def usb(self) -> str:
        return "/devices/platform/scb/fd500000.pcie/pci0000:00/0000:01:00.0/usb1/1-1/1-1.3"

    @property
    def sysfs(self) -> str:
        interface = f"{self.usb}/1-1.3:1.0"
        if self.name.startswith("video"):
            return f"{interface}/video4linux/{self.name}"
        if self.name.startswith("ttyUSB"):
            return f"{interface}/{self.name}/tty/{self.name}"
        return f"{interface}/tty/{self.name}"

    def umockdev(self) -> str:
        """The device and its parents in umockdev-record's format."""
        if self.name.startswith("video"):
            major, subsystem = 81, "video4linux"
            attrs = [f"A: index={self.index}", "A: name=USB camera"]
        else:
            major = 188 if self.name.startswith("ttyUSB") else 166
            subsystem, attrs = "tty", []
        minor = int(re.sub(r"\D", "", self.name) or 0)
        blocks = [
            [
                f"P: {self.sysfs}",
                f"N: {self.name}",
                f"E: DEVNAME=/dev/{self.name}",
                f"E: SUBSYSTEM={subsystem}",
                f"E: MAJOR={major}",
                f"E: MINOR={minor}",
                f"A: dev={major}:{minor}",
                *attrs,
            ]
        ]
        if self.name.startswith("ttyUSB"):
            port = self.sysfs.rsplit("/tty/", 1)[0]
            blocks.append([f"P: {port}", "E: SUBSYSTEM=usb-serial"])
        blocks.append(
            [
                f"P: {self.usb}/1-1.3:1.0",
                "E: DEVTYPE=usb_interface",
                "E: SUBSYSTEM=usb",
                "A: bInterfaceNumber=00",
            ]
        )
        blocks.append(
            [
                f"P: {self.usb}",
                "N: bus/usb/001/004",
                "E: DEVNAME=/dev/bus/usb/001/004",
                "E: DEVTYPE=usb_device",
                "E: SUBSYSTEM=usb",
                f"A: idVendor={self.vendor}",
                f"A: idProduct={self.product}",
                "A: busnum=1",
                "A: devnum=4",
                "A: dev=189:3",
            ]
        )
        return "\n\n".join("\n".join(block) for block in blocks) + "\n"


@dataclass(frozen=True)
class UdevRun:
    output: str
    rules_file: str  # as udevadm names it in its messages

    @property
    def diagnostics(self) -> list[str]:
        """udev's complaints about our file: each is "<file>:<line> <what is wrong>"."""
        return [line for line in self.output.splitlines() if line.startswith(self.rules_file + ":")]

    @property
    def parsed(self) -> bool:
        return f"Reading rules file: {self.rules_file}" in self.output

    @property
    def properties(self) -> dict[str, str]:
        """The device's properties after all rules ran (udevadm test's closing KEY=value list)."""
        tail = self.output.rsplit("simulation run.", 1)[-1]
        pairs = (line.split("=", 1) for line in tail.splitlines() if "=" in line)
        return {key: value for key, value in pairs}

    @property
    def links(self) -> set[str]:
        return set(self.properties.get("DEVLINKS", "").split())

    def assignments(self, key: str) -> list[str]:
        """What our file's rules set KEY (GROUP, MODE, LINK) to, in udev's own log."""
        pattern = re.compile(rf"{re.escape(self.rules_file)}:\d+ {key} (\S+)")
        return pattern.findall(self.output)


def udev_test(rules: Path, device: UsbDevice, tmp_path: Path) -> UdevRun:
    """Runs udev's rules, with RULES as the only file in /etc/udev/rules.d, on DEVICE."""
    for tool in ("unshare", "umockdev-run", "udevadm"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} is not installed (scripts/bootstrap installs umockdev)")
    rules_dir = tmp_path / "rules.d"
    rules_dir.mkdir(parents=True, exist_ok=True)
    for old in rules_dir.iterdir():
        old.unlink()
    shutil.copy(rules, rules_dir / rules.name)
    description = tmp_path / f"{device.name}.umockdev"
    description.write_text(device.umockdev())
    # umockdev's ioctl socket lives under TMPDIR, and a Unix socket's path must fit in 108
    # bytes: pytest's tmp_path under xdist is too deep for it.
    command = ["unshare", "--mount", "--propagation", "private", "sh", "-c", _NAMESPACE_SCRIPT]
    with tempfile.TemporaryDirectory(prefix="fd-umockdev-") as scratch:
        done = subprocess.run(
            [*command, "sh", str(rules_dir), str(description), "/sys" + device.sysfs],
            capture_output=True,
            text=True,
            timeout=60,
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "TMPDIR": scratch, "LANG": "C.UTF-8"},
        )
    output = done.stdout + done.stderr
    if done.returncode:
        raise RuntimeError(f"udevadm test failed ({done.returncode}):\n{output[-3000:]}")
    return UdevRun(output=output, rules_file=f"/etc/udev/rules.d/{rules.name}")
