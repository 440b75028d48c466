"""Back-office settings: environment (`FRONTDESK_…`) over an optional TOML file over defaults."""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


def _config_file() -> Path | None:
    explicit = os.environ.get("FRONTDESK_CONFIG")
    if explicit:
        return Path(explicit)
    default = Path("frontdesk.toml")
    return default if default.exists() else None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FRONTDESK_", extra="ignore")

    var_dir: Path = Path("var")
    database_url: str = ""
    secret_key: SecretStr | None = Field(
        default=None, description="Signs access tokens; generated into var/ when unset."
    )
    encryption_key_file: Path | None = Field(
        default=None, description="Keyring for field encryption; var/keys.json when unset."
    )
    clinic_timezone: str = "America/New_York"
    access_token_minutes: int = Field(default=15, ge=1, le=240)
    refresh_token_hours: int = Field(default=12, ge=1, le=24 * 14)
    login_max_failures: int = Field(default=5, ge=1)
    login_lockout_minutes: int = Field(default=15, ge=1)
    sql_echo: bool = False
    # The staff console signs out a browser left alone this long (HIPAA automatic log-off),
    # and after a shift's length whatever it does.
    console_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    console_session_hours: int = Field(default=12, ge=1, le=24 * 7)
    # Sign-in cookies go over HTTPS only; turn off for a plain-HTTP demo on another host
    # (browsers treat localhost and 127.0.0.1 as secure and keep the cookie there anyway).
    console_secure_cookies: bool = True
    # Visit summaries are emailed through this server (None: email is not offered).
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True
    smtp_from: str = Field(default="frontdesk@localhost", max_length=200)
    clinic_name: str = Field(default="Frontdesk Clinic", max_length=80, description="On receipts")
    # The address kiosks and lobby screens reach this back office at (https://…), shown in
    # the enrolment command; unset: the address the admin's browser used.
    public_url: str | None = Field(default=None, pattern=r"^https?://[^\s/]+(/\S*)?$")
    # What every kiosk uses until an admin sets otherwise for it (the devices page).
    kiosk_languages: list[str] = Field(default=["en", "es"], min_length=1)
    kiosk_idle_timeout_seconds: int = Field(default=90, ge=45, le=900)
    # A kiosk not heard from for this long is flagged "Silent" (it beats once a minute).
    kiosk_silent_after_minutes: int = Field(default=5, ge=2, le=24 * 60)

    # Payments: "simulated" is a reader in memory (the demo); "stripe" is Stripe Terminal.
    payments_provider: Literal["simulated", "stripe", "none"] = "simulated"
    payments_currency: str = Field(default="usd", pattern=r"^[a-z]{3}$")
    stripe_secret_key: SecretStr | None = None
    stripe_webhook_secret: SecretStr | None = None
    stripe_api_base: str | None = Field(
        default=None, description="Another address for Stripe's API: tests point it at a fake"
    )
    # A reader still waiting for a card after this long is stopped by the reconciler.
    payment_reader_timeout_seconds: int = Field(default=180, ge=30, le=900)

    # Billing: the practice as the billing provider on its claims (837P loop 2010AA) and the
    # EDI sender. The defaults are the demo practice's, so the demo can write claims; its
    # files are marked as tests (ISA15 T) and `billing_production` refuses the demo identity.
    billing_practice_name: str = Field(default="Maple Street Family Medicine", max_length=60)
    billing_npi: str = Field(default="1234567893", pattern=r"^\d{10}$")  # the group's (type 2)
    billing_tax_id: str = Field(default="043219876", pattern=r"^\d{9}$")  # EIN, no dash
    billing_taxonomy_code: str | None = Field(default="261QP2300X", max_length=10)
    billing_address_line1: str = Field(default="120 Maple St", max_length=55)
    billing_address_city: str = Field(default="Springfield", max_length=30)
    billing_address_state: str = Field(default="MA", pattern=r"^[A-Z]{2}$")
    billing_address_postal_code: str = Field(default="011031234", pattern=r"^\d{9}$")  # ZIP+4
    # The submitter (ISA06, loop 1000A): the id the clearinghouse gave the practice.
    billing_submitter_id: str = Field(default="FRONTDESK01", pattern=r"^[A-Za-z0-9]{2,15}$")
    billing_contact_name: str = Field(default="Billing Office", max_length=60)
    billing_contact_phone: str = Field(default="4135550100", pattern=r"^\d{10}$")
    # The receiver (ISA08, loop 1000B): the clearinghouse.
    billing_receiver_name: str = Field(default="Demo Clearinghouse", max_length=60)
    billing_receiver_id: str = Field(default="CLEARHOUSE", pattern=r"^[A-Za-z0-9]{2,15}$")
    billing_production: bool = False

    # Eligibility: 270/271 in real time to the clearinghouse over CAQH CORE Phase II
    # connectivity (HTTP POST, multipart/form-data). Unset URL: eligibility checks are off.
    eligibility_url: str | None = Field(default=None, pattern=r"^https?://[^\s/]+(/\S*)?$")
    eligibility_username: str | None = Field(default=None, max_length=80)
    eligibility_password: SecretStr | None = None
    # CORE SenderID / ReceiverID; unset: the billing submitter id and the receiver id above.
    eligibility_sender_id: str | None = Field(default=None, max_length=80)
    eligibility_receiver_id: str | None = Field(default=None, max_length=80)
    # CORE asks for a real-time answer within 20 seconds; a slower one is a timeout.
    eligibility_timeout_seconds: float = Field(default=20.0, gt=0, le=120)
    # A check-in asks the payer again only when the policy was last checked longer ago.
    eligibility_recheck_hours: int = Field(default=24, ge=0, le=24 * 31)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config = _config_file()
        if config is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config))
        return tuple(sources)

    @field_validator("clinic_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.clinic_timezone)

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.var_dir / 'frontdesk.db'}"

    @property
    def resolved_key_file(self) -> Path:
        return self.encryption_key_file or self.var_dir / "keys.json"

    def signing_key(self) -> str:
        """The token-signing secret: from settings, else a random one kept in var/ (0600)."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        path = self.var_dir / "secret.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
        return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()
