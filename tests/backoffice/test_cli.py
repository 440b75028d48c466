"""The real `frontdesk` console command, run as a subprocess against a SQLite file.

Each run costs about a second, so the migrated and the seeded databases are made once per
module and copied for every test that changes them.
"""

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlmodel import Session, select

import backoffice.models_registry  # noqa: F401  (every table, for the ORM reads below)
from backoffice.db import make_engine
from backoffice.migrate import current_revision, head_revision
from backoffice.patients.models import Patient
from backoffice.patients.service import SSN_CONTEXT
from backoffice.security.crypto import FieldCipher, load_keyring
from backoffice.security.passwords import verify_password
from backoffice.security.tokens import digest

ROOT = Path(__file__).resolve().parents[2]
FRONTDESK = Path(sys.executable).with_name("frontdesk")
SCHEMA_HINT = (
    "frontdesk: error: the database is not at the current schema; run: frontdesk db upgrade"
)
PASSWORD = "cli-password-0123"

pytestmark = pytest.mark.skipif(
    not FRONTDESK.exists(), reason="the console script is not installed"
)


@dataclass
class Env:
    """One var directory with its database and keyring, and a way to run commands on it."""

    var_dir: Path
    results: dict[str, subprocess.CompletedProcess[str]] = field(default_factory=dict)

    @property
    def db(self) -> Path:
        return self.var_dir / "x.db"

    @property
    def key_file(self) -> Path:
        return self.var_dir / "keys.json"

    @property
    def url(self) -> str:
        return f"sqlite:///{self.db}"

    def run(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
        env |= {
            "FRONTDESK_VAR_DIR": str(self.var_dir),
            "FRONTDESK_DATABASE_URL": self.url,
            "FRONTDESK_ENCRYPTION_KEY_FILE": str(self.key_file),
            "FRONTDESK_SECRET_KEY": "cli-test-signing-key-0123456789abcdef0123456789",
        }
        return subprocess.run(
            [str(FRONTDESK), *args],
            cwd=ROOT,
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def copy_to(self, var_dir: Path) -> "Env":
        var_dir.mkdir(parents=True, exist_ok=True)
        for path in self.var_dir.iterdir():  # the database with its WAL, and the keyring
            if path.is_file():
                shutil.copy2(path, var_dir / path.name)
        return Env(var_dir)

    def query(self, sql: str, *params: object) -> list[tuple]:
        with sqlite3.connect(self.db) as conn:
            return conn.execute(sql, params).fetchall()


def _error_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return result.stderr.splitlines()


@pytest.fixture(scope="module")
def migrated(tmp_path_factory) -> Env:
    env = Env(tmp_path_factory.mktemp("migrated"))
    env.results["upgrade"] = env.run("db", "upgrade")
    assert env.results["upgrade"].returncode == 0, env.results["upgrade"].stderr
    return env


@pytest.fixture(scope="module")
def seeded(migrated, tmp_path_factory) -> Env:
    env = migrated.copy_to(tmp_path_factory.mktemp("seeded"))
    env.results["seed"] = env.run("demo", "seed", "--patients", "5")
    assert env.results["seed"].returncode == 0, env.results["seed"].stderr
    return env


@pytest.fixture
def fresh(migrated, tmp_path) -> Env:
    """A migrated database of this test's own."""
    return migrated.copy_to(tmp_path / "var")


# --- db ------------------------------------------------------------------------------------


def test_db_upgrade_reports_the_revision_reached(migrated):
    assert migrated.results["upgrade"].stdout.strip() == f"database at revision {head_revision()}"


def test_db_upgrade_creates_the_schema(fresh):
    engine = make_engine(fresh.url)
    try:
        tables = set(inspect(engine).get_table_names())
        revision = current_revision(engine)
    finally:
        engine.dispose()
    assert {"staff_users", "devices", "patients", "audit_events", "audit_chain_head"} <= tables
    assert revision == head_revision()


@pytest.mark.parametrize(
    "args",
    [
        ("audit", "verify"),
        ("users", "create", "--username", "admin", "--role", "admin", "--password", PASSWORD),
    ],
    ids=["audit-verify", "users-create"],
)
def test_commands_on_an_unmigrated_database_ask_for_db_upgrade(tmp_path, args):
    result = Env(tmp_path).run(*args)
    assert result.returncode == 1
    assert _error_lines(result) == [SCHEMA_HINT]


# --- users ---------------------------------------------------------------------------------


def _password_hash(env: Env, username: str) -> tuple[str, str]:
    [(role, password_hash)] = env.query(
        "SELECT role, password_hash FROM staff_users WHERE username = ?", username
    )
    return role, password_hash


def test_users_create_makes_an_account_that_takes_its_password(fresh):
    result = fresh.run(
        "users", "create", "--username", "admin", "--role", "admin", "--password", PASSWORD
    )
    assert (result.returncode, result.stdout.strip()) == (0, "created admin account admin")
    role, password_hash = _password_hash(fresh, "admin")
    assert role == "admin"
    assert verify_password(password_hash, PASSWORD)


def test_users_create_reads_the_password_from_stdin_when_left_out(fresh):
    result = fresh.run(
        "users",
        "create",
        "--username",
        "frontdesk",
        "--role",
        "front_desk",
        stdin="piped-password-42\n",
    )
    assert result.returncode == 0, result.stderr
    _, password_hash = _password_hash(fresh, "frontdesk")
    assert verify_password(password_hash, "piped-password-42")


@pytest.fixture(scope="module")
def bad_role_run(migrated):
    return migrated.run(
        "users", "create", "--username", "x1", "--role", "wizard", "--password", PASSWORD
    )


@pytest.fixture(scope="module")
def short_password_run(migrated):
    return migrated.run(
        "users", "create", "--username", "x2", "--role", "nurse", "--password", "short"
    )


@pytest.mark.parametrize("run", ["bad_role_run", "short_password_run"])
def test_bad_input_is_one_error_line_without_a_traceback(request, run):
    result = request.getfixturevalue(run)
    assert result.returncode != 0
    lines = _error_lines(result)
    assert len(lines) == 1 and lines[0].startswith("frontdesk: error:"), result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_a_short_password_is_refused_with_the_reason(short_password_run):
    assert _error_lines(short_password_run) == [
        "frontdesk: error: password: String should have at least 10 characters"
    ]


def test_a_usage_error_reads_as_click_words_it_and_exits_2(bad_role_run):
    """Usage errors keep click's wording and exit status, not the exception's class name."""
    [line] = _error_lines(bad_role_run)
    assert line.startswith("frontdesk: error: Invalid value for '--role':"), line
    assert bad_role_run.returncode == 2


# --- devices -------------------------------------------------------------------------------


def test_add_kiosk_prints_a_working_token_once(fresh):
    result = fresh.run("devices", "add-kiosk", "Lobby kiosk")
    assert result.returncode == 0, result.stderr
    tokens = re.findall(r"fdk_[A-Za-z0-9_-]{20,}", result.stdout)
    assert len(tokens) == 1
    [(token_hash,)] = fresh.query("SELECT token_hash FROM devices WHERE name = 'Lobby kiosk'")
    assert token_hash == digest(tokens[0])


# --- audit ---------------------------------------------------------------------------------


def test_audit_verify_passes_an_intact_chain(seeded, tmp_path):
    env = seeded.copy_to(tmp_path / "var")
    [(events,)] = env.query("SELECT count(*) FROM audit_events")
    result = env.run("audit", "verify")
    assert events > 0
    assert (result.returncode, result.stdout.strip()) == (0, f"audit chain intact: {events} events")


def test_audit_verify_fails_after_the_file_is_tampered_with(seeded, tmp_path):
    env = seeded.copy_to(tmp_path / "var")
    with sqlite3.connect(env.db) as conn:
        conn.execute("DROP TRIGGER audit_events_no_update")
        conn.execute("UPDATE audit_events SET actor_name = 'mallory' WHERE seq = 2")
    result = env.run("audit", "verify")
    assert result.returncode == 1
    assert _error_lines(result) == [
        "frontdesk: error: audit chain broken at event 2: event content was changed"
    ]


# --- keys ----------------------------------------------------------------------------------


def _ssns(env: Env) -> dict[str, str]:
    """Stored SSN ciphertexts by patient, read through the back office's own models."""
    engine = make_engine(env.url)
    try:
        with Session(engine) as session:
            rows = session.exec(
                select(Patient.id, Patient.ssn_ciphertext).where(Patient.ssn_ciphertext != None)  # noqa: E711
            ).all()
    finally:
        engine.dispose()
    return {str(pid): stored for pid, stored in rows if stored}


@dataclass
class Rotation:
    env: Env
    before: dict[str, str]  # patient id -> SSN, decrypted before the rotation
    rotate: subprocess.CompletedProcess[str]
    listing: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def rotation(seeded, tmp_path_factory) -> Rotation:
    env = seeded.copy_to(tmp_path_factory.mktemp("rotated"))
    old = FieldCipher(load_keyring(env.key_file))
    before = {pid: old.decrypt(s, context=SSN_CONTEXT) for pid, s in _ssns(env).items()}
    return Rotation(env, before, env.run("keys", "rotate"), env.run("keys", "list"))


def test_keys_rotate_reports_the_new_key_and_the_count(rotation):
    active = load_keyring(rotation.env.key_file).active_id
    assert rotation.rotate.returncode == 0, rotation.rotate.stderr
    assert rotation.rotate.stdout.strip() == (
        f"active key {active}; re-encrypted {len(rotation.before)} values"
    )


def test_keys_list_shows_every_value_on_the_new_active_key(rotation):
    ring = load_keyring(rotation.env.key_file)
    lines = sorted(rotation.listing.stdout.split("\n")[:-1])
    expected = sorted(
        f"{kid}  active  {len(rotation.before)} values"
        if kid == ring.active_id
        else f"{kid}  retired  0 values"
        for kid in ring.keys
    )
    assert len(ring.keys) == 2
    assert lines == expected


def test_ssns_read_the_same_after_keys_rotate(rotation):
    cipher = FieldCipher(load_keyring(rotation.env.key_file))
    stored = _ssns(rotation.env)
    after = {pid: cipher.decrypt(s, context=SSN_CONTEXT) for pid, s in stored.items()}
    assert rotation.before and after == rotation.before
    assert {FieldCipher.key_id_of(s) for s in stored.values()} == {cipher.keyring.active_id}


# --- demo ----------------------------------------------------------------------------------


def test_demo_seed_fills_an_empty_database(seeded):
    assert seeded.results["seed"].stdout.startswith(
        "seeded 2 locations, 6 providers with weekly schedules, 5 patients,"
    )
    assert seeded.query("SELECT count(*) FROM patients") == [(5,)]


def test_demo_seed_a_second_time_has_nothing_to_do(seeded, tmp_path):
    env = seeded.copy_to(tmp_path / "var")
    result = env.run("demo", "seed", "--patients", "5")
    assert (result.returncode, result.stdout.strip()) == (
        0,
        "demo data already present; nothing to do",
    )
    assert env.query("SELECT count(*) FROM patients") == [(5,)]


def test_billing_claims_submit_writes_the_demo_claims_as_one_valid_837p(seeded, tmp_path):
    from backoffice.billing.x12.validate import validate_x12_file
    from backoffice.demo import DEMO_CHARGED_VISITS

    env = seeded.copy_to(tmp_path / "var")
    [(charges,)] = env.query("SELECT count(*) FROM charges WHERE status = 'reviewed'")
    # The demo sent an older batch already: this one takes the next interchange number.
    [(sent_before,)] = env.query("SELECT max(interchange_control_number) FROM claim_batches")
    control = (sent_before or 0) + 1
    result = env.run("billing", "claims", "submit", "--all", "--out", str(tmp_path / "out"))
    written = tmp_path / "out" / f"837P-{control:09d}.x12"
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"made {charges} claim(s) (0 to secondary payers): {charges} ready, 0 held by the "
        "scrubber; 0 charge(s) left for staff",
        f"wrote {written}: {charges} claim(s), interchange {control}",
    ]
    assert charges == DEMO_CHARGED_VISITS
    assert validate_x12_file(written) == []
    assert env.query(
        "SELECT c.status, count(*) FROM claims c JOIN claim_batches b ON b.id = c.batch_id "
        "WHERE b.interchange_control_number = ? GROUP BY c.status",
        control,
    ) == [("submitted", charges)]
    again = env.run("billing", "claims", "submit", "--all", "--out", str(tmp_path / "out"))
    assert (again.returncode, again.stdout.strip()) == (0, "no claims are ready to submit")
    assert [p.name for p in (tmp_path / "out").iterdir()] == [written.name]


def test_billing_claims_submit_needs_all(seeded):
    result = seeded.run("billing", "claims", "submit", "--out", "/nonexistent")
    assert result.returncode == 1
    assert _error_lines(result) == [
        "frontdesk: error: say which claims: --all (every reviewed charge and ready claim)"
    ]


def test_wait_list_expire_offers_lapses_old_offers_and_passes_them_on(seeded, tmp_path):
    env = seeded.copy_to(tmp_path / "var")
    assert env.run("wait-list", "expire-offers").stdout.strip() == "0 offer(s) lapsed"
    patient_id, type_id = env.query(
        "SELECT patient_id, appointment_type_id FROM appointments LIMIT 1"
    )[0]
    provider_id, location_id = env.query(
        "SELECT provider_id, location_id FROM provider_locations LIMIT 1"
    )[0]
    env.query(
        "INSERT INTO wait_list_entries (id, patient_id, appointment_type_id, earliest, latest,"
        " status, offered_provider_id, offered_location_id, offered_start, offer_expires_at,"
        " passed_over, created_by, created_at) VALUES (?, ?, ?, ?, ?, 'offered', ?, ?, ?, ?,"
        " '[]', 'test', ?)",
        "0" * 32, patient_id, type_id, "2099-01-01 00:00:00.000000", "2099-02-01 00:00:00.000000",
        provider_id, location_id, "2099-01-05 14:00:00.000000", "2000-01-01 00:00:00.000000",
        "2000-01-01 00:00:00.000000",
    )  # fmt: skip
    result = env.run("wait-list", "expire-offers")
    assert (result.returncode, result.stdout.strip()) == (0, "1 offer(s) lapsed"), result.stderr
    assert env.query("SELECT status FROM wait_list_entries") == [("waiting",)]


def test_devices_list_flags_a_kiosk_never_heard_from_and_rotation_needs_an_enrolled_kiosk(fresh):
    assert fresh.run("devices", "add-kiosk", "Quiet kiosk").returncode == 0
    listed = fresh.run("devices", "list", "--silent", "--json")
    assert listed.returncode == 0, listed.stderr
    [row] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert (row["name"], row["state"], row["last_seen"]) == ("Quiet kiosk", "silent", None)
    refused = fresh.run("devices", "rotate-credential", "Quiet kiosk")
    assert refused.returncode == 1
    assert _error_lines(refused) == [
        "frontdesk: error: Only a kiosk enrolled with `frontdesk provision enroll` can renew its "
        "credential. device_id: Enrol it with a code first."
    ]
    with sqlite3.connect(fresh.db) as conn:  # as if it had enrolled with a key
        conn.execute("UPDATE devices SET public_key = ? WHERE name = 'Quiet kiosk'", ("A" * 43,))
    asked = fresh.run("devices", "rotate-credential", "Quiet kiosk")
    assert asked.returncode == 0, asked.stderr
    [(requested,)] = fresh.query("SELECT rotation_requested_at FROM devices")
    assert requested is not None
