"""The staff console's arrival board: how fast a check-in shows on an open board in a real
browser, and how long the board takes to render as the day fills up.

    .venv/bin/python -m benchmarks.console_board [--backend sqlite|postgresql|both]
        [--check-ins 40]

For each backend: a fresh database seeded by `frontdesk demo seed`, plus patients due soon.
The board is opened in Debian's headless Chromium (Playwright) as the front desk; on
PostgreSQL it is served by a second `frontdesk backoffice serve` process, so each event
crosses processes through LISTEN/NOTIFY. Then, one at a time, a kiosk client completes a
check-in on the first process and the page records (a MutationObserver, on the same clock)
when that arrival's row enters the board:

* check-in to row on screen: from just before the kiosk sends the finished check-in to the
  row in the page's DOM (the event, the board's re-fetch and its rendering included);
* board render: GET /staff/queue/board (the fragment the page re-fetches) with the day's
  arrivals on it, timed from the client, once the board holds all the check-ins.

Figures are printed and written to benchmarks/results/console_board-<backend>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import uuid
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import httpx

from benchmarks.check_in import RESULTS, Kiosk, add_patients_due, percentile
from benchmarks.slot_search import DEFAULT_POSTGRES_URL, fresh_database
from tests.fixtures.console import chromium, sign_in_page
from tests.fixtures.servers import BackOffice, seeded_clinic

WATCH_ROWS = """() => {
  window.seenAt = {};
  new MutationObserver(() => {
    for (const row of document.querySelectorAll("tr[data-arrival]")) {
      window.seenAt[row.dataset.arrival] ??= Date.now();
    }
  }).observe(document.getElementById("board"), {childList: true, subtree: true});
}"""


def board_render_ms(server: BackOffice, username: str, password: str, location: str) -> list[float]:
    origin = server.url
    with httpx.Client(base_url=origin, follow_redirects=False) as http:
        # The session cookie is Secure; httpx keeps it for 127.0.0.1 only over HTTPS, so
        # carry it by hand.
        signed_in = http.post(
            "/staff/login",
            data={"username": username, "password": password},
            headers={"Origin": origin},
        )
        cookie = signed_in.cookies.get("frontdesk_console")
        timings = []
        for _ in range(30):
            started = time.perf_counter()
            response = http.get(
                "/staff/queue/board",
                params={"location_id": location},
                headers={"Cookie": f"frontdesk_console={cookie}"},
            )
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.status_code
    return timings


def measure(backend: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    url = fresh_database(
        backend, workdir=workdir, postgres_url=args.postgres_url, name="frontdesk_bench_console"
    )
    clinic = seeded_clinic(workdir / f"var-{backend}", url)
    names, tokens = add_patients_due(url, args.check_ins, 1)
    first = BackOffice(clinic).start()
    second = BackOffice(clinic).start() if backend == "postgresql" else first
    try:
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            password = clinic.credentials["frontdesk"]
            sign_in_page(page, second.url, "frontdesk", password)
            [(where,)] = clinic.query(
                "SELECT DISTINCT location_id FROM appointments WHERE created_by = 'test'"
            )
            location = str(uuid.UUID(str(where)))
            page.goto(f"{second.url}/staff/queue?location_id={location}")
            page.wait_for_selector("#live-status[data-state=live]")
            page.evaluate(WATCH_ROWS)
            kiosk = Kiosk(first.url, tokens[0])
            delays = []
            for name in names:
                session_id = kiosk.online_part(name)
                sent = time.time() * 1000
                receipt = kiosk.submit(session_id)
                arrival = receipt["arrival_id"]
                page.wait_for_function("id => window.seenAt[id]", arg=arrival, timeout=10_000)
                delays.append(page.evaluate("id => window.seenAt[id]", arrival) - sent)
            render = board_render_ms(second, "frontdesk", password, location)
    finally:
        first.stop()
        if second is not first:
            second.stop()
    return {
        "backend": backend,
        "processes": 2 if backend == "postgresql" else 1,
        "check_in_to_row_ms": {
            "n": len(delays),
            "p50": round(statistics.median(delays), 1),
            "p95": round(percentile(delays, 95), 1),
            "max": round(max(delays), 1),
        },
        "board_render_ms": {
            "arrivals": len(names),
            "p50": round(statistics.median(render), 1),
            "p95": round(percentile(render, 95), 1),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--check-ins", type=int, default=40)
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("FRONTDESK_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL),
        help="a server where the role may CREATE DATABASE",
    )
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    RESULTS.mkdir(exist_ok=True)
    for backend in backends:
        with TemporaryDirectory() as tmp:
            figures = measure(backend, args, Path(tmp))
        (RESULTS / f"console_board-{backend}.json").write_text(json.dumps(figures, indent=2))
        lag, render = figures["check_in_to_row_ms"], figures["board_render_ms"]
        print(
            f"{backend} ({figures['processes']} process(es)): check-in to row on the open board "
            f"p50 {lag['p50']} ms, p95 {lag['p95']} ms, max {lag['max']} ms over {lag['n']}; "
            f"board with {render['arrivals']} arrivals renders in p50 {render['p50']} ms, "
            f"p95 {render['p95']} ms"
        )


if __name__ == "__main__":
    main()
