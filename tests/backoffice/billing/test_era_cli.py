"""`frontdesk billing era import` and `era denials`, run as a console command against a
SQLite file with the claims the crafted 835 pays: one line for what was posted; a damaged
or repeated file is one error line, exit 1, and posts nothing.

Each run costs about a second, so one module-wide database takes the runs in order
(damaged, good, again, the worklist) and each test checks one of them.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from sqlmodel import Session

import backoffice.models_registry  # noqa: F401  (every table, for foreign keys)
from backoffice.db import make_engine
from backoffice.migrate import upgrade
from backoffice.security.crypto import FieldCipher, load_keyring
from tests.fixtures.billing import create_claims_for_crafted_835

ROOT = Path(__file__).resolve().parents[3]
CRAFTED = ROOT / "tests" / "data" / "x12" / "crafted_835_posting_cases.835"
# The real console command; until the `billing` group is wired into the entry points, the
# same `shared.cli.main` with the group added.
WIRED = any(e.name == "billing" for e in entry_points(group="frontdesk.cli"))
RUNNER = """
from shared import cli
from backoffice.billing.cli import register
load = cli._load_groups
cli._load_groups = lambda: (load(), register(cli.app))
cli.main()
"""
COMMAND = (
    [str(Path(sys.executable).with_name("frontdesk"))] if WIRED else [sys.executable, "-c", RUNNER]
)


def run(var_dir: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
    env |= {
        "FRONTDESK_VAR_DIR": str(var_dir),
        "FRONTDESK_DATABASE_URL": f"sqlite:///{var_dir / 'x.db'}",
        "FRONTDESK_ENCRYPTION_KEY_FILE": str(var_dir / "keys.json"),
        "FRONTDESK_SECRET_KEY": "cli-test-signing-key-0123456789abcdef0123456789",
    }
    return subprocess.run(
        [*COMMAND, *map(str, args)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def query(var_dir: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(var_dir / "x.db") as conn:
        return conn.execute(sql).fetchall()


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, object]:
    var_dir = tmp_path_factory.mktemp("era")
    engine = make_engine(f"sqlite:///{var_dir / 'x.db'}")
    upgrade(engine)
    cipher = FieldCipher(load_keyring(var_dir / "keys.json", create=True))
    with Session(engine, expire_on_commit=False) as session:
        create_claims_for_crafted_835(session, cipher)
    engine.dispose()
    truncated = var_dir / "truncated.835"
    text = CRAFTED.read_text()
    truncated.write_text(text[: text.index("CAS*CO*50*120.00") + 8])
    found: dict[str, object] = {"var_dir": var_dir, "truncated_file": truncated}
    found["truncated"] = run(var_dir, "billing", "era", "import", truncated)
    found["after_truncated"] = query(var_dir, "SELECT count(*) FROM remittance_entries")
    found["import"] = run(var_dir, "billing", "era", "import", CRAFTED)
    found["again"] = run(var_dir, "billing", "era", "import", CRAFTED)
    found["denials"] = run(var_dir, "billing", "era", "denials")
    return found


def test_import_prints_one_line_of_what_was_posted(runs):
    result = runs["import"]
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == (
        f"{CRAFTED}: 1 remittance(s), 213.25 posted; 5 claim payment(s): 2 paid, 0 partly paid, "
        "1 denied, 1 forwarded, 1 reversed; 3 provider adjustment(s); 4 patient ledger line(s)\n"
    )
    statuses = query(
        runs["var_dir"], "SELECT patient_control_number, status FROM claims ORDER BY 1"
    )
    assert statuses == [
        ("PCN0990", "paid"),
        ("PCN1001", "paid"),
        ("PCN1002", "denied"),
        ("PCN1003", "forwarded"),
    ]
    assert query(runs["var_dir"], "SELECT sum(amount_cents) FROM ledger_entries") == [(5500,)]


def test_a_truncated_file_is_one_line_naming_the_segment_and_posts_nothing(runs):
    result = runs["truncated"]
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        f"frontdesk: error: {runs['truncated_file']}: segment 29 (CAS): truncated (the file "
        "ends inside it); nothing was posted\n"
    )
    assert runs["after_truncated"] == [(0,)]


def test_the_same_file_again_is_refused_in_one_line(runs):
    result = runs["again"]
    assert (result.returncode, result.stdout) == (1, "")
    [line] = result.stderr.splitlines()
    assert line.startswith("frontdesk: error: this file was imported on ")
    assert line.endswith("(trace CHK100234); nothing was posted again")
    assert query(runs["var_dir"], "SELECT count(*) FROM remittances") == [(1,)]


def test_denials_lists_the_worklist_by_reason(runs):
    result = runs["denials"]
    assert (result.returncode, result.stderr) == (0, "")
    head, item = result.stdout.splitlines()
    assert head.startswith("50 (1, 120.00): ")
    assert item.split() == [
        "PCN1002",
        "payer",
        "claim",
        "PAYER1002",
        "120.00",
        "open",
        "remarks",
        "M127",
        "notes",
        "0",
    ]
