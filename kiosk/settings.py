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
