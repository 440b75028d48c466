"""The staff console end to end, in Debian's headless Chromium driven by Playwright, against
real `frontdesk backoffice serve` processes and check-ins made by the headless kiosk driver
(`frontdesk kiosk check-in`)."""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path

import pytest

from hardware.vision.corpus import as_scan, make_card
from tests.conftest import fresh_database_url
from tests.fixtures.console import chromium, sign_in_page
from tests.fixtures.servers import BackOffice, Clinic, add_due_soon, kiosk_env, seeded_clinic

pytestmark = pytest.mark.skipif(
    not Path("/usr/bin/chromium").exists(), reason="needs Debian's chromium (scripts/bootstrap)"
)


@pytest.fixture(scope="module")
def clinic(tmp_path_factory) -> Clinic:
    var = tmp_path_factory.mktemp("console")
    clinic = seeded_clinic(var / "var", f"sqlite:///{var / 'frontdesk.db'}")
    # One patient due soon for each test, beyond the demo's six.
    _pool.extend(
        add_due_soon(clinic.database_url, 12, prefix="Console", location_id=clinic.kiosk_location())
    )
    return clinic


@pytest.fixture(scope="module")
def backoffice(clinic):
    server = BackOffice(clinic).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


_pool: list[tuple[str, str, str]] = []


def next_patient(clinic: Clinic) -> tuple[str, str, str]:
    """A patient due soon whom no other test of the module has checked in."""
    assert _pool, "no more patients due soon"
    return _pool.pop()


def board_page(browser, server: BackOffice, clinic: Clinic, username: str = "frontdesk"):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    sign_in_page(page, server.url, username, clinic.credentials[username])
    page.goto(f"{server.url}/staff/queue?location_id={clinic.kiosk_location()}")
    page.wait_for_selector("#live-status[data-state=live]", timeout=10_000)
    return page


def row_selector(patient_id: str) -> str:
    return f"tr[data-arrival][data-patient='{patient_id}']"


def check_in(clinic: Clinic, server: BackOffice, tmp_path: Path, due, *extra: str) -> None:
    last_name, dob, _ = due
    env = kiosk_env(clinic, server.url, tmp_path / f"kiosk-{server.port}")
    result = clinic.run(
        "kiosk", "check-in", "--last-name", last_name, "--dob", dob, "--sign", *extra, env=env
    )
    assert result.returncode == 0, result.stderr
    assert "delivered to the back office" in result.stdout


def row(page, patient_id: str):
    return page.locator(row_selector(patient_id))


def test_a_kiosk_check_in_appears_on_the_open_board_within_a_second(
    browser, backoffice, clinic, tmp_path
):
    page = board_page(browser, backoffice, clinic)
    page.evaluate("window.notReloaded = true")
    due = next_patient(clinic)
    check_in(clinic, backoffice, tmp_path, due)
    delivered = time.monotonic()
    row(page, due[2]).wait_for(timeout=1_000)
    shown_after = time.monotonic() - delivered
    assert shown_after < 1.0
    assert page.evaluate("window.notReloaded") is True  # it came live, not by a reload
    assert row(page, due[2]).get_attribute("data-state") == "waiting"
    page.context.close()


def test_front_desk_rooms_and_checks_out_the_patient(browser, backoffice, clinic, tmp_path):
    page = board_page(browser, backoffice, clinic)
    due = next_patient(clinic)
    check_in(clinic, backoffice, tmp_path, due)
    arrival = row(page, due[2])
    arrival.wait_for(timeout=2_000)
    arrival.get_by_role("button", name=re.compile("^Room:")).click()
    page.locator(f"section.lane-roomed {row_selector(due[2])}").wait_for(timeout=2_000)
    row(page, due[2]).get_by_role("button", name=re.compile("^Check out:")).click()
    page.locator(f"section.lane-done {row_selector(due[2])}").wait_for(timeout=2_000)
    assert row(page, due[2]).get_attribute("data-state") == "checked_out"
    headers = backoffice.staff_headers()
    queue = backoffice.get("/queue", headers, location_id=clinic.kiosk_location())["items"]
    [item] = [i for i in queue if i["patient_id"] == due[2]]
    assert item["state"] == "checked_out"
    page.context.close()


def test_a_billing_user_cannot_reach_the_queue_actions(browser, backoffice, clinic, tmp_path):
    due = next_patient(clinic)
    check_in(clinic, backoffice, tmp_path, due)
    page = board_page(browser, backoffice, clinic, "billing")
    arrival = row(page, due[2])
    arrival.wait_for(timeout=2_000)
    assert page.locator("form[action*='/move'], button[id^='move-']").count() == 0
    arrival_id = arrival.get_attribute("data-arrival")
    # Even a hand-made request with the page's own CSRF token is refused.
    status = page.evaluate(
        """async (id) => (await fetch(`/staff/queue/${id}/move`, {
            method: "POST", body: new URLSearchParams({to: "roomed"}),
            headers: {"X-Requested-With": "fetch",
                      "X-CSRF-Token": document.querySelector('meta[name=csrf-token]').content},
        })).status""",
        arrival_id,
    )
    assert status == 403
    assert row(page, due[2]).get_attribute("data-state") == "waiting"
    page.context.close()


def test_the_board_reconnects_after_the_back_office_restarts(browser, clinic, tmp_path):
    server = BackOffice(clinic).start()
    try:
        page = board_page(browser, server, clinic)
        server.stop()
        page.wait_for_selector("#live-status[data-state=away]", timeout=10_000)
        server.start()
        page.wait_for_selector("#live-status[data-state=live]", timeout=15_000)
        due = next_patient(clinic)
        check_in(clinic, server, tmp_path, due)
        row(page, due[2]).wait_for(timeout=2_000)
        page.context.close()
    finally:
        server.stop()


def test_a_board_on_one_process_shows_a_check_in_made_through_another(browser, tmp_path):
    url = fresh_database_url("postgresql", tmp_path, "console_two")
    clinic = seeded_clinic(tmp_path / "var", url)
    watched, other = BackOffice(clinic).start(), BackOffice(clinic).start()
    try:
        page = board_page(browser, watched, clinic)
        due = clinic.due_soon()[0]
        check_in(clinic, other, tmp_path, due)
        row(page, due[2]).wait_for(timeout=1_000)
        page.context.close()
    finally:
        watched.stop()
        other.stop()


def test_a_card_read_at_the_kiosk_is_flagged_for_review(browser, backoffice, clinic, tmp_path):
    card = make_card(5)
    as_scan(card, 5).save(tmp_path / "card.png")
    page = board_page(browser, backoffice, clinic)
    due = next_patient(clinic)
    check_in(clinic, backoffice, tmp_path, due, "--card-front", str(tmp_path / "card.png"))
    arrival = row(page, due[2])
    arrival.wait_for(timeout=2_000)
    assert "Insurance to review" in arrival.inner_text()
    page.context.close()


def test_insurance_review_updates_the_policy(browser, backoffice, clinic, tmp_path):
    card = make_card(7)
    as_scan(card, 7).save(tmp_path / "card.png")
    page = board_page(browser, backoffice, clinic)
    due = next_patient(clinic)
    check_in(clinic, backoffice, tmp_path, due, "--card-front", str(tmp_path / "card.png"))
    arrival = row(page, due[2])
    arrival.wait_for(timeout=2_000)
    arrival.get_by_role("link").first.click()
    page.wait_for_url(re.compile(r".*/staff/arrivals/.*"))
    # The front as captured, beside what was read off it.
    front = page.locator("img[src$='/front']")
    assert front.evaluate("img => img.complete && img.naturalWidth > 0")
    accept = page.locator("form[action$='/accept']").first
    corrected = "ZQ" + due[2][:8].upper()
    accept.locator("input[name=member_id]").fill(corrected)
    accept.get_by_role("button", name="Accept into policy").click()
    page.wait_for_load_state()
    assert "Accepted" in page.locator("main").inner_text()
    headers = backoffice.staff_headers()
    policies = backoffice.get(f"/patients/{due[2]}/policies", headers)
    assert corrected in [p["member_id"] for p in policies]
    # The board no longer asks for the card to be reviewed.
    page.goto(f"{backoffice.url}/staff/queue?location_id={clinic.kiosk_location()}")
    assert "Insurance to review" not in row(page, due[2]).inner_text()
    page.context.close()


def test_the_lobby_display_shows_a_new_arrival_live_without_names(
    browser, backoffice, clinic, tmp_path
):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    lobby = context.new_page()
    lobby.goto(f"{backoffice.url}/lobby")
    lobby.wait_for_url(re.compile(r".*/lobby/sign-in"))
    lobby.get_by_label(re.compile("code", re.I)).fill(clinic.display_code)
    lobby.get_by_role("button").click()
    lobby.wait_for_url(re.compile(r".*/lobby$"))
    lobby.wait_for_selector("#live-status[data-state=live]", timeout=10_000)
    due = next_patient(clinic)
    first = clinic.query(f"SELECT first_name FROM patients WHERE last_name = '{due[0]}'")[0][0]
    initials = f"{first[0]}. {due[0][0]}."
    times_shown = "t => document.querySelector('main').innerText.split(t).length - 1"
    before = lobby.evaluate(times_shown, initials)
    check_in(clinic, backoffice, tmp_path, due)
    lobby.wait_for_function(f"t => ({times_shown})(t) > {before}", arg=initials, timeout=2_000)
    shown = lobby.locator("main").inner_text()
    assert due[0] not in shown and first not in shown and due[1] not in shown
    # The display is not a person: the staff pages send it to sign in.
    lobby.goto(f"{backoffice.url}/staff/queue")
    assert "/staff/login" in lobby.url
    context.close()


# The page audit, as Chromium runs it: see the script for what it checks.
AUDIT_PAGE = (Path(__file__).parent / "audit_page.js").read_text()


def test_console_pages_have_labels_names_and_keyboard_focus(browser, backoffice, clinic, tmp_path):
    due = next_patient(clinic)
    check_in(clinic, backoffice, tmp_path, due)
    page = board_page(browser, backoffice, clinic, "admin")
    arrival = row(page, due[2]).get_attribute("data-arrival")
    [(kiosk,)] = clinic.query("SELECT id FROM devices WHERE kind = 'kiosk'")
    kiosk = uuid.UUID(str(kiosk))
    pages = [
        "/staff/queue",
        f"/staff/arrivals/{arrival}",
        f"/staff/arrivals/{arrival}/checkout",
        "/staff/review",
        "/staff/schedule",
        "/staff/appointments/new",
        "/staff/wait-list",
        f"/staff/patients?q={due[0]}",
        f"/staff/patients/{due[2]}",
        f"/staff/patients/{due[2]}/edit",
        f"/staff/patients/{due[2]}/policies/new",
        "/staff/patients/new",
        "/staff/devices",
        f"/staff/devices/{kiosk}",
        "/staff/devices/enrol",
        f"/staff/devices/enrol?replace={kiosk}",
    ]
    problems = {}

    def audit(where: str) -> None:
        found = page.evaluate(AUDIT_PAGE)
        assert isinstance(found, list)  # the audit ran
        if found:
            problems[where] = found

    for path in pages:
        page.goto(f"{backoffice.url}{path}")
        audit(path)
    # Pages that answer a form: a configuration refused by field, an enrolment code.
    page.goto(f"{backoffice.url}/staff/devices/{kiosk}")
    page.fill("#idle_timeout_seconds", "10")
    page.get_by_role("button", name="Save the configuration").click()
    page.wait_for_selector("#problems")
    audit("kiosk configuration refused")
    page.goto(f"{backoffice.url}/staff/devices/enrol")
    page.select_option("#location_id", clinic.kiosk_location())
    page.get_by_role("button", name="Make the code").click()
    page.wait_for_selector("#enrolment-code")
    audit("enrolment code")
    assert problems == {}
    # The keyboard reaches the content first (skip link), and focus is visible.
    page.goto(f"{backoffice.url}/staff/queue?location_id={clinic.kiosk_location()}")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.context.close()
