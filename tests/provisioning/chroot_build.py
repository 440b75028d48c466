"""A Debian 12 chroot with the Raspberry Pi set-up run in it, for test_pi_chroot.py.

    python -m tests.provisioning.chroot_build DIR [--force]

builds DIR/root from Debian's mirror with mmdebstrap (a base like Raspberry Pi OS Lite's, plus
a Pi's /boot/firmware files), then runs provisioning/pi/setup.sh in it three times: by hand with
a wheel built from this checkout, again (which must change nothing), and through the cloud-init
user-data's first-boot script (which takes setup.sh out of the wheel). It runs a few probes
inside and writes DIR/result.json last; the test asserts on that and on DIR/root.

It is mostly network and disk, so scripts/test starts it niced in the background before pytest
and the test waits for it (the test builds it itself when nobody did). A result for the same
sources less than a day old is reused. Downloads are kept in DIR/cache, layered (overlayfs) over
the host's own apt and pip caches, which are only read.

All mounting happens in a mount and PID namespace of its own (unshare): when the build ends,
however it ends, the kernel drops its mounts and its processes. It also unmounts what it mounted
itself, lazily only as the last resort.
"""

from __future__ import annotations

import argparse
import ctypes
import fcntl
import hashlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
DEFAULT_DIR = REPO / "var" / "pi-chroot"
SUITE = "bookworm"
MIRRORS = (
    "deb http://deb.debian.org/debian bookworm main",
    "deb http://deb.debian.org/debian bookworm-updates main",
    "deb http://deb.debian.org/debian-security bookworm-security main",
)
# What Raspberry Pi OS Lite has before the set-up (the rest is setup.sh's to install).
BASE_PACKAGES = ("systemd-sysv", "udev", "kmod", "openssh-server", "sudo", "python3")
HOST_APT_CACHE = Path("/var/cache/apt/archives")
HOST_PIP_CACHE = Path("/root/.cache/pip")
LOCAL_CAS = Path("/usr/local/share/ca-certificates")
MAX_AGE_SECONDS = 24 * 3600
BUILD_TIMEOUT = 15 * 60  # seconds; a cold build takes 1.5-2.5 min here, more under load
PR_SET_PDEATHSIG = 1
CHROOT_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/root",
    "LANG": "C.UTF-8",
    "TERM": "dumb",
}
# Inside the chroot: where the technician's copy of the repository's files goes.
KIT = "/root/frontdesk"
PI_FIRMWARE = Path(__file__).with_name("pi_firmware")


class BuildError(Exception):
    """The chroot could not be made (network, mirror, tools): not a finding about setup.sh."""


# --- What the result depends on ------------------------------------------------------------------


def source_files(repo: Path = REPO) -> list[str]:
    """The checkout's files, tracked or new, without the ignored ones (.venv, var/, …)."""
    out = subprocess.run(
        ["git", "-C", str(repo), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        check=True,
        capture_output=True,
    ).stdout
    return sorted({name for name in out.decode().split("\0") if name and (repo / name).is_file()})


# What cannot change the chroot: the other tests (and these assertions), docs, benchmarks.
NOT_BUILT = ("tests/", "docs/", "benchmarks/", "scripts/")
BUILDER = ("tests/provisioning/chroot_build.py", "tests/provisioning/pi_firmware/")


def source_fingerprint(repo: Path = REPO) -> str:
    """Changes when any file that goes into the wheel or the set-up changes."""
    digest = hashlib.sha256()
    for name in source_files(repo):
        if name.startswith(NOT_BUILT) and not name.startswith(BUILDER):
            continue
        digest.update(name.encode() + b"\0" + (repo / name).read_bytes() + b"\0")
    return digest.hexdigest()


def read_result(directory: Path) -> dict[str, Any] | None:
    try:
        return json.loads((directory / "result.json").read_text())
    except (OSError, ValueError):
        return None


def is_fresh(result: dict[str, Any] | None, fingerprint: str) -> bool:
    return (
        result is not None
        and result.get("fingerprint") == fingerprint
        and time.time() - float(result.get("finished", 0)) < MAX_AGE_SECONDS
    )


# --- The build, as the test and scripts/test ask for it ----------------------------------------


@contextmanager
def build_lock(directory: Path, *, timeout: float) -> Iterator[None]:
    """One build at a time per DIR; a second caller waits for the first (and its result)."""
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / "lock").open("w") as lock:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    message = f"another build in {directory} took over {timeout:.0f} s"
                    raise BuildError(message) from None
                time.sleep(1)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def ensure_built(
    directory: Path = DEFAULT_DIR, *, force: bool = False, timeout: float = BUILD_TIMEOUT + 300
) -> dict[str, Any]:
    """The result for the current sources: waits for a build in progress, reuses a fresh one,
    builds otherwise."""
    fingerprint = source_fingerprint()
    with build_lock(directory, timeout=timeout):
        result = read_result(directory)
        if not force and is_fresh(result, fingerprint):
            assert result is not None
            return result
        return build(directory, fingerprint)


def build(directory: Path, fingerprint: str) -> dict[str, Any]:
    """Builds DIR/root and writes DIR/result.json (the caller holds the lock)."""
    (directory / "result.json").unlink(missing_ok=True)
    shutil.rmtree(directory / "logs", ignore_errors=True)
    log_path = directory / "build.log"
    started = time.time()
    result: dict[str, Any] = {"fingerprint": fingerprint, "started": started, "timings": {}}
    with log_path.open("w") as log:

        def on_term(signum: int, frame: object) -> None:
            raise BuildError(f"stopped by signal {signum}")

        previous = signal.signal(signal.SIGTERM, on_term)
        try:
            drop_leftover_mounts(directory, log)
            with timed(result, "wheel"):
                wheel = build_wheel(directory, log)
            result["wheel"] = wheel.name
            with timed(result, "pi-wheels"):
                pi_wheels = resolve_for_the_pi(directory, wheel)
            with timed(result, "chroot"):
                inner = run_inside_namespace(directory, log)
            result["steps"] = {"pi-wheels": pi_wheels, **inner["steps"]}
            result["timings"].update(inner["timings"])
            result["mounts_left"] = mounts_under(directory)
            result["status"] = "complete"
        except (BuildError, subprocess.CalledProcessError, OSError) as exc:
            result["status"] = "error"
            result["reason"] = f"{type(exc).__name__}: {exc}"
            log.write(f"\nchroot build: {result['reason']}\n")
        finally:
            signal.signal(signal.SIGTERM, previous)
    result["finished"] = time.time()
    result["timings"]["total"] = round(result["finished"] - started, 1)
    (directory / "result.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


@contextmanager
def timed(result: dict[str, Any], name: str) -> Iterator[None]:
    start = time.monotonic()
    try:
        yield
    finally:
        result["timings"][name] = round(time.monotonic() - start, 1)


def build_wheel(directory: Path, log: Any) -> Path:
    """The wheel, built from a copy of the checkout: building in place would rewrite build/ and
    frontdesk.egg-info/ under the running test suite's feet."""
    src, out = directory / "src", directory / "wheel"
    for path in (src, out):
        shutil.rmtree(path, ignore_errors=True)
    for name in source_files():
        target = src / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target)
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--disable-pip-version-check",
            "-w",
            str(out),
            str(src),
        ],
        log,
    )
    wheels = sorted(out.glob("frontdesk-*.whl"))
    if len(wheels) != 1:
        raise BuildError(f"expected one frontdesk wheel in {out}, found {wheels}")
    return wheels[0]


def resolve_for_the_pi(directory: Path, wheel: Path) -> dict[str, Any]:
    """The chroot is x86-64; this asks PyPI whether every dependency, at the constraints'
    versions, also has a wheel for a 64-bit Pi (aarch64, Raspberry Pi OS bookworm's glibc 2.36,
    CPython 3.11), as setup.sh's --only-binary install needs. Metadata only: nothing installs."""
    platforms = [f"manylinux{v}_aarch64" for v in ("2014", *(f"_2_{n}" for n in range(17, 37)))]
    command = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed"]
    command += ["--target", str(directory / "pi-wheels"), "--only-binary=:all:"]
    command += [f"--platform={p}" for p in platforms]
    command += ["--python-version=3.11", "--implementation=cp", "--abi=cp311", "--abi=abi3"]
    command += ["--abi=none", "--constraint", str(directory / "src" / "constraints.txt")]
    command += ["--report", str(directory / "logs" / "pi-wheels.json")]
    command += [f"{wheel}[kiosk,hardware,provisioning]"]
    (directory / "logs").mkdir(exist_ok=True)
    env = {**os.environ, "PIP_CONFIG_FILE": os.devnull, "PIP_FIND_LINKS": ""}
    start = time.monotonic()
    with (directory / "logs" / "pi-wheels.log").open("w") as out:
        rc = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, env=env).returncode
    seconds = round(time.monotonic() - start, 1)
    return {"rc": rc, "seconds": seconds, "log": "logs/pi-wheels.log"}


def run_inside_namespace(directory: Path, log: Any) -> dict[str, Any]:
    """Runs `--inside` as PID 1 of new mount and PID namespaces; unshare's --kill-child ends it
    (and so everything in it) if this process dies."""
    for tool in ("unshare", "mmdebstrap", "mount", "chroot"):
        if shutil.which(tool) is None:
            raise BuildError(f"{tool} is not installed (scripts/bootstrap installs mmdebstrap)")
    if os.geteuid() != 0:
        raise BuildError("building a chroot needs root")
    (directory / "inner.json").unlink(missing_ok=True)
    log.flush()
    command = ["unshare", "--mount", "--propagation", "private", "--pid", "--fork"]
    command += ["--kill-child", sys.executable, "-m", "tests.provisioning.chroot_build"]
    command += ["--inside", str(directory)]
    process = subprocess.Popen(
        command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent
    )
    try:
        process.wait(timeout=BUILD_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise BuildError(
            f"the chroot build took over {BUILD_TIMEOUT} s (a stalled download?)"
        ) from None
    finally:
        if process.poll() is None:
            # unshare ignores SIGTERM while it waits; SIGKILL makes it kill the namespace's
            # first process, and with it every process and mount in there.
            process.kill()
            process.wait()
    try:
        inner = json.loads((directory / "inner.json").read_text())
    except (OSError, ValueError):
        raise BuildError(f"the chroot build stopped (exit {process.returncode})") from None
    if inner.get("error"):
        raise BuildError(inner["error"])
    return inner


def _die_with_parent() -> None:
    """In unshare, before it starts: SIGKILL it when this process dies, even by SIGKILL, so a
    killed build never leaves one running on (and a new build never meets an old one)."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


# --- Inside the namespaces ---------------------------------------------------------------------


class Inside:
    """The build proper, as PID 1 of its namespaces: every mount it makes is undone in reverse
    order when it ends."""

    def __init__(self, directory: Path, log: Any) -> None:
        self.directory = directory.resolve()
        self.root = self.directory / "root"
        self.cache = self.directory / "cache"
        self.log = log
        self.mounts: list[Path] = []
        self.steps: dict[str, dict[str, Any]] = {}
        self.timings: dict[str, float] = {}

    # mounts
    def mount(self, target: Path, *args: str) -> None:
        target.mkdir(parents=True, exist_ok=True)
        run(["mount", *args, str(target)], self.log)
        self.mounts.append(target)

    def cache_mount(self, name: str, lower: Path, target: Path) -> None:
        """DIR/cache/NAME over the host's LOWER (read only), at TARGET."""
        upper, work = self.cache / f"{name}-upper", self.cache / f"{name}-work"
        upper.mkdir(parents=True, exist_ok=True)
        work.mkdir(parents=True, exist_ok=True)
        if lower.is_dir():
            options = f"lowerdir={lower},upperdir={upper},workdir={work}"
            try:
                self.mount(target, "-t", "overlay", "overlay", "-o", options)
                return
            except subprocess.CalledProcessError:
                self.log.write("chroot build: no overlayfs here; the host's cache goes unused\n")
        self.mount(target, "--bind", str(upper))

    def unmount_all(self) -> None:
        for target in reversed(self.mounts):
            if subprocess.run(["umount", str(target)], stdout=self.log, stderr=self.log).returncode:
                subprocess.run(["umount", "-l", str(target)], stdout=self.log, stderr=self.log)
        self.mounts.clear()

    # steps
    def chroot(
        self, name: str, command: Sequence[str], *, env: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """Runs COMMAND in the chroot; its output goes to DIR/logs/NAME.log."""
        logs = self.directory / "logs"
        logs.mkdir(exist_ok=True)
        start = time.monotonic()
        with (logs / f"{name}.log").open("w") as out:
            rc = subprocess.run(
                ["chroot", str(self.root), "env", "-i"]
                + [f"{k}={v}" for k, v in {**CHROOT_ENV, **(env or {})}.items()]
                + list(command),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            ).returncode
        seconds = round(time.monotonic() - start, 1)
        self.steps[name] = {"rc": rc, "seconds": seconds, "log": f"logs/{name}.log"}
        self.timings[name] = seconds
        self.log.write(f"chroot build: {name}: exit {rc} in {seconds} s\n")
        self.log.flush()
        return self.steps[name]

    def make_base(self) -> None:
        """A Debian 12 like a fresh Raspberry Pi OS Lite: mmdebstrap's minbase plus the few
        packages Pi OS has, with its downloads going to DIR/cache."""
        shutil.rmtree(self.root, ignore_errors=True)
        upper, work = self.cache / "apt-upper", self.cache / "apt-work"
        upper.mkdir(parents=True, exist_ok=True)
        work.mkdir(parents=True, exist_ok=True)
        archives = '"$1/var/cache/apt/archives"'
        lower = HOST_APT_CACHE if HOST_APT_CACHE.is_dir() else upper.parent / "apt-empty"
        lower.mkdir(parents=True, exist_ok=True)
        options = f"lowerdir={lower},upperdir={upper},workdir={work}"
        overlay = f"mount -t overlay overlay -o {options} {archives}"
        overlay = f"{{ {overlay} || mount --bind {upper} {archives}; }}"
        start = time.monotonic()
        command = ["mmdebstrap", "--mode=root", "--variant=minbase", "--format=directory"]
        command += ["--include=" + ",".join(BASE_PACKAGES)]
        command += ["--skip=essential/unlink", "--skip=cleanup/apt/cache"]
        command += ["--skip=cleanup/apt/lists"]
        command += [f"--setup-hook=mkdir -p {archives} && {overlay}"]
        command += [f"--customize-hook=umount {archives}"]
        run([*command, SUITE, str(self.root), *MIRRORS], self.log)
        self.timings["mmdebstrap"] = round(time.monotonic() - start, 1)
        # This machine reaches PyPI through a TLS-inspecting proxy whose CA it trusts locally;
        # the chroot trusts the same (ca-certificates, which setup.sh installs, reads them), as
        # a clinic behind such a proxy would put its CA on its Pis.
        if LOCAL_CAS.is_dir():
            target = self.root / LOCAL_CAS.relative_to("/")
            shutil.copytree(LOCAL_CAS, target, dirs_exist_ok=True)
        firmware = self.root / "boot" / "firmware"
        firmware.mkdir(parents=True, exist_ok=True)
        for name in ("cmdline.txt", "config.txt"):
            shutil.copy(PI_FIRMWARE / name, firmware / name)

    def bring_kit(self, wheel: Path) -> None:
        """What a technician copies onto the Pi: provisioning/, the wheel, constraints.txt."""
        kit = self.root / KIT.lstrip("/")
        shutil.rmtree(kit, ignore_errors=True)
        shutil.copytree(self.directory / "src" / "provisioning", kit / "provisioning")
        shutil.copy(wheel, kit / wheel.name)
        shutil.copy(self.directory / "src" / "constraints.txt", kit / "constraints.txt")

    def mount_for_setup(self) -> None:
        self.mount(self.root / "proc", "-t", "proc", "proc")
        self.mount(
            self.root / "dev" / "pts", "-t", "devpts", "-o", "newinstance,ptmxmode=0666", "devpts"
        )
        self.cache_mount("apt", HOST_APT_CACHE, self.root / "var" / "cache" / "apt" / "archives")
        self.cache_mount("pip", HOST_PIP_CACHE, self.root / "root" / ".cache" / "pip")

    def run_setup(self, wheel: Path) -> None:
        setup = f"{KIT}/provisioning/pi/setup.sh"
        args = ["--wheel", f"{KIT}/{wheel.name}", "--constraints", f"{KIT}/constraints.txt"]
        self.chroot("setup-1", ["bash", setup, *args])
        self.chroot("setup-2", ["bash", setup, *args])

    def run_first_boot(self, wheel: Path) -> None:
        """The user-data's own files, as cloud-init would write them; only the wheel's address
        is this test's (the technician's CHANGE-ME)."""
        user_data = yaml.safe_load((REPO / "provisioning/pi/user-data.yaml").read_text())
        for entry in user_data["write_files"]:
            path = self.root / entry["path"].lstrip("/")
            path.parent.mkdir(parents=True, exist_ok=True)
            content = entry["content"]
            if entry["path"].endswith("source.env"):
                content = f"FRONTDESK_WHEEL_URL=file://{KIT}/{wheel.name}\nFRONTDESK_INDEX_URL=\n"
            path.write_text(content)
            path.chmod(int(entry.get("permissions", "0644"), 8))
        command = user_data["runcmd"][0]
        self.chroot("first-boot", command if isinstance(command, list) else ["sh", "-c", command])

    def probe(self) -> None:
        """What the test reads back: commands as the kiosk would run them, effective configs."""
        as_kiosk = ["setpriv", "--reuid=kiosk", "--regid=kiosk", "--init-groups"]
        kiosk_env = {"HOME": "/var/lib/frontdesk"}
        frontdesk = "/opt/frontdesk/venv/bin/frontdesk"
        self.chroot("frontdesk-help", [*as_kiosk, frontdesk, "--help"], env=kiosk_env)
        self.chroot("frontdesk-provision-help", ["frontdesk", "provision", "--help"])
        # Before enrolment the doctor must run, and say the configuration is missing.
        self.chroot(
            "doctor-unenrolled", [*as_kiosk, frontdesk, "provision", "doctor"], env=kiosk_env
        )
        (self.root / "run" / "sshd").mkdir(parents=True, exist_ok=True)
        self.chroot(
            "sshd-effective", ["/usr/sbin/sshd", "-T", "-C", "user=tech,host=lobby,addr=192.0.2.10"]
        )
        self.chroot("apt-config", ["apt-config", "dump"])
        self.chroot("modprobe-config", ["modprobe", "--showconfig"])
        self.chroot("passwd-status", ["passwd", "--status", "kiosk"])

    def check_user_data_schema(self) -> None:
        """cloud-init's own schema check of the user-data (cloud-init installed for this only,
        last, with daemons kept from starting)."""
        policy = self.root / "usr" / "sbin" / "policy-rc.d"
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
        try:
            install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "cloud-init"]
            env = {"DEBIAN_FRONTEND": "noninteractive"}
            if self.chroot("cloud-init-install", install, env=env)["rc"] == 0:
                shutil.copy(
                    REPO / "provisioning/pi/user-data.yaml", self.root / "root/user-data.yaml"
                )
                self.chroot(
                    "cloud-init-schema",
                    ["cloud-init", "schema", "--config-file", "/root/user-data.yaml"],
                )
        finally:
            policy.unlink(missing_ok=True)


def inside(directory: Path) -> int:
    """The `--inside` entry point (PID 1 of the namespaces)."""
    directory = directory.resolve()
    report: dict[str, Any] = {}
    with (directory / "build.log").open("a") as log:
        builder = Inside(directory, log)
        try:
            wheel = next((directory / "wheel").glob("frontdesk-*.whl"))
            builder.make_base()
            builder.bring_kit(wheel)
            builder.mount_for_setup()
            builder.run_setup(wheel)
            builder.run_first_boot(wheel)
            builder.probe()
            builder.check_user_data_schema()
        except (subprocess.CalledProcessError, OSError, StopIteration, KeyError) as exc:
            report["error"] = f"{type(exc).__name__}: {exc}"
        finally:
            builder.unmount_all()
        report["steps"], report["timings"] = builder.steps, builder.timings
        report["mounts_left_inside"] = mounts_under(directory)
    (directory / "inner.json").write_text(json.dumps(report, indent=2) + "\n")
    return 0


# --- Small parts ---------------------------------------------------------------------------------


def run(command: Sequence[str], log: Any) -> None:
    log.write("$ " + shlex.join(command) + "\n")
    log.flush()
    subprocess.run(
        command, check=True, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
    )


def mounts_under(directory: Path) -> list[str]:
    """Mount points at or below DIRECTORY, as this process's mount namespace sees them."""
    prefix = str(directory.resolve())
    found = []
    with suppress(OSError), open("/proc/self/mountinfo") as info:
        for line in info:
            point = line.split()[4].replace("\\040", " ")
            if point == prefix or point.startswith(prefix + "/"):
                found.append(point)
    return found


def drop_leftover_mounts(directory: Path, log: Any) -> None:
    """Mounts an older, killed build of another kind might have left (never ours: they live in
    a namespace); lazily, deepest first, so the old root can go."""
    for point in sorted(mounts_under(directory), key=len, reverse=True):
        log.write(f"chroot build: unmounting a leftover {point}\n")
        subprocess.run(["umount", "-l", point], stdout=log, stderr=log)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path, nargs="?", default=DEFAULT_DIR)
    parser.add_argument("--force", action="store_true", help="build even if a fresh result exists")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.inside:
        return inside(args.directory)
    try:
        result = ensure_built(args.directory.resolve(), force=args.force)
    except BuildError as exc:
        print(f"chroot build: {exc}", file=sys.stderr)
        return 1
    timings = ", ".join(f"{k} {v} s" for k, v in result.get("timings", {}).items())
    print(f"chroot build: {result.get('status')} ({timings})")
    return 0 if result.get("status") == "complete" else 1


if __name__ == "__main__":
    sys.exit(main())
