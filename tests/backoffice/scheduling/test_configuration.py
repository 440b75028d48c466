"""The clinic's set-up through the API: locations, providers, appointment types, weekly
templates and exceptions, and what each change does to the slots on offer."""

from datetime import date, time, timedelta

import pytest

from backoffice.scheduling.configuration import rule_problems
from backoffice.scheduling.slots import WeeklyRule
from shared.enums import Role
from shared.validators import npi_with_check_digit
from tests.fixtures.scheduling import MONDAY_AFTER, at, booking, open_calendar

NPI = npi_with_check_digit("176543219")
MONDAYS = WeeklyRule(0, time(9), time(12), date(2026, 1, 1))


# --- the pure checks -----------------------------------------------------------------------


def fields(problems) -> list[str]:
    return [p.field for p in problems]


def test_a_session_that_ends_before_it_starts_is_refused():
    assert fields(rule_problems(WeeklyRule(0, time(12), time(9), date(2026, 1, 1)))) == ["end_time"]


def test_breaks_must_fall_inside_the_session_and_not_overlap():
    rule = WeeklyRule(
        0,
        time(8),
        time(17),
        date(2026, 1, 1),
        breaks=((time(12), time(13)), (time(12, 30), time(13, 30)), (time(17), time(18))),
    )
    assert fields(rule_problems(rule)) == ["breaks.1", "breaks.2"]


def test_sessions_of_one_provider_may_not_overlap_on_the_same_day_and_dates():
    afternoon = WeeklyRule(0, time(11), time(15), date(2026, 6, 1))
    assert fields(rule_problems(afternoon, [MONDAYS])) == ["start_time"]


def test_sessions_side_by_side_or_in_different_seasons_are_fine():
    after = WeeklyRule(0, time(12), time(15), date(2026, 1, 1))
    tuesday = WeeklyRule(1, time(9), time(12), date(2026, 1, 1))
    ended = WeeklyRule(0, time(9), time(12), date(2025, 1, 1), date(2025, 12, 31))
    assert rule_problems(after, [MONDAYS]) == []
    assert rule_problems(tuesday, [MONDAYS]) == []
    assert rule_problems(MONDAYS, [ended]) == []


def test_an_expiry_before_the_start_is_refused():
    rule = WeeklyRule(0, time(9), time(12), date(2026, 6, 1), date(2026, 5, 1))
    assert fields(rule_problems(rule)) == ["expiration_date"]


# --- through the API -----------------------------------------------------------------------


@pytest.fixture
def admin(principals):
    return principals.staff(Role.ADMIN)


@pytest.fixture
def desk(principals):
    return principals.staff(Role.FRONT_DESK)


def created(response) -> dict:
    assert response.status_code == 201, response.text
    return response.json()


def set_up_a_clinic(client, admin) -> dict:
    """A location, a provider there, a 30-minute visit they offer and Monday mornings."""
    location = created(
        client.post(
            "/api/v1/locations",
            headers=admin,
            json={
                "name": "Riverside",
                "timezone": "America/Chicago",
                "address_line1": "5 River Rd",
                "address_city": "Chicago",
                "address_state": "il",
                "address_postal_code": "60601",
                "phone": "(312) 555-0100",
            },
        )
    )
    provider = created(
        client.post(
            "/api/v1/providers",
            headers=admin,
            json={
                "first_name": "Rosa",
                "last_name": "Diaz",
                "credentials": "MD",
                "npi": NPI,
                "taxonomy_code": "207q00000x",
                "specialty": "Family Medicine",
                "location_ids": [location["id"]],
                "max_per_day": 16,
            },
        )
    )
    kind = created(
        client.post(
            "/api/v1/appointment-types",
            headers=admin,
            json={
                "code": "fu30",
                "name": "Follow-up",
                "duration_minutes": 30,
                "category": "primary_care",
                "provider_ids": [provider["id"]],
            },
        )
    )
    rule = created(
        client.post(
            f"/api/v1/providers/{provider['id']}/schedule-rules",
            headers=admin,
            json={
                "location_id": location["id"],
                "weekday": 0,
                "start_time": "09:00",
                "end_time": "12:00",
                "breaks": [["10:00", "10:30"]],
                "effective_date": "2026-01-01",
            },
        )
    )
    return {"location": location, "provider": provider, "kind": kind, "rule": rule}


def monday_slots(client, who, clinic) -> list[str]:
    r = client.get(
        "/api/v1/slots",
        headers=who,
        params={
            "appointment_type_id": clinic["kind"]["id"],
            "provider_id": clinic["provider"]["id"],
            "start": "2027-03-15T00:00:00-05:00",
            "end": "2027-03-16T00:00:00-05:00",
        },
    )
    assert r.status_code == 200, r.text
    return [s["start"][11:16] for s in r.json()["items"]]


def test_a_clinic_set_up_through_the_api_offers_slots(client, admin, desk):
    clinic = set_up_a_clinic(client, admin)
    assert clinic["location"]["address_state"] == "IL"
    assert clinic["location"]["phone"] == "+13125550100"
    assert clinic["provider"]["taxonomy_code"] == "207Q00000X"
    assert clinic["kind"]["code"] == "FU30"
    assert clinic["kind"]["provider_ids"] == [clinic["provider"]["id"]]
    assert clinic["rule"]["breaks"] == [["10:00:00", "10:30:00"]]
    # 09:00-12:00 less the 10:00-10:30 break, in Chicago time.
    assert monday_slots(client, desk, clinic) == ["09:00", "09:15", "09:30", "10:30", "10:45",
                                                  "11:00", "11:15", "11:30"]  # fmt: skip


def test_collections_answer_as_pages_of_items(client, admin, desk):
    clinic = set_up_a_clinic(client, admin)
    for path in ("/api/v1/locations", "/api/v1/providers", "/api/v1/appointment-types"):
        body = client.get(path, headers=desk).json()
        assert [item["id"] for item in body["items"]] != []
        assert body["next_offset"] is None
    here = client.get(
        "/api/v1/providers", headers=desk, params={"location_id": clinic["location"]["id"]}
    ).json()["items"]
    assert [p["id"] for p in here] == [clinic["provider"]["id"]]


def test_an_npi_with_a_wrong_check_digit_is_refused_by_field(client, admin):
    location = set_up_a_clinic(client, admin)["location"]
    r = client.post(
        "/api/v1/providers",
        headers=admin,
        json={
            "first_name": "Al",
            "last_name": "Bad",
            "npi": NPI[:-1] + str((int(NPI[-1]) + 1) % 10),
            "taxonomy_code": "207Q00000X",
            "specialty": "Family Medicine",
            "location_ids": [location["id"]],
        },
    )
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["npi"]


def test_a_second_provider_with_the_same_npi_is_a_conflict(client, admin):
    clinic = set_up_a_clinic(client, admin)
    again = {k: v for k, v in clinic["provider"].items() if k in ("first_name", "last_name")}
    r = client.post(
        "/api/v1/providers",
        headers=admin,
        json={
            **again,
            "npi": NPI,
            "taxonomy_code": "207Q00000X",
            "specialty": "Family Medicine",
            "location_ids": [clinic["location"]["id"]],
        },
    )
    assert (r.status_code, r.json()["errors"][0]["field"]) == (409, "npi")


def test_an_overlapping_session_is_refused_naming_the_one_it_hits(client, admin):
    clinic = set_up_a_clinic(client, admin)
    r = client.post(
        f"/api/v1/providers/{clinic['provider']['id']}/schedule-rules",
        headers=admin,
        json={
            "location_id": clinic["location"]["id"],
            "weekday": 0,
            "start_time": "11:00",
            "end_time": "14:00",
            "effective_date": "2026-06-01",
        },
    )
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {
            "field": "start_time",
            "message": "overlaps the provider's Monday session 09:00-12:00 from 2026-01-01",
        }
    ]


def test_replacing_a_session_changes_the_slots_and_deleting_it_removes_them(client, admin, desk):
    clinic = set_up_a_clinic(client, admin)
    rule_url = f"/api/v1/schedule-rules/{clinic['rule']['id']}"
    r = client.put(
        rule_url,
        headers=admin,
        json={
            "location_id": clinic["location"]["id"],
            "weekday": 0,
            "start_time": "13:00",
            "end_time": "14:00",
            "effective_date": "2026-01-01",
        },
    )
    assert r.status_code == 200, r.text
    assert monday_slots(client, desk, clinic) == ["13:00", "13:15", "13:30"]
    assert client.delete(rule_url, headers=admin).status_code == 204
    assert monday_slots(client, desk, clinic) == []
    assert client.delete(rule_url, headers=admin).status_code == 404


def test_a_session_at_a_location_the_provider_does_not_work_at_is_refused(client, admin):
    clinic = set_up_a_clinic(client, admin)
    elsewhere = created(
        client.post(
            "/api/v1/locations",
            headers=admin,
            json={
                **{
                    k: clinic["location"][k]
                    for k in (
                        "timezone",
                        "address_line1",
                        "address_city",
                        "address_state",
                        "address_postal_code",
                    )
                },
                "name": "Lakeside",
            },
        )
    )
    r = client.post(
        f"/api/v1/providers/{clinic['provider']['id']}/schedule-rules",
        headers=admin,
        json={
            "location_id": elsewhere["id"],
            "weekday": 2,
            "start_time": "09:00",
            "end_time": "12:00",
            "effective_date": "2026-01-01",
        },
    )
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "location_id")


def test_pto_over_booked_time_lists_the_stranded_appointments_and_takes_the_slots(
    client, admin, desk, session, cipher
):
    calendar = open_calendar(session, cipher)
    booked = client.post(
        "/api/v1/appointments", json=booking(calendar, at(MONDAY_AFTER, 9)), headers=desk
    ).json()
    r = client.post(
        "/api/v1/schedule-exceptions",
        headers=admin,
        json={
            "kind": "pto",
            "provider_id": str(calendar["provider"].id),
            "start": at(MONDAY_AFTER, 0).isoformat(),
            "end": at(MONDAY_AFTER + timedelta(days=1), 0).isoformat(),
            "reason": "Conference",
        },
    )
    pto = created(r)
    assert pto["affected_appointment_ids"] == [booked["id"]]
    clinic = {
        "kind": {"id": str(calendar["kind"].id)},
        "provider": {"id": str(calendar["provider"].id)},
    }
    search = {
        "appointment_type_id": str(calendar["kind"].id),
        "provider_id": str(calendar["provider"].id),
        "start": at(MONDAY_AFTER, 0).isoformat(),
        "end": at(MONDAY_AFTER, 23).isoformat(),
    }
    assert client.get("/api/v1/slots", headers=desk, params=search).json()["items"] == []
    listed = client.get(
        "/api/v1/schedule-exceptions",
        headers=desk,
        params={
            "start": search["start"],
            "end": search["end"],
            "provider_id": clinic["provider"]["id"],
        },
    ).json()["items"]
    assert [e["id"] for e in listed] == [pto["id"]]
    assert (
        client.delete(f"/api/v1/schedule-exceptions/{pto['id']}", headers=admin).status_code == 204
    )
    assert len(client.get("/api/v1/slots", headers=desk, params=search).json()["items"]) == 9


def test_an_extra_session_adds_slots_on_a_saturday(client, admin, desk, session, cipher):
    calendar = open_calendar(session, cipher)
    saturday = MONDAY_AFTER + timedelta(days=5)
    created(
        client.post(
            "/api/v1/schedule-exceptions",
            headers=admin,
            json={
                "kind": "extra_session",
                "provider_id": str(calendar["provider"].id),
                "location_id": str(calendar["location"].id),
                "start": at(saturday, 9).isoformat(),
                "end": at(saturday, 10).isoformat(),
            },
        )
    )
    r = client.get(
        "/api/v1/slots",
        headers=desk,
        params={
            "appointment_type_id": str(calendar["kind"].id),
            "start": at(saturday, 0).isoformat(),
            "end": at(saturday, 23).isoformat(),
        },
    )
    assert [s["start"] for s in r.json()["items"]] == [
        at(saturday, 9).isoformat(),
        at(saturday, 9, 15).isoformat(),
        at(saturday, 9, 30).isoformat(),
    ]


def test_a_retired_appointment_type_can_no_longer_be_booked(client, admin, desk, session, cipher):
    calendar = open_calendar(session, cipher)
    r = client.patch(
        f"/api/v1/appointment-types/{calendar['kind'].id}", headers=admin, json={"active": False}
    )
    assert (r.status_code, r.json()["active"]) == (200, False)
    r = client.post(
        "/api/v1/appointments", json=booking(calendar, at(MONDAY_AFTER, 9)), headers=desk
    )
    assert r.status_code == 404


def test_a_longer_duration_applies_to_new_slots(client, admin, desk, session, cipher):
    calendar = open_calendar(session, cipher)
    r = client.patch(
        f"/api/v1/appointment-types/{calendar['kind'].id}",
        headers=admin,
        json={"duration_minutes": 60, "buffer_after_minutes": 15},
    )
    assert r.status_code == 200, r.text
    slots = client.get(
        "/api/v1/slots",
        headers=desk,
        params={
            "appointment_type_id": str(calendar["kind"].id),
            "start": at(MONDAY_AFTER, 0).isoformat(),
            "end": at(MONDAY_AFTER, 23).isoformat(),
        },
    ).json()["items"]
    # 60 minutes plus 15 after must end by 12:00: the last start is 10:45.
    assert slots[-1]["start"] == at(MONDAY_AFTER, 10, 45).isoformat()


def test_a_provider_update_changes_only_what_was_sent(client, admin, session, cipher):
    calendar = open_calendar(session, cipher)
    url = f"/api/v1/providers/{calendar['provider'].id}"
    r = client.patch(url, headers=admin, json={"overbook_threshold": "0.35", "max_per_day": 8})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["overbook_threshold"], body["max_per_day"]) == ("0.350", 8)
    assert body["npi"] == calendar["provider"].npi
    r = client.patch(url, headers=admin, json={"max_per_day": None})
    assert r.json()["max_per_day"] is None
    r = client.patch(url, headers=admin, json={"last_name": None})
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "last_name")


def test_configuration_changes_are_audited(client, admin, session):
    from sqlmodel import col, select

    from backoffice.audit.models import AuditEvent

    set_up_a_clinic(client, admin)
    actions = session.exec(
        select(AuditEvent.action).where(
            col(AuditEvent.action).in_(
                [
                    "locations.create",
                    "providers.create",
                    "appointment_types.create",
                    "schedule_rules.create",
                ]
            )
        )
    ).all()
    assert sorted(actions) == [
        "appointment_types.create",
        "locations.create",
        "providers.create",
        "schedule_rules.create",
    ]
