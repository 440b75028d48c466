"""The kiosk fleet against a real back office: enrolling kiosks, their heartbeats, and the
fleet list an admin opens.

    .venv/bin/python -m benchmarks.fleet [--backend sqlite|postgresql|both] [--kiosks 200]
        [--beats 2000] [--concurrency 8]

For each backend: a fresh database with the demo clinic, served by one `frontdesk backoffice
serve` process. Then, over real HTTP on loopback:

* enrolment: an admin makes a code (`POST /api/v1/devices/enrollment-codes`) and a kiosk
  enrols with it and a new Ed25519 key (`POST /api/v1/enrollments`), timed from the kiosk's
  side, key generation included: `--kiosks` of them, one after another;
* heartbeat: `--beats` heartbeats from all those kiosks, `--concurrency` at a time, each with
  its peripherals, uptime, disk and clock offset; the latency of each and the throughput.
  A kiosk beats once a minute, so heartbeats/s x 60 is the fleet one process carries;
* fleet list: `GET /api/v1/devices?limit=200` with every kiosk's heartbeat on it;
* rotation: challenge, signature and new token for 50 kiosks (`POST /api/v1/kiosk/credential`).

Figures are printed and written to benchmarks/results/fleet-<backend>.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import httpx

from benchmarks.check_in import RESULTS, percentile
from benchmarks.slot_search import DEFAULT_POSTGRES_URL, fresh_database
from shared.contracts import provisioning as contract
from shared.device_credential import new_private_key, public_key_text, sign
from tests.fixtures.servers import BackOffice, seeded_clinic


def summary(values_ms: list[float]) -> dict[str, float]:
    return {
        "n": len(values_ms),
        "p50_ms": round(statistics.median(values_ms), 1),
        "p95_ms": round(percentile(values_ms, 95), 1),
        "max_ms": round(max(values_ms), 1),
    }


def heartbeat_body(n: int) -> dict[str, Any]:
    return {
        "app_version": "0.1.0",
        "outbox_pending": n % 3,
        "outbox_held": 0,
        "peripherals": {
            "camera": {"state": "ok"},
            "printer": {"state": "ok"},
            "scanner": {"state": "ok"},
            "card_reader": {"state": "ok"},
        },
        "uptime_seconds": 3600 + n,
        "disk_free_bytes": 20_000_000_000,
        "disk_total_bytes": 30_000_000_000,
        "clock_offset_ms": n % 50,
        "config_version": 1,
    }


def admin_headers(http: httpx.Client, username: str, password: str) -> dict[str, str]:
    answer = http.post("/api/v1/auth/token", data={"username": username, "password": password})
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def measure(backend: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    url = fresh_database(backend, workdir=workdir, postgres_url=args.postgres_url, name="fleet")
    clinic = seeded_clinic(workdir / backend, url)
    server = BackOffice(clinic).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            admin = admin_headers(http, "admin", clinic.credentials["admin"])
            location = http.get("/api/v1/locations", headers=admin).json()["items"][0]["id"]

            kiosks: list[tuple[str, str, Any]] = []  # device id, token, private key
            enrol_ms = []
            for n in range(args.kiosks):
                code = http.post(
                    "/api/v1/devices/enrollment-codes",
                    json={"location_id": location},
                    headers=admin,
                ).json()["code"]
                started = time.perf_counter()
                key = new_private_key()
                answer = http.post(
                    contract.ENROLLMENT_API,
                    json={"code": code, "public_key": public_key_text(key), "hostname": f"pi-{n}"},
                )
                enrol_ms.append((time.perf_counter() - started) * 1000)
                answer.raise_for_status()
                body = answer.json()
                kiosks.append((body["device_id"], body["token"], key))

            def beat(n: int) -> float:
                _, token, _ = kiosks[n % len(kiosks)]
                started = time.perf_counter()
                r = http.post(
                    "/api/v1/kiosk/heartbeat",
                    json=heartbeat_body(n),
                    headers={"Authorization": f"Bearer {token}"},
                )
                r.raise_for_status()
                return (time.perf_counter() - started) * 1000

            started = time.perf_counter()
            with ThreadPoolExecutor(args.concurrency) as pool:
                beat_ms = list(pool.map(beat, range(args.beats)))
            beats_per_second = args.beats / (time.perf_counter() - started)

            list_ms = []
            for _ in range(20):
                started = time.perf_counter()
                r = http.get("/api/v1/devices", params={"limit": 200}, headers=admin)
                list_ms.append((time.perf_counter() - started) * 1000)
                r.raise_for_status()

            rotate_ms = []
            for device_id, token, key in kiosks[:50]:
                kiosk = {"Authorization": f"Bearer {token}"}
                started = time.perf_counter()
                challenge = http.post(f"{contract.CREDENTIAL_API}/challenge", headers=kiosk)
                text = challenge.json()["challenge"]
                new_key = new_private_key()
                public = public_key_text(new_key)
                message = contract.rotation_message(uuid.UUID(device_id), text, public)
                r = http.post(
                    contract.CREDENTIAL_API,
                    json={"challenge": text, "public_key": public, "signature": sign(key, message)},
                    headers=kiosk,
                )
                rotate_ms.append((time.perf_counter() - started) * 1000)
                r.raise_for_status()
    finally:
        server.stop()
    return {
        "backend": backend,
        "kiosks": args.kiosks,
        "enrolment": summary(enrol_ms),
        "heartbeat": summary(beat_ms)
        | {
            "concurrency": args.concurrency,
            "per_second": round(beats_per_second, 1),
            "kiosks_at_one_a_minute": int(beats_per_second * 60),
        },
        "fleet_list": summary(list_ms),
        "rotation": summary(rotate_ms),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--kiosks", type=int, default=200)
    parser.add_argument("--beats", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    RESULTS.mkdir(exist_ok=True)
    with TemporaryDirectory(prefix="frontdesk-fleet-") as tmp:
        for backend in backends:
            figures = measure(backend, args, Path(tmp))
            (RESULTS / f"fleet-{backend}.json").write_text(json.dumps(figures, indent=2) + "\n")
            print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
