"""The kiosk's configuration from the back office (`KioskConfig`: languages, consent forms,
idle timeout), set by an admin and applied without a visit, but never to a patient midway.

    start-up: the last configuration cached in var_dir (or the defaults) ──▶ the first flow
    delivery thread: GET /kiosk/config ──offer──▶ cached, and pending
    flow thread, after each event: at WELCOME ──apply_between_patients──▶ the next patient's
        CheckInFlow has the new ClinicRules; anywhere else the configuration waits

A configuration is told apart by (device, version): the back office gives it a new version
with every change, and a kiosk enrolled afresh is another device, whose versions may repeat.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
from collections.abc import Callable, Iterable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from kiosk.flow import CheckInFlow, Step
from kiosk.flow.rules import ClinicRules
from kiosk.i18n import LANGUAGE_NAMES
from shared.contracts.provisioning import (
    MAX_IDLE_TIMEOUT_SECONDS,
    MIN_IDLE_TIMEOUT_SECONDS,
    KioskConfig,
)

if TYPE_CHECKING:
    from kiosk.driver import FlowDriver

log = logging.getLogger("frontdesk.kiosk.config")


def usable_languages(languages: Iterable[str], *, fallback: str) -> tuple[str, ...]:
    """The languages the touchscreen has catalogues for, in the admin's order, at least one."""
    kept = tuple(dict.fromkeys(code for code in languages if code in LANGUAGE_NAMES))
    return kept or (fallback,)


def rules_from_config(config: KioskConfig, base: ClinicRules | None = None) -> ClinicRules:
    """The flow's rules under `config`; what it does not speak of stays as in `base`."""
    base = base or ClinicRules()
    languages = usable_languages(config.languages, fallback=base.languages[0])
    seconds = min(
        max(config.idle_timeout_seconds, MIN_IDLE_TIMEOUT_SECONDS), MAX_IDLE_TIMEOUT_SECONDS
    )
    return dataclasses.replace(
        base,
        languages=languages,
        ask_language=len(languages) > 1,
        collect_consent=bool(config.consent_documents),
        idle_timeout=timedelta(seconds=seconds),
    )


class ConfigCache:
    """The last configuration the back office gave, so a kiosk that starts while the back
    office is away runs as it was told. It holds no patient data and no secret."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> KioskConfig | None:
        try:
            return KioskConfig.model_validate_json(self.path.read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValidationError) as exc:
            log.warning(
                "the cached configuration in %s is ignored (%s)", self.path, type(exc).__name__
            )
            return None

    def save(self, config: KioskConfig) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.tmp")
        temporary.write_text(config.model_dump_json(indent=2))
        os.replace(temporary, self.path)


def _identity(config: KioskConfig | None) -> tuple[object, int] | None:
    return None if config is None else (config.device_id, config.version)


class RemoteConfig:
    """The configuration applied and the one waiting for the welcome screen. `offer` is
    called from the delivery thread, `apply_between_patients` from the flow's own thread."""

    def __init__(self, cache: ConfigCache, *, base: ClinicRules | None = None) -> None:
        self._cache = cache
        self._base = base or ClinicRules()
        self._lock = threading.Lock()
        self._applied: KioskConfig | None = None
        self._pending: KioskConfig | None = None
        self._listeners: list[Callable[[KioskConfig], None]] = []

    def start(self) -> ClinicRules:
        """The rules to start with: the cached configuration's, else the defaults."""
        cached = self._cache.load()
        with self._lock:
            self._applied = cached
        return self.rules_for(cached)

    def rules_for(self, config: KioskConfig | None) -> ClinicRules:
        return self._base if config is None else rules_from_config(config, self._base)

    @property
    def applied(self) -> KioskConfig | None:
        return self._applied

    @property
    def applied_version(self) -> int | None:
        applied = self._applied
        return None if applied is None else applied.version

    @property
    def pending(self) -> KioskConfig | None:
        return self._pending

    def is_known(self, version: int) -> bool:
        """Whether this version is the one applied or waiting: no need to pull it again."""
        with self._lock:
            return any(
                c is not None and c.version == version for c in (self._applied, self._pending)
            )

    def offer(self, config: KioskConfig) -> bool:
        """A configuration from the back office: cached at once, applied between patients.
        False when it is the one already applied (or already waiting)."""
        with self._lock:
            if _identity(config) in (_identity(self._applied), _identity(self._pending)):
                return False
            self._pending = config
        try:
            self._cache.save(config)
        except OSError as exc:
            log.warning("the configuration could not be cached (%s)", type(exc).__name__)
        log.info("configuration %s received; applied at the welcome screen", config.version)
        return True

    def on_applied(self, listener: Callable[[KioskConfig], None]) -> None:
        """Called (on the flow's thread) with each configuration once it is applied."""
        self._listeners.append(listener)

    def apply_between_patients(self, driver: FlowDriver) -> bool:
        """At the welcome screen, give the next patient a flow with the waiting configuration's
        rules; anywhere else leave it waiting. Call it only where events are handled."""
        flow = driver.flow
        if self._pending is None or flow.step is not Step.WELCOME or flow.waiting:
            return False
        with self._lock:
            config, self._pending = self._pending, None
            self._applied = config
        if config is None:
            return False
        # A flow at WELCOME holds nothing of anyone: a fresh one with new rules is the same
        # welcome screen, and the machine's rules stay fixed for the length of a check-in.
        driver.flow = CheckInFlow(self.rules_for(config))
        log.info("configuration %s applied", config.version)
        for listener in self._listeners:
            try:
                listener(config)
            except Exception:
                log.exception("a listener failed on configuration %s", config.version)
        return True
