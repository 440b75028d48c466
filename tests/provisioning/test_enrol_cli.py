"""The technician's enrolment, through the real commands against a real back office: an admin's
`frontdesk devices enrollment-code` prints a code, `frontdesk provision enroll` turns it into
the kiosk's own key pair, credential and kiosk.toml (with safe permissions), once only."""

from __future__ import annotations

import os
import pwd
import stat
import subprocess
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from shared.contracts.provisioning import read_config_file
from shared.device_credential import DeviceCredential
from tests.provisioning.doctor_fixtures import FRONTDESK, ROOT, LiveBackOffice, closed_port, doctor


@pytest.fixture(scope="module")
def backoffice(tmp_path_factory) -> Iterator[LiveBackOffice]:
    with LiveBackOffice(tmp_path_factory.mktemp("backoffice")).running() as live:
        yield live


@pytest.fixture(scope="module")
def lobby(backoffice) -> uuid.UUID:
    from tests.fixtures.builders import create_location

    with backoffice._session() as session:
        return create_location(session, name="North Lobby").id


def frontdesk(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
    return subprocess.run(
        [str(FRONTDESK), *args],
        cwd=ROOT,
        env=clean | (env or {}),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def admin_code(backoffice: LiveBackOffice, location: uuid.UUID, *more: str) -> str:
    """`frontdesk devices enrollment-code --location …` on the back office's own database."""
    env = {
        "FRONTDESK_DATABASE_URL": str(backoffice.engine.url),
        "FRONTDESK_VAR_DIR": str(Path(str(backoffice.engine.url.database)).parent),
    }
    made = frontdesk("devices", "enrollment-code", "--location", str(location), *more, env=env)
    assert made.returncode == 0, made.stderr
    assert "single use, good until" in made.stderr
    return made.stdout.strip()


def enroll(server: str, code: str, config: Path, *more: str) -> subprocess.CompletedProcess[str]:
    return frontdesk(
        "provision", "enroll", "--server", server, "--code", code, "--config", str(config), *more
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def me(server: str, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.get(f"{server}/api/v1/kiosk/me", headers=headers).status_code


def test_a_code_enrols_the_kiosk_once_and_writes_its_files_privately(backoffice, lobby, tmp_path):
    code = admin_code(backoffice, lobby, "--reader", "tmr_north", "--name", "North kiosk")
    config = tmp_path / "etc" / "kiosk.toml"
    done = enroll(backoffice.url, code, config)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("enrolled as North kiosk (")
    assert "location: North Lobby; card reader: tmr_north" in done.stdout

    written = read_config_file(config)
    assert (written.server, written.clinic_name) == (backoffice.url, "North Lobby")
    assert written.credential_dir == config.parent / "credential"
    assert mode(config) == 0o600  # no kiosk user here: only its writer may read it
    assert mode(written.credential_dir) == 0o700
    assert {mode(p) for p in written.credential_dir.iterdir()} == {0o600}
    credential = DeviceCredential.load(written.credential_dir)
    assert credential.device_id == written.device_id
    assert credential.token not in config.read_text()  # the file holds no secret
    assert me(backoffice.url, credential.token) == 200

    again = enroll(backoffice.url, code, tmp_path / "other" / "kiosk.toml")
    assert again.returncode == 1 and again.stdout == ""
    assert again.stderr.startswith(
        "frontdesk: error: enrolment refused: That enrolment code was already used ("
    )
    assert len(again.stderr.splitlines()) == 1
    assert not (tmp_path / "other").exists()  # nothing written for a refused code

    # The enrolled kiosk passes the doctor's credential and card-reader checks.
    checks = doctor(config, "--json").checks()
    assert checks["credential"]["status"] == "ok"
    assert checks["card-reader"]["status"] == "ok"


def test_enrolling_again_keeps_the_device_and_ends_the_old_credential(backoffice, lobby, tmp_path):
    config = tmp_path / "kiosk.toml"
    assert enroll(backoffice.url, admin_code(backoffice, lobby), config).returncode == 0
    first = DeviceCredential.load(tmp_path / "credential")
    again = enroll(backoffice.url, admin_code(backoffice, lobby), config)
    assert again.returncode == 0, again.stderr
    assert "replacing its old credential" in again.stdout
    second = DeviceCredential.load(tmp_path / "credential")
    assert second.device_id == first.device_id
    assert second.public_key != first.public_key
    assert (me(backoffice.url, first.token), me(backoffice.url, second.token)) == (401, 200)


def test_a_forged_or_expired_code_is_refused_in_one_line(backoffice, lobby, tmp_path):
    forged = enroll(backoffice.url, "ZZZZ-ZZZZ-ZZZZ", tmp_path / "kiosk.toml")
    assert (forged.returncode, forged.stderr) == (
        1,
        "frontdesk: error: enrolment refused: That enrolment code is not valid: check it "
        "against the one the admin gave you.\n",
    )
    code = admin_code(backoffice, lobby, "--expires-in", "5")
    from sqlmodel import select

    from backoffice.devices.models import EnrollmentCode

    with backoffice._session() as session:
        newest = session.exec(
            select(EnrollmentCode).order_by(EnrollmentCode.created_at.desc())  # type: ignore[attr-defined]
        ).first()
        newest.expires_at -= timedelta(minutes=6)
        session.add(newest)
        session.commit()
    expired = enroll(backoffice.url, code, tmp_path / "kiosk.toml")
    assert expired.returncode == 1
    assert "enrolment refused: That enrolment code expired at " in expired.stderr
    assert not (tmp_path / "kiosk.toml").exists()


def test_an_unreachable_back_office_is_said_plainly_and_the_code_is_kept(
    backoffice, lobby, tmp_path
):
    code = admin_code(backoffice, lobby)
    down = enroll(f"http://127.0.0.1:{closed_port()}", code, tmp_path / "kiosk.toml")
    assert down.returncode == 1 and len(down.stderr.splitlines()) == 1
    assert "cannot reach the back office at http://127.0.0.1:" in down.stderr
    assert "the code is not used up" in down.stderr
    assert enroll(backoffice.url, code, tmp_path / "kiosk.toml").returncode == 0


def test_a_bad_server_address_or_location_is_one_line(backoffice, tmp_path):
    bad = enroll("lobby-server", "ABCD-EFGH-JKMN", tmp_path / "kiosk.toml")
    assert bad.returncode == 1
    assert bad.stderr.startswith("frontdesk: error: --server must be the back office's address")
    env = {"FRONTDESK_DATABASE_URL": str(backoffice.engine.url)}
    nowhere = frontdesk("devices", "enrollment-code", "--location", str(uuid.uuid4()), env=env)
    assert nowhere.returncode == 1
    assert nowhere.stderr == (
        "frontdesk: error: The enrolment code cannot be made. location_id: Choose one of the "
        "locations.\n"
    )


@pytest.mark.skipif(os.geteuid() != 0, reason="giving files to another user needs root")
def test_as_root_the_files_go_to_the_kiosk_user(backoffice, lobby, tmp_path):
    nobody = pwd.getpwnam("nobody")
    config = tmp_path / "kiosk.toml"
    done = enroll(backoffice.url, admin_code(backoffice, lobby), config, "--owner", "nobody")
    assert done.returncode == 0, done.stderr
    credential_dir = tmp_path / "credential"
    assert (config.stat().st_uid, config.stat().st_gid, mode(config)) == (0, nobody.pw_gid, 0o640)
    for path in (credential_dir, *credential_dir.iterdir()):
        assert (path.stat().st_uid, path.stat().st_gid) == (nobody.pw_uid, nobody.pw_gid)
