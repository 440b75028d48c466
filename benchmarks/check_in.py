"""Check-in latency to the staff stream, and kiosk-API throughput, against real processes.

    .venv/bin/python -m benchmarks.check_in [--backend sqlite|postgresql|both]
        [--check-ins 200] [--kiosks 8]

For each backend: a fresh database, migrated and seeded by `frontdesk demo seed`, plus one
patient with an appointment starting soon for every check-in to be made. Then:

* latency: `frontdesk backoffice serve` runs twice on PostgreSQL (once on SQLite, which is
  single-process); a staff stream (GET /queue/events) is held open on the *second* process
  while check-ins are completed one at a time on the first. For each, the time from just
  before the kiosk sends the finished check-in to the moment its `arrival` event is read
  from the stream: the delay a front desk sees.
* throughput: `--kiosks` threads, each a kiosk client (its own device token), doing the
  online part of a check-in (lookup, demographics, consents, copay) and the submission as
  fast as they can; requests per second and check-ins per second, with latency percentiles.

Figures are printed and written to benchmarks/results/check_in-<backend>.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import httpx
from sqlmodel import Session

import backoffice.models_registry  # noqa: F401
from backoffice.db import make_engine
from backoffice.devices import service as devices_service
from backoffice.security.actor import Actor
from backoffice.security.principal import CLI_ORIGIN, SYSTEM
from benchmarks.slot_search import DEFAULT_POSTGRES_URL, fresh_database

# The end-to-end tests' process helpers: the benchmark runs the same real processes.
from tests.fixtures.servers import BIRTH, BackOffice, add_due_soon, seeded_clinic

RESULTS = Path(__file__).parent / "results"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def add_patients_due(url: str, count: int, kiosks: int) -> tuple[list[str], list[str]]:
    """`count` patients due within the hour, and kiosk tokens."""
    names = [last for last, _, _ in add_due_soon(url, count, prefix="Bench")]
    engine = make_engine(url)
    actor = Actor(SYSTEM, CLI_ORIGIN)
    with Session(engine) as session:
        tokens = [
            devices_service.add_kiosk(session, actor=actor, name=f"bench-kiosk-{k}")[1]
            for k in range(kiosks)
        ]
        session.commit()
    engine.dispose()
    return names, tokens


class Kiosk:
    def __init__(self, server: str, token: str) -> None:
        self.http = httpx.Client(
            base_url=f"{server}/api/v1/kiosk",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        self.timings: list[float] = []

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        started = time.perf_counter()
        response = self.http.request(method, path, **kwargs)
        self.timings.append(time.perf_counter() - started)
        assert response.status_code < 300, (path, response.status_code, response.text)
        return response.json() if response.content else None

    def online_part(self, last_name: str) -> str:
        body = {"method": "name_dob", "last_name": last_name, "date_of_birth": BIRTH.isoformat()}
        [match] = self.call("POST", "/lookups", json=body)["matches"]
        session_id = match["session_id"]
        for part in ("demographics", "consents", "copay"):
            self.call("GET", f"/sessions/{session_id}/{part}")
        return session_id

    def submit(self, session_id: str) -> dict[str, Any]:
        check_in_id = str(uuid.uuid4())
        body = {
            "check_in_id": check_in_id,
            "session_id": session_id,
            "completed_at": datetime.now(UTC).isoformat(),
        }
        return self.call("POST", "/check-ins", json=body, headers={"Idempotency-Key": check_in_id})


def stream_reader(
    server: BackOffice, headers: dict[str, str], seen: dict[str, float], ready: threading.Event
) -> None:
    url = f"{server.url}/api/v1/queue/events"
    with (
        contextlib.suppress(httpx.RemoteProtocolError),  # the server stopping, at the end
        httpx.stream("GET", url, headers=headers, timeout=None) as response,
    ):
        for line in response.iter_lines():
            if line.startswith(": connected"):
                ready.set()
            elif line.startswith("data: "):
                item = json.loads(line.removeprefix("data: "))
                seen.setdefault(item["arrival_id"], time.perf_counter())


def measure(backend: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    url = fresh_database(
        backend, workdir=workdir, postgres_url=args.postgres_url, name="frontdesk_bench_check_in"
    )
    clinic = seeded_clinic(workdir / f"var-{backend}", url)
    total = args.check_ins * 2
    names, tokens = add_patients_due(url, total, args.kiosks)
    first = BackOffice(clinic).start()
    second = BackOffice(clinic).start() if backend == "postgresql" else first
    try:
        # Latency: complete on the first process, watch the stream of the second.
        seen: dict[str, float] = {}
        ready = threading.Event()
        reader = threading.Thread(
            target=stream_reader,
            args=(second, second.staff_headers(), seen, ready),
            daemon=True,
        )
        reader.start()
        assert ready.wait(15)
        kiosk = Kiosk(first.url, tokens[0])
        delays = []
        for name in names[: args.check_ins]:
            session_id = kiosk.online_part(name)
            sent = time.perf_counter()
            receipt = kiosk.submit(session_id)
            deadline = time.monotonic() + 10
            while receipt["arrival_id"] not in seen and time.monotonic() < deadline:
                time.sleep(0.0005)
            delays.append(seen[receipt["arrival_id"]] - sent)
        # Throughput: several kiosks at once, all on the first process.
        remaining = names[args.check_ins :]
        shares = [remaining[k :: args.kiosks] for k in range(args.kiosks)]
        kiosks = [Kiosk(first.url, token) for token in tokens]

        def work(k: int) -> None:
            for name in shares[k]:
                kiosks[k].submit(kiosks[k].online_part(name))

        started = time.perf_counter()
        threads = [threading.Thread(target=work, args=(k,)) for k in range(args.kiosks)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        requests = [t for k in kiosks for t in k.timings]
    finally:
        first.stop()
        if second is not first:
            second.stop()
    ms = [d * 1000 for d in delays]
    request_ms = [t * 1000 for t in requests]
    return {
        "backend": backend,
        "processes": 2 if backend == "postgresql" else 1,
        "latency_ms": {
            "n": len(ms),
            "p50": round(statistics.median(ms), 1),
            "p95": round(percentile(ms, 95), 1),
            "p99": round(percentile(ms, 99), 1),
            "max": round(max(ms), 1),
        },
        "throughput": {
            "kiosks": args.kiosks,
            "check_ins": len(remaining),
            "seconds": round(elapsed, 2),
            "check_ins_per_s": round(len(remaining) / elapsed, 1),
            "requests_per_s": round(len(requests) / elapsed, 1),
            "request_ms_p50": round(statistics.median(request_ms), 1),
            "request_ms_p99": round(percentile(request_ms, 99), 1),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--check-ins", type=int, default=200)
    parser.add_argument("--kiosks", type=int, default=8)
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
        (RESULTS / f"check_in-{backend}.json").write_text(json.dumps(figures, indent=2))
        lat, thr = figures["latency_ms"], figures["throughput"]
        print(
            f"{backend} ({figures['processes']} process(es)): check-in to stream event "
            f"p50 {lat['p50']} ms, p95 {lat['p95']} ms, p99 {lat['p99']} ms, max {lat['max']} ms "
            f"over {lat['n']}; {thr['kiosks']} kiosks: {thr['check_ins_per_s']} check-ins/s, "
            f"{thr['requests_per_s']} requests/s, request p50 {thr['request_ms_p50']} ms, "
            f"p99 {thr['request_ms_p99']} ms"
        )


if __name__ == "__main__":
    main()
