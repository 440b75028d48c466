"""Build 10,000 professional claims as 837P and validate them with pyx12, timed apart.

    .venv/bin/python -m benchmarks.x12_claims [--claims 10000] [--chunk 0] [--seed 7]
        [--out FILE.837]

A seeded practice mix: five billing providers (practices and solo doctors), 1 to 6 lines a
claim (E/M codes, labs, injections, with modifiers and up to four pointers), 1 to 12
ICD-10-CM diagnoses, a quarter of the patients dependents of the subscriber, one claim in ten
a secondary with the primary's line adjudication (SVD/CAS) or claim-level COB, and some
replacements and voids. Names carry accents and apostrophes, so the text cleaning runs too.

Measured:
* build: `build_837p` on all claims (one interchange; a new ST every 5,000 claims);
* pyx12: `validate_x12` (pyx12's `x12n_document` with its bundled map, through our wrapper
  that reads its JSON error report) on the same text; with --chunk N, also as files of N
  claims each, to show the map load pyx12 pays per document.
The run fails (exit 1) if pyx12 reports anything.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from backoffice.billing.claim import (
    Address,
    Adjustment,
    Claim,
    Coverage,
    FrequencyCode,
    Interchange,
    LineAdjudication,
    OtherPayer,
    Party,
    Person,
    Provider,
    Relationship,
    ServiceLine,
)
from backoffice.billing.x12.claim_837p import build_837p
from backoffice.billing.x12.validate import validate_x12
from shared.validators import npi_with_check_digit

CREATED = datetime(2025, 6, 2, 8, 30)
FIRST_VISIT = date(2025, 3, 3)

LAST_NAMES = (
    "Smith Johnson Garcia Nguyen O'Brien Núñez Okafor Kowalski Haddad Tanaka D'Angelo "
    "Schmidt Rivera Patel Cohen Van-der-Berg St. John Müller Chen Kaur"
).split(" ")
FIRST_NAMES = "Maria James Zoë Renée Aisha Priya Liam Noah Mateo Chloé José Wei Fatima Olga".split()
DIAGNOSES = (
    "J02.9 R50.9 Z00.00 E11.9 I10 J06.9 M54.50 R51.9 K21.9 F41.1 E78.5 N39.0 "
    "J45.909 M25.561 R10.9 Z23 L70.0 H10.9 B34.9 R05.9"
).split()
PROCEDURES = (
    ("99213", ("25",), Decimal("125.00")),
    ("99214", (), Decimal("185.00")),
    ("99203", (), Decimal("160.00")),
    ("87880", ("QW",), Decimal("32.50")),
    ("81002", (), Decimal("12.00")),
    ("36415", (), Decimal("10.00")),
    ("90471", (), Decimal("28.00")),
    ("96372", ("59",), Decimal("45.00")),
    ("20610", ("RT", "59"), Decimal("210.00")),
    ("93000", (), Decimal("55.00")),
)
PAYERS = (
    Party("Prairie Health Plan", "PHP01", address=Address("PO Box 500", "Chicago", "IL", "60601")),
    Party("Lakeside Mutual", "LKM22"),
    Party("Medicare Part B Illinois", "06102"),
    Party("Blue Lantern BCBS", "BLB09", address=Address("1 Blue Way", "Peoria", "IL", "61602")),
)


def make_providers(rng: random.Random) -> list[Provider]:
    providers = []
    for number in range(5):
        npi = npi_with_check_digit(f"1{rng.randrange(10**8):08d}")
        address = Address(f"{100 + number} Main St", "Springfield", "IL", f"6270{number}1234")
        if number % 2:
            providers.append(
                Provider(
                    npi,
                    rng.choice(LAST_NAMES),
                    rng.choice(FIRST_NAMES),
                    f"{rng.randrange(10**9):09d}",
                    "208D00000X",
                    address,
                )
            )
        else:
            providers.append(
                Provider(
                    npi,
                    f"Clinic {number} Family Medicine",
                    None,
                    f"{rng.randrange(10**9):09d}",
                    "207Q00000X",
                    address,
                )
            )
    return providers


def make_person(rng: random.Random, *, member: bool) -> Person:
    return Person(
        last_name=rng.choice(LAST_NAMES),
        first_name=rng.choice(FIRST_NAMES),
        date_of_birth=date(1940, 1, 1) + timedelta(days=rng.randrange(30_000)),
        sex=rng.choice("MFU"),
        address=Address(f"{rng.randrange(1, 999)} Oak St", "Springfield", "IL", "62704"),
        member_id=f"M{rng.randrange(10**10):010d}" if member else None,
    )


def make_claim(rng: random.Random, number: int, providers: list[Provider]) -> Claim:
    billing = rng.choice(providers)
    diagnoses = tuple(rng.sample(DIAGNOSES, rng.randint(1, 12)))
    visit = FIRST_VISIT + timedelta(days=rng.randrange(60))
    lines = []
    for line_number in range(rng.randint(1, 6)):
        code, modifiers, charge = rng.choice(PROCEDURES)
        pointers = tuple(
            rng.sample(range(1, len(diagnoses) + 1), min(len(diagnoses), rng.randint(1, 4)))
        )
        lines.append(
            ServiceLine(
                code,
                charge,
                Decimal(rng.choice(("1", "1", "2"))),
                visit,
                pointers,
                modifiers,
                line_control_number=f"L{number}-{line_number + 1}",
            )
        )
    subscriber = make_person(rng, member=True)
    dependent = rng.random() < 0.25
    coverage = Coverage(
        payer=rng.choice(PAYERS),
        subscriber=subscriber,
        group_number=f"G{rng.randrange(10**6)}" if rng.random() < 0.7 else None,
        plan_name="Gold PPO",
        relationship=rng.choice((Relationship.CHILD, Relationship.SPOUSE))
        if dependent
        else Relationship.SELF,
    )
    claim = Claim(
        patient_control_number=f"PCN{number:07d}",
        billing_provider=billing,
        coverage=coverage,
        diagnoses=diagnoses,
        lines=tuple(lines),
        patient=make_person(rng, member=False) if dependent else None,
        rendering_provider=rng.choice(providers) if rng.random() < 0.5 else None,
        onset=visit - timedelta(days=3) if rng.random() < 0.3 else None,
    )
    roll = rng.random()
    if roll < 0.10:
        claim = make_secondary(rng, claim, by_line=roll < 0.06)
    elif roll < 0.13:
        claim = replace(
            claim,
            frequency=rng.choice((FrequencyCode.REPLACEMENT, FrequencyCode.VOID)),
            payer_claim_number=f"PAY{rng.randrange(10**12)}",
        )
    return claim


def make_secondary(rng: random.Random, claim: Claim, *, by_line: bool) -> Claim:
    """The primary paid 80 % less the patient's share; the claim goes to another payer."""
    primary = claim.coverage
    secondary_payer = next(payer for payer in PAYERS if payer != primary.payer)
    paid_on = claim.last_service_date + timedelta(days=21)
    lines, total_paid, claim_cas = [], Decimal("0"), []
    for line in claim.lines:
        charge = line.charge
        allowed = (charge * Decimal("0.8")).quantize(Decimal("0.01"))
        patient = (allowed * Decimal("0.2")).quantize(Decimal("0.01"))
        paid = allowed - patient
        total_paid += paid
        cas = (Adjustment("CO", "45", charge - allowed), Adjustment("PR", "2", patient))
        if by_line:
            line = replace(
                line,
                adjudications=(
                    LineAdjudication(
                        primary.payer.identifier,
                        line.procedure_code,
                        paid,
                        line.units,
                        paid_on,
                        cas,
                        line.modifiers,
                    ),
                ),
            )
        else:
            claim_cas += cas
        lines.append(line)
    merged: dict[tuple[str, str], Decimal] = {}
    for item in claim_cas:
        merged[item.group, item.reason] = (
            merged.get((item.group, item.reason), Decimal("0")) + item.amount
        )
    other = OtherPayer(
        primary, total_paid, paid_on, tuple(Adjustment(g, r, a) for (g, r), a in merged.items())
    )
    return replace(
        claim,
        coverage=replace(primary, payer=secondary_payer, payer_responsibility="S"),
        lines=tuple(lines),
        other_payers=(other,),
    )


def interchange(claims: list[Claim], control: int) -> Interchange:
    return Interchange(
        sender_id="FRONTDESK01",
        receiver_id="CLEARHOUSE",
        submitter=Party("Frontdesk Billing", "FD0001", "Billing Office", "2175550100"),
        receiver=Party("Clear House Exchange", "CLEARHOUSE"),
        interchange_control_number=control,
        group_control_number=control,
        claims=tuple(claims),
    )


def report(label: str, seconds: float, claims: int, note: str = "") -> None:
    print(f"{label:<28}{seconds:9.2f} s {claims / seconds:10,.0f} claims/s   {note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--claims", type=int, default=10_000)
    parser.add_argument("--chunk", type=int, default=0, help="also validate as files of N claims")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, help="write the 837P here")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    providers = make_providers(rng)
    claims = [make_claim(rng, number, providers) for number in range(args.claims)]
    lines = sum(len(claim.lines) for claim in claims)

    started = time.perf_counter()
    text = build_837p(interchange(claims, 1), created=CREATED)
    build_seconds = time.perf_counter() - started
    segments = text.count("~")
    if args.out:
        args.out.write_text(text)

    started = time.perf_counter()
    findings = validate_x12(text)
    pyx12_seconds = time.perf_counter() - started

    print(f"claims {args.claims:,}  lines {lines:,}  segments {segments:,}  bytes {len(text):,}")
    report("build_837p (ours)", build_seconds, args.claims)
    report("pyx12 validation, 1 file", pyx12_seconds, args.claims, f"findings {len(findings)}")
    total_findings = len(findings)
    if args.chunk:
        started = time.perf_counter()
        files = 0
        for start in range(0, len(claims), args.chunk):
            files += 1
            part = claims[start : start + args.chunk]
            total_findings += len(
                validate_x12(build_837p(interchange(part, 1 + files), created=CREATED))
            )
        chunk_seconds = time.perf_counter() - started
        report(
            f"build + pyx12, {files} files",
            chunk_seconds,
            args.claims,
            f"{args.chunk} claims a file",
        )
    for finding in findings[:10]:
        print(f"  {finding}")
    if total_findings:
        sys.exit(1)


if __name__ == "__main__":
    main()
