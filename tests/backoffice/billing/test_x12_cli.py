"""`frontdesk x12 read-835` and `frontdesk x12 validate`, run as the real console command.

Each run costs about a second (the command loads every package's group), so a few runs
cover the outcomes; the reader's cases are in test_remit_835.py.
"""

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / "data" / "x12"
CRAFTED = DATA / "crafted_835_posting_cases.835"
FRONTDESK = Path(sys.executable).with_name("frontdesk")

pytestmark = pytest.mark.skipif(
    not FRONTDESK.exists(), reason="the console script is not installed"
)


def frontdesk(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(FRONTDESK), *map(str, args)], capture_output=True, text=True, timeout=60
    )


def test_read_835_prints_one_json_object_that_balances(tmp_path: Path) -> None:
    result = frontdesk("x12", "read-835", CRAFTED, "--json")
    assert (result.returncode, result.stderr) == (0, "")
    [line] = result.stdout.splitlines()
    remit = json.loads(line)
    assert (remit["payer_name"], remit["payee_npi"]) == ("ACME HEALTH PLAN", "1234567893")
    assert (remit["trace_number"], remit["payment_amount"]) == ("CHK100234", "213.25")
    assert [(c["patient_control_number"], c["status_code"]) for c in remit["claims"]] == [
        ("PCN1001", "1"),
        ("PCN1002", "4"),
        ("PCN0990", "22"),
        ("PCN0990", "1"),
        ("PCN1003", "19"),
    ]
    paid = sum(Decimal(c["paid_amount"]) for c in remit["claims"])
    plb = sum(Decimal(a["amount"]) for a in remit["provider_adjustments"])
    assert paid - plb == Decimal(remit["payment_amount"])


def test_read_835_of_a_messy_sample_warns_on_stderr() -> None:
    sample = DATA / "lfh_835_005010X221A1__managed-care.835"
    result = frontdesk("x12", "read-835", sample, "--json")
    assert result.returncode == 0
    assert json.loads(result.stdout)["payment_date"] is None
    assert result.stderr == (
        f"frontdesk: warning: {sample}: segment 4 (BPR): BPR16 is not a date (left out)\n"
    )


def test_read_835_of_an_unbalanced_file_says_so(tmp_path: Path) -> None:
    unbalanced = tmp_path / "unbalanced.835"
    unbalanced.write_text(CRAFTED.read_text().replace("BPR*I*213.25*", "BPR*I*213.26*"))
    result = frontdesk("x12", "read-835", unbalanced)
    assert result.returncode == 0
    assert result.stdout.endswith("5 claim(s), 3 provider adjustment(s); DOES NOT BALANCE\n")
    assert "does not balance: payment 213.26 is not claims paid 260.00" in result.stderr


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (
            lambda text: text[: text.index("CAS*CO*50*120.00") + 8],
            "segment 29 (CAS): truncated (the file ends inside it)",
        ),
        (
            lambda text: text.replace("*250.00*160.00*", "*250.00*16O.00*"),
            "segment 14 (CLP): CLP04 '16O.00' is not an amount",
        ),
    ],
    ids=["truncated", "malformed"],
)
def test_read_835_of_a_damaged_file_is_one_line_and_exit_1(
    tmp_path: Path, damage, message: str
) -> None:
    broken = tmp_path / "broken.835"
    broken.write_text(damage(CRAFTED.read_text()))
    result = frontdesk("x12", "read-835", broken, "--json")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == f"frontdesk: error: {broken}: {message}\n"


def test_read_835_of_a_missing_file(tmp_path: Path) -> None:
    result = frontdesk("x12", "read-835", tmp_path / "nothing.835")
    assert result.returncode == 1
    assert result.stderr == f"frontdesk: error: {tmp_path / 'nothing.835'}: no such file\n"


def test_validate_accepts_the_crafted_835() -> None:
    result = frontdesk("x12", "validate", CRAFTED)
    assert (result.returncode, result.stdout) == (0, f"{CRAFTED}: valid\n")


def test_validate_prints_pyx12_findings_and_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.835"
    bad.write_text(CRAFTED.read_text().replace("CLP*PCN1002*4*", "CLP*PCN1002*7*"))
    result = frontdesk("x12", "validate", bad)
    assert result.returncode == 1
    assert any(line.startswith("CLP02 (segment 25)") for line in result.stdout.splitlines())
    assert result.stderr.startswith(f"frontdesk: error: {bad}: ")
    assert result.stderr.endswith(" finding(s)\n")
