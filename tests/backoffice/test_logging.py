"""PHI never reaches the logs: not from the access log, not from errors."""

import logging

import pytest

from shared.enums import Role

PATIENT = {
    "first_name": "Philippa",
    "last_name": "Quixotelogtest",
    "date_of_birth": "1961-07-19",
    "sex": "female",
    "ssn": "219-09-9999",
    "phone": "617-555-0187",
    "email": "philippa.q@example.com",
}
PHI_VALUES = [
    "Philippa",
    "Quixotelogtest",
    "1961-07-19",
    "219-09-9999",
    "219099999",
    "5550187",
    "philippa.q",
]


@pytest.fixture
def captured(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


def test_registration_search_and_errors_log_no_phi(client, principals, captured):
    headers = principals.staff(Role.FRONT_DESK)
    created = client.post("/api/v1/patients", json=PATIENT, headers=headers)
    assert created.status_code == 201
    patient_id = created.json()["id"]
    client.get(
        "/api/v1/patients",
        params={"name": "Quixotelogtest, Phil", "date_of_birth": "1961-07-19"},
        headers=headers,
    )
    client.get("/api/v1/patients", params={"phone": "617-555-0187"}, headers=headers)
    client.post(
        "/api/v1/patients", json={**PATIENT, "date_of_birth": "not-1961-07-19"}, headers=headers
    )
    client.post("/api/v1/patients", json=PATIENT, headers=headers)  # duplicate: 409
    client.get(f"/api/v1/patients/{patient_id}", headers=principals.kiosk())  # 403

    # httpx here is the test's own client, which logs the URLs it calls; the server's
    # records are everything else.
    text = "\n".join(r.getMessage() for r in captured.records if not r.name.startswith("httpx"))
    assert "/api/v1/patients" in text  # the access log did run
    assert "{patient_id}" in text or patient_id not in text
    leaked = [value for value in PHI_VALUES if value in text]
    assert leaked == []


def test_access_log_names_the_route_template_not_the_record(
    client, principals, session, cipher, captured
):
    from tests.fixtures.builders import create_patient

    patient = create_patient(session, cipher)
    client.get(f"/api/v1/patients/{patient.id}", headers=principals.staff(Role.NURSE))
    access = [r.getMessage() for r in captured.records if r.name == "frontdesk.access"]
    assert any(line.startswith("GET /api/v1/patients/{patient_id} 200") for line in access)
    assert all(str(patient.id) not in line for line in access)
