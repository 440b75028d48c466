"""Kiosk settings: environment (`FRONTDESK_KIOSK_…`) over the kiosk's own file (`kiosk.toml`,
written at enrolment) over defaults. The kiosk keeps only its back-office address and its
credential; never a payment key, never a patient list.

The token is `FRONTDESK_KIOSK_TOKEN` when set (development, the demo), otherwise the one in
`credential_dir` beside the kiosk's private key: only then can the kiosk rotate it.

    SettingsFileError    kiosk.toml is unreadable, not TOML, or not a kiosk's file
    CredentialError      (shared.device_credential) the credential is missing, damaged or
                         readable by others
"""

from __future__ import annotations

import os
import tomllib
import uuid
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field, PrivateAttr, SecretStr, ValidationError, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from shared.contracts.provisioning import DEFAULT_CONFIG_PATH, read_config_file
from shared.device_credential import CredentialError, DeviceCredential

CONFIG_ENV = "FRONTDESK_KIOSK_CONFIG"


class SettingsFileError(Exception):
    """kiosk.toml cannot be used; the message is one line that names the file."""


def config_file_path() -> Path:
    """Where kiosk.toml is: $FRONTDESK_KIOSK_CONFIG, else /etc/frontdesk/kiosk.toml."""
    return Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG_PATH)


def first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg']}" if where else error["msg"]


class ConfigFileSource(PydanticBaseSettingsSource):
    """The [kiosk] table of kiosk.toml, when the file exists; nothing otherwise."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path) -> None:
        super().__init__(settings_cls)
        self.path = path

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ reads the whole table at once

    def __call__(self) -> dict[str, Any]:
        path = self.path
        try:
            if not path.is_file():
                return {}
            config = read_config_file(path)
        except PermissionError:
            raise SettingsFileError(
                f"{path} cannot be read: run as the kiosk user (or root)"
            ) from None
        except OSError as exc:
            raise SettingsFileError(f"{path} cannot be read: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise SettingsFileError(f"{path} is not valid TOML: {exc}") from None
        except ValidationError as exc:
            raise SettingsFileError(f"{path}: {first_error(exc)}") from None
        return config.model_dump(exclude_none=True)


class KioskSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FRONTDESK_KIOSK_", extra="ignore")

    server: str = Field(default="http://127.0.0.1:8000", description="The back office's address")
    token: SecretStr | None = Field(
        default=None, description="For development; an enrolled kiosk uses credential_dir"
    )
    device_id: uuid.UUID | None = Field(default=None, description="From enrolment")
    credential_dir: Path | None = Field(
        default=None, description="The token and private key (0700), from enrolment"
    )
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

    _credential: DeviceCredential | None = PrivateAttr(default=None)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        file = ConfigFileSource(settings_cls, config_file_path())
        return init_settings, env_settings, dotenv_settings, file, file_secret_settings

    @model_validator(mode="after")
    def _load_credential(self) -> KioskSettings:
        """No token given: the enrolled kiosk's own (CredentialError when it cannot be used)."""
        if self.token is not None or self.credential_dir is None:
            return self
        credential = DeviceCredential.load(self.credential_dir)
        if self.device_id is not None and credential.device_id != self.device_id:
            raise CredentialError(
                f"the credential in {self.credential_dir} is for another device "
                f"({credential.device_id}, not {self.device_id}): enrol again"
            )
        self.token = SecretStr(credential.token)
        self._credential = credential
        return self

    @property
    def credential(self) -> DeviceCredential | None:
        """The credential the token came from; None when it came from the environment (a
        token alone cannot be rotated: that takes the private key)."""
        return self._credential

    @property
    def outbox_path(self) -> Path:
        return self.var_dir / "outbox.db"

    @property
    def key_path(self) -> Path:
        return self.var_dir / "outbox.key"

    @property
    def consent_cache_path(self) -> Path:
        return self.var_dir / "consent-documents.json"

    @property
    def remote_config_path(self) -> Path:
        return self.var_dir / "kiosk-config.json"


@lru_cache
def get_kiosk_settings() -> KioskSettings:
    return KioskSettings()
