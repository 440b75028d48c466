"""The demo clinic: believable, consistent, and bookable."""

import itertools
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from backoffice import demo
from backoffice.billing import remittances
from backoffice.billing import service as billing_service
from backoffice.billing.models import ClaimRecord
from backoffice.billing.statements import aging_report
from backoffice.billing.x12.validate import validate_x12
from backoffice.clinic.models import Provider
from backoffice.patients.models import Patient
from backoffice.payments.models import LedgerEntry
from backoffice.scheduling import service as scheduling_service
from backoffice.scheduling.models import LIVE_STATUSES, Appointment, AppointmentType
from tests.fixtures.builders import TEST_ACTOR

TODAY = date(2027, 3, 10)  # a Wednesday, so the month around it crosses a DST change


def test_the_demo_clinic_is_consistent_and_has_open_slots(session, cipher):
    summary = demo.seed(session, cipher=cipher, actor=TEST_ACTOR, seed=7, patients=20, today=TODAY)
    assert "20 patients" in summary
    appointments = session.exec(select(Appointment)).all()
    statuses = {a.status for a in appointments}
    assert {"completed", "no_show", "cancelled", "scheduled", "confirmed"} <= statuses
    assert all(
        a.status in ("completed", "no_show", "cancelled")
        for a in appointments
        if a.starts_at.date() < TODAY - timedelta(days=1)
    )
    live = sorted(
        (a for a in appointments if a.status in LIVE_STATUSES),
        key=lambda a: (a.provider_id, a.lane, a.blocked_start),
    )
    # The patients due soon sit in lane 1, beside the template's bookings, as overbookings do.
    overlaps = [
        (a.id, b.id)
        for a, b in itertools.pairwise(live)
        if (a.provider_id, a.lane) == (b.provider_id, b.lane) and b.blocked_start < a.blocked_end
    ]
    assert overlaps == []
    provider = session.exec(select(Provider).order_by(col(Provider.last_name))).first()
    kind = session.exec(select(AppointmentType).where(AppointmentType.code == "FU")).one()
    zone = ZoneInfo("America/New_York")
    monday = TODAY + timedelta(days=5)
    slots = scheduling_service.search_slots(
        session,
        appointment_type_id=kind.id,
        provider_id=provider.id,
        start=datetime.combine(monday, time(0), tzinfo=zone),
        end=datetime.combine(monday + timedelta(days=1), time(0), tzinfo=zone),
        now=datetime.combine(TODAY, time(12), tzinfo=zone),
    )
    assert slots
    assert all(time(8) <= s.start.astimezone(zone).time() < time(17) for s in slots)


def test_seeding_twice_does_nothing(session, cipher):
    demo.seed(session, cipher=cipher, actor=TEST_ACTOR, seed=7, patients=3, today=TODAY)
    again = demo.seed(session, cipher=cipher, actor=TEST_ACTOR, seed=7, patients=3, today=TODAY)
    assert again == "demo data already present; nothing to do"


def test_late_in_the_evening_the_patients_due_soon_are_still_due_today(session, cipher):
    """The kiosk finds today's appointments only: at 23:10 in New York the six must not
    spill past midnight (they start earlier instead, and arrive late)."""
    demo.seed(session, cipher=cipher, actor=TEST_ACTOR, seed=7, patients=12, today=TODAY)
    providers = list(session.exec(select(Provider).order_by(col(Provider.last_name))))
    providers = [p for p in providers if p.locations][:2]
    zone = ZoneInfo(providers[0].locations[0].timezone)
    late = datetime.combine(TODAY, time(23, 10), tzinfo=zone)
    patients = [a.patient_id for a in session.exec(select(Appointment).limit(6))]
    people = [session.get(Patient, pid) for pid in patients]
    demo._seed_arrivals_to_come(session, providers=providers, patients=people, now=late)
    session.flush()
    due = session.exec(
        select(Appointment).where(
            Appointment.lane == 1, col(Appointment.starts_at) >= late - timedelta(hours=3)
        )
    ).all()
    assert len(due) >= 6
    assert all(a.starts_at.astimezone(zone).date() == TODAY for a in due)


def test_the_demo_has_claims_paid_one_denied_and_some_still_out(session, cipher, monkeypatch):
    """A fresh demo's billing console has something to show: an ERA posted for older claims
    (which pyx12 accepts), one denial on the worklist, and money still owed by payers."""
    posted: list[str] = []
    real_import = remittances.import_835

    def keep_the_era(session, actor, text, **kwargs):
        posted.append(text)
        return real_import(session, actor, text, **kwargs)

    monkeypatch.setattr(remittances, "import_835", keep_the_era)
    summary = demo.seed(session, cipher=cipher, actor=TEST_ACTOR, seed=7, patients=20, today=TODAY)
    [era] = posted
    assert validate_x12(era) == []
    statuses = [c.status for c in session.exec(select(ClaimRecord))]
    assert statuses.count("denied") == 1
    assert statuses.count("paid") >= 3
    assert statuses.count("submitted") >= 1  # not answered yet
    paid = statuses.count("paid")
    assert f"an ERA posted for older claims ({paid} paid, 1 denied on the denial worklist" in (
        summary
    )
    [group] = remittances.denial_worklist(session)
    [item] = group.items
    assert (group.reason, item.remarks) == ("50", ("N130",))
    owed = aging_report(session, as_of=TODAY).by_payer
    assert owed and all(sum(buckets) > 0 for buckets in owed.values())


def test_patients_owe_their_shares_except_those_due_at_the_kiosk(session, cipher):
    """The ERA puts copays on patients' ledgers, but a kiosk try-out starts from a clear one."""
    demo.seed(session, cipher=cipher, actor=TEST_ACTOR, seed=7, patients=20, today=TODAY)
    due_soon = set(session.exec(select(Appointment.patient_id).where(Appointment.lane == 1)))
    owing = set(session.exec(select(LedgerEntry.patient_id)))
    assert len(due_soon) == demo.DEMO_ARRIVALS
    assert owing
    assert not owing & due_soon


def test_the_demo_still_bills_exactly_its_reviewed_charges(session, cipher):
    demo.seed(session, cipher=cipher, actor=TEST_ACTOR, seed=7, patients=20, today=TODAY)
    made = billing_service.make_claims(session, TEST_ACTOR, today=TODAY)
    sent = billing_service.submit(session, TEST_ACTOR, out_dir=None)
    assert (len(made.claims), made.secondary, made.held) == (demo.DEMO_CHARGED_VISITS, 0, 0)
    assert sent is not None
    assert (sent.claim_count, sent.control_number) == (demo.DEMO_CHARGED_VISITS, 2)
