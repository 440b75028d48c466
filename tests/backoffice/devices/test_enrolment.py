"""Enrolling a kiosk with a one-time code, and what its credential does afterwards: used
once and only once, refused when expired, reused or forged (each with its own words),
revoked at once, rotated without a visit, replaced by re-enrolment."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from backoffice.audit.models import AuditEvent
from backoffice.db import make_engine
from backoffice.devices import enrolment
from backoffice.devices.models import Device, EnrollmentCode
from backoffice.kit.columns import utcnow
from backoffice.migrate import upgrade
from shared.contracts import provisioning as contract
from shared.contracts.kiosk import KIOSK_API
from shared.device_credential import new_private_key, public_key_text, sign
from shared.enums import Role
from tests.conftest import fresh_database_url
from tests.fixtures.builders import TEST_ACTOR, create_location
from tests.fixtures.checkin import consent_form

ENROL = contract.ENROLLMENT_API
CODES = "/api/v1/devices/enrollment-codes"


@pytest.fixture
def admin(principals):
    return principals.staff(Role.ADMIN)


@pytest.fixture
def location(session):
    return create_location(session, name="Springfield Lobby")


def make_code(client, admin, location, **extra) -> str:
    body = {"location_id": str(location.id), **extra}
    r = client.post(CODES, json=body, headers=admin)
    assert r.status_code == 201, r.text
    return r.json()["code"]


def request_for(code: str, key=None, hostname: str = "kiosk-lobby", **extra) -> dict:
    key = key or new_private_key()
    return {"code": code, "public_key": public_key_text(key), "hostname": hostname, **extra}


def enrolled(client, code: str, key=None, **extra) -> dict:
    r = client.post(ENROL, json=request_for(code, key, **extra))
    assert r.status_code == 201, r.text
    return r.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def refusal(response) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body.get("reason", ""), body["detail"]


# --- the code ---------------------------------------------------------------------------------


def test_a_good_code_enrols_a_kiosk_once_and_only_once(client, admin, location, session):
    code = make_code(client, admin, location, payment_reader_id="tmr_lobby")
    assert len(code) == 14 and code[4] == code[9] == "-"
    answer = enrolled(client, code)
    me = client.get(f"{KIOSK_API}/me", headers=bearer(answer["token"]))
    assert me.status_code == 200 and me.json()["name"] == "kiosk-lobby"
    config = answer["config"]
    assert config["location_name"] == "Springfield Lobby"
    assert config["payment_reader"] == {"id": "tmr_lobby", "label": None}
    again = client.post(ENROL, json=request_for(code, hostname="another-pi"))
    status, reason, detail = refusal(again)
    assert (status, reason) == (403, "used")
    assert detail.startswith("That enrolment code was already used (")
    assert "ask an admin for a new one" in detail
    session.expire_all()
    assert len(session.exec(select(Device).where(Device.kind == "kiosk")).all()) == 1
    stored = session.exec(select(EnrollmentCode)).one()
    assert code.replace("-", "") not in str(stored.model_dump())  # only its digest is kept


def test_a_code_typed_loosely_still_works(client, admin, location):
    code = make_code(client, admin, location)
    typed = code.replace("-", " ").lower().replace("0", "o").replace("1", "l")
    assert enrolled(client, typed)["device_name"] == "kiosk-lobby"


def test_an_expired_code_is_refused_and_says_when_it_expired(client, admin, location, session):
    code = make_code(client, admin, location)
    stored = session.exec(select(EnrollmentCode)).one()
    stored.expires_at = utcnow() - timedelta(minutes=1)
    session.add(stored)
    session.commit()
    status, reason, detail = refusal(client.post(ENROL, json=request_for(code)))
    assert (status, reason) == (403, "expired")
    assert detail.startswith("That enrolment code expired at ") and "UTC" in detail


@pytest.mark.parametrize("forged", ["ABCD-EFGH-JKMN", "0000-0000-0000", "not a code", "X" * 40])
def test_a_forged_code_is_refused_and_the_attempt_audited(client, admin, location, session, forged):
    make_code(client, admin, location)
    status, reason, detail = refusal(client.post(ENROL, json=request_for(forged)))
    assert (status, reason) == (403, "invalid")
    assert detail == (
        "That enrolment code is not valid: check it against the one the admin gave you."
    )
    session.expire_all()
    denied = session.exec(select(AuditEvent).where(AuditEvent.action == "devices.enrol")).all()
    assert [e.outcome for e in denied] == ["denied"]
    assert not session.exec(select(Device).where(Device.kind == "kiosk")).all()


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_racing_enrolments_with_one_code_enrol_one_kiosk(backend, tmp_path):
    """Eight kiosks at once with the same code, each in its own transaction: one wins."""
    engine = make_engine(fresh_database_url(backend, tmp_path, "enrol_race"))
    upgrade(engine)
    with Session(engine, expire_on_commit=False) as session:
        place = create_location(session)
        _, code = enrolment.create_enrollment_code(
            session, actor=TEST_ACTOR, location_id=place.id, now=utcnow()
        )
        session.commit()
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def attempt(n: int) -> None:
        request = contract.EnrollmentRequest.model_validate(request_for(code, hostname=f"pi-{n}"))
        with Session(engine) as session:
            barrier.wait()
            try:
                enrolment.enrol(session, request=request, origin=TEST_ACTOR.origin, now=utcnow())
                session.commit()
                outcomes.append("enrolled")
            except enrolment.EnrollmentRefused as refused:
                session.rollback()
                outcomes.append(refused.extensions["reason"])
            except OperationalError:  # SQLite: "database is locked" is a refusal too
                session.rollback()
                outcomes.append("used")

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with Session(engine) as session:
        kiosks = session.exec(select(Device).where(Device.kind == "kiosk")).all()
    engine.dispose()
    assert sorted(outcomes) == ["enrolled"] + ["used"] * 7
    assert len(kiosks) == 1


def test_making_a_code_needs_a_real_location_and_a_sane_lifetime(client, admin):
    r = client.post(
        CODES, json={"location_id": str(uuid.uuid4()), "expires_in_minutes": 2}, headers=admin
    )
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert "expires_in_minutes" in fields


# --- revocation -------------------------------------------------------------------------------


def test_a_revoked_kiosk_is_refused_on_its_next_call(client, admin, location):
    answer = enrolled(client, make_code(client, admin, location))
    kiosk = bearer(answer["token"])
    assert client.get(f"{KIOSK_API}/config", headers=kiosk).status_code == 200
    r = client.post(f"/api/v1/devices/{answer['device_id']}/revoke", headers=admin)
    assert r.status_code == 200 and r.json()["revoked_at"]
    refused = client.get(f"{KIOSK_API}/config", headers=kiosk)
    assert refused.status_code == 401
    assert refused.json()["detail"].startswith("This device was revoked (")


# --- rotation ---------------------------------------------------------------------------------


def rotate(client, token: str, device_id: str, key, new_key) -> dict:
    kiosk = bearer(token)
    challenge = client.post(f"{contract.CREDENTIAL_API}/challenge", headers=kiosk).json()
    new_public = public_key_text(new_key)
    message = contract.rotation_message(uuid.UUID(device_id), challenge["challenge"], new_public)
    body = {
        "challenge": challenge["challenge"],
        "public_key": new_public,
        "signature": sign(key, message),
    }
    return client.post(contract.CREDENTIAL_API, json=body, headers=kiosk)


def test_rotation_asked_by_an_admin_keeps_the_kiosk_working(client, admin, location, session):
    key = new_private_key()
    answer = enrolled(client, make_code(client, admin, location), key)
    old = answer["token"]
    beat = {"app_version": "1.0", "outbox_pending": 0, "outbox_held": 0}
    first = client.post(f"{KIOSK_API}/heartbeat", json=beat, headers=bearer(old)).json()
    assert first["rotate_credential"] is False
    asked = client.post(f"/api/v1/devices/{answer['device_id']}/rotate-credential", headers=admin)
    assert asked.status_code == 202 and asked.json()["rotation_requested_at"]
    said = client.post(f"{KIOSK_API}/heartbeat", json=beat, headers=bearer(old)).json()
    assert said["rotate_credential"] is True

    new_key = new_private_key()
    r = rotate(client, old, answer["device_id"], key, new_key)
    assert r.status_code == 200, r.text
    new = r.json()["token"]
    # The old token still works (the answer might have been lost) until the new one is used.
    assert client.get(f"{KIOSK_API}/me", headers=bearer(old)).status_code == 200
    after = client.post(f"{KIOSK_API}/heartbeat", json=beat, headers=bearer(new)).json()
    assert after["rotate_credential"] is False
    assert client.get(f"{KIOSK_API}/me", headers=bearer(old)).status_code == 401
    # The next rotation needs the new key: the old one no longer proves anything.
    assert rotate(client, new, answer["device_id"], key, new_private_key()).status_code == 401
    assert rotate(client, new, answer["device_id"], new_key, new_key).status_code == 200


def test_a_rotation_signed_with_another_key_or_a_stale_challenge_is_refused(
    client, admin, location, session
):
    key = new_private_key()
    answer = enrolled(client, make_code(client, admin, location), key)
    token, device_id = answer["token"], answer["device_id"]
    r = rotate(client, token, device_id, new_private_key(), new_private_key())
    assert r.status_code == 401 and "signature does not match" in r.json()["detail"]
    kiosk = bearer(token)
    challenge = client.post(f"{contract.CREDENTIAL_API}/challenge", headers=kiosk).json()
    device = session.get(Device, uuid.UUID(device_id))
    session.refresh(device)
    device.challenge_expires_at = utcnow() - timedelta(seconds=1)
    session.add(device)
    session.commit()
    public = public_key_text(key)
    message = contract.rotation_message(uuid.UUID(device_id), challenge["challenge"], public)
    body = {
        "challenge": challenge["challenge"],
        "public_key": public,
        "signature": sign(key, message),
    }
    assert client.post(contract.CREDENTIAL_API, json=body, headers=kiosk).status_code == 401
    assert client.get(f"{KIOSK_API}/me", headers=kiosk).status_code == 200  # nothing changed


# --- re-enrolment -----------------------------------------------------------------------------


def test_re_enrolling_with_the_old_key_keeps_the_device_and_ends_the_old_token(
    client, admin, location
):
    old_key = new_private_key()
    first = enrolled(client, make_code(client, admin, location), old_key)
    code = make_code(client, admin, location)
    new_key = new_private_key()
    message = contract.reenrolment_message(
        uuid.UUID(first["device_id"]), code, public_key_text(new_key)
    )
    second = enrolled(
        client,
        code,
        new_key,
        previous_device_id=first["device_id"],
        previous_signature=sign(old_key, message),
    )
    assert second["device_id"] == first["device_id"]
    assert client.get(f"{KIOSK_API}/me", headers=bearer(first["token"])).status_code == 401
    assert client.get(f"{KIOSK_API}/me", headers=bearer(second["token"])).status_code == 200


def test_a_claim_to_be_another_kiosk_without_its_key_makes_a_new_kiosk(client, admin, location):
    first = enrolled(client, make_code(client, admin, location))
    code = make_code(client, admin, location)
    key = new_private_key()
    forged = sign(new_private_key(), b"anything")
    second = enrolled(
        client, code, key, previous_device_id=first["device_id"], previous_signature=forged
    )
    assert second["device_id"] != first["device_id"]
    assert second["device_name"] == "kiosk-lobby-2"
    assert client.get(f"{KIOSK_API}/me", headers=bearer(first["token"])).status_code == 200


def test_a_code_for_a_replaced_sd_card_enrols_into_the_same_kiosk(client, admin, location):
    first = enrolled(client, make_code(client, admin, location))
    client.post(f"/api/v1/devices/{first['device_id']}/revoke", headers=admin)
    code = make_code(client, admin, location, device_id=first["device_id"])
    second = enrolled(client, code, hostname="raspberrypi")
    assert (second["device_id"], second["device_name"]) == (first["device_id"], "kiosk-lobby")
    assert client.get(f"{KIOSK_API}/me", headers=bearer(second["token"])).status_code == 200
    assert client.get(f"{KIOSK_API}/me", headers=bearer(first["token"])).status_code == 401


# --- remote configuration and the fleet -------------------------------------------------------


def test_an_admins_configuration_reaches_the_kiosk_through_its_heartbeat(
    client, admin, location, session
):
    consent_form(session, code="privacy")
    consent_form(session, code="telehealth")
    answer = enrolled(client, make_code(client, admin, location))
    kiosk = bearer(answer["token"])
    config = client.get(f"{KIOSK_API}/config", headers=kiosk).json()
    assert config["languages"] == ["en", "es"] and config["idle_timeout_seconds"] == 90
    assert config["consent_documents"] == ["privacy", "telehealth"]
    beat = {"app_version": "1.0", "outbox_pending": 0, "outbox_held": 0}
    before = client.post(f"{KIOSK_API}/heartbeat", json=beat, headers=kiosk).json()
    assert before["config_version"] == config["version"]

    change = {
        "languages": ["es", "en"],
        "consent_documents": ["telehealth"],
        "idle_timeout_seconds": 120,
        "payment_reader_id": "tmr_new",
    }
    r = client.patch(f"/api/v1/devices/{answer['device_id']}/config", json=change, headers=admin)
    assert r.status_code == 200, r.text
    after = client.post(f"{KIOSK_API}/heartbeat", json=beat, headers=kiosk).json()
    assert after["config_version"] != before["config_version"]
    pulled = client.get(f"{KIOSK_API}/config", headers=kiosk).json()
    assert pulled["version"] == after["config_version"]
    assert (pulled["languages"], pulled["consent_documents"], pulled["idle_timeout_seconds"]) == (
        ["es", "en"],
        ["telehealth"],
        120,
    )
    assert pulled["payment_reader"]["id"] == "tmr_new"
    forms = client.get(f"{KIOSK_API}/consent-documents", headers=kiosk).json()["documents"]
    assert [d["code"] for d in forms] == ["telehealth"]


def test_a_configuration_the_kiosk_cannot_use_is_refused_by_field(client, admin, location):
    answer = enrolled(client, make_code(client, admin, location))
    change = {"languages": ["fr"], "consent_documents": ["nope"], "idle_timeout_seconds": 10}
    r = client.patch(f"/api/v1/devices/{answer['device_id']}/config", json=change, headers=admin)
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"idle_timeout_seconds"}
    change["idle_timeout_seconds"] = 60
    r = client.patch(f"/api/v1/devices/{answer['device_id']}/config", json=change, headers=admin)
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"languages", "consent_documents"}


def test_the_fleet_list_flags_kiosks_gone_silent(client, admin, location, session):
    quiet = enrolled(client, make_code(client, admin, location), hostname="quiet-pi")
    busy = enrolled(client, make_code(client, admin, location), hostname="busy-pi")
    beat = {
        "app_version": "2.1",
        "outbox_pending": 0,
        "outbox_held": 0,
        "uptime_seconds": 3600,
        "disk_free_bytes": 5_000_000_000,
        "disk_total_bytes": 30_000_000_000,
        "clock_offset_ms": -120,
    }
    client.post(f"{KIOSK_API}/heartbeat", json=beat, headers=bearer(busy["token"]))
    device = session.get(Device, uuid.UUID(quiet["device_id"]))
    session.refresh(device)
    device.last_seen_at = utcnow() - timedelta(minutes=12)
    session.add(device)
    session.commit()
    fleet = client.get("/api/v1/devices", params={"kind": "kiosk"}, headers=admin).json()["items"]
    by_name = {d["name"]: d for d in fleet}
    assert by_name["quiet-pi"]["silent"] is True and by_name["busy-pi"]["silent"] is False
    assert by_name["busy-pi"]["heartbeat"]["clock_offset_ms"] == -120
    assert by_name["busy-pi"]["hostname"] == "busy-pi" and by_name["busy-pi"]["enrolled_at"]
    silent = client.get("/api/v1/devices", params={"silent": "true"}, headers=admin).json()
    assert [d["name"] for d in silent["items"]] == ["quiet-pi"]


def test_a_kiosk_that_lost_its_new_token_is_asked_to_rotate_again_with_its_old_key(
    client, admin, location
):
    key = new_private_key()
    answer = enrolled(client, make_code(client, admin, location), key)
    old, device_id = answer["token"], answer["device_id"]
    client.post(f"/api/v1/devices/{device_id}/rotate-credential", headers=admin)
    lost = rotate(client, old, device_id, key, new_private_key())
    assert lost.status_code == 200  # ...but the answer never reached the kiosk
    beat = {"app_version": "1.0", "outbox_pending": 0, "outbox_held": 0}
    said = client.post(f"{KIOSK_API}/heartbeat", json=beat, headers=bearer(old)).json()
    assert said["rotate_credential"] is True  # it is still on the old token: rotate again
    again = rotate(client, old, device_id, key, new_private_key())
    assert again.status_code == 200, again.text
    token = again.json()["token"]
    assert client.get(f"{KIOSK_API}/me", headers=bearer(lost.json()["token"])).status_code == 401
    after = client.post(f"{KIOSK_API}/heartbeat", json=beat, headers=bearer(token)).json()
    assert after["rotate_credential"] is False
    assert client.get(f"{KIOSK_API}/me", headers=bearer(old)).status_code == 401
