"""`frontdesk provision doctor`: the technician's health check of one kiosk.

Probes (`provisioning.probes`) look, checks (`provisioning.checks`) judge, and this module
runs them in order and prints one line per check (or one JSON object), each failure with its
fix. Nothing fails the run but a failed check; a check that cannot run is skipped, saying why.
The back office is given a short timeout, so the whole run takes seconds even when it is
down."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import textwrap
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from provisioning import probes
from provisioning.checks import (
    DEFAULT_VAR_DIR,
    Account,
    Check,
    CredentialFacts,
    Reply,
    SerialRole,
    Status,
    check_back_office,
    check_camera,
    check_card_reader,
    check_clock,
    check_configuration,
    check_credential,
    check_credential_files,
    check_disk,
    check_ocr,
    check_serial,
    check_zbar,
    check_zxing,
    clock_reading,
    server_problem,
    skipped,
)
from shared.contracts.kiosk import KIOSK_API
from shared.contracts.provisioning import CONFIG_API, KioskConfigFile

__all__ = ["Report", "diagnose", "render_json", "render_table", "run_doctor"]

DEFAULT_TIMEOUT = 3.0  # seconds, for each call to the back office
TIMEOUT_ENV = "FRONTDESK_DOCTOR_TIMEOUT"
NEEDS_CONFIG = "needs the configuration (see configuration)"
UNANSWERED = "the back office did not answer (see back-office)"

_LABELS = {Status.OK: "ok", Status.WARN: "WARN", Status.FAIL: "FAIL", Status.SKIP: "skip"}


def run_doctor(config: Path, *, as_json: bool, timeout: float | None = None) -> int:
    """Check this kiosk, print the report, and return the exit code: 1 if a check failed."""
    report = diagnose(config, timeout=timeout or _timeout_from_env())
    if as_json:
        sys.stdout.write(render_json(report.checks) + "\n")
    else:
        sys.stdout.write(render_table(report, config_path=config))
    return 0 if report.ok else 1


def _timeout_from_env() -> float:
    try:
        value = float(os.environ.get(TIMEOUT_ENV, DEFAULT_TIMEOUT))
    except ValueError:
        return DEFAULT_TIMEOUT
    return value if value > 0 else DEFAULT_TIMEOUT


def _guarded(name: str, judge: Callable[[], Check]) -> Check:
    """A probe that breaks in a way nobody foresaw fails its own check, not the report."""
    try:
        return judge()
    except Exception as exc:
        return Check(
            name,
            Status.FAIL,
            f"the check itself broke: {type(exc).__name__}: {exc}",
            "Run the doctor again; if this stays, report it with the doctor's output.",
        )


@dataclass(frozen=True)
class Report:
    checks: list[Check]
    account: Account  # whose access the checks judged

    @property
    def ok(self) -> bool:
        return not any(c.status is Status.FAIL for c in self.checks)


def diagnose(config_path: Path, *, timeout: float = DEFAULT_TIMEOUT) -> Report:
    """Every check, in the order a technician works through them."""
    config_facts = probes.probe_config(config_path)
    config = config_facts.config
    account = probes.kiosk_account(config.credential_dir if config else None)
    checks = [check_configuration(config_facts, account)]
    credential: CredentialFacts | None = None
    if config is None:
        checks += [skipped("credential-files", NEEDS_CONFIG), skipped("camera", NEEDS_CONFIG)]
    else:
        credential = probes.probe_credential(config.credential_dir)
        checks.append(
            check_credential_files(credential, account, config_device_id=config.device_id)
        )
        checks.append(
            _guarded(
                "camera",
                lambda: check_camera(
                    probes.probe_camera(config.camera), account, config_path=config_path
                ),
            )
        )
    checks.append(_guarded("ocr-engine", lambda: check_ocr(probes.probe_tesseract())))
    prefix = sys.prefix
    checks.append(_guarded("barcode-zbar", lambda: check_zbar(probes.probe_zbar(), prefix=prefix)))
    checks.append(
        _guarded("barcode-zxing", lambda: check_zxing(probes.probe_zxing(), prefix=prefix))
    )
    serial: dict[SerialRole, str | None] = {
        "printer": config.printer_port if config else None,
        "scanner": config.scanner_port if config else None,
    }
    for role, port in serial.items():
        if config is None:
            checks.append(skipped(f"{role}-port", NEEDS_CONFIG))
            continue
        judge = partial(_judge_serial, role, port, account, config_path)
        checks.append(_guarded(f"{role}-port", judge))
    checks += _remote_checks(config, credential, config_path=config_path, timeout=timeout)
    var_dir = (config.var_dir if config else None) or DEFAULT_VAR_DIR
    checks.append(_guarded("disk", lambda: check_disk(probes.probe_disk(var_dir))))
    return Report(checks, account)


def _judge_serial(role: SerialRole, port: str | None, account: Account, config_path: Path) -> Check:
    return check_serial(probes.probe_serial(role, port), account, config_path=config_path)


def _remote_checks(
    config: KioskConfigFile | None,
    credential: CredentialFacts | None,
    *,
    config_path: Path,
    timeout: float,
) -> list[Check]:
    """back-office, credential, card-reader and clock: each later one asks the back office
    only when the earlier ones leave it something worth asking."""
    names = ("back-office", "credential", "card-reader", "clock")
    if config is None:
        return [skipped(name, NEEDS_CONFIG) for name in names]
    server = config.server.rstrip("/")
    problem = server_problem(server)
    if problem is not None:
        return [
            Check(
                "back-office",
                Status.FAIL,
                f"the back office's address is not usable: {problem}",
                f'Set server = "https://…" under [kiosk] in {config_path}, or enrol again.',
            ),
            *(skipped(name, "the back office's address is not usable") for name in names[1:]),
        ]
    token = credential.token if credential else None
    device_id = credential.device_id if credential else None
    me: Reply | None = None
    reader: Reply | None = None
    with probes.http_client(timeout) as client:
        health = probes.health_reply(client, server, timeout=timeout)
        back_office = check_back_office(server, health, config_path=config_path, timeout=timeout)
        reachable = back_office.status is not Status.FAIL
        if not reachable:
            reason = UNANSWERED
        elif token is None:
            reason = "this kiosk has no usable credential (see credential-files)"
        else:
            reason = ""
            me = probes.call(client, f"{server}{KIOSK_API}/me", token=token)
            if me.status is not None and me.status not in (401, 403):
                reader = probes.call(client, f"{server}{CONFIG_API}", token=token)
    credential_check = check_credential(me, skip_reason=reason, device_id=device_id)
    reader_reason = reason or (
        "the back office refused this kiosk's credential (see credential)"
        if me is not None and me.status in (401, 403)
        else "the back office did not answer /kiosk/me (see credential)"
    )
    answered = health if health.status is not None else None
    clock_reason = UNANSWERED if answered is None else "the back office did not say its time"
    return [
        back_office,
        credential_check,
        check_card_reader(reader, skip_reason=reader_reason),
        check_clock(clock_reading(me, answered), skip_reason=clock_reason),
    ]


# --- the report -------------------------------------------------------------------------------

_COMMAND = re.compile(r"`[^`]*`")
_KEEP = "\x00"  # a space inside a `command`, which a line must not break at


def _wrap(text: str, **options: Any) -> str:
    """textwrap.fill that keeps each `command` on one line, so it can be copied whole."""
    kept = _COMMAND.sub(lambda m: m.group(0).replace(" ", _KEEP), text)
    filled = textwrap.fill(kept, break_long_words=False, break_on_hyphens=False, **options)
    return filled.replace(_KEEP, " ")


def render_json(checks: list[Check]) -> str:
    ok = not any(c.status is Status.FAIL for c in checks)
    return json.dumps({"ok": ok, "checks": [c.as_json() for c in checks]})


def summary(checks: list[Check]) -> str:
    counts = Counter(c.status for c in checks)
    return (
        f"{len(checks)} checks: {counts[Status.OK]} ok, {counts[Status.WARN]} warning(s), "
        f"{counts[Status.FAIL]} failed, {counts[Status.SKIP]} skipped"
    )


def render_table(report: Report, *, config_path: Path, width: int | None = None) -> str:
    """One line per check (status, name, what was found), the fix indented under each that is
    not ok, and a closing line with the counts."""
    checks, account = report.checks, report.account
    columns = width or max(60, shutil.get_terminal_size((100, 24)).columns)
    name_width = max(len(c.name) for c in checks)
    indent = " " * (4 + 2 + name_width + 2)
    judged = "" if account.is_process else f" (access judged for the kiosk user {account.name})"
    lines = [f"Checking this kiosk with {config_path}{judged}", ""]
    for check in checks:
        lines.append(f"{_LABELS[check.status]:<4}  {check.name:<{name_width}}  {check.detail}")
        if check.fix and check.status is not Status.OK:
            lines.append(
                _wrap(
                    f"fix: {check.fix}",
                    width=columns,
                    initial_indent=indent,
                    subsequent_indent=indent + "     ",
                )
            )
    lines += ["", summary(checks)]
    return "\n".join(lines) + "\n"
