"""The kiosk's settings from the kiosk.toml written at enrolment, under the environment, and
its token from the credential directory beside its private key."""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import pytest

from kiosk.settings import KioskSettings, SettingsFileError
from shared.contracts.provisioning import KioskConfigFile, render_config_file
from shared.device_credential import CredentialError, DeviceCredential, new_private_key

DEVICE = uuid.UUID("6c1f3a52-8d0e-4b7a-9c3e-2f5d7a9b1c04")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    """No FRONTDESK_KIOSK_… from the outside, and no /etc/frontdesk/kiosk.toml by accident."""
    for name in list(os.environ):
        if name.startswith("FRONTDESK_KIOSK_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("FRONTDESK_KIOSK_CONFIG", str(tmp_path / "absent.toml"))


def write_config(path: Path, **fields: object) -> Path:
    config = KioskConfigFile.model_validate(
        {"server": "https://frontdesk.example.org", "device_id": DEVICE, **fields}
    )
    path.write_text(render_config_file(config, comment="written by a test"))
    return path


def enrolled(tmp_path: Path, monkeypatch, *, token: str = "kiosk-token-1") -> DeviceCredential:
    """An enrolled kiosk's file and credential, as `frontdesk provision enroll` leaves them."""
    credential = DeviceCredential(DEVICE, token, new_private_key())
    credential.save(tmp_path / "credential")
    config = write_config(
        tmp_path / "kiosk.toml",
        credential_dir=tmp_path / "credential",
        var_dir=tmp_path / "var",
        camera="/dev/frontdesk-camera",
        printer_port="/dev/frontdesk-printer",
        clinic_name="Maple Street Clinic",
    )
    monkeypatch.setenv("FRONTDESK_KIOSK_CONFIG", str(config))
    return credential


def test_an_enrolled_kiosk_runs_on_its_file_and_credential(tmp_path, monkeypatch):
    credential = enrolled(tmp_path, monkeypatch)
    settings = KioskSettings()
    assert settings.server == "https://frontdesk.example.org"
    assert settings.device_id == DEVICE
    assert settings.var_dir == tmp_path / "var"
    assert (settings.camera, settings.printer_port) == (
        "/dev/frontdesk-camera",
        "/dev/frontdesk-printer",
    )
    assert settings.scanner_port is None
    assert settings.clinic_name == "Maple Street Clinic"
    assert settings.token is not None and settings.token.get_secret_value() == "kiosk-token-1"
    assert settings.credential is not None
    assert settings.credential.public_key == credential.public_key


def test_the_environment_wins_over_the_file(tmp_path, monkeypatch):
    enrolled(tmp_path, monkeypatch)
    monkeypatch.setenv("FRONTDESK_KIOSK_SERVER", "http://127.0.0.1:8000")
    monkeypatch.setenv("FRONTDESK_KIOSK_CLINIC_NAME", "Demo")
    monkeypatch.setenv("FRONTDESK_KIOSK_TOKEN", "from-the-environment")
    settings = KioskSettings()
    assert (settings.server, settings.clinic_name) == ("http://127.0.0.1:8000", "Demo")
    assert settings.token is not None
    assert settings.token.get_secret_value() == "from-the-environment"
    assert settings.credential is None  # a bare token: nothing to rotate with
    assert settings.var_dir == tmp_path / "var"  # what the environment leaves, the file says


def test_without_a_file_the_defaults_stand(tmp_path):
    settings = KioskSettings()
    assert settings.server == "http://127.0.0.1:8000"
    assert settings.token is None and settings.credential is None
    assert settings.var_dir == Path("var/kiosk")


def test_a_credential_others_can_read_is_refused(tmp_path, monkeypatch):
    enrolled(tmp_path, monkeypatch)
    (tmp_path / "credential" / "token").chmod(0o644)
    with pytest.raises(CredentialError, match=r"readable by others .*chmod go="):
        KioskSettings()


def test_a_credential_for_another_device_is_refused(tmp_path, monkeypatch):
    enrolled(tmp_path, monkeypatch)
    DeviceCredential(uuid.uuid4(), "someone-elses", new_private_key()).save(tmp_path / "credential")
    with pytest.raises(CredentialError, match="for another device"):
        KioskSettings()


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("[kiosk\nserver = 'x'\n", "is not valid TOML"),
        ("[kiosk]\nserver = 'https://x'\n", "device_id: Field required"),
        (
            f"[kiosk]\nserver = 'https://x'\ndevice_id = '{DEVICE}'\ncredential_dir = '/c'\n"
            "colour = 'blue'\n",
            "colour: Extra inputs are not permitted",
        ),
        ("[kiosk]\nserver = 'https://x'\ndevice_id = 'kiosk-7'\n", "device_id: Input should be"),
    ],
    ids=["not-toml", "missing-key", "unknown-key", "bad-uuid"],
)
def test_a_bad_file_is_named_in_one_line(tmp_path, monkeypatch, text, says):
    path = tmp_path / "kiosk.toml"
    path.write_text(text)
    monkeypatch.setenv("FRONTDESK_KIOSK_CONFIG", str(path))
    with pytest.raises(SettingsFileError) as caught:
        KioskSettings()
    message = str(caught.value)
    assert message.startswith(f"{path}") and says in message
    assert "\n" not in message


def test_the_cli_reports_a_bad_file_in_one_line_without_a_traceback(tmp_path, monkeypatch, capsys):
    from shared.cli import main

    path = tmp_path / "kiosk.toml"
    path.write_text("[kiosk]\nserver = 'https://x'\n")
    monkeypatch.setenv("FRONTDESK_KIOSK_CONFIG", str(path))
    monkeypatch.setattr(sys, "argv", ["frontdesk", "kiosk", "outbox", "status"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 1
    assert capsys.readouterr().err == (f"frontdesk: error: {path}: device_id: Field required\n")


def test_the_cli_reports_an_unsafe_credential_in_one_line(tmp_path, monkeypatch, capsys):
    from shared.cli import main

    enrolled(tmp_path, monkeypatch)
    (tmp_path / "credential").chmod(0o755)
    monkeypatch.setattr(sys, "argv", ["frontdesk", "kiosk", "outbox", "status"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 1
    error = capsys.readouterr().err
    assert error.startswith("frontdesk: error: ") and "readable by others" in error
    assert len(error.splitlines()) == 1
