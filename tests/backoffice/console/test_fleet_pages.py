"""The kiosk fleet in the staff console: each kiosk's health at a glance, its own page (its
configuration, a renewed credential, a new SD card) and enrolment codes made on a page; all
in-process, through the same kiosk API calls a kiosk makes."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from sqlmodel import select

from backoffice.audit.models import AuditEvent
from backoffice.console.devices import clock_sign, disk_sign, uptime_sign
from backoffice.devices import enrolment
from backoffice.devices import service as devices_service
from backoffice.devices.models import Device
from backoffice.kit.columns import utcnow
from shared.contracts.kiosk import KIOSK_API
from shared.contracts.provisioning import ENROLLMENT_API
from shared.device_credential import new_private_key, public_key_text
from shared.enums import Role
from tests.conftest import bound_to
from tests.fixtures.builders import TEST_ACTOR, create_location
from tests.fixtures.checkin import consent_form
from tests.fixtures.console import console_as, text_of

GIB = 1024**3


@pytest.fixture
def app(module_app, connection):
    return bound_to(module_app, connection)


@pytest.fixture
def location(session):
    return create_location(session, name="Springfield Lobby")


def enrolled(session, client, location, hostname: str = "lobby-pi") -> tuple[uuid.UUID, dict]:
    """A kiosk enrolled as `frontdesk provision enroll` does it: its id and its headers."""
    _, code = enrolment.create_enrollment_code(
        session, actor=TEST_ACTOR, location_id=location.id, now=utcnow()
    )
    session.commit()
    body = {"code": code, "public_key": public_key_text(new_private_key()), "hostname": hostname}
    r = client.post(ENROLLMENT_API, json=body)
    assert r.status_code == 201, r.text
    answer = r.json()
    return uuid.UUID(answer["device_id"]), {"Authorization": f"Bearer {answer['token']}"}


def beat(client, kiosk: dict, **health) -> dict:
    body = {"app_version": "2.4.0", "outbox_pending": 0, "outbox_held": 0, **health}
    r = client.post(f"{KIOSK_API}/heartbeat", json=body, headers=kiosk)
    assert r.status_code == 200, r.text
    return r.json()


def row_of(html: str, device_id: object) -> str:
    found = re.search(rf'<tr data-device="{device_id}">(.*?)</tr>', html, re.S)
    assert found, f"no row for {device_id}"
    return text_of(found.group(1))


def config_form(**overrides) -> dict:
    """The kiosk page's configuration form as a browser sends it."""
    form = {
        "languages": ["en", "es"],
        "start_language": "en",
        "consent_mode": "every",
        "consent_documents": [],
        "idle_timeout_seconds": "",
        "payment_reader_id": "",
    }
    return form | overrides


# --- the fleet table ----------------------------------------------------------------------------


def test_the_fleet_shows_a_healthy_kiosk_and_a_silent_one_in_words(app, session, client, location):
    healthy, healthy_kiosk = enrolled(session, client, location, "healthy-pi")
    silent, silent_kiosk = enrolled(session, client, location, "silent-pi")
    current = beat(client, healthy_kiosk)["config_version"]
    beat(
        client,
        healthy_kiosk,
        uptime_seconds=3 * 3600 + 120,
        disk_free_bytes=12 * GIB,
        disk_total_bytes=28 * GIB,
        clock_offset_ms=-120,
        config_version=current,
    )
    beat(
        client,
        silent_kiosk,
        uptime_seconds=50 * 3600,
        disk_free_bytes=GIB // 2,
        disk_total_bytes=28 * GIB,
        clock_offset_ms=12_400,
        config_version=current + 1,
    )
    device = session.get(Device, silent)
    session.refresh(device)
    device.last_seen_at = utcnow() - timedelta(minutes=12)
    session.add(device)
    session.commit()

    page = console_as(app, session, Role.FRONT_DESK).get("/staff/devices")
    assert page.status_code == 200
    ok = row_of(page.text, healthy)
    assert "Just now" in ok and "Silent" not in ok
    assert "Up 3 h" in ok and "Disk 12 GB free of 28 GB" in ok
    assert "Clock right (0.1 s slow)" in ok and "Runs the current settings" in ok
    assert "Enrolled just now" in ok and "Never renewed" in ok
    quiet = row_of(page.text, silent)
    assert "12 min ago" in quiet and "Silent" in quiet and "Up 2 days" in quiet
    assert "Disk low: 0.5 GB free (2%)" in quiet and "Clock 12 s fast" in quiet
    assert "New settings not applied yet" in quiet
    assert '<span class="tag late">Clock 12 s fast</span>' in page.text
    assert "not heard from for 5 minutes is tagged Silent" in text_of(page.text)


@pytest.fixture
def patient_settings(app):
    """The app's settings, with kiosks called silent after 15 minutes for this test only.
    (Not monkeypatch: it cannot restore an attribute of Starlette's `State`.)"""
    usual = app.state.settings
    app.state.settings = usual.model_copy(update={"kiosk_silent_after_minutes": 15})
    yield app.state.settings
    app.state.settings = usual


def test_silent_follows_the_settings_minutes(app, session, client, location, patient_settings):
    kiosk, _ = enrolled(session, client, location)
    device = session.get(Device, kiosk)
    device.last_seen_at = utcnow() - timedelta(minutes=12)
    session.add(device)
    session.commit()
    page = console_as(app, session, Role.NURSE).get("/staff/devices").text
    assert "Silent" not in row_of(page, kiosk)
    assert "not heard from for 15 minutes is tagged Silent" in text_of(page)


GB_FREE = [
    (12 * GIB, 28 * GIB, "Disk 12 GB free of 28 GB", "plain"),
    (2 * GIB, 10 * GIB, "Disk 2.0 GB free of 10 GB", "plain"),
    (GIB - 1, 4 * GIB, "Disk low: 0.9 GB free (25%)", "alarm"),  # under 1 GB
    (5 * GIB, 64 * GIB, "Disk low: 5.0 GB free (8%)", "alarm"),  # under 10 %
    (3 * GIB, None, "Disk 3.0 GB free", "plain"),
]


@pytest.mark.parametrize(("free", "total", "words", "tone"), GB_FREE)
def test_free_disk_is_flagged_under_one_gigabyte_or_ten_percent(free, total, words, tone):
    sign = disk_sign(free, total)
    assert (sign.text, sign.tone) == (words, tone)


@pytest.mark.parametrize(
    ("offset_ms", "words", "tone"),
    [
        (0, "Clock right", "plain"),
        (-99, "Clock right", "plain"),
        (5_000, "Clock right (5.0 s fast)", "plain"),
        (5_001, "Clock 5.0 s fast", "alarm"),
        (-400_000, "Clock 6 min slow", "alarm"),
        (3 * 86_400_000, "Clock 3 days fast", "alarm"),
    ],
)
def test_the_clock_is_flagged_beyond_five_seconds(offset_ms, words, tone):
    sign = clock_sign(offset_ms)
    assert (sign.text, sign.tone) == (words, tone)


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(30, "Up under a minute"), (600, "Up 10 min"), (7200, "Up 2 h"), (5 * 86400, "Up 5 days")],
)
def test_uptime_reads_as_one_rounded_figure(seconds, words):
    assert uptime_sign(seconds).text == words


# --- a kiosk's own page -------------------------------------------------------------------------


def test_an_admins_configuration_reaches_the_kiosk(app, session, client, location):
    consent_form(session, code="privacy")
    consent_form(session, code="telehealth")
    kiosk, headers = enrolled(session, client, location)
    admin = console_as(app, session, Role.ADMIN)
    page = admin.get(f"/staff/devices/{kiosk}")
    assert page.status_code == 200
    assert 'id="consent-every" name="consent_mode" value="every" checked' in page.text
    before = beat(client, headers)["config_version"]

    r = admin.post(
        f"/staff/devices/{kiosk}/config",
        config_form(
            start_language="es",
            consent_mode="only",
            consent_documents=["telehealth"],
            idle_timeout_seconds="120",
            payment_reader_id="tmr_lobby",
        ),
    )
    assert (r.status_code, r.headers["location"]) == (303, f"/staff/devices/{kiosk}")
    answer = beat(client, headers, config_version=before)
    pulled = client.get(f"{KIOSK_API}/config", headers=headers).json()
    assert pulled["version"] == answer["config_version"] != before
    assert pulled["languages"] == ["es", "en"]
    assert pulled["consent_documents"] == ["telehealth"]
    assert pulled["idle_timeout_seconds"] == 120
    assert pulled["payment_reader"]["id"] == "tmr_lobby"
    saved = admin.get(f"/staff/devices/{kiosk}").text
    assert "Saved: the kiosk applies it at its next heartbeat" in text_of(saved)
    assert "New settings not applied yet" in text_of(saved)
    beat(client, headers, config_version=pulled["version"])
    assert "Runs the current settings" in text_of(admin.get(f"/staff/devices/{kiosk}").text)
    [event] = session.exec(select(AuditEvent).where(AuditEvent.action == "devices.configure"))
    assert event.resource_id == str(kiosk)


def test_every_current_form_follows_new_forms_and_none_ticked_asks_none(
    app, session, client, location
):
    consent_form(session, code="privacy")
    kiosk, headers = enrolled(session, client, location)
    admin = console_as(app, session, Role.ADMIN)

    def asked() -> list[str]:
        return client.get(f"{KIOSK_API}/config", headers=headers).json()["consent_documents"]

    admin.post(f"/staff/devices/{kiosk}/config", config_form(consent_mode="only"))
    assert asked() == []  # "only these", none ticked: no consent asked
    assert "None: the kiosk asks for no consent" in text_of(
        console_as(app, session, Role.FRONT_DESK).get(f"/staff/devices/{kiosk}").text
    )
    admin.post(f"/staff/devices/{kiosk}/config", config_form(idle_timeout_seconds="300"))
    consent_form(session, code="telehealth")  # a form added later
    assert asked() == ["privacy", "telehealth"]
    # Blank is the clinic's default again; an untouched field stays as it was.
    admin.post(f"/staff/devices/{kiosk}/config", config_form(idle_timeout_seconds=""))
    pulled = client.get(f"{KIOSK_API}/config", headers=headers).json()
    assert pulled["idle_timeout_seconds"] == app.state.settings.kiosk_idle_timeout_seconds
    device = session.get(Device, kiosk)
    session.refresh(device)
    assert device.settings.get("languages") is None  # still follows the clinic's languages


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"idle_timeout_seconds": "30"}, "idle_timeout_seconds", "from 45 to 900"),
        ({"idle_timeout_seconds": "soon"}, "idle_timeout_seconds", "from 45 to 900"),
        ({"payment_reader_id": "tmr_" + "x" * 80}, "payment_reader_id", "Up to 80 characters"),
        ({"languages": []}, "languages", "Tick at least one language."),
        ({"languages": ["en"], "start_language": "es"}, "start_language", "tick it too"),
        (
            {"consent_mode": "only", "consent_documents": ["hipaa-2031"]},
            "consent_documents",
            "No current consent form hipaa-2031.",
        ),
    ],
)
def test_a_bad_value_is_shown_by_its_field_and_nothing_is_saved(
    app, session, client, location, change, field, message
):
    kiosk, headers = enrolled(session, client, location)
    before = client.get(f"{KIOSK_API}/config", headers=headers).json()
    admin = console_as(app, session, Role.ADMIN)
    r = admin.post(f"/staff/devices/{kiosk}/config", config_form(**change))
    assert r.status_code == 422
    error = re.search(rf'<p class="field-error" id="{field}-error">(.*?)</p>', r.text, re.S)
    assert error and message in error.group(1)
    assert "The configuration was not saved" in text_of(r.text)
    assert 'aria-invalid="true"' in r.text
    after = client.get(f"{KIOSK_API}/config", headers=headers).json()
    assert after["version"] == before["version"]


def test_every_problem_on_the_form_is_shown_at_once(app, session, client, location):
    kiosk, _ = enrolled(session, client, location)
    admin = console_as(app, session, Role.ADMIN)
    form = config_form(languages=[], consent_mode="", idle_timeout_seconds="1000")
    r = admin.post(f"/staff/devices/{kiosk}/config", form)
    assert r.status_code == 422
    for field in ("languages", "consent_mode", "idle_timeout_seconds"):
        assert f'id="{field}-error"' in r.text, field
    assert "check these 3 fields" in text_of(r.text)


def test_front_desk_sees_the_kiosk_page_but_no_forms_and_cannot_post(
    app, session, client, location
):
    kiosk, _ = enrolled(session, client, location)
    desk = console_as(app, session, Role.FRONT_DESK)
    page = desk.get(f"/staff/devices/{kiosk}")
    assert page.status_code == 200
    words = text_of(page.text)
    assert "lobby-pi" in words and "Springfield Lobby" in words
    assert "English , Español ; patients start in English" in words  # each in its lang
    assert "<form" not in page.text.split("</header>")[1]  # only the header's sign-out
    assert "/revoke" not in page.text and "/staff/devices/enrol" not in page.text
    assert f'<meta name="csrf-token" content="{desk.csrf}">' in page.text  # what posts carry
    for path, form in (
        (f"/staff/devices/{kiosk}/config", config_form(idle_timeout_seconds="300")),
        (f"/staff/devices/{kiosk}/renew", {}),
        ("/staff/devices/enrol", {"location_id": str(location.id)}),
    ):
        assert desk.post(path, form).status_code == 403, path  # with the page's CSRF token
    assert desk.get("/staff/devices/enrol").status_code == 403
    device = session.get(Device, kiosk)
    session.refresh(device)
    assert device.settings == {} and device.rotation_requested_at is None


def test_renewal_asked_on_the_page_reaches_the_heartbeat_answer(app, session, client, location):
    kiosk, headers = enrolled(session, client, location)
    assert beat(client, headers)["rotate_credential"] is False
    admin = console_as(app, session, Role.ADMIN)
    r = admin.post(f"/staff/devices/{kiosk}/renew")
    assert (r.status_code, r.headers["location"]) == (303, f"/staff/devices/{kiosk}")
    assert beat(client, headers)["rotate_credential"] is True
    page = text_of(admin.get(f"/staff/devices/{kiosk}").text)
    assert "Renewal asked: the kiosk renews its credential at its next heartbeat" in page
    assert "Asked just now — waiting for its next heartbeat" in page
    assert "Renewal asked just now" in row_of(admin.get("/staff/devices").text, kiosk)


def test_a_kiosk_with_a_bare_token_is_told_to_enrol_instead(app, session, client):
    device, _ = devices_service.add_kiosk(session, actor=TEST_ACTOR, name="old-kiosk")
    session.commit()
    admin = console_as(app, session, Role.ADMIN)
    page = admin.get(f"/staff/devices/{device.id}").text
    assert "Renew its credential" not in page and "cannot renew a bare token" in text_of(page)
    r = admin.post(f"/staff/devices/{device.id}/renew")
    assert r.status_code == 303
    notice = text_of(admin.get(f"/staff/devices/{device.id}").text)
    assert "Only a kiosk enrolled with `frontdesk provision enroll` can renew" in notice
    session.refresh(device)
    assert device.rotation_requested_at is None


def test_a_lobby_display_has_no_kiosk_page(app, session, location):
    display, _ = devices_service.add_display(
        session, actor=TEST_ACTOR, name="lobby-tv", location_id=location.id
    )
    session.commit()
    admin = console_as(app, session, Role.ADMIN)
    assert admin.get(f"/staff/devices/{display.id}").status_code == 404
    assert admin.post(f"/staff/devices/{display.id}/config", config_form()).status_code == 404


# --- enrolment codes ----------------------------------------------------------------------------


def test_a_code_made_on_the_page_enrols_a_kiosk_exactly_once(app, session, client, location):
    admin = console_as(app, session, Role.ADMIN)
    assert admin.get("/staff/devices/enrol").status_code == 200
    r = admin.post(
        "/staff/devices/enrol",
        {
            "location_id": str(location.id),
            "payment_reader_id": "tmr_front",
            "device_name": "Front kiosk",
            "expires_in_minutes": "30",
        },
    )
    assert r.status_code == 201, r.text
    assert r.headers["cache-control"] == "no-store"
    [code] = re.findall(r'id="enrolment-code" class="code" value="([0-9A-Z-]+)"', r.text)
    command = f"sudo frontdesk provision enroll --server https://testserver --code {code}"
    assert f'value="{command}"' in r.text
    words = text_of(r.text)
    assert "(30 min from now)" in words and "It works once" in words

    key = public_key_text(new_private_key())
    first = client.post(ENROLLMENT_API, json={"code": code, "public_key": key, "hostname": "pi"})
    assert first.status_code == 201, first.text
    answer = first.json()
    assert answer["device_name"] == "Front kiosk"
    assert answer["config"]["payment_reader"]["id"] == "tmr_front"
    again = client.post(ENROLLMENT_API, json={"code": code, "public_key": key, "hostname": "pi"})
    assert again.status_code == 403 and "already used" in again.json()["detail"]
    assert code not in admin.get("/staff/devices").text
    fleet = admin.get("/staff/devices").text
    assert "Front kiosk" in row_of(fleet, answer["device_id"])


def test_a_new_sd_card_code_enrols_into_the_same_kiosk(app, session, client, location):
    kiosk, old = enrolled(session, client, location, "lobby-pi")
    admin = console_as(app, session, Role.ADMIN)
    assert f"/staff/devices/enrol?replace={kiosk}" in admin.get(f"/staff/devices/{kiosk}").text
    form = admin.get("/staff/devices/enrol", replace=str(kiosk))
    assert "A new SD card for lobby-pi" in text_of(form.text)
    assert f'name="device_id" value="{kiosk}"' in form.text
    assert f'<option value="{location.id}" selected>' in form.text
    r = admin.post(
        "/staff/devices/enrol",
        {"device_id": str(kiosk), "location_id": str(location.id), "expires_in_minutes": "60"},
    )
    assert r.status_code == 201, r.text
    [code] = re.findall(r'id="enrolment-code" class="code" value="([0-9A-Z-]+)"', r.text)
    key = public_key_text(new_private_key())
    body = {"code": code, "public_key": key, "hostname": "raspberrypi"}
    answer = client.post(ENROLLMENT_API, json=body).json()
    assert (answer["device_id"], answer["device_name"]) == (str(kiosk), "lobby-pi")
    assert client.get(f"{KIOSK_API}/me", headers=old).status_code == 401


def test_the_enrolment_form_shows_each_problem_by_field(app, session):
    admin = console_as(app, session, Role.ADMIN)
    r = admin.post(
        "/staff/devices/enrol",
        {"device_name": "<kiosk>", "expires_in_minutes": "2", "payment_reader_id": ""},
    )
    assert r.status_code == 422
    for field, message in (
        ("location_id", "Choose the location whose lobby the kiosk stands in."),
        ("device_name", "Give a name of up to 80 letters"),
        ("expires_in_minutes", "from 5 to 10080"),
    ):
        error = re.search(rf'<p class="field-error" id="{field}-error">(.*?)</p>', r.text, re.S)
        assert error and message in error.group(1), field
    assert "&lt;kiosk&gt;" in r.text
    assert not session.exec(select(Device)).all()


def test_behind_a_proxy_the_command_names_the_public_address(app, session, location):
    usual = app.state.settings
    app.state.settings = usual.model_copy(update={"public_url": "https://frontdesk.example.org/"})
    try:
        admin = console_as(app, session, Role.ADMIN)
        r = admin.post("/staff/devices/enrol", {"location_id": str(location.id)})
    finally:
        app.state.settings = usual
    assert r.status_code == 201, r.text
    assert "--server https://frontdesk.example.org --code " in r.text
