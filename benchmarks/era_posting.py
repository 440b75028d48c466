"""Read and post an 835 with 10,000 claim payments against 10,000 claims on file, on SQLite
and PostgreSQL, with pyx12's time to validate the same file beside it.

    .venv/bin/python -m benchmarks.era_posting [--backend sqlite|postgresql|both]
        [--claims 10000] [--no-pyx12] [--postgres-url URL]

The file: one check, one transaction set. Of every 20 claims, 17 are paid on two lines (a
99213-25 and a 36415, matched by our REF*6R) with contractual (CO-45) and patient (PR-1/2/3)
adjustments, one is denied (CO-50 with a remark), one forwarded to a secondary (status 19),
one reversed and corrected (22 then 1); a PLB with interest and a recoupment ends it.

On file: a fresh migrated database with 200 patients and their policies, one payer, and for
each claim a completed visit, its charge with two lines, and the claim (status submitted;
the reversed ones paid). Rows are inserted in bulk; that set-up is not timed.

Measured, each once, wall clock (time.perf_counter):
* read: `read_835` on the text (our parser; no database);
* look-up: loading the claims the file names with their charges and lines (the import's
  own `_claims_on_file`);
* plan: `plan_posting` (pure);
* import: the whole `import_835` (it reads, looks up and plans again, then writes the
  remittance, its entries, the claims' amounts and statuses, the patient ledger lines and the
  denials) and the commit; "write" is import less read, look-up and plan;
* pyx12: `validate_x12` on the same text (pyx12's x12n_document, 835 map), once.
Figures are printed and written to benchmarks/results/era_posting-<backend>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from sqlalchemy import func, insert
from sqlmodel import Session, select

import backoffice.models_registry  # noqa: F401  (every table, for foreign keys)
from backoffice.billing import remittances
from backoffice.billing.models import Charge, ChargeLine, ClaimRecord, Payer
from backoffice.billing.posting import plan_posting
from backoffice.billing.x12.remit_835 import read_835
from backoffice.clinic.models import Location, Provider
from backoffice.db import make_engine
from backoffice.migrate import upgrade
from backoffice.payments.models import LedgerEntry
from backoffice.scheduling.models import Appointment, AppointmentType
from backoffice.security.actor import Actor
from backoffice.security.crypto import FieldCipher, load_keyring
from backoffice.security.principal import CLI_ORIGIN, SYSTEM
from benchmarks.slot_search import DEFAULT_POSTGRES_URL, fresh_database
from shared.validators import npi_with_check_digit
from tests.fixtures.billing import remittance_835
from tests.fixtures.builders import create_patient, create_policy

RESULTS = Path(__file__).parent / "results"
ACTOR = Actor(SYSTEM, CLI_ORIGIN)
FIRST_DAY = date(2025, 9, 1)
PATIENTS = 200


def number(n: int) -> str:
    return f"BENCH{n:08d}"


def kind_of(n: int) -> str:
    return {17: "denied", 18: "forwarded", 19: "reversed"}.get(n % 20, "paid")


def day_of(n: int) -> date:
    return FIRST_DAY + timedelta(days=n % 60)


def claim_payment(n: int) -> str:
    pcn, day = number(n), f"{day_of(n):%Y%m%d}"
    name = f"NM1*QC*1*DOE*JANE****MI*M{n:08d}~"
    office = f"SVC*HC:99213:25*150.00*{{paid}}**1~DTM*472*{day}~"
    lab = f"SVC*HC:36415*100.00*70.00~DTM*472*{day}~CAS*CO*45*30.00~REF*6R*{pcn}-2~"
    kind = kind_of(n)
    if kind == "denied":
        return (
            f"CLP*{pcn}*4*250.00*0.00**12*P{n:08d}~{name}"
            f"SVC*HC:99213:25*150.00*0.00~DTM*472*{day}~CAS*CO*50*150.00~LQ*HE*M127~"
            f"SVC*HC:36415*100.00*0.00~DTM*472*{day}~CAS*CO*50*100.00~"
        )
    if kind == "forwarded":
        return (
            f"CLP*{pcn}*19*250.00*160.00*35.00*12*P{n:08d}~{name}"
            "NM1*TT*2*MEDIGAP SECONDARY*****PI*SEC01~"
            + office.format(paid="90.00")
            + f"CAS*CO*45*25.00~CAS*PR*2*35.00~REF*6R*{pcn}-1~{lab}"
        )
    paid = (
        f"CLP*{pcn}*1*250.00*160.00*35.00*12*P{n:08d}~{name}"
        + office.format(paid="90.00")
        + f"CAS*CO*45*25.00~CAS*PR*1*10.00**2*5.00**3*20.00~REF*6R*{pcn}-1~{lab}"
    )
    if kind == "reversed":
        return (
            f"CLP*{pcn}*22*-250.00*-180.00**12*P{n:08d}~{name}"
            f"SVC*HC:99213:25*-150.00*-110.00~DTM*472*{day}~CAS*CO*45*-40.00~"
            f"SVC*HC:36415*-100.00*-70.00~DTM*472*{day}~CAS*CO*45*-30.00~" + paid
        )
    return paid


def the_file(claims: int) -> str:
    plb = "PLB*1234567893*20251231*L6:INTEREST*-12.50*WO:RECOUP01*40.00~"
    return remittance_835(
        [claim_payment(n) for n in range(claims)], trace="BENCH0001", provider_adjustments=plb
    )


def on_file(url: str, claims: int, workdir: Path) -> None:
    """The practice and every claim the file pays, inserted in bulk."""
    engine = make_engine(url)
    upgrade(engine)
    cipher = FieldCipher(load_keyring(workdir / "keys.json", create=True))
    with Session(engine, expire_on_commit=False) as session:
        location = Location(
            name="Bench Clinic",
            timezone="America/New_York",
            address_line1="1 Main St",
            address_city="Springfield",
            address_state="MA",
            address_postal_code="01103",
        )
        provider = Provider(
            first_name="Pat",
            last_name="Bench",
            npi=npi_with_check_digit("123456789"),
            taxonomy_code="207Q00000X",
            specialty="Family Medicine",
            locations=[location],
        )
        kind = AppointmentType(
            code="BENCH", name="Office visit", duration_minutes=30, category="primary_care"
        )
        payer = Payer(payer_id="ACME1", name="Acme Health Plan")
        session.add_all([location, provider, kind, payer])
        session.commit()
        people = []
        for _ in range(PATIENTS):
            patient = create_patient(session, cipher, last_name="Bench")
            policy = create_policy(
                session, patient, payer_id="ACME1", effective_date=date(2025, 1, 1)
            )
            people.append((patient.id, policy.id))
        ids = (location.id, provider.id, kind.id, payer.id)
    location_id, provider_id, kind_id, payer_id = ids
    appointments, charges, lines, records = [], [], [], []
    now = datetime.now(UTC)
    for n in range(claims):
        patient_id, policy_id = people[n % PATIENTS]
        start = datetime.combine(day_of(n), datetime.min.time(), tzinfo=UTC) + timedelta(minutes=n)
        appointment_id, charge_id = uuid.uuid4(), uuid.uuid4()
        appointments.append(
            {
                "id": appointment_id,
                "patient_id": patient_id,
                "provider_id": provider_id,
                "location_id": location_id,
                "appointment_type_id": kind_id,
                "starts_at": start,
                "ends_at": start + timedelta(minutes=30),
                "blocked_start": start,
                "blocked_end": start + timedelta(minutes=30),
                "lane": 0,
                "status": "completed",
                "created_by": "bench",
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
        )
        charges.append(
            {
                "id": charge_id,
                "appointment_id": appointment_id,
                "patient_id": patient_id,
                "provider_id": provider_id,
                "location_id": location_id,
                "service_date": day_of(n),
                "diagnoses": ["I10"],
                "status": "billed",
                "created_at": now,
            }
        )
        for line_number, code, modifiers, fee in (
            (1, "99213", ["25"], 15000),
            (2, "36415", [], 10000),
        ):
            lines.append(
                {
                    "id": uuid.uuid4(),
                    "charge_id": charge_id,
                    "line_number": line_number,
                    "procedure_code": code,
                    "modifiers": modifiers,
                    "units": 1,
                    "fee_cents": fee,
                    "diagnosis_pointers": [1],
                }
            )
        reversed_ = kind_of(n) == "reversed"
        records.append(
            {
                "id": uuid.uuid4(),
                "charge_id": charge_id,
                "policy_id": policy_id,
                "payer_key": payer_id,
                "rank": "primary",
                "patient_control_number": number(n),
                "frequency_code": "1",
                "status": "paid" if reversed_ else "submitted",
                "findings": [],
                "total_cents": 25000,
                "paid_cents": 18000 if reversed_ else 0,
                "adjusted_cents": 7000 if reversed_ else 0,
                "patient_responsibility_cents": 0,
                "created_at": now,
                "updated_at": now,
            }
        )
    with engine.begin() as conn:
        for model, rows in (
            (Appointment, appointments),
            (Charge, charges),
            (ChargeLine, lines),
            (ClaimRecord, records),
        ):
            for start in range(0, len(rows), 5000):
                conn.execute(insert(model), rows[start : start + 5000])
    engine.dispose()


def timed(work: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    value = work()
    return value, time.perf_counter() - started


def measure(backend: str, text: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    url = fresh_database(
        backend, workdir=workdir, postgres_url=args.postgres_url, name="frontdesk_bench_era"
    )
    on_file(url, args.claims, workdir)
    engine = make_engine(url)
    with Session(engine, expire_on_commit=False) as session:
        [advice], read_s = timed(lambda: read_835(text))
        numbers = {c.patient_control_number for c in advice.claims}
        found, lookup_s = timed(lambda: remittances._claims_on_file(session, numbers))
        plan, plan_s = timed(lambda: plan_posting(advice, found.billed))
        session.rollback()  # the import starts from nothing loaded, as the command does
        session.expunge_all()

        def run_import() -> remittances.ImportResult:
            result = remittances.import_835(session, ACTOR, text, file_name="bench.835")
            session.commit()
            return result

        result, import_s = timed(run_import)
        ledger_lines = session.exec(select(func.count()).select_from(LedgerEntry)).one()
    engine.dispose()
    figures = {
        "backend": backend,
        "claims": args.claims,
        "claim_payments": len(advice.claims),
        "entries": len(plan.entries),
        "denials": len(plan.denials),
        "ledger_lines": ledger_lines,
        "file_bytes": len(text),
        "read_s": round(read_s, 3),
        "lookup_s": round(lookup_s, 3),
        "plan_s": round(plan_s, 3),
        "import_s": round(import_s, 3),
        "write_s": round(import_s - read_s - lookup_s - plan_s, 3),
        "summary": result.summary(),
    }
    print(
        f"{backend}: {figures['claim_payments']} claim payments, {figures['entries']} entries; "
        f"read {read_s:.2f} s, look-up {lookup_s:.2f} s, plan {plan_s:.2f} s, "
        f"whole import {import_s:.2f} s (write ≈ {figures['write_s']:.2f} s)\n  {result.summary()}"
    )
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--claims", type=int, default=10_000)
    parser.add_argument("--no-pyx12", action="store_true", help="skip pyx12's validation")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("FRONTDESK_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL),
        help="a server where the role may CREATE DATABASE (frontdesk_bench_era is recreated)",
    )
    parser.add_argument("--results-dir", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    text = the_file(args.claims)
    pyx12: dict[str, Any] = {}
    if not args.no_pyx12:
        from backoffice.billing.x12.validate import validate_x12

        findings, pyx12_s = timed(lambda: validate_x12(text))
        pyx12 = {"pyx12_s": round(pyx12_s, 3), "pyx12_findings": len(findings)}
        print(f"pyx12: validated the same file in {pyx12_s:.2f} s, {len(findings)} finding(s)")
        for finding in findings[:5]:
            print(f"  {finding}")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    args.results_dir.mkdir(parents=True, exist_ok=True)
    with TemporaryDirectory(prefix="frontdesk-bench-era-") as tmp:
        for backend in backends:
            figures = measure(backend, text, args, Path(tmp)) | pyx12
            out = args.results_dir / f"era_posting-{backend}.json"
            out.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
