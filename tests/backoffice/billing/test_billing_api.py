"""The billing API end to end, as staff use it: a provider captures the visit's charge, a
biller reviews it, makes and submits the claim (the 837P passes pyx12), posts the payer's
835, works the denial, checks eligibility, and reads A/R, statements and payment plans."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from backoffice.billing.models import Denial, EligibilityCheck, Payer, Remittance
from backoffice.billing.x12.validate import validate_x12
from backoffice.payments import ledger
from backoffice.settings import Settings
from shared.enums import Role
from tests.conftest import bound_to
from tests.fixtures.billing import (
    completed_visit,
    create_payer,
    create_standard_fees,
    remittance_835,
    submitted_claim,
)
from tests.fixtures.clearinghouse_fake import CannedBenefits, FakeClearinghouse

API = "/api/v1"


@pytest.fixture(scope="module")
def clearinghouse():
    with FakeClearinghouse() as fake:
        yield fake


@pytest.fixture
def settings(clearinghouse) -> Settings:
    return Settings(
        eligibility_url=clearinghouse.url,
        eligibility_username=clearinghouse.username,
        eligibility_password=clearinghouse.password,
        eligibility_timeout_seconds=2,
    )


@pytest.fixture
def payer(session: Session) -> Payer:
    create_standard_fees(session)
    return create_payer(session, eligibility_supported=True)


def as_(principals, role: Role) -> dict[str, str]:
    return principals.staff(role)


def test_a_visit_goes_from_charge_to_submitted_claim(
    client: TestClient, session, cipher, principals, payer
) -> None:
    visit = completed_visit(session, cipher)
    captured = client.post(
        f"{API}/appointments/{visit.appointment.id}/charge",
        json={
            "diagnoses": ["E11.9", "I10"],
            "procedures": [
                {"procedure_code": "36415", "diagnosis_pointers": [1]},
                {"procedure_code": "81002", "units": 1, "diagnosis_pointers": [1, 2]},
            ],
        },
        headers=as_(principals, Role.PROVIDER),
    )
    assert captured.status_code == 201, captured.text
    charge = captured.json()
    assert charge["status"] == "draft"
    assert [line["procedure_code"] for line in charge["lines"]] == [
        "99203",
        "36415",
        "81002",
    ]  # a new patient, 30 minutes
    assert charge["total_cents"] == 16000 + 1500 + 1200
    assert charge["diagnoses"] == ["E119", "I10"]

    queue = client.get(
        f"{API}/billing/charges", params={"status": "draft"}, headers=as_(principals, Role.BILLING)
    ).json()
    assert [c["id"] for c in queue["items"]] == [charge["id"]]

    reviewed = client.post(
        f"{API}/billing/charges/{charge['id']}/review", headers=as_(principals, Role.BILLING)
    )
    assert reviewed.json()["status"] == "reviewed"
    assert reviewed.json()["reviewed_by"] is not None

    made = client.post(f"{API}/billing/claims/make", headers=as_(principals, Role.BILLING))
    assert made.status_code == 200, made.text
    assert (made.json()["ready"], made.json()["held"], made.json()["skipped"]) == (1, 0, [])

    sent = client.post(f"{API}/billing/claims/submit", headers=as_(principals, Role.BILLING))
    assert sent.status_code == 200, sent.text
    assert sent.json()["claim_count"] == 1
    file = client.get(
        f"{API}/billing/claim-batches/{sent.json()['batch_id']}/837p",
        headers=as_(principals, Role.BILLING),
    )
    assert file.status_code == 200
    assert file.headers["content-type"] == "application/edi-x12"
    assert sent.json()["file_name"] in file.headers["content-disposition"]
    assert validate_x12(file.text) == []
    assert "CLM*" + made.json()["claims"][0]["patient_control_number"] in file.text

    again = client.post(f"{API}/billing/claims/submit", headers=as_(principals, Role.BILLING))
    assert again.json() == {
        "claim_count": 0,
        "batch_id": None,
        "interchange_control_number": None,
        "file_name": None,
    }
    submitted = client.get(
        f"{API}/billing/claims",
        params={"status": "submitted"},
        headers=as_(principals, Role.BILLING),
    ).json()
    assert len(submitted["items"]) == 1


def test_a_charge_with_bad_codes_is_refused_with_the_fields_named(
    client, session, cipher, principals, payer
) -> None:
    visit = completed_visit(session, cipher)
    refused = client.post(
        f"{API}/appointments/{visit.appointment.id}/charge",
        json={"diagnoses": ["E11"], "procedures": []},  # a category, not a billable code
        headers=as_(principals, Role.PROVIDER),
    )
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert any(e["field"].startswith("diagnoses") for e in refused.json()["errors"])


def test_a_held_claim_is_scrubbed_again_once_fixed(
    client, session, cipher, principals, payer
) -> None:
    visit = completed_visit(session, cipher)
    good_npi = visit.provider.npi
    visit.provider.npi = good_npi[:-1] + str((int(good_npi[-1]) + 1) % 10)  # a slip
    session.add(visit.provider)
    session.commit()
    charge = client.post(
        f"{API}/appointments/{visit.appointment.id}/charge",
        json={"diagnoses": ["I10"]},
        headers=as_(principals, Role.BILLING),
    ).json()
    client.post(
        f"{API}/billing/charges/{charge['id']}/review", headers=as_(principals, Role.BILLING)
    )
    made = client.post(f"{API}/billing/claims/make", headers=as_(principals, Role.BILLING)).json()
    assert made["held"] == 1
    held = made["claims"][0]
    assert held["status"] == "held"
    assert all(f["message"] and f["where"] for f in held["findings"])
    assert any("npi" in f["message"].lower() for f in held["findings"])

    visit.provider.npi = good_npi
    session.add(visit.provider)
    session.commit()
    scrubbed = client.post(
        f"{API}/billing/claims/{held['id']}/scrub", headers=as_(principals, Role.BILLING)
    )
    assert scrubbed.status_code == 200, scrubbed.text
    assert (scrubbed.json()["status"], scrubbed.json()["findings"]) == ("ready", [])


def test_an_835_posts_and_its_denial_is_worked_through_the_api(
    client, session, cipher, principals, payer
) -> None:
    paid = submitted_claim(
        session, cipher, payer, number="FDAPI1", on=date(2026, 10, 1), lines=(("99213", (), 13000),)
    )
    denied = submitted_claim(
        session, cipher, payer, number="FDAPI2", on=date(2026, 10, 2), lines=(("99214", (), 19000),)
    )
    era = remittance_835(
        [
            "CLP*FDAPI1*1*130.00*80.00*20.00*12*PAYER1~CAS*CO*45*30.00~CAS*PR*2*20.00~",
            "CLP*FDAPI2*4*190.00*0.00**12*PAYER2~CAS*CO*50*190.00~",
        ]
    )
    headers = as_(principals, Role.BILLING) | {"Content-Type": "application/edi-x12"}
    posted = client.post(f"{API}/billing/remittances", content=era, headers=headers)
    assert posted.status_code == 201, posted.text
    assert (posted.json()["payment_cents"], posted.json()["paid"], posted.json()["denied"]) == (
        8000,
        1,
        1,
    )
    assert ledger.balance(session, patient_id=paid.patient_id) == 2000

    again = client.post(f"{API}/billing/remittances", content=era, headers=headers)
    assert again.status_code == 409

    worklist = client.get(f"{API}/billing/denials", headers=as_(principals, Role.BILLING)).json()
    assert [g["reason"] for g in worklist] == ["50"]
    item = worklist[0]["items"][0]
    assert item["claim_id"] == str(denied.claim_id)
    assert "necess" in worklist[0]["explanation"].lower()

    note = client.post(
        f"{API}/billing/denials/{item['denial_id']}/notes",
        json={"text": "Sent the visit notes to the payer", "appeal": True},
        headers=as_(principals, Role.BILLING),
    )
    assert note.status_code == 201
    replacement = client.post(
        f"{API}/billing/denials/{item['denial_id']}/resubmit",
        json={"frequency_code": "7"},
        headers=as_(principals, Role.BILLING),
    )
    assert replacement.status_code == 201, replacement.text
    assert replacement.json()["frequency_code"] == "7"
    assert replacement.json()["payer_claim_number"] == "PAYER2"
    assert replacement.json()["patient_control_number"] == "FDAPI2R1"
    assert session.get(Denial, uuid.UUID(item["denial_id"])).status == "resubmitted"
    twice = client.post(
        f"{API}/billing/denials/{item['denial_id']}/resubmit",
        json={"frequency_code": "7"},
        headers=as_(principals, Role.BILLING),
    )
    assert twice.status_code == 409


@pytest.mark.parametrize(
    ("content", "content_type", "status", "words"),
    [
        ("ISA*00*trunc", "application/edi-x12", 400, "ISA"),
        ("", "application/edi-x12", 422, "empty"),
        ("{}", "application/json", 422, "edi-x12"),
    ],
)
def test_a_bad_835_posts_nothing(
    client, session, principals, content, content_type, status, words
) -> None:
    response = client.post(
        f"{API}/billing/remittances",
        content=content.encode(),
        headers=as_(principals, Role.BILLING) | {"Content-Type": content_type},
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert words.lower() in response.text.lower()
    assert session.exec(select(Remittance)).all() == []


def test_eligibility_is_checked_and_recorded_even_when_the_payer_is_down(
    client, session, cipher, principals, payer, clearinghouse
) -> None:
    visit = completed_visit(session, cipher, policy={"member_id": "W555000111"})
    clearinghouse.members["W555000111"] = CannedBenefits(copay="30.00")
    clearinghouse.mode = "ok"
    url = f"{API}/policies/{visit.policy.id}/eligibility"
    checked = client.post(url, headers=as_(principals, Role.FRONT_DESK))
    assert checked.status_code == 201, checked.text
    assert (checked.json()["outcome"], checked.json()["copay_cents"]) == ("active", 3000)
    assert "coverage active" in checked.json()["summary"]

    clearinghouse.mode = "500"
    try:
        down = client.post(url, headers=as_(principals, Role.FRONT_DESK))
    finally:
        clearinghouse.mode = "ok"
    assert down.status_code == 201
    assert down.json()["outcome"] == "server_error"
    history = client.get(url, headers=as_(principals, Role.FRONT_DESK)).json()
    assert [c["outcome"] for c in history] == ["server_error", "active"]
    assert len(session.exec(select(EligibilityCheck)).all()) == 2


def test_eligibility_without_a_clearinghouse_says_how_to_set_it_up(
    session, cipher, database, connection
) -> None:
    from backoffice.app import create_app
    from tests.fixtures.builders import Principals

    app = bound_to(create_app(Settings(), engine=database.engine), connection)
    visit = completed_visit(session, cipher)
    headers = Principals(session=session, signing_key=app.state.signing_key).staff(Role.BILLING)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post(f"{API}/policies/{visit.policy.id}/eligibility", headers=headers)
    assert response.status_code == 409
    assert response.json()["code"] == "eligibility-not-set-up"
    assert "FRONTDESK_ELIGIBILITY_URL" in response.json()["detail"]


def test_ar_statement_and_payment_plan(client, session, cipher, principals, payer) -> None:
    billed = submitted_claim(
        session,
        cipher,
        payer,
        number="FDAPI3",
        on=date.today() - timedelta(days=45),
        lines=(("99214", (), 19000),),
    )
    ledger.post(
        session,
        patient_id=billed.patient_id,
        kind=ledger.EntryKind.CHARGE,
        amount_cents=4500,
        description="Coinsurance",
        entry_key=f"test-{billed.claim_id}",
    )
    session.commit()
    headers = as_(principals, Role.BILLING)
    ar = client.get(f"{API}/billing/ar", headers=headers)
    assert ar.status_code == 200, ar.text
    aging = ar.json()
    assert aging["buckets"] == ["0-30", "31-60", "61-90", "91-120", "120+"]
    by_payer = {row["name"]: row for row in aging["by_payer"]}
    assert by_payer["Aetna"]["buckets_cents"][1] == 19000
    assert aging["totals"]["total_cents"] == sum(row["total_cents"] for row in aging["by_payer"])

    patient_id = billed.patient_id
    pdf = client.get(f"{API}/patients/{patient_id}/statement", headers=headers)
    assert (pdf.status_code, pdf.headers["content-type"]) == (200, "application/pdf")
    assert pdf.content.startswith(b"%PDF")
    data = client.get(
        f"{API}/patients/{patient_id}/statement", params={"format": "json"}, headers=headers
    ).json()
    assert data["balance"] == "45.00"
    csv = client.get(
        f"{API}/patients/{patient_id}/statement", params={"format": "csv"}, headers=headers
    )
    assert csv.text.splitlines()[-1].endswith("Balance due,balance,45.00,yes")

    too_much = client.post(
        f"{API}/patients/{patient_id}/payment-plans",
        json={"total_cents": 9000, "instalments": 3, "first_due": "2027-01-31"},
        headers=headers,
    )
    assert too_much.status_code == 400
    plan = client.post(
        f"{API}/patients/{patient_id}/payment-plans",
        json={"total_cents": 4500, "instalments": 4, "first_due": "2027-01-31"},
        headers=headers,
    )
    assert plan.status_code == 201, plan.text
    instalments = plan.json()["instalments"]
    assert [i["amount_cents"] for i in instalments] == [1125, 1125, 1125, 1125]
    assert [i["due_date"] for i in instalments][:2] == ["2027-01-31", "2027-02-28"]
    listed = client.get(f"{API}/patients/{patient_id}/payment-plans", headers=headers).json()
    assert [p["id"] for p in listed] == [plan.json()["id"]]


def test_payers_and_fees_are_kept_by_billing(client, session, principals, payer) -> None:
    headers = as_(principals, Role.BILLING)
    added = client.post(
        f"{API}/billing/payers",
        json={"payer_id": "62308", "name": "Cigna", "eligibility_supported": True},
        headers=headers,
    )
    assert added.status_code == 201, added.text
    taken = client.post(
        f"{API}/billing/payers", json={"payer_id": "62308", "name": "Cigna"}, headers=headers
    )
    assert taken.status_code == 409
    changed = client.put(
        f"{API}/billing/payers/{added.json()['id']}",
        json={
            "name": "Cigna HealthCare",
            "eligibility_supported": False,
            "timely_filing_days": 180,
            "filing_indicator": "CI",
        },
        headers=headers,
    )
    assert changed.json()["timely_filing_days"] == 180
    fee = client.post(
        f"{API}/billing/fees",
        json={
            "procedure_code": "99213",
            "amount_cents": 14000,
            "effective_from": "2026-07-01",
            "payer_id": "62308",
        },
        headers=headers,
    )
    assert fee.status_code == 201, fee.text
    same_day = client.post(
        f"{API}/billing/fees",
        json={
            "procedure_code": "99213",
            "amount_cents": 14500,
            "effective_from": "2026-07-01",
            "payer_id": "62308",
        },
        headers=headers,
    )
    assert same_day.status_code == 409
    standard_twice = client.post(
        f"{API}/billing/fees",
        json={"procedure_code": "99213", "amount_cents": 1, "effective_from": "2026-01-01"},
        headers=headers,
    )
    assert standard_twice.status_code == 409  # the standard fee from create_standard_fees
    cigna = client.get(f"{API}/billing/fees", params={"payer_id": "62308"}, headers=headers)
    assert [(f["procedure_code"], f["amount_cents"]) for f in cigna.json()] == [("99213", 14000)]
    codes = client.get(f"{API}/billing/fees", params={"procedure_code": "99213"}, headers=headers)
    assert [f["amount_cents"] for f in codes.json()] == [13000, 14000]  # standard first
