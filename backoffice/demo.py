"""A believable demo clinic from a fixed random seed: two locations, six providers, a staff
account per role, patients with insurance, weekly schedules and a month of appointments
either side of today, and a revenue cycle under way (older claims sent and mostly paid by an
ERA, one denied; the latest visits' charges reviewed, to bill). Patients and staff go through
the same services as real registrations (so they are validated and audited); the appointments
are laid down directly, since past ones cannot be booked."""

from __future__ import annotations

import hashlib
import os
import random
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, func, select

from backoffice.billing import remittances
from backoffice.billing import service as billing_service
from backoffice.billing.claim import Address, Claim, Party
from backoffice.billing.models import Charge, ClaimRecord, FeeScheduleEntry, Payer
from backoffice.billing.remittances import ImportResult
from backoffice.checkin.models import ConsentDocument
from backoffice.clinic.models import Location, Provider
from backoffice.demo_remittance import Denied, Paid, PayerRemittance, write_835
from backoffice.devices import service as devices_service
from backoffice.patients import service as patients_service
from backoffice.patients.models import InsurancePolicy, Patient
from backoffice.patients.schemas import PatientCreate, PolicyCreate
from backoffice.scheduling.models import (
    Appointment,
    AppointmentType,
    AppointmentTypeProvider,
    ScheduleException,
    ScheduleRule,
)
from backoffice.security.actor import Actor
from backoffice.security.crypto import FieldCipher
from backoffice.settings import get_settings
from backoffice.staff import service as staff_service
from backoffice.staff.models import StaffUser
from backoffice.staff.schemas import StaffUserCreate
from shared.enums import Role
from shared.errors import Conflict
from shared.validators import npi_with_check_digit

FIRST_NAMES = {
    "female": [
        "Maria",
        "Jennifer",
        "Aisha",
        "Mei",
        "Sofia",
        "Emily",
        "Grace",
        "Olivia",
        "Priya",
        "Ana",
        "Linda",
        "Fatima",
        "Hannah",
        "Rosa",
        "Keisha",
        "Yuki",
        "Chloe",
        "Ines",
    ],
    "male": [
        "James",
        "Carlos",
        "Wei",
        "Mohammed",
        "David",
        "Luis",
        "Daniel",
        "Kwame",
        "Ethan",
        "Raj",
        "Miguel",
        "Samuel",
        "Tomas",
        "Andre",
        "Noah",
        "Hiro",
        "Omar",
        "Peter",
    ],
}
LAST_NAMES = [
    "Garcia",
    "Smith",
    "Nguyen",
    "Johnson",
    "Okafor",
    "Patel",
    "Kim",
    "Rodriguez",
    "Brown",
    "Cohen",
    "Martinez",
    "O'Brien",
    "Williams",
    "Chen",
    "Lopez",
    "Haddad",
    "Davis",
    "Muller",
    "Hernandez",
    "Kowalski",
    "Silva",
    "Jackson",
    "Nakamura",
    "Rossi",
    "Anderson",
    "Reyes",
    "Ali",
    "Thompson",
    "Dubois",
    "Santos",
]
STREETS = [
    "Maple St",
    "Oak Ave",
    "Washington St",
    "Elm St",
    "Riverside Dr",
    "Park Ave",
    "Highland Ave",
    "Center St",
    "Pleasant St",
    "Chestnut St",
]
CITIES = [
    ("Springfield", "MA", "011"),
    ("Worcester", "MA", "016"),
    ("Boston", "MA", "021"),
    ("Cambridge", "MA", "021"),
    ("Hartford", "CT", "061"),
    ("Providence", "RI", "029"),
]
# Demo payers: names and the claim payer ids clearinghouses commonly list for them.
PAYERS = [
    ("Aetna", "60054", "Aetna Choice POS II"),
    ("Blue Cross Blue Shield of Massachusetts", "SB700", "Blue Care Elect PPO"),
    ("Cigna", "62308", "Cigna Open Access Plus"),
    ("UnitedHealthcare", "87726", "UHC Choice Plus"),
    ("Harvard Pilgrim Health Care", "04271", "HPHC HMO"),
    ("Tufts Health Plan", "04298", "Tufts Navigator"),
    ("Medicare Part B (NGS)", "14312", "Original Medicare"),
]
PROVIDERS = [
    ("Elena", "Marsh", "MD", "207Q00000X", "Family Medicine"),
    ("Samuel", "Okoye", "MD", "207R00000X", "Internal Medicine"),
    ("Priya", "Raman", "MD", "208000000X", "Pediatrics"),
    ("Daniel", "Feld", "NP", "363LF0000X", "Family Nurse Practitioner"),
    ("Grace", "Liu", "MD", "207N00000X", "Dermatology"),
    ("Marcus", "Bell", "DO", "207X00000X", "Orthopaedic Surgery"),
]
STAFF = [
    ("admin", "Clinic Administrator", Role.ADMIN),
    ("frontdesk", "Rosa Diaz", Role.FRONT_DESK),
    ("nurse", "Tom Becker", Role.NURSE),
    ("drmarsh", "Dr Elena Marsh", Role.PROVIDER),
    ("billing", "Ann Whitfield", Role.BILLING),
]


def credentials_file(var_dir: Path) -> Path:
    return var_dir / "demo-credentials.txt"


def seed(
    session: Session,
    *,
    cipher: FieldCipher,
    actor: Actor,
    seed: int,
    patients: int,
    var_dir: Path | None = None,
    today: date | None = None,
) -> str:
    """Seed an empty database; on a seeded one, do nothing (so the demo can be re-run)."""
    if session.exec(select(func.count()).select_from(Patient)).one():
        return "demo data already present; nothing to do"
    if session.exec(select(func.count()).select_from(StaffUser)).one():
        raise Conflict("this database has staff accounts already; the demo seeds an empty one")
    rng = random.Random(seed)
    locations = [
        Location(
            name="Maple Street Family Medicine - Downtown",
            timezone="America/New_York",
            address_line1="120 Maple St",
            address_city="Springfield",
            address_state="MA",
            address_postal_code="01103",
            phone="+14135550100",
        ),
        Location(
            name="Maple Street Family Medicine - Riverside",
            timezone="America/New_York",
            address_line1="45 Riverside Dr",
            address_city="Springfield",
            address_state="MA",
            address_postal_code="01109",
            phone="+14135550160",
        ),
    ]
    session.add_all(locations)
    providers = []
    for i, (first, last, cred, taxonomy, specialty) in enumerate(PROVIDERS):
        npi = npi_with_check_digit(str(rng.randrange(100_000_000, 200_000_000)))
        where = locations if i < 2 else [locations[i % 2]]
        providers.append(
            Provider(
                first_name=first,
                last_name=last,
                credentials=cred,
                npi=npi,
                taxonomy_code=taxonomy,
                specialty=specialty,
                locations=where,
                not_back_to_back=["procedure"] if specialty == "Dermatology" else [],
                # Primary care may overbook beside a patient with a one-in-three chance of missing.
                overbook_threshold=Decimal("0.330") if specialty in PRIMARY_CARE else None,
            )
        )
    session.add_all(providers)
    password = secrets.token_urlsafe(9)
    for username, name, role in STAFF:
        staff_service.create_user(
            session,
            actor=actor,
            data=StaffUserCreate(
                username=username, display_name=name, role=role, password=password
            ),
        )
    registered = [
        _register_patient(session, rng=rng, cipher=cipher, actor=actor) for _ in range(patients)
    ]
    booked = _seed_schedule(
        session, rng=rng, providers=providers, patients=registered, today=today or date.today()
    )
    _seed_consent_forms(session)
    # A seed for another day (tests) starts its arrivals at 09:00 there instead of now.
    now = (
        datetime.now(UTC)
        if today is None
        else datetime.combine(today, time(9), tzinfo=ZoneInfo(locations[0].timezone))
    )
    arriving = _seed_arrivals_to_come(session, providers=providers, patients=registered, now=now)
    charged, remitted = _seed_billing(
        session,
        actor=actor,
        seed=seed,
        today=today or date.today(),
        clear_ledgers={p.id for p in registered[:DEMO_ARRIVALS]},
    )
    kiosk, kiosk_token = devices_service.add_kiosk(session, actor=actor, name="Downtown lobby")
    kiosk.location_id = locations[0].id
    session.add(kiosk)
    _, display_code = devices_service.add_display(
        session, actor=actor, name="Downtown waiting room", location_id=locations[0].id
    )
    try_it = (
        f"FRONTDESK_KIOSK_TOKEN={kiosk_token} .venv/bin/frontdesk kiosk check-in "
        f"--last-name '{arriving.last_name}' --dob {arriving.date_of_birth.isoformat()} --sign"
    )
    if var_dir is not None:
        path = credentials_file(var_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write("".join(f"{u} ({r.value}): {password}\n" for u, _, r in STAFF))
            fh.write(f"a kiosk check-in, from another terminal: {try_it}\n")
            fh.write(f"the lobby display's sign-in code (open /lobby/sign-in): {display_code}\n")
    users = ", ".join(u for u, _, _ in STAFF)
    return (
        f"seeded 2 locations, {len(PROVIDERS)} providers with weekly schedules, {patients} "
        f"patients, {booked} appointments, {charged} reviewed charges to bill "
        "(frontdesk billing claims submit --all --out DIR); "
        f"{_revenue_cycle_summary(remitted)}"
        f"staff accounts {users} share the password {password}"
    )


def _revenue_cycle_summary(cycle: RevenueCycle | None) -> str:
    if cycle is None:
        return ""
    posted = cycle.posted
    return (
        f"an ERA posted for older claims ({posted.paid} paid, {posted.denied} denied on the "
        f"denial worklist, {cycle.unpaid} still with the payer); "
    )


CONSENT_FORMS = [
    (
        "privacy-notice",
        "Notice of Privacy Practices",
        "This notice describes how medical information about you may be used and disclosed "
        "and how you can get access to this information. We use it to treat you, to be paid "
        "for your care and to run our practice. You may ask for a copy of your record, ask us "
        "to correct it, and ask who we have shared it with. Signing says you received this notice.",
    ),
    (
        "financial-policy",
        "Financial Responsibility",
        "I agree to pay any copay at the time of my visit and any amount my insurance does not "
        "cover. I authorise my insurer to pay the practice directly for services I receive.",
    ),
]


def _seed_consent_forms(session: Session) -> None:
    for code, title, body in CONSENT_FORMS:
        session.add(
            ConsentDocument(
                code=code,
                version=1,
                title=title,
                body=body,
                sha256=hashlib.sha256(body.encode()).hexdigest(),
            )
        )


DEMO_ARRIVALS = 6


def _seed_arrivals_to_come(
    session: Session, *, providers: list[Provider], patients: list[Patient], now: datetime
) -> Patient:
    """Six appointments starting over the next two hours, whatever the hour, so a check-in
    can be tried at once (a demo at 10 pm still has someone due)."""
    first = now.replace(second=0, microsecond=0) + timedelta(minutes=15 - now.minute % 15)
    kinds = {
        k.id: k for k in session.exec(select(AppointmentType).where(AppointmentType.code == "FU"))
    }
    follow_up = next(iter(kinds.values()))
    # All six stay on the clinic's today (the kiosk finds today's appointments only): late in
    # the evening the first ones have started already, and their patients arrive late.
    zone = ZoneInfo(providers[0].locations[0].timezone)
    midnight = datetime.combine(now.astimezone(zone).date() + timedelta(days=1), time(0), zone)
    first = min(first, midnight - timedelta(minutes=20 * 5 + follow_up.duration_minutes))
    for i, patient in enumerate(patients[:DEMO_ARRIVALS]):
        start = first + timedelta(minutes=20 * i)
        provider = providers[i % 2]
        session.add(
            Appointment(
                patient_id=patient.id,
                provider_id=provider.id,
                location_id=provider.locations[0].id,
                appointment_type_id=follow_up.id,
                starts_at=start,
                ends_at=start + timedelta(minutes=follow_up.duration_minutes),
                blocked_start=start,
                blocked_end=start + timedelta(minutes=follow_up.duration_minutes),
                lane=1,  # beside whatever the weekly template already holds then
                status="confirmed",
                created_by="demo",
            )
        )
    return patients[0]


def _register_patient(
    session: Session, *, rng: random.Random, cipher: FieldCipher, actor: Actor
) -> Patient:
    sex = rng.choice(["female", "male"])
    first, last = rng.choice(FIRST_NAMES[sex]), rng.choice(LAST_NAMES)
    born = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 365 * 84))
    city, state, zip3 = rng.choice(CITIES)
    phone = f"+1413555{rng.randrange(100, 200):04d}"
    data = PatientCreate(
        first_name=first,
        last_name=last,
        date_of_birth=born,
        sex=sex,
        ssn=f"{rng.randrange(100, 665):03d}-{rng.randrange(10, 99)}-{rng.randrange(1000, 9999)}"
        if rng.random() < 0.7
        else None,
        preferred_language="es" if rng.random() < 0.15 else "en",
        phone=phone,
        phone_type=rng.choice(["mobile", "mobile", "home"]),
        email=f"{first}.{last}{rng.randrange(10, 99)}@example.com".lower().replace("'", ""),
        preferred_contact_method=rng.choice(["sms", "email", "phone"]),
        address={
            "line1": f"{rng.randrange(1, 999)} {rng.choice(STREETS)}",
            "city": city,
            "state": state,
            "postal_code": f"{zip3}{rng.randrange(10, 99)}",
        },
        emergency_contacts=[
            {
                "name": f"{rng.choice(FIRST_NAMES['female'])} {last}",
                "relationship": rng.choice(["spouse", "parent", "sibling"]),
                "phone": f"+1413555{rng.randrange(100, 200):04d}",
            }
        ],
    )
    patient = patients_service.create_patient(
        session, actor=actor, data=data, cipher=cipher, confirm_new=True
    )
    if rng.random() < 0.9:
        _add_policy(session, rng=rng, actor=actor, patient=patient, rank="primary", born=born)
        if rng.random() < 0.15:
            _add_policy(session, rng=rng, actor=actor, patient=patient, rank="secondary", born=born)
    return patient


def _add_policy(
    session: Session, *, rng: random.Random, actor: Actor, patient: Patient, rank: str, born: date
) -> None:
    payer_name, payer_id, plan = rng.choice(PAYERS)
    medicare = payer_name.startswith("Medicare")
    patients_service.add_policy(
        session,
        actor=actor,
        patient=patient,
        data=PolicyCreate(
            rank=rank,
            payer_name=payer_name,
            payer_id=payer_id,
            plan_name=plan,
            member_id=f"{rng.choice('ABCDHJKMW')}{rng.randrange(10**8, 10**9)}",
            group_number=None if medicare else f"{rng.randrange(10**5, 10**6)}",
            effective_date=date(2026, 1, 1),
            copay_primary_care_cents=None if medicare else rng.choice([1500, 2000, 2500, 3000]),
            copay_specialist_cents=None if medicare else rng.choice([4000, 5000, 6000]),
            copay_urgent_care_cents=None if medicare else rng.choice([5000, 7500]),
            copay_emergency_cents=None if medicare else rng.choice([15000, 25000]),
        ),
    )


# Demo appointment types: codes and our own labels (CPT descriptors are AMA-licensed).
APPOINTMENT_TYPES = [
    ("NEW", "New patient visit", 45, "primary_care", 0, 0),
    ("FU", "Follow-up visit", 20, "primary_care", 0, 0),
    ("AWV", "Annual wellness visit", 30, "primary_care", 0, 0),
    ("TELE", "Telehealth check-in", 15, "telehealth", 0, 0),
    ("CONS", "Specialist consultation", 30, "specialist", 0, 0),
    ("PROC", "Minor procedure", 30, "procedure", 10, 10),
]
PRIMARY_CARE = {"Family Medicine", "Internal Medicine", "Pediatrics", "Family Nurse Practitioner"}


def _seed_schedule(
    session: Session,
    *,
    rng: random.Random,
    providers: list[Provider],
    patients: list[Patient],
    today: date,
) -> int:
    """Weekly templates (08:00-17:00 with lunch, Friday afternoons off for some), a holiday
    closure, and a realistic month either side of today: past visits mostly completed, with
    no-shows and cancellations; future ones scheduled or confirmed."""
    kinds = [
        AppointmentType(
            code=code,
            name=name,
            duration_minutes=minutes,
            category=category,
            buffer_before_minutes=before,
            buffer_after_minutes=after,
        )
        for code, name, minutes, category, before, after in APPOINTMENT_TYPES
    ]
    session.add_all(kinds)
    session.flush()
    offered: dict[uuid.UUID, list[AppointmentType]] = {}
    for i, provider in enumerate(providers):
        primary = provider.specialty in PRIMARY_CARE
        offered[provider.id] = [
            k
            for k in kinds
            if (k.category in ("primary_care", "telehealth")) == primary or k.code == "FU"
        ]
        for kind in offered[provider.id]:
            session.add(
                AppointmentTypeProvider(appointment_type_id=kind.id, provider_id=provider.id)
            )
        for location in provider.locations[:1]:
            for weekday in range(5):
                closes = time(12) if weekday == 4 and i % 2 else time(17)
                session.add(
                    ScheduleRule(
                        provider_id=provider.id,
                        location_id=location.id,
                        weekday=weekday,
                        start_time=time(8),
                        end_time=closes,
                        breaks=[["12:00", "13:00"]] if closes == time(17) else [],
                        effective_date=date(today.year - 1, 1, 1),
                    )
                )
    zone = ZoneInfo(providers[0].locations[0].timezone)
    christmas = date(today.year, 12, 25)
    session.add(
        ScheduleException(
            kind="holiday",
            starts_at=datetime.combine(christmas, time(0), tzinfo=zone),
            ends_at=datetime.combine(christmas + timedelta(days=1), time(0), tzinfo=zone),
            reason="Christmas Day",
        )
    )
    count = 0
    for offset in range(-30, 31):
        day = today + timedelta(days=offset)
        if day.weekday() >= 5 or day == christmas:
            continue
        for i, provider in enumerate(providers):
            location = provider.locations[0]
            clock = datetime.combine(day, time(8), tzinfo=zone)
            closing = datetime.combine(
                day, time(12 if day.weekday() == 4 and i % 2 else 17), tzinfo=zone
            )
            while True:
                kind = rng.choice(offered[provider.id])
                start = clock + timedelta(minutes=kind.buffer_before_minutes)
                end = start + timedelta(minutes=kind.duration_minutes)
                blocked_end = end + timedelta(minutes=kind.buffer_after_minutes)
                if blocked_end > closing:
                    break
                clock = blocked_end
                lunch = datetime.combine(day, time(12), tzinfo=zone)
                if start < lunch + timedelta(hours=1) and blocked_end > lunch:
                    clock = lunch + timedelta(hours=1)
                    continue
                if rng.random() < 0.35:  # left open for booking
                    continue
                status = _demo_status(rng, offset)
                session.add(
                    Appointment(
                        patient_id=rng.choice(patients).id,
                        provider_id=provider.id,
                        location_id=location.id,
                        appointment_type_id=kind.id,
                        starts_at=start,
                        ends_at=end,
                        blocked_start=start - timedelta(minutes=kind.buffer_before_minutes),
                        blocked_end=blocked_end,
                        status=status,
                        cancel_reason="patient called to cancel" if status == "cancelled" else None,
                        created_by="demo",
                    )
                )
                count += 1
    session.flush()
    return count


def _demo_status(rng: random.Random, offset: int) -> str:
    roll = rng.random()
    if offset < 0:
        return "no_show" if roll < 0.06 else "cancelled" if roll < 0.11 else "completed"
    return "cancelled" if roll < 0.04 else "confirmed" if roll < 0.5 else "scheduled"


# --- Billing -----------------------------------------------------------------------------

# What the demo practice charges (cents), for every payer without its own schedule. CPT
# codes only: their descriptors are the AMA's.
DEMO_FEES = {
    "99202": 11000, "99203": 16000, "99204": 24000, "99205": 31000,
    "99212": 9000, "99213": 13000, "99214": 19000, "99215": 26000,
    "11102": 18000, "17000": 12000, "20610": 21000, "36415": 1500, "81002": 1200,
}  # fmt: skip
# Medicare pays its own fee schedule; the demo bills it a schedule of its own.
DEMO_MEDICARE_FEES = {"99212": 5600, "99213": 9100, "99214": 12900, "99215": 18100}
# Common reasons for a visit, by kind of provider (billable ICD-10-CM leaves).
DEMO_DIAGNOSES = {
    "primary": ["I10", "E11.9", "E78.5", "J06.9", "M54.50", "K21.9", "F41.1", "J45.909"],
    "Dermatology": ["L82.1", "D22.5", "L57.0", "L70.0"],
    "Orthopaedic Surgery": ["M17.11", "M25.561", "M75.101", "M54.2"],
}
DEMO_PROCEDURES = {"Dermatology": ["11102", "17000"], "Orthopaedic Surgery": ["20610"]}
DEMO_CHARGED_VISITS = 12
DEMO_ZONE = ZoneInfo("America/New_York")


def _seed_billing(
    session: Session,
    *,
    actor: Actor,
    seed: int,
    today: date,
    clear_ledgers: frozenset[uuid.UUID] | set[uuid.UUID] = frozenset(),
) -> tuple[int, RevenueCycle | None]:
    """The payer directory for the demo policies' payers, the fee schedules, and charges for
    the latest completed visits of the past three weeks, reviewed by the biller: what
    `frontdesk billing claims submit --all` turns into claims and an 837P file. Older visits
    are billed, sent and mostly paid already (`_seed_revenue_cycle`). Its own random streams,
    so the rest of the demo is the same with or without it."""
    rng = random.Random(seed * 31 + 837)
    payers = {}
    for name, payer_id, _ in PAYERS:
        medicare = name.startswith("Medicare")
        payers[payer_id] = Payer(
            payer_id=payer_id,
            name=name,
            eligibility_supported=not medicare,
            timely_filing_days=365 if medicare else 90,
            filing_indicator="MB" if medicare else "BL" if "Blue Cross" in name else "CI",
        )
    session.add_all(payers.values())
    session.flush()
    start = date(today.year - 1, 1, 1)
    session.add_all(
        FeeScheduleEntry(procedure_code=code, amount_cents=cents, effective_from=start)
        for code, cents in DEMO_FEES.items()
    )
    session.add_all(
        FeeScheduleEntry(
            payer_key=payers["14312"].id,
            procedure_code=code,
            amount_cents=cents,
            effective_from=start,
        )
        for code, cents in DEMO_MEDICARE_FEES.items()
    )
    session.flush()
    biller = session.exec(select(StaffUser).where(StaffUser.role == Role.BILLING)).first()
    since = datetime.combine(today - timedelta(days=21), time(0), tzinfo=DEMO_ZONE)
    until = datetime.combine(today, time(0), tzinfo=DEMO_ZONE)
    visits = session.exec(
        select(Appointment)
        .where(
            Appointment.status == "completed",
            Appointment.starts_at >= since,
            Appointment.starts_at < until,
        )
        .order_by(Appointment.starts_at.desc())  # type: ignore[attr-defined]
    ).all()
    specialties = {p.id: p.specialty for p in session.exec(select(Provider)).all()}
    remitted = _seed_revenue_cycle(
        session,
        actor=actor,
        seed=seed,
        today=today,
        biller=biller,
        specialties=specialties,
        clear_ledgers=clear_ledgers,
    )
    charged = 0
    for visit in visits:
        if charged == DEMO_CHARGED_VISITS or biller is None:
            break
        charged += _charge_visit(
            session,
            actor,
            rng=rng,
            visit=visit,
            specialty=specialties[visit.provider_id],
            biller=biller,
        )
    return charged, remitted


def _charge_visit(
    session: Session,
    actor: Actor,
    *,
    rng: random.Random,
    visit: Appointment,
    specialty: str,
    biller: StaffUser,
) -> bool:
    """Capture a believable charge for an insured visit and review it; False for self-pay
    (the patient ledger's, not a claim's)."""
    served = visit.starts_at.astimezone(DEMO_ZONE).date()
    if billing_service.primary_policy(session, patient_id=visit.patient_id, on=served) is None:
        return False
    reasons = DEMO_DIAGNOSES.get(specialty, DEMO_DIAGNOSES["primary"])
    diagnoses = rng.sample(reasons, rng.choice([1, 1, 2, 3]))
    procedures = (
        [billing_service.ProcedureLine(rng.choice(DEMO_PROCEDURES[specialty]))]
        if specialty in DEMO_PROCEDURES and rng.random() < 0.6
        else []
    )
    kind = session.get(AppointmentType, visit.appointment_type_id)
    if kind is not None and kind.category == "procedure" and not procedures:
        procedures = [billing_service.ProcedureLine(DEMO_PROCEDURES.get(specialty, ["36415"])[0])]
    charge = billing_service.capture_charge(
        session, actor, appointment_id=visit.id, diagnoses=diagnoses, procedures=procedures
    )
    billing_service.review_charge(session, actor, charge_id=charge.id, reviewer_id=biller.id)
    return True


# --- The revenue cycle under way -----------------------------------------------------------

# Older insured visits billed and sent weeks ago, most of them paid by now.
DEMO_REMITTED_VISITS = 8
DEMO_REMITTED_WEEKS_BACK = (8, 3)  # from 8 weeks back up to 3 (the 12 to bill are newer)
# Where the demo's payers' remittances come from (N3/N4, PER): placeholders, not theirs.
DEMO_PAYER_OFFICE = Address("PO Box 1000", "Springfield", "MA", "01101")
DEMO_PAYER_PHONE = "8005550199"


@dataclass(frozen=True)
class RevenueCycle:
    """What the demo sent and what came back: the ERA's posting, and the claims still out."""

    posted: ImportResult
    unpaid: int


def _seed_revenue_cycle(
    session: Session,
    *,
    actor: Actor,
    seed: int,
    today: date,
    biller: StaffUser | None,
    specialties: dict[uuid.UUID, str],
    clear_ledgers: frozenset[uuid.UUID] | set[uuid.UUID],
) -> RevenueCycle | None:
    """Charges for older insured visits, billed and submitted weeks ago (one 837P kept with
    its batch), and the payers' 835 since: most claims paid, one denied, the newest one or
    two still unanswered. Done before the charges to bill are captured, so `claims submit
    --all` still sends exactly those. Patients with a secondary policy are left out: their
    share would be billed on to the secondary payer by that same submit. The patients due at
    the kiosk soon (`clear_ledgers`) owe nothing from those visits: a kiosk try-out starts from
    a clear ledger (their plans left them no share)."""
    if biller is None:
        return None
    rng = random.Random(seed * 31 + 835)
    oldest, newest = DEMO_REMITTED_WEEKS_BACK
    # The demo books a month back; this takes whatever of that lies in the window.
    since = datetime.combine(today - timedelta(weeks=oldest), time(0), DEMO_ZONE)
    until = datetime.combine(today - timedelta(weeks=newest), time(0), DEMO_ZONE)
    # Ordered by what the seed decides (ids are random), so the same seed bills the same visits.
    visits = session.exec(
        select(Appointment)
        .join(Provider, col(Provider.id) == Appointment.provider_id)
        .where(
            Appointment.status == "completed",
            Appointment.starts_at >= since,
            Appointment.starts_at < until,
        )
        .order_by(col(Appointment.starts_at), col(Provider.npi))
    ).all()
    charged = 0
    for visit in visits:
        if charged == DEMO_REMITTED_VISITS:
            break
        served = visit.starts_at.astimezone(DEMO_ZONE).date()
        if billing_service.secondary_policy(session, patient_id=visit.patient_id, on=served):
            continue
        charged += _charge_visit(
            session,
            actor,
            rng=rng,
            visit=visit,
            specialty=specialties[visit.provider_id],
            biller=biller,
        )
    if not charged:
        return None
    billed_on = today - timedelta(weeks=newest) + timedelta(days=1)
    billing_service.make_claims(session, actor, today=billed_on)
    sent = billing_service.submit(
        session, actor, out_dir=None, now=datetime.combine(billed_on, time(17), DEMO_ZONE)
    )
    if sent is None:
        return None
    records = session.exec(
        select(ClaimRecord)
        .join(Charge, col(Charge.id) == ClaimRecord.charge_id)
        .join(Appointment, col(Appointment.id) == Charge.appointment_id)
        .join(Provider, col(Provider.id) == Appointment.provider_id)
        .where(ClaimRecord.batch_id == sent.batch_id)
        .order_by(col(Appointment.starts_at), col(Provider.npi))
    ).all()
    unpaid = 2 if len(records) >= 6 else 1 if len(records) >= 3 else 0
    text = _demo_era(
        session,
        rng=rng,
        answered=records[: len(records) - unpaid],
        paid_on=today - timedelta(days=6),
        clear_ledgers=clear_ledgers,
    )
    posted = remittances.import_835(session, actor, text, file_name="demo-era.835")
    return RevenueCycle(posted, unpaid)


def _demo_era(
    session: Session,
    *,
    rng: random.Random,
    answered: Sequence[ClaimRecord],
    paid_on: date,
    clear_ledgers: frozenset[uuid.UUID] | set[uuid.UUID],
) -> str:
    """The 835 the payers send back for the claims they answered, one of them denied."""
    denied = rng.randrange(len(answered))
    by_payer: dict[uuid.UUID, list[tuple[Claim, Paid | Denied]]] = {}
    for index, record in enumerate(answered):
        claim = billing_service.claim_for(session, record)
        number = f"{rng.randrange(10**10, 10**11)}"
        decision: Paid | Denied
        charge = session.get(Charge, record.charge_id)
        shares = charge is not None and charge.patient_id not in clear_ledgers
        if index == denied:
            decision = Denied(number, reason="50", remark="N130")
        elif claim.coverage.filing_indicator == "MB":
            coinsurance = 20 if shares else 0
            decision = Paid(number, rng.randrange(20, 41), coinsurance_percent=coinsurance)
        else:
            copay = _copay(session, record) if shares else 0
            decision = Paid(number, rng.randrange(20, 41), copay_cents=copay)
        by_payer.setdefault(record.payer_key, []).append((claim, decision))
    remitting = []
    for payer_key, decisions in by_payer.items():
        payer = session.get(Payer, payer_key)
        assert payer is not None
        remitting.append(
            PayerRemittance(
                payer=Party(
                    payer.name,
                    payer.payer_id,
                    contact_phone=DEMO_PAYER_PHONE,
                    address=DEMO_PAYER_OFFICE,
                ),
                payer_tax_id=f"{rng.randrange(10**8, 10**9)}",
                trace_number=f"{rng.randrange(10**7, 10**8)}",
                paid_on=paid_on,
                decisions=tuple(decisions),
            )
        )
    settings = get_settings()
    return write_835(
        remitting,
        sender_id=settings.billing_receiver_id,
        receiver_id=settings.billing_submitter_id,
        control_number=rng.randrange(1, 10**6),
        created=datetime.combine(paid_on, time(6), DEMO_ZONE),
        production=settings.billing_production,
    )


def _copay(session: Session, record: ClaimRecord) -> int:
    """The visit's copay from the policy billed: the specialist's or primary care's."""
    policy = session.get(InsurancePolicy, record.policy_id)
    charge = session.get(Charge, record.charge_id)
    provider = session.get(Provider, charge.provider_id) if charge else None
    if policy is None or provider is None:
        return 0
    if provider.specialty in PRIMARY_CARE:
        return policy.copay_primary_care_cents or 0
    return policy.copay_specialist_cents or 0
