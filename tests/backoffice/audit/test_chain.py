"""The audit trail: a hash chain the database keeps append-only, tamper detection, the
read API and its filters, and failed requests recorded while their work is rolled back."""

import uuid
from datetime import UTC, datetime
from typing import Annotated

import pytest
from fastapi import Depends
from sqlalchemy import text, update
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select

from backoffice.audit import service as audit_service
from backoffice.audit.models import AuditChainHead, AuditEvent
from backoffice.audit.service import compute_hash, record_event, verify_chain
from backoffice.db import SessionDep
from backoffice.security.actor import Actor
from backoffice.security.dependencies import require
from backoffice.security.permissions import Permission
from backoffice.security.principal import CLI_ORIGIN, SYSTEM
from backoffice.staff.models import StaffUser
from shared.enums import Role
from shared.errors import Conflict
from tests.fixtures.builders import bearer, create_patient, create_user

AUDIT = "/api/v1/audit-events"


def _record(session: Session, count: int, action: str = "test.event") -> list[AuditEvent]:
    events = [
        record_event(session, principal=SYSTEM, origin=CLI_ORIGIN, action=action, detail={"i": i})
        for i in range(count)
    ]
    session.commit()
    return events


def _head(session: Session) -> AuditChainHead:
    session.expire_all()
    head = session.get(AuditChainHead, 1)
    assert head is not None
    return head


def _bypass_append_only_guard(session: Session, backend: str) -> None:
    """Lift the triggers inside the test's transaction (rolled back with it), as an
    attacker with direct database access could."""
    if backend == "sqlite":
        session.execute(text("DROP TRIGGER audit_events_no_update"))
        session.execute(text("DROP TRIGGER audit_events_no_delete"))
    else:
        session.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update"))


def _tamper(session: Session, backend: str, seq: int, **values: object) -> None:
    _bypass_append_only_guard(session, backend)
    session.execute(update(AuditEvent.__table__).where(AuditEvent.seq == seq).values(**values))  # type: ignore[attr-defined]
    session.commit()
    session.expire_all()


def _remove(session: Session, backend: str, seq: int) -> None:
    _bypass_append_only_guard(session, backend)
    session.execute(text("DELETE FROM audit_events WHERE seq = :seq"), {"seq": seq})
    session.commit()
    session.expire_all()


# --- the chain -------------------------------------------------------------------------


def test_record_event_numbers_events_one_after_another(session):
    before = _head(session).seq
    events = _record(session, 4)
    assert [e.seq for e in events] == [before + 1, before + 2, before + 3, before + 4]


def test_each_event_links_to_the_hash_of_the_one_before(session):
    genesis_or_last = _head(session).hash
    events = _record(session, 3)
    assert [e.prev_hash for e in events] == [genesis_or_last, events[0].hash, events[1].hash]


def test_each_event_hash_covers_its_content_and_previous_hash(session):
    events = _record(session, 2)
    assert all(e.hash == compute_hash(e, e.prev_hash) for e in events)


def test_chain_head_names_the_last_event(session):
    events = _record(session, 3)
    head = _head(session)
    assert (head.seq, head.hash) == (events[-1].seq, events[-1].hash)


def test_verify_chain_accepts_an_intact_chain(session):
    events = _record(session, 5)
    report = verify_chain(session)
    assert report.ok, report
    assert report.events_checked == report.head_seq == events[-1].seq


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET action = 'test.rewritten' WHERE seq = :seq",
        "DELETE FROM audit_events WHERE seq = :seq",
    ],
    ids=["update", "delete"],
)
def test_database_refuses_to_change_or_remove_an_event(session, statement):
    event = _record(session, 1)[0]
    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(text(statement), {"seq": event.seq})


def test_postgresql_refuses_to_truncate_the_trail(session, database):
    if database.backend != "postgresql":
        pytest.skip("TRUNCATE is PostgreSQL's")
    _record(session, 1)
    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(text("TRUNCATE audit_events"))


# --- tampering -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"detail": {"i": 99}},
        {"actor_name": "mallory"},
        {"actor_id": str(uuid.UUID(int=7))},
        {"action": "patients.read"},
    ],
    ids=["detail", "actor_name", "actor_id", "action"],
)
def test_verify_finds_the_event_whose_content_was_changed(session, database, changes):
    events = _record(session, 5)
    _tamper(session, database.backend, events[2].seq, **changes)
    report = verify_chain(session)
    assert not report.ok
    assert report.broken_at_seq == events[2].seq
    assert report.reason == "event content was changed"


def test_verify_finds_a_changed_event_even_when_its_hash_was_recomputed(session, database):
    events = _record(session, 5)
    target, next_seq = events[2], events[3].seq
    session.expunge(target)  # a detached copy to forge with, never flushed
    target.detail = {"i": 99}
    forged = compute_hash(target, target.prev_hash)
    _tamper(session, database.backend, target.seq, detail={"i": 99}, hash=forged)
    report = verify_chain(session)
    assert not report.ok
    assert report.broken_at_seq == next_seq
    assert report.reason == "link to the previous event is broken"


def test_verify_finds_events_removed_from_the_end(session, database):
    last = _record(session, 4)[-1].seq
    _remove(session, database.backend, last)
    report = verify_chain(session)
    assert not report.ok
    assert report.broken_at_seq == last
    assert report.reason == "events were removed from the end"


def test_verify_finds_an_event_removed_from_the_middle(session, database):
    middle = _record(session, 5)[2].seq
    _remove(session, database.backend, middle)
    report = verify_chain(session)
    assert not report.ok
    assert report.broken_at_seq == middle
    assert report.reason == "an event is missing"


# --- reading the trail over HTTP ---------------------------------------------------------


def _read_patient(client, headers, patient_id) -> None:
    assert client.get(f"/api/v1/patients/{patient_id}", headers=headers).status_code == 200


def test_list_is_newest_first(client, principals, session, cipher):
    patient = create_patient(session, cipher)
    for _ in range(3):
        _read_patient(client, principals.staff(Role.FRONT_DESK), patient.id)
    items = client.get(AUDIT, headers=principals.staff(Role.ADMIN)).json()["items"]
    seqs = [e["seq"] for e in items]
    assert len(seqs) >= 4
    assert seqs == sorted(seqs, reverse=True)


def test_list_filters_by_actor_id(client, principals, session, cipher, app):
    patient = create_patient(session, cipher)
    nurse = create_user(session, Role.NURSE)
    _read_patient(client, bearer(nurse, app.state.signing_key), patient.id)
    _read_patient(client, principals.staff(Role.FRONT_DESK), patient.id)
    items = client.get(
        AUDIT, params={"actor_id": str(nurse.id)}, headers=principals.staff(Role.ADMIN)
    ).json()["items"]
    assert [(e["actor_id"], e["action"]) for e in items] == [(str(nurse.id), "patients.read")]


def test_list_filters_by_resource_id(client, principals, session, cipher):
    wanted, other = create_patient(session, cipher), create_patient(session, cipher)
    for patient in (wanted, other):
        _read_patient(client, principals.staff(Role.FRONT_DESK), patient.id)
    items = client.get(
        AUDIT, params={"resource_id": str(wanted.id)}, headers=principals.staff(Role.ADMIN)
    ).json()["items"]
    assert {e["resource_id"] for e in items} == {str(wanted.id)}
    assert {e["action"] for e in items} == {"patients.create", "patients.read"}


def test_list_filters_by_action(client, principals, session, cipher):
    patient = create_patient(session, cipher)
    _read_patient(client, principals.staff(Role.FRONT_DESK), patient.id)
    items = client.get(
        AUDIT, params={"action": "patients.read"}, headers=principals.staff(Role.ADMIN)
    ).json()["items"]
    assert items
    assert {e["action"] for e in items} == {"patients.read"}


def test_list_filters_by_outcome(client, principals, session, cipher):
    patient = create_patient(session, cipher)
    _read_patient(client, principals.staff(Role.FRONT_DESK), patient.id)
    denied = client.get(f"/api/v1/patients/{patient.id}", headers=principals.kiosk())
    assert denied.status_code == 403
    items = client.get(
        AUDIT, params={"outcome": "denied"}, headers=principals.staff(Role.ADMIN)
    ).json()["items"]
    assert [(e["outcome"], e["action"]) for e in items] == [("denied", "patients.read")]


def test_list_filters_by_since(client, principals, session, monkeypatch):
    clock = {"now": datetime(2099, 1, 1, 9, 0, tzinfo=UTC)}
    monkeypatch.setattr(audit_service, "utcnow", lambda: clock["now"])
    _record(session, 1, action="test.before")
    clock["now"] = datetime(2099, 1, 1, 11, 0, tzinfo=UTC)
    _record(session, 1, action="test.after")
    since = datetime(2099, 1, 1, 10, 0, tzinfo=UTC).isoformat()
    items = client.get(AUDIT, params={"since": since}, headers=principals.staff(Role.ADMIN)).json()[
        "items"
    ]
    assert [e["action"] for e in items] == ["test.after"]


def test_reading_the_trail_is_itself_recorded(client, principals, session, app):
    auditor = create_user(session, Role.ADMIN)
    headers = bearer(auditor, app.state.signing_key)
    resource = str(uuid.uuid4())
    assert client.get(AUDIT, params={"resource_id": resource}, headers=headers).status_code == 200
    items = client.get(AUDIT, params={"action": "audit.list"}, headers=headers).json()["items"]
    assert [(e["actor_id"], e["detail"]["resource_id"]) for e in items] == [
        (str(auditor.id), resource)
    ]


def test_staff_without_audit_permission_cannot_read_the_trail(client, principals):
    assert client.get(AUDIT, headers=principals.staff(Role.FRONT_DESK)).status_code == 403


def test_verify_endpoint_reports_an_intact_chain(client, principals, session):
    events = _record(session, 3)
    body = client.get(f"{AUDIT}/verify", headers=principals.staff(Role.ADMIN)).json()
    assert body == {
        "ok": True,
        "events_checked": events[-1].seq,
        "head_seq": events[-1].seq,
        "broken_at_seq": None,
        "reason": None,
    }


def test_verify_endpoint_reports_where_the_chain_breaks(client, principals, session, database):
    events = _record(session, 3)
    _tamper(session, database.backend, events[1].seq, actor_name="mallory")
    body = client.get(f"{AUDIT}/verify", headers=principals.staff(Role.ADMIN)).json()
    assert (body["ok"], body["broken_at_seq"], body["reason"]) == (
        False,
        events[1].seq,
        "event content was changed",
    )


# --- failed requests -----------------------------------------------------------------------


def _events_for(client, principals, **params: str) -> list[dict]:
    r = client.get(AUDIT, params=params, headers=principals.staff(Role.ADMIN))
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_a_request_for_a_missing_patient_is_recorded_as_a_failure(client, principals):
    missing = str(uuid.uuid4())
    r = client.get(f"/api/v1/patients/{missing}", headers=principals.staff(Role.FRONT_DESK))
    assert r.status_code == 404
    events = _events_for(client, principals, resource_id=missing)
    assert [(e["action"], e["outcome"], e["status_code"], e["detail"]) for e in events] == [
        ("patients.read", "failure", 404, {"error": "not-found"})
    ]


def test_a_nurse_creating_a_user_is_recorded_as_denied(client, principals, session, app):
    nurse = create_user(session, Role.NURSE)
    body = {
        "username": "newhire",
        "display_name": "New",
        "role": "admin",
        "password": "long-enough-password",
    }
    r = client.post("/api/v1/users", json=body, headers=bearer(nurse, app.state.signing_key))
    assert r.status_code == 403
    events = _events_for(client, principals, actor_id=str(nurse.id))
    assert [(e["action"], e["outcome"], e["status_code"]) for e in events] == [
        ("users.create", "denied", 403)
    ]


def test_a_failed_request_keeps_its_failure_record_but_not_its_work(
    client, principals, app, session
):
    def fail_after_work(
        session: SessionDep, actor: Annotated[Actor, Depends(require(Permission.USERS_MANAGE))]
    ) -> None:
        session.add(
            StaffUser(
                username="rolledback", display_name="Gone", role=Role.NURSE, password_hash="x"
            )
        )
        actor.audit(session, "test.work_before_failure")
        session.flush()
        raise Conflict("refused after doing some work")

    app.add_api_route(
        "/api/v1/test/fail-after-work",
        fail_after_work,
        methods=["POST"],
        name="test.fail_after_work",
    )
    r = client.post("/api/v1/test/fail-after-work", headers=principals.staff(Role.ADMIN))
    assert r.status_code == 409
    failures = _events_for(client, principals, action="test.fail_after_work")
    assert [(e["outcome"], e["status_code"]) for e in failures] == [("failure", 409)]
    assert _events_for(client, principals, action="test.work_before_failure") == []
    session.expire_all()
    assert session.exec(select(StaffUser).where(StaffUser.username == "rolledback")).first() is None
