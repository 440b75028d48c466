"""The kiosk against a real back office: `frontdesk kiosk check-in` through the flow, the
client and the outbox to `frontdesk backoffice serve`, and the arrival on the queue."""

from __future__ import annotations

import json
import sqlite3
import threading

import httpx
import pytest

from hardware.vision.corpus import as_scan, make_card
from tests.conftest import fresh_database_url
from tests.fixtures.servers import BackOffice, Clinic, free_port, kiosk_env, seeded_clinic


@pytest.fixture(scope="module")
def clinic(tmp_path_factory) -> Clinic:
    var = tmp_path_factory.mktemp("e2e")
    return seeded_clinic(var / "var", f"sqlite:///{var / 'frontdesk.db'}")


@pytest.fixture
def backoffice(clinic):
    server = BackOffice(clinic).start()
    yield server
    server.stop()


def location_id(server: BackOffice, headers: dict[str, str]) -> str:
    return server.get("/locations", headers)["items"][0]["id"]


def queue(server: BackOffice) -> list[dict]:
    headers = server.staff_headers()
    return server.get("/queue", headers, location_id=location_id(server, headers))["items"]


def check_in(clinic: Clinic, env: dict[str, str], last_name: str, dob: str, *extra: str):
    return clinic.run(
        "kiosk", "check-in", "--last-name", last_name, "--dob", dob, "--sign", *extra, env=env
    )


def test_a_headless_check_in_appears_on_the_queue(clinic, backoffice, tmp_path):
    last_name, dob, patient_id = clinic.due_soon()[0]
    env = kiosk_env(clinic, backoffice.url, tmp_path / "kiosk")
    card = make_card(3)
    as_scan(card, 3).save(tmp_path / "card.png")
    result = check_in(clinic, env, last_name, dob, "--card-front", str(tmp_path / "card.png"))
    assert result.returncode == 0, result.stderr
    assert "delivered to the back office" in result.stdout
    [arrival] = [i for i in queue(backoffice) if i["patient_id"] == patient_id]
    assert arrival["state"] == "waiting"
    assert "insurance_to_review" in arrival["flags"]
    # The kiosk read the card (OCR) and the back office kept the reading for review.
    database = clinic.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(database) as conn:
        [(fields,)] = conn.execute("SELECT fields FROM card_captures").fetchall()
    read = json.loads(fields)
    assert read["member_id"]["value"] == card.truth.member_id
    assert 0 < read["member_id"]["confidence"] <= 1
    status = json.loads(clinic.run("kiosk", "outbox", "status", "--json", env=env).stdout)
    assert (status["pending"], status["held"]) == (0, 0)


def test_check_ins_made_while_the_back_office_is_down_arrive_once_after_it_returns(
    clinic, tmp_path
):
    server = BackOffice(clinic, port=free_port())  # not started: nobody answers on the port
    env = kiosk_env(clinic, server.url, tmp_path / "kiosk")
    waiting = clinic.due_soon()[1:5]
    for last_name, dob, _ in waiting:
        result = check_in(clinic, env, last_name, dob)
        assert result.returncode == 0, result.stderr
        assert "recorded offline" in result.stdout and "kept in the outbox" in result.stdout
    status = json.loads(clinic.run("kiosk", "outbox", "status", "--json", env=env).stdout)
    assert status["pending"] == len(waiting)

    server.start()
    try:
        flushed = clinic.run("kiosk", "outbox", "flush", env=env)
        assert flushed.returncode == 0, flushed.stderr
        assert flushed.stdout.startswith(f"delivered {len(waiting)},")
        again = clinic.run("kiosk", "outbox", "flush", env=env)
        assert again.stdout.startswith("delivered 0,")
        arrived = [i["patient_id"] for i in queue(server)]
        for _, _, patient_id in waiting:
            assert arrived.count(patient_id) == 1
        offline = [i for i in queue(server) if i["offline"]]
        assert len(offline) == len(waiting)
    finally:
        server.stop()


def test_the_outbox_keeps_no_patient_data_once_delivered(clinic, backoffice, tmp_path):
    last_name, dob, _ = clinic.due_soon()[5]
    kiosk_dir = tmp_path / "kiosk"
    result = check_in(clinic, kiosk_env(clinic, backoffice.url, kiosk_dir), last_name, dob)
    assert result.returncode == 0, result.stderr
    # The outbox file, its WAL, its key and the cached consent forms: nothing of the patient.
    stored = b"".join(p.read_bytes() for p in kiosk_dir.iterdir() if p.is_file())
    assert (kiosk_dir / "outbox.db").exists()
    for secret in (last_name.encode(), dob.encode(), last_name.upper().encode()):
        assert secret not in stored


def test_a_kiosk_without_a_token_says_so_in_one_line(clinic, tmp_path):
    env = kiosk_env(clinic, "http://127.0.0.1:9", tmp_path / "kiosk")
    del env["FRONTDESK_KIOSK_TOKEN"]
    result = clinic.run("kiosk", "outbox", "status", env=env)
    assert result.returncode == 1
    assert result.stderr.startswith("frontdesk: error: no kiosk token")
    assert len(result.stderr.splitlines()) == 1


def test_a_malformed_birth_date_is_one_line_and_exit_2(clinic, tmp_path):
    env = kiosk_env(clinic, "http://127.0.0.1:9", tmp_path / "kiosk")
    result = check_in(clinic, env, "Anyone", "17/03/1956")
    assert result.returncode == 2
    assert result.stderr.startswith("frontdesk: error: ")
    assert "YYYY-MM-DD" in result.stderr and len(result.stderr.splitlines()) == 1


# --- two back-office processes on PostgreSQL -------------------------------------------------


def read_events(
    url: str, headers: dict[str, str], found: list[dict], ready: threading.Event
) -> None:
    with httpx.stream(
        "GET", f"{url}/api/v1/queue/events", headers=headers, params={"max_events": 2}, timeout=30
    ) as response:
        for line in response.iter_lines():
            if line.startswith(": connected"):
                ready.set()
            if line.startswith("data: "):
                found.append(json.loads(line.removeprefix("data: ")))


def test_two_processes_on_postgresql_both_stream_an_arrival_made_through_either(tmp_path):
    url = fresh_database_url("postgresql", tmp_path, "e2e_stream")
    clinic = seeded_clinic(tmp_path / "var", url)
    first, second = BackOffice(clinic).start(), BackOffice(clinic).start()
    try:
        streams = []
        for server in (first, second):
            found: list[dict] = []
            ready = threading.Event()
            thread = threading.Thread(
                target=read_events, args=(server.url, server.staff_headers(), found, ready)
            )
            thread.start()
            assert ready.wait(10)
            streams.append((thread, found))
        checked_in = []
        for through, (last_name, dob, patient_id) in zip(
            (first, second), clinic.due_soon()[:2], strict=True
        ):
            env = kiosk_env(clinic, through.url, tmp_path / f"kiosk-{through.port}")
            result = check_in(clinic, env, last_name, dob)
            assert result.returncode == 0, result.stderr
            checked_in.append(patient_id)
        for thread, found in streams:
            thread.join(15)
            assert [e["patient_id"] for e in found] == checked_in
    finally:
        first.stop()
        second.stop()
