"""The real Kivy app in a real window (Xvfb), driven by touch events through Kivy's input
pipeline, against a real back office on simulated hardware: every path a patient can take
that the issue names, each checked on the back office's side too."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from kiosk.client import BackOfficeClient
from kiosk.devices import Devices
from kiosk.driver import ConsentCache, FlowDriver
from kiosk.flow import CheckInFlow, Step
from kiosk.i18n import translate
from kiosk.outbox import Outbox, load_or_create_key
from kiosk.staff import StaffAccess, hash_pin
from tests.fixtures.servers import BackOffice, Clinic, seeded_clinic

COPAY = 2500
STAFF_PIN = "482916"


@pytest.fixture(scope="module")
def clinic(tmp_path_factory) -> Clinic:
    var = tmp_path_factory.mktemp("touch")
    return seeded_clinic(var / "var", f"sqlite:///{var / 'frontdesk.db'}")


@pytest.fixture(scope="module")
def backoffice(clinic):
    server = BackOffice(clinic).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def patients(clinic):
    """Each test takes its own patient due soon, so none is "already checked in"."""
    return iter(clinic.due_soon())


class Clock:
    """The kiosk's clock, which a test may move on (the idle timeout) without waiting."""

    def __init__(self) -> None:
        self.ahead = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.ahead


@contextmanager
def kiosk_parts(clinic: Clinic, server: str, var: Path, clock: Callable[[], datetime]):
    from kiosk.ui.app import KioskParts

    outbox = Outbox(var / "outbox.db", load_or_create_key(var / "outbox.key"))
    client = BackOfficeClient(server, clinic.kiosk_token, timeout=2)
    delivery_client = BackOfficeClient(server, clinic.kiosk_token, timeout=2)
    devices = Devices.simulated_set()
    driver = FlowDriver(
        CheckInFlow(),
        client=client,
        outbox=outbox,
        consent_cache=ConsentCache(var / "consents.json"),
        printer=devices.printer,
        clock=clock,
    )
    try:
        yield KioskParts(
            driver=driver,
            outbox=outbox,
            delivery_client=delivery_client,
            devices=devices,
            staff=StaffAccess(hash_pin(STAFF_PIN)),
            server=server,
            delivery_interval=0.5,
        )
    finally:
        client.close()
        delivery_client.close()
        outbox.close()


def run_app(parts, script) -> None:
    from kiosk.ui.app import KioskApp
    from kiosk.ui.walkthrough import play

    asyncio.run(asyncio.wait_for(play(KioskApp(parts), script), timeout=240))


def queue(server: BackOffice) -> list[dict]:
    headers = server.staff_headers()
    location = server.get("/locations", headers)["items"][0]["id"]
    return server.get("/queue", headers, location_id=location)["items"]


def set_copay(clinic: Clinic, server: BackOffice, patient_id: str) -> None:
    import sqlite3

    with sqlite3.connect(clinic.database_url.removeprefix("sqlite:///")) as conn:
        [(appointment,)] = conn.execute(
            "SELECT id FROM appointments WHERE patient_id = ? AND lane = 1",
            (uuid.UUID(patient_id).hex,),
        ).fetchall()
    httpx.put(
        f"{server.url}/api/v1/appointments/{uuid.UUID(appointment)}/copay",
        json={"amount_cents": COPAY, "reason": "touchscreen test"},
        headers=server.staff_headers(),
    ).raise_for_status()


async def identify(robot, last_name: str, born: date, *, language: str = "en") -> None:
    from kiosk.ui.walkthrough import type_date

    await robot.step(Step.WELCOME)
    await robot.tap("start")
    await robot.step(Step.LANGUAGE)
    await robot.tap(f"lang-{language}")
    await robot.step(Step.IDENTIFY)
    await robot.type(last_name)
    await robot.tap("next")
    await type_date(robot, born)
    await robot.tap("find")


async def sign_every_form(robot) -> None:
    from kiosk.ui.walkthrough import SIGNATURE

    await robot.step(Step.CONSENT_FORMS)
    while robot.screen == Step.CONSENT_FORMS.value:
        await robot.until(lambda: robot.kiosk.flow.document_to_sign is not None, "a form")
        pad = robot.kiosk.root.ids.screens.current_screen.ids.pad
        await robot.draw(pad, SIGNATURE)
        await robot.tap("sign")
        await robot.settle()


def screen_of(robot):
    return robot.kiosk.root.ids.screens.current_screen


def targets_too_small(robot) -> list[str]:
    """Buttons on screen under 9 mm on a side (WCAG 2.5.5 / the Section 508 kiosk rule)."""
    from kiosk.ui.look import LOOK, MIN_TOUCH_MM

    least = LOOK.mm(MIN_TOUCH_MM) - 0.5
    return [
        f"{b.name} {b.width:.0f}x{b.height:.0f}"
        for b in robot.buttons()
        if b.width < least or b.height < least
    ]


def labels_cut_off(robot) -> list[str]:
    """Buttons whose label is wider or taller than the button."""
    return [
        b.name
        for b in robot.buttons()
        if b.texture_size[0] > b.width + 1 or b.texture_size[1] > b.height + 1
    ]


# --- the paths ---------------------------------------------------------------------------------


def test_a_full_check_in_by_touch_with_the_card_and_the_copay(
    x_screen, clinic, backoffice, patients, tmp_path
):
    from kiosk.ui.walkthrough import Patient, Walkthrough

    last_name, dob, patient_id = next(patients)
    set_copay(clinic, backoffice, patient_id)
    shots: list[Path] = []
    small: list[str] = []

    async def script(robot) -> None:
        walk = Walkthrough(
            robot, tmp_path / "shots", inspect=lambda r: small.extend(targets_too_small(r))
        )
        await walk.check_in(Patient(last_name, date.fromisoformat(dob)))
        shots.extend(walk.shots)
        assert screen_of(robot).greeting.startswith("You're checked in, ")
        assert "$25.00" in screen_of(robot).paid
        await robot.tap("print-receipt")
        await robot.settle()
        await robot.tap("finish")
        await robot.step(Step.WELCOME)
        assert robot.kiosk.flow.holds_phi is False

    with kiosk_parts(clinic, backoffice.url, tmp_path / "kiosk", Clock()) as parts:
        run_app(parts, script)
        printed = parts.devices.printer.printed  # type: ignore[union-attr]

    [arrival] = [item for item in queue(backoffice) if item["patient_id"] == patient_id]
    assert arrival["state"] == "waiting"
    assert [shot.name.split("-", 1)[1] for shot in shots] == [
        "welcome.png", "language.png", "identify-name.png", "identify-date-of-birth.png",
        "verify.png", "confirm-details.png", "confirm-details-change-phone.png",
        "insurance-card-camera.png", "insurance-card-review.png", "consent-signed.png",
        "copay.png", "copay-reader-waiting.png", "done.png",
    ]  # fmt: skip
    assert all(shot.stat().st_size > 10_000 for shot in shots)  # real pictures, not blank
    assert len(printed) == 1
    assert small == []


def test_a_wrong_date_of_birth_says_so_and_the_patient_tries_again(
    x_screen, clinic, backoffice, patients, tmp_path
):
    last_name, dob, _ = next(patients)
    born = date.fromisoformat(dob)

    async def script(robot) -> None:
        await identify(robot, last_name, born.replace(year=born.year - 1))
        await robot.step(Step.ERROR)
        assert screen_of(robot).heading == "We couldn't find your appointment"
        await robot.tap("retry")
        await robot.step(Step.IDENTIFY)
        assert screen_of(robot).name_text == ""  # nothing of the wrong try stays on screen
        await robot.type(last_name)
        await robot.tap("next")
        from kiosk.ui.walkthrough import type_date

        await type_date(robot, born)
        await robot.tap("find")
        await robot.step(Step.VERIFY)
        assert robot.has("match-0")

    with kiosk_parts(clinic, backoffice.url, tmp_path / "kiosk", Clock()) as parts:
        run_app(parts, script)


def test_the_spanish_path_shows_spanish_and_takes_the_date_day_first(
    x_screen, clinic, backoffice, patients, tmp_path
):
    last_name, dob, patient_id = next(patients)

    async def script(robot) -> None:
        await identify(robot, last_name, date.fromisoformat(dob), language="es")
        await robot.step(Step.VERIFY)
        assert robot.button("start-over").text == translate("Start over", "es") != "Start over"
        assert robot.button("not-me").text == translate("No, this isn't me", "es")
        for _ in range(2):  # the largest text size: still all on screen, still big enough
            await robot.tap("text-size")
        await robot.frames(5)
        assert (targets_too_small(robot), labels_cut_off(robot)) == ([], [])
        await robot.tap("match-0")
        await robot.step(Step.CONFIRM_DETAILS)
        await robot.until(lambda: robot.has("confirm"), "the details")
        await robot.tap("confirm")
        await robot.step(Step.INSURANCE_CARD)
        await robot.tap("keep-card")
        await sign_every_form(robot)
        if robot.screen == Step.COPAY.value:
            await robot.tap("pay-desk")
        await robot.step(Step.DONE)
        greeting = translate("You're checked in, {name}.", "es")
        assert screen_of(robot).greeting == greeting.format(name=robot.kiosk.flow.first_name)

    with kiosk_parts(clinic, backoffice.url, tmp_path / "kiosk", Clock()) as parts:
        run_app(parts, script)
    [arrival] = [item for item in queue(backoffice) if item["patient_id"] == patient_id]
    assert arrival["state"] == "waiting"


def test_an_idle_patient_is_asked_still_there_then_wiped_back_to_welcome(
    x_screen, clinic, backoffice, patients, tmp_path
):
    last_name, dob, _ = next(patients)
    clock = Clock()

    async def script(robot) -> None:
        await identify(robot, last_name, date.fromisoformat(dob))
        await robot.step(Step.VERIFY)
        await robot.tap("match-0")
        await robot.step(Step.CONFIRM_DETAILS)
        await robot.until(lambda: robot.has("confirm"), "the details")
        rules = robot.kiosk.flow.rules
        clock.ahead = rules.idle_timeout - rules.idle_warning + timedelta(seconds=1)
        await robot.until(lambda: robot.kiosk.root.asking_still_there, "Still there?")
        await robot.tap("still-here")  # answered: the check-in goes on
        await robot.until(lambda: not robot.kiosk.root.asking_still_there, "the question gone")
        assert robot.screen == Step.CONFIRM_DETAILS.value
        clock.ahead += rules.idle_timeout + timedelta(seconds=1)  # and now nobody answers
        await robot.step(Step.WELCOME)
        assert robot.kiosk.flow.holds_phi is False
        assert robot.kiosk.root.asking_still_there is False
        details = robot.kiosk._shown["confirm_details"]
        assert details.proposed is None  # the screen forgot the patient too
        texts = " ".join(w.text for w in robot.kiosk.root.walk() if hasattr(w, "text"))
        assert last_name.upper() not in texts.upper()

    with kiosk_parts(clinic, backoffice.url, tmp_path / "kiosk", clock) as parts:
        run_app(parts, script)


def test_an_offline_check_in_completes_and_reaches_the_back_office_once_it_returns(
    x_screen, clinic, patients, tmp_path
):
    last_name, dob, patient_id = next(patients)
    server = BackOffice(clinic).start()

    async def script(robot) -> None:
        await robot.until(lambda: robot.kiosk.delivery.online is True, "the back office")
        await robot.until(lambda: (tmp_path / "kiosk" / "consents.json").exists(), "forms cached")
        server.stop()
        await robot.until(lambda: robot.kiosk.root.offline, "the offline banner")
        await identify(robot, last_name, date.fromisoformat(dob))
        await robot.step(Step.INSURANCE_CARD)  # offline: no verify, no details to confirm
        await robot.tap("keep-card")
        await sign_every_form(robot)
        await robot.step(Step.DONE)
        assert robot.kiosk.receipt() is None  # no answer yet: the done screen says it is saved
        assert "saved on this kiosk" in screen_of(robot).next_steps
        assert robot.kiosk.parts.outbox.status().pending == 1
        server.start()
        await robot.until(lambda: robot.kiosk.parts.outbox.status().pending == 0, "delivery", 30)
        await robot.until(lambda: not robot.kiosk.root.offline, "the banner gone", 10)

    try:
        with kiosk_parts(clinic, server.url, tmp_path / "kiosk", Clock()) as parts:
            run_app(parts, script)
        arrivals = [item for item in queue(server) if item["patient_id"] == patient_id]
    finally:
        server.stop()
    assert len(arrivals) == 1


def test_a_declined_card_leaves_the_choice_of_another_card_or_the_desk(
    x_screen, clinic, backoffice, patients, tmp_path
):
    last_name, dob, patient_id = next(patients)
    set_copay(clinic, backoffice, patient_id)

    async def script(robot) -> None:
        await identify(robot, last_name, date.fromisoformat(dob))
        await robot.step(Step.VERIFY)
        await robot.tap("match-0")
        await robot.step(Step.CONFIRM_DETAILS)
        await robot.until(lambda: robot.has("confirm"), "the details")
        await robot.tap("confirm")
        await robot.step(Step.INSURANCE_CARD)
        await robot.tap("self-pay")
        await sign_every_form(robot)
        await robot.step(Step.COPAY)
        await robot.tap("pay-card")
        await robot.button_appears("test-card-declined")
        await robot.tap("test-card-declined")
        await robot.until(lambda: "declined" in screen_of(robot).problem, "the decline", 30)
        assert robot.has("pay-card") and robot.has("pay-desk")
        assert robot.button("pay-card").text == "Try another card"
        await robot.tap("pay-desk")
        await robot.step(Step.DONE)
        assert screen_of(robot).paid == ""

    with kiosk_parts(clinic, backoffice.url, tmp_path / "kiosk", Clock()) as parts:
        run_app(parts, script)
    ledger = backoffice.get(f"/patients/{patient_id}/ledger", backoffice.staff_headers())
    assert [item["kind"] for item in ledger["items"] if item["kind"] == "payment"] == []
