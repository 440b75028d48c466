from shared.enums import Role
from tests.fixtures.builders import create_patient


def test_register_read_and_audit(client, principals, session, cipher):
    headers = principals.staff(Role.FRONT_DESK)
    body = {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "date_of_birth": "1985-12-10",
        "sex": "female",
        "ssn": "123-45-6789",
        "phone": "(617) 555-0123",
        "address": {"line1": "1 Main St", "city": "Boston", "state": "ma", "postal_code": "02110"},
    }
    r = client.post("/api/v1/patients", json=body, headers=headers)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["ssn"] == "***-**-6789"
    assert created["phone"] == "+16175550123"
    r = client.get(f"/api/v1/patients/{created['id']}", headers=headers)
    assert r.status_code == 200
    assert r.headers["etag"] == '"1"'
    other = create_patient(session, cipher)
    r = client.get("/api/v1/patients", params={"name": "lov"}, headers=headers)
    assert [p["id"] for p in r.json()["items"]] == [created["id"]]
    assert other.id
    r = client.get("/api/v1/audit-events", headers=principals.staff(Role.ADMIN))
    assert r.status_code == 200
    actions = [e["action"] for e in r.json()["items"]]
    assert "patients.read" in actions and "patients.create" in actions
    r = client.get("/api/v1/audit-events/verify", headers=principals.staff(Role.ADMIN))
    assert r.json()["ok"] is True


def test_denied_request_is_audited_in_its_own_transaction(client, principals, session, cipher):
    patient = create_patient(session, cipher)
    r = client.get(f"/api/v1/patients/{patient.id}", headers=principals.kiosk())
    assert r.status_code == 403
    assert r.headers["content-type"] == "application/problem+json"
    events = client.get(
        "/api/v1/audit-events",
        params={"resource_id": str(patient.id)},
        headers=principals.staff(Role.ADMIN),
    ).json()["items"]
    denied = [e for e in events if e["outcome"] == "denied"]
    assert denied and denied[0]["action"] == "patients.read"
    assert denied[0]["actor_kind"] == "device" and denied[0]["status_code"] == 403
