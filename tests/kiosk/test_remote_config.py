"""The kiosk's configuration from the back office: what it means for the check-in, that it is
kept for a start without the back office, that it reaches the flow only between patients,
and that the delivery thread pulls it at start-up and whenever a heartbeat says it changed."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kiosk.client import BackOfficeClient
from kiosk.driver import ConsentCache, FlowDriver
from kiosk.flow import CheckInFlow, LanguageChosen, Started, StartOver, Step, Tick
from kiosk.flow.rules import ClinicRules
from kiosk.outbox import Outbox
from kiosk.remote_config import ConfigCache, RemoteConfig, rules_from_config
from kiosk.ui.session import Delivery, Fleet, KioskSession
from shared.contracts.provisioning import KioskConfig
from shared.enums import Role
from tests.conftest import bound_to
from tests.fixtures.checkin import consent_form
from tests.kiosk.fleet import (
    DEVICES,
    ON_SQLITE,
    Clock,
    Link,
    book_at_a_lobby,
    check_in_by_name,
    device,
    enrol,
)

DEVICE = uuid.UUID("0b9a8f6e-2c4d-4e1f-8a7b-5c3d2e1f0a9b")
KEY = bytes(range(32))
T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def config(**overrides) -> KioskConfig:
    data = {
        "version": 2,
        "device_id": DEVICE,
        "device_name": "kiosk-lobby",
        "location_id": None,
        "location_name": None,
        "timezone": "America/New_York",
        "languages": ["en", "es"],
        "consent_documents": ["privacy"],
        "idle_timeout_seconds": 90,
        "payment_reader": None,
        "server_time": T0,
    }
    return KioskConfig.model_validate(data | overrides)


# --- what a configuration means for the check-in --------------------------------------------


@pytest.mark.parametrize(
    ("languages", "kept", "asked"),
    [
        (["en", "es"], ("en", "es"), True),
        (["es", "en"], ("es", "en"), True),  # Spanish first: patients start in Spanish
        (["es"], ("es",), False),
        (["fr", "es"], ("es",), False),  # no French catalogue on the touchscreen
        (["fr", "de"], ("en",), False),  # nothing usable: the kiosk's own first language
        (["es", "es", "en"], ("es", "en"), True),
    ],
)
def test_languages_are_the_clinics_that_the_kiosk_can_speak(languages, kept, asked):
    rules = rules_from_config(config(languages=languages))
    assert rules.languages == kept
    assert rules.ask_language is asked


def test_the_idle_timeout_is_the_clinics_and_the_warning_still_comes_30_s_before():
    rules = rules_from_config(config(idle_timeout_seconds=240))
    assert rules.idle_timeout == timedelta(seconds=240)
    assert rules.idle_warning == timedelta(seconds=30)
    flow = CheckInFlow(rules)
    flow.handle(Started(at=T0, check_in_id=uuid.uuid4()))
    assert flow.still_there_asked(T0 + timedelta(seconds=209)) is False
    assert flow.still_there_asked(T0 + timedelta(seconds=210)) is True


def test_an_idle_timeout_too_short_to_answer_still_there_is_raised_to_45_s():
    assert rules_from_config(config(idle_timeout_seconds=5)).idle_timeout == timedelta(seconds=45)


def test_consent_is_collected_only_when_there_are_documents_to_sign():
    assert rules_from_config(config(consent_documents=["privacy"])).collect_consent is True
    assert rules_from_config(config(consent_documents=[])).collect_consent is False


def test_what_the_configuration_does_not_speak_of_stays_as_the_kiosk_had_it():
    base = ClinicRules(collect_copay=False, max_birth_date_attempts=5)
    rules = rules_from_config(config(), base)
    assert (rules.collect_copay, rules.max_birth_date_attempts) == (False, 5)
    assert rules.collect_insurance_card and rules.allow_offline


# --- kept for a start without the back office -------------------------------------------------


def test_a_kiosk_starting_without_the_back_office_uses_the_last_configuration(tmp_path):
    RemoteConfig(ConfigCache(tmp_path / "kiosk-config.json")).offer(
        config(version=7, languages=["es"], idle_timeout_seconds=120)
    )
    later = RemoteConfig(ConfigCache(tmp_path / "kiosk-config.json"))
    rules = later.start()
    assert (rules.languages, rules.idle_timeout) == (("es",), timedelta(seconds=120))
    assert later.applied_version == 7 and later.pending is None


@pytest.mark.parametrize("content", [None, b"{not json", b'{"version": "seven"}'])
def test_without_a_usable_cache_the_kiosk_starts_on_its_defaults(tmp_path, content):
    path = tmp_path / "kiosk-config.json"
    if content is not None:
        path.write_bytes(content)
    remote = RemoteConfig(ConfigCache(path))
    assert remote.start() == ClinicRules()
    assert remote.applied_version is None


def test_the_same_configuration_offered_again_changes_nothing(tmp_path):
    remote = RemoteConfig(ConfigCache(tmp_path / "c.json"))
    assert remote.offer(config(version=3)) is True
    assert remote.offer(config(version=3)) is False
    assert remote.offer(config(version=3, device_id=uuid.uuid4())) is True  # enrolled afresh


# --- applied between patients, never midway ---------------------------------------------------


@pytest.fixture
def driver(tmp_path: Path):
    with Outbox(tmp_path / "flow-outbox.db", KEY) as outbox:
        client = BackOfficeClient("http://127.0.0.1:9", "unused")  # nothing here calls it
        yield FlowDriver(
            CheckInFlow(),
            client=client,
            outbox=outbox,
            consent_cache=ConsentCache(tmp_path / "consents.json"),
            clock=lambda: T0,
        )
        client.close()


def test_a_new_configuration_waits_for_the_welcome_screen(driver, tmp_path):
    remote = RemoteConfig(ConfigCache(tmp_path / "c.json"))
    remote.start()
    applied: list[int] = []
    remote.on_applied(lambda c: applied.append(c.version))
    driver.send(Started(at=T0, check_in_id=uuid.uuid4()))
    mid_check_in = driver.flow
    remote.offer(config(version=4, languages=["es"], idle_timeout_seconds=300))

    assert remote.apply_between_patients(driver) is False
    assert driver.flow is mid_check_in and driver.flow.rules == ClinicRules()
    driver.send(LanguageChosen(at=T0, code="en"))
    assert remote.apply_between_patients(driver) is False
    assert driver.flow.step is Step.IDENTIFY and driver.flow.language == "en"

    driver.send(StartOver(at=T0))
    assert remote.apply_between_patients(driver) is True
    assert driver.flow.step is Step.WELCOME
    assert driver.flow.rules.languages == ("es",) and driver.flow.language == "es"
    assert driver.flow.rules.idle_timeout == timedelta(seconds=300)
    assert (remote.applied_version, remote.pending, applied) == (4, None, [4])
    driver.send(Started(at=T0, check_in_id=uuid.uuid4()))
    assert driver.flow.step is Step.IDENTIFY  # one language: not asked


def test_the_flow_thread_takes_it_after_the_event_that_reaches_the_welcome_screen(driver, tmp_path):
    """Through `KioskSession`, as the app runs: events in turn on the flow's own thread."""
    remote = RemoteConfig(ConfigCache(tmp_path / "c.json"))
    remote.start()
    session = KioskSession(driver, call_on_ui=lambda job: job(), redraw=lambda: None, remote=remote)
    session.start()

    def settled() -> None:
        done = threading.Event()
        session.run(done.set)
        assert done.wait(5)

    try:
        session.post(Started, check_in_id=uuid.uuid4())
        settled()
        remote.offer(config(version=5, languages=["es"]))
        session.post(Tick)  # the UI's tick, once a second: the patient is still here
        settled()
        assert driver.flow.step is Step.LANGUAGE and driver.flow.rules.languages == ("en", "es")
        assert remote.pending is not None
        session.post(StartOver)
        settled()
        assert driver.flow.rules.languages == ("es",)
        assert remote.pending is None and remote.applied_version == 5
    finally:
        session.stop()


# --- pulled by the delivery thread from the real back office -----------------------------------


@pytest.fixture
def app(module_app, connection):
    return bound_to(module_app, connection)


@pytest.fixture
def admin(principals):
    return principals.staff(Role.ADMIN)


@pytest.fixture
def kiosk(client, admin, session, cipher, tmp_path):
    """Enrolled at the lobby where Quimby is due today."""
    consent_form(session, "privacy")
    return enrol(client, admin, book_at_a_lobby(session, cipher, "Quimby"), tmp_path)


def delivery_for(kiosk, link: Link, remote: RemoteConfig, outbox: Outbox, clock: Clock):
    api = link.kiosk_client(kiosk.token)
    fleet = Fleet(remote, kiosk.credential, kiosk.credential_dir, clients=(api,))
    return Delivery(api, outbox, clock=clock, fleet=fleet, heartbeat_every=60)


@pytest.fixture
def outbox(tmp_path: Path):
    with Outbox(tmp_path / "outbox.db", KEY) as box:
        yield box


@ON_SQLITE
def test_the_kiosk_client_reads_its_configuration(client, kiosk):
    api = Link(client).kiosk_client(kiosk.token)
    got = api.config()
    assert got.device_id == kiosk.device_id
    assert got.location_id is not None and got.location_name
    assert got.languages and got.idle_timeout_seconds >= 45


@ON_SQLITE
def test_at_start_up_the_configuration_is_pulled_and_an_admins_change_follows(
    client, admin, kiosk, outbox, tmp_path
):
    remote = RemoteConfig(ConfigCache(tmp_path / "kiosk-config.json"))
    remote.start()
    clock = Clock()
    delivery = delivery_for(kiosk, Link(client), remote, outbox, clock)
    delivery.check_now()
    first = remote.pending
    assert first is not None and first.version == kiosk.config.version
    assert remote.is_known(first.version)

    change = {"languages": ["es"], "consent_documents": [], "idle_timeout_seconds": 120}
    r = client.patch(f"{DEVICES}/{kiosk.device_id}/config", json=change, headers=admin)
    assert r.status_code == 200, r.text
    clock.now += 30
    delivery.check_now()  # no heartbeat yet: nothing asked
    assert remote.pending == first
    clock.now += 31
    delivery.check_now()  # the heartbeat's answer names a newer version: pulled
    pending = remote.pending
    assert pending is not None and pending.version != first.version  # a digest, not a count
    rules = remote.rules_for(pending)
    assert rules.languages == ("es",) and not rules.ask_language and not rules.collect_consent
    assert rules.idle_timeout == timedelta(seconds=120)
    cached = ConfigCache(tmp_path / "kiosk-config.json").load()
    assert cached is not None and cached.version == pending.version


@ON_SQLITE
def test_the_heartbeat_says_which_configuration_is_applied(
    client, kiosk, outbox, session, driver, tmp_path
):
    remote = RemoteConfig(ConfigCache(tmp_path / "kiosk-config.json"))
    remote.offer(kiosk.config)
    assert remote.apply_between_patients(driver)
    delivery = delivery_for(kiosk, Link(client), remote, outbox, Clock())
    delivery.check_now()
    assert device(session, kiosk.device_id).status["config_version"] == kiosk.config.version


@ON_SQLITE
def test_a_failed_pull_holds_up_nothing_and_is_tried_again(client, kiosk, outbox, tmp_path):
    remote = RemoteConfig(ConfigCache(tmp_path / "kiosk-config.json"))
    remote.start()
    link = Link(client, fail="/api/v1/kiosk/config")
    clock = Clock()
    delivery = delivery_for(kiosk, link, remote, outbox, clock)
    outbox.put(check_in_by_name("Quimby"))
    delivery.check_now()
    assert (delivery.online, delivery.delivered) == (True, 1)
    assert remote.pending is None
    link.fail = None
    clock.now += 61
    delivery.check_now()
    assert remote.pending is not None and remote.pending.version == kiosk.config.version
