"""SSNs are encrypted at rest: no byte of the database holds one in plain text.

The usual fixtures roll every test back, so nothing would reach the disk; here each test
gets its own real database, registers through the API (which commits), and then reads
what was actually stored: the SQLite files byte by byte, or every PostgreSQL table as text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session

from backoffice.app import create_app
from backoffice.db import make_engine
from backoffice.migrate import upgrade
from backoffice.patients.service import SSN_CONTEXT
from backoffice.security.crypto import PREFIX, FieldCipher, KeyringError
from shared.enums import Role
from tests.conftest import fresh_database_url, postgres_admin_engine
from tests.fixtures.builders import bearer, create_user

PATIENTS = "/api/v1/patients"

# (SSN as typed, SSN as stored, registration); the last one gets its SSN by a later update.
REGISTRATIONS = [
    (
        "731-48-2956",
        "731-48-2956",
        {
            "first_name": "Margit",
            "last_name": "Vandermeulen",
            "date_of_birth": "1949-10-27",
            "sex": "female",
            "phone": "(413) 555-0171",
        },
    ),
    (
        "582197346",
        "582-19-7346",
        {
            "first_name": "Tomasz",
            "last_name": "Szczepanski",
            "date_of_birth": "1977-04-03",
            "sex": "male",
            "phone": "(508) 555-0134",
        },
    ),
    (
        "634-27-9185",
        "634-27-9185",
        {
            "first_name": "Adaeze",
            "last_name": "Abernathy-Okonkwo",
            "date_of_birth": "2001-12-19",
            "sex": "female",
            "phone": "(781) 555-0166",
        },
    ),
]
SET_BY_UPDATE = "634-27-9185"


@dataclass
class Stored:
    """What one real database holds after registering `REGISTRATIONS` through the API."""

    backend: str
    url: str
    cipher: FieldCipher
    ciphertexts: dict[str, str] = field(default_factory=dict)  # stored SSN → column value
    files_while_open: dict[str, bytes] = field(default_factory=dict)
    files_after_close: dict[str, bytes] = field(default_factory=dict)


def _snapshot(db_file: Path) -> dict[str, bytes]:
    """The database file and its -wal and -shm companions, whichever exist."""
    return {p.name: p.read_bytes() for p in sorted(db_file.parent.glob(db_file.name + "*"))}


def _register_all(client: TestClient, headers: dict[str, str]) -> None:
    for typed, _, body in REGISTRATIONS:
        if typed == SET_BY_UPDATE:
            r = client.post(PATIENTS, json=body, headers=headers)
            assert r.status_code == 201, r.text
            r = client.patch(
                f"{PATIENTS}/{r.json()['id']}",
                json={"ssn": typed},
                headers={**headers, "If-Match": r.headers["etag"]},
            )
        else:
            r = client.post(PATIENTS, json={**body, "ssn": typed}, headers=headers)
        assert r.status_code in (200, 201), r.text


@pytest.fixture(params=["sqlite", "postgresql"])
def stored(request, tmp_path, settings):
    backend = request.param
    url = fresh_database_url(backend, tmp_path, "ssn")
    engine = make_engine(url)
    upgrade(engine)
    app = create_app(settings, engine=engine)
    with Session(engine) as session:
        headers = bearer(create_user(session, Role.FRONT_DESK), app.state.signing_key)
    with TestClient(app) as client:
        _register_all(client, headers)
    result = Stored(backend, url, app.state.cipher)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT last_name, ssn_ciphertext FROM patients ORDER BY last_name")
        ).all()
    by_name = dict(rows)
    for _, ssn, body in REGISTRATIONS:
        result.ciphertexts[ssn] = by_name[body["last_name"]]
    db_file = Path(engine.url.database or "") if backend == "sqlite" else None
    if db_file:
        result.files_while_open = _snapshot(db_file)
    engine.dispose()
    if db_file:
        result.files_after_close = _snapshot(db_file)
    yield result
    if backend == "postgresql":
        admin = postgres_admin_engine()
        with admin.connect() as conn:
            conn.execute(
                text(f'DROP DATABASE IF EXISTS "{make_engine(url).url.database}" WITH (FORCE)')
            )
        admin.dispose()


def _plaintext_forms(ssn: str) -> list[bytes]:
    forms = []
    for written in (ssn, ssn.replace("-", "")):
        for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
            forms.append(written.encode(encoding))
    return forms


@pytest.mark.parametrize("stored", ["sqlite"], indirect=True)
@pytest.mark.parametrize("moment", ["files_while_open", "files_after_close"])
def test_sqlite_files_hold_no_plaintext_ssn(stored, moment):
    files = getattr(stored, moment)
    assert any(name.endswith(".db") for name in files)
    found = [
        (name, ssn, form)
        for name, raw in files.items()
        for _, ssn, _ in REGISTRATIONS
        for form in _plaintext_forms(ssn)
        if form in raw
    ]
    assert found == []


@pytest.mark.parametrize("stored", ["sqlite"], indirect=True)
@pytest.mark.parametrize("moment", ["files_while_open", "files_after_close"])
def test_sqlite_scan_sees_the_patients_last_names(stored, moment):
    """The control for the scan above: the same bytes do hold the (unencrypted) last names."""
    raw = b"".join(getattr(stored, moment).values())
    missing = [b["last_name"] for _, _, b in REGISTRATIONS if b["last_name"].encode() not in raw]
    assert missing == []


def _every_table_as_text(url: str) -> str:
    engine = make_engine(url)
    with engine.connect() as conn:
        tables = conn.execute(
            text(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
            )
        ).scalars()
        dumped = [
            row
            for table in list(tables)
            for row in conn.execute(text(f'SELECT t::text FROM "{table}" t')).scalars()
        ]
    engine.dispose()
    return "\n".join(dumped)


@pytest.mark.parametrize("stored", ["postgresql"], indirect=True)
def test_no_postgres_table_holds_a_plaintext_ssn(stored):
    dump = _every_table_as_text(stored.url)
    found = [
        form for _, ssn, _ in REGISTRATIONS for form in (ssn, ssn.replace("-", "")) if form in dump
    ]
    assert found == []


@pytest.mark.parametrize("stored", ["postgresql"], indirect=True)
def test_postgres_scan_sees_the_patients_last_names(stored):
    dump = _every_table_as_text(stored.url)
    assert [b["last_name"] for _, _, b in REGISTRATIONS if b["last_name"] not in dump] == []


@pytest.mark.parametrize("ssn", [ssn for _, ssn, _ in REGISTRATIONS])
def test_stored_ssn_is_an_encrypted_field_value(stored, ssn):
    assert stored.ciphertexts[ssn].startswith(f"{PREFIX}:{stored.cipher.keyring.active_id}:")


@pytest.mark.parametrize("ssn", [ssn for _, ssn, _ in REGISTRATIONS])
def test_stored_ssn_decrypts_with_the_apps_cipher(stored, ssn):
    assert stored.cipher.decrypt(stored.ciphertexts[ssn], context=SSN_CONTEXT) == ssn


@pytest.mark.parametrize(
    "context", ["patients.email", "insurance_policies.member_id", "patients.ssn ", "PATIENTS.SSN"]
)
def test_ssn_ciphertext_copied_to_another_column_does_not_decrypt(stored, context):
    ciphertext = stored.ciphertexts[REGISTRATIONS[0][1]]
    with pytest.raises(KeyringError):
        stored.cipher.decrypt(ciphertext, context=context)
