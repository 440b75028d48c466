"""Kiosk settings: environment (`FRONTDESK_KIOSK_…`) over defaults. The kiosk keeps only its
back-office address and device token; never a payment key, never a patient list."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class KioskSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FRONTDESK_KIOSK_", extra="ignore")

    server: str = Field(default="http://127.0.0.1:8000", description="The back office's address")
    token: SecretStr | None = Field(default=None, description="From `frontdesk devices add-kiosk`")
    var_dir: Path = Field(default=Path("var/kiosk"), description="Outbox, its key, form cache")
    timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    printer_port: str | None = Field(default=None, description="The receipt printer, /dev/tty…")
    scanner_port: str | None = Field(default=None, description="The barcode scanner, /dev/tty…")
    camera: str = Field(default="0", description="Card camera: a V4L2 index, device or folder")
    staff_pin_hash: str | None = Field(
        default=None, description="From `frontdesk kiosk staff-pin`; unset: no maintenance"
    )
    clinic_name: str = Field(default="Frontdesk", description="Shown on the welcome screen")
    display_dpi: float = Field(default=149.0, gt=50, le=600, description="For touch targets")

    @property
    def outbox_path(self) -> Path:
        return self.var_dir / "outbox.db"

    @property
    def key_path(self) -> Path:
        return self.var_dir / "outbox.key"

    @property
    def consent_cache_path(self) -> Path:
        return self.var_dir / "consent-documents.json"


@lru_cache
def get_kiosk_settings() -> KioskSettings:
    return KioskSettings()
