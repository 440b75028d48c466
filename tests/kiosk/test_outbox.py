"""The kiosk outbox: durable, encrypted, ordered, delivered once."""

from __future__ import annotations

import base64
import json
import random
import sqlite3
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from kiosk.outbox import (
    BACKOFF_CAP,
    RETRY_AFTER_CAP,
    Acknowledged,
    DeliveryResult,
    IdempotencyKeyReused,
    NotHeld,
    Outbox,
    OutboxKeyError,
    OutgoingRequest,
    Rejected,
    RetryLater,
    ScriptedTransport,
    backoff_delay,
    classify_response,
    load_or_create_key,
)
from shared.contracts.kiosk import (
    KIOSK_API,
    ByLicence,
    CheckInSubmission,
    InsuranceCard,
    KioskErrorCode,
)

LAST_NAME = "Quillfeather-Abernathy"
BIRTH_DATE = date(1947, 3, 29)
START = 1_750_000_000.0
KEY = bytes(range(32))


class FakeClock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "outbox.db"


@pytest.fixture
def outbox(db_path: Path, clock: FakeClock) -> Iterator[Outbox]:
    with Outbox(db_path, KEY, clock=clock, rng=lambda: 0.5) as box:
        yield box


def check_in(n: int = 1) -> OutgoingRequest:
    """A check-in as the kiosk sends it: a licence scan and a photo of the insurance card."""
    check_in_id = uuid.UUID(int=n)
    photo = random.Random(n).randbytes(24_000)  # spills into SQLite overflow pages
    submission = CheckInSubmission(
        check_in_id=check_in_id,
        identification=ByLicence(
            first_name="Philippa", last_name=LAST_NAME, date_of_birth=BIRTH_DATE
        ),
        insurance_card=InsuranceCard(front_image=base64.b64encode(photo).decode()),
        completed_at=datetime.fromtimestamp(START, UTC),
        offline=True,
    )
    return OutgoingRequest(
        method="POST",
        path=f"{KIOSK_API}/check-ins",
        body=submission.model_dump(mode="json"),
        idempotency_key=str(check_in_id),
        kind="check-in",
        created_at=datetime.fromtimestamp(START, UTC),
    )


def key_of(n: int) -> str:
    return str(uuid.UUID(int=n))


def raw_files(db_path: Path) -> bytes:
    """Everything SQLite keeps on disk for this outbox."""
    paths = [db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-journal")]
    return b"".join(path.read_bytes() for path in paths if path.exists())


def stored_ciphertext(db_path: Path) -> bytes:
    with sqlite3.connect(db_path) as db:
        return db.execute("SELECT ciphertext FROM outbox_item").fetchone()[0]


# --- delivering ----------------------------------------------------------------------------


def test_an_acknowledged_item_is_deleted(outbox):
    outbox.put(check_in())
    report = outbox.deliver_due(ScriptedTransport())
    assert report.delivered == 1
    assert outbox.status().pending == 0


def test_the_transport_receives_the_body_that_was_put(outbox):
    transport = ScriptedTransport()
    outbox.put(check_in())
    outbox.deliver_due(transport)
    assert transport.sent == [check_in()]


def test_the_acknowledged_body_is_reported_by_idempotency_key(outbox):
    receipt = {"arrival_id": str(uuid.UUID(int=99)), "flags": ["offline_check_in"]}
    outbox.put(check_in())
    report = outbox.deliver_due(ScriptedTransport(Acknowledged(201, receipt)))
    assert report.receipts == {key_of(1): receipt}


def test_items_are_sent_in_the_order_they_were_put(outbox):
    transport = ScriptedTransport()
    for n in (3, 1, 2):
        outbox.put(check_in(n))
    outbox.deliver_due(transport)
    assert transport.sent_keys == [key_of(3), key_of(1), key_of(2)]


def test_retry_later_ends_the_round(outbox):
    transport = ScriptedTransport(Acknowledged(201, {}), RetryLater("503"))
    for n in (1, 2, 3):
        outbox.put(check_in(n))
    report = outbox.deliver_due(transport)
    assert (report.delivered, report.retried, transport.sent_keys) == (1, 1, [key_of(1), key_of(2)])


def test_the_item_that_must_wait_stays_at_the_head_of_the_queue(outbox, clock):
    transport = ScriptedTransport(RetryLater("503"))
    for n in (1, 2):
        outbox.put(check_in(n))
    outbox.deliver_due(transport)
    clock.now += BACKOFF_CAP
    outbox.deliver_due(transport)
    assert transport.sent_keys == [key_of(1), key_of(1), key_of(2)]


def test_an_item_is_not_sent_before_its_next_attempt(outbox, clock):
    transport = ScriptedTransport(RetryLater("503"))
    outbox.put(check_in())
    outbox.deliver_due(transport)  # rng 0.5 of a 1 s ceiling: due again in 0.5 s
    clock.now += 0.4
    outbox.deliver_due(transport)
    assert transport.sent_keys == [key_of(1)]


def test_an_item_is_sent_again_once_its_back_off_has_passed(outbox, clock):
    transport = ScriptedTransport(RetryLater("503"))
    outbox.put(check_in())
    outbox.deliver_due(transport)
    clock.now += 0.5
    outbox.deliver_due(transport)
    assert transport.sent_keys == [key_of(1), key_of(1)]


def test_flush_sends_items_whose_back_off_has_not_passed(outbox):
    transport = ScriptedTransport(RetryLater("503"))
    outbox.put(check_in())
    outbox.deliver_due(transport)
    report = outbox.flush(transport)
    assert report.delivered == 1


def test_flush_stops_at_retry_later(outbox):
    transport = ScriptedTransport(RetryLater("503"))
    outbox.put(check_in())
    report = outbox.flush(transport)
    assert (report.retried, transport.sent_keys) == (1, [key_of(1)])


def test_an_acknowledged_item_is_never_sent_again(outbox, clock):
    transport = ScriptedTransport()
    outbox.put(check_in())
    for _ in range(3):
        outbox.deliver_due(transport)
        outbox.flush(transport)
        clock.now += BACKOFF_CAP
    assert transport.sent_keys == [key_of(1)]


def test_a_transport_that_raises_leaves_the_item_backing_off(outbox, clock):
    outbox.put(check_in())
    with pytest.raises(ConnectionResetError):
        outbox.deliver_due(ScriptedTransport(ConnectionResetError("peer said 'Philippa'")))
    status = outbox.status()
    assert (status.pending, status.last_error) == (1, "ConnectionResetError")
    assert status.next_attempt_at == START + 0.5


# --- back-off ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attempts", "fraction", "retry_after", "delay"),
    [
        (1, 0.0, None, 0.0),
        (1, 0.5, None, 0.5),
        (2, 0.5, None, 1.0),
        (3, 0.5, None, 2.0),
        (4, 0.75, None, 6.0),
        (9, 0.5, None, 128.0),
        (10, 0.5, None, BACKOFF_CAP / 2),  # 512 s, capped at 300
        (5000, 0.5, None, BACKOFF_CAP / 2),  # no overflow after a week offline
        (1, 0.5, 30.0, 30.0),  # a longer Retry-After wins
        (9, 0.5, 30.0, 128.0),  # a shorter one does not
        (1, 0.5, 10 * RETRY_AFTER_CAP, RETRY_AFTER_CAP),
    ],
)
def test_backoff_delay(attempts, fraction, retry_after, delay):
    assert backoff_delay(attempts, fraction=fraction, retry_after=retry_after) == delay


def delays_after_failures(outbox: Outbox, clock: FakeClock, failures: int) -> list[float]:
    transport = ScriptedTransport(otherwise=RetryLater("503"))
    delays = []
    for _ in range(failures):
        clock.now = outbox.status().next_attempt_at
        outbox.deliver_due(transport)
        delays.append(outbox.status().next_attempt_at - clock.now)
    return delays


def test_back_off_doubles_after_each_failure_up_to_the_cap(outbox, clock):
    outbox.put(check_in())
    delays = delays_after_failures(outbox, clock, 11)  # rng fixed at 0.5
    assert delays == [0.5, 1, 2, 4, 8, 16, 32, 64, 128, BACKOFF_CAP / 2, BACKOFF_CAP / 2]


def test_back_off_is_jittered_below_its_ceiling(db_path, clock):
    with Outbox(db_path, KEY, clock=clock, rng=random.Random(7).random) as outbox:
        outbox.put(check_in())
        delays = delays_after_failures(outbox, clock, 12)
    ceilings = [min(BACKOFF_CAP, 2.0**n) for n in range(12)]
    assert all(0 <= d < c for d, c in zip(delays, ceilings, strict=True))
    assert len(set(delays)) == len(delays)


def test_a_retry_after_longer_than_the_back_off_is_honoured(outbox):
    outbox.put(check_in())
    outbox.deliver_due(ScriptedTransport(RetryLater("429", retry_after=120)))
    assert outbox.status().next_attempt_at == START + 120


# --- rejected and held ---------------------------------------------------------------------


def test_a_rejected_item_is_held_and_later_items_still_go(outbox):
    transport = ScriptedTransport(Rejected(422, "validation-error"))
    for n in (1, 2, 3):
        outbox.put(check_in(n))
    report = outbox.deliver_due(transport)
    assert (report.held, report.delivered) == (1, 2)
    assert [item.idempotency_key for item in outbox.list_held()] == [key_of(1)]


def test_a_held_item_is_not_sent_again(outbox, clock):
    transport = ScriptedTransport(Rejected(409, KioskErrorCode.ALREADY_CHECKED_IN))
    outbox.put(check_in())
    outbox.deliver_due(transport)
    clock.now += BACKOFF_CAP
    outbox.deliver_due(transport)
    outbox.flush(transport)
    assert transport.sent_keys == [key_of(1)]


def test_a_released_item_is_delivered(outbox):
    outbox.put(check_in())
    outbox.deliver_due(ScriptedTransport(Rejected(422, "validation-error")))
    outbox.release_held(key_of(1))
    report = outbox.deliver_due(ScriptedTransport())
    assert report.delivered == 1


def test_a_discarded_item_is_gone(outbox):
    outbox.put(check_in())
    outbox.deliver_due(ScriptedTransport(Rejected(422, "validation-error")))
    outbox.discard_held(key_of(1))
    assert (outbox.status().held, outbox.list_held()) == (0, [])


@pytest.mark.parametrize("action", ["release_held", "discard_held"])
def test_only_a_held_item_can_be_released_or_discarded(outbox, action):
    outbox.put(check_in())  # pending, not held
    with pytest.raises(NotHeld):
        getattr(outbox, action)(key_of(1))


# --- durability ----------------------------------------------------------------------------


def test_items_survive_a_restart(db_path, clock):
    with Outbox(db_path, KEY, clock=clock) as outbox:
        outbox.put(check_in(1))
        outbox.put(check_in(2))
    transport = ScriptedTransport()
    with Outbox(db_path, KEY, clock=clock) as outbox:
        outbox.deliver_due(transport)
    assert transport.sent == [check_in(1), check_in(2)]


def test_back_off_survives_a_restart(db_path, clock):
    with Outbox(db_path, KEY, clock=clock, rng=lambda: 0.5) as outbox:
        outbox.put(check_in())
        outbox.deliver_due(ScriptedTransport(RetryLater("503")))
    with Outbox(db_path, KEY, clock=clock) as outbox:
        assert outbox.status().next_attempt_at == START + 0.5


def test_putting_the_same_request_twice_queues_it_once(outbox):
    outbox.put(check_in())
    outbox.put(check_in())
    assert outbox.status().pending == 1


def test_putting_another_request_under_a_used_key_is_refused(outbox):
    outbox.put(check_in())
    other = OutgoingRequest(
        method="POST",
        path=f"{KIOSK_API}/check-ins",
        body={"something": "else"},
        idempotency_key=key_of(1),
        kind="check-in",
    )
    with pytest.raises(IdempotencyKeyReused):
        outbox.put(other)


# --- encryption and PHI --------------------------------------------------------------------


@pytest.mark.parametrize("needle", [LAST_NAME, BIRTH_DATE.isoformat(), "Philippa"])
def test_the_database_files_hold_no_plaintext(outbox, db_path, needle):
    outbox.put(check_in())
    assert needle.encode() not in raw_files(db_path)


def acknowledge(outbox: Outbox) -> None:
    outbox.deliver_due(ScriptedTransport())


def reject_and_discard(outbox: Outbox) -> None:
    outbox.deliver_due(ScriptedTransport(Rejected(422, "validation-error")))
    outbox.discard_held(key_of(1))


@pytest.mark.parametrize("remove", [acknowledge, reject_and_discard])
def test_a_removed_item_leaves_no_ciphertext_on_disk(outbox, db_path, remove):
    outbox.put(check_in())
    ciphertext = stored_ciphertext(db_path)
    chunks = [ciphertext[i : i + 32] for i in range(0, len(ciphertext) - 32, 4096)]
    remove(outbox)
    disk = raw_files(db_path)
    assert [chunk for chunk in chunks if chunk in disk] == []


def test_the_ciphertext_check_would_see_a_stored_item(outbox, db_path):
    """The test above proves something only if its chunks are found while the item exists."""
    outbox.put(check_in())
    ciphertext = stored_ciphertext(db_path)
    with sqlite3.connect(db_path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert ciphertext[:32] in raw_files(db_path)


def test_bodies_swapped_between_rows_are_held_not_sent(outbox, db_path):
    transport = ScriptedTransport()
    outbox.put(check_in(1))
    outbox.put(check_in(2))
    with sqlite3.connect(db_path) as db:
        (n1, c1), (n2, c2) = db.execute(
            "SELECT nonce, ciphertext FROM outbox_item ORDER BY id"
        ).fetchall()
        db.execute("UPDATE outbox_item SET nonce = ?, ciphertext = ? WHERE id = 1", (n2, c2))
        db.execute("UPDATE outbox_item SET nonce = ?, ciphertext = ? WHERE id = 2", (n1, c1))
    report = outbox.deliver_due(transport)
    assert (report.held, transport.sent) == (2, [])


def test_opening_with_another_key_raises_outbox_key_error(db_path, clock):
    with Outbox(db_path, KEY, clock=clock) as outbox:
        outbox.put(check_in())
    with pytest.raises(OutboxKeyError, match="different key"):
        Outbox(db_path, bytes(32), clock=clock)


def test_status_counts_by_state_and_kind(outbox, clock):
    for n in (1, 2, 3):
        outbox.put(check_in(n))
    clock.now += 90
    outbox.deliver_due(ScriptedTransport(Rejected(422, "validation-error"), RetryLater("503")))
    assert asdict(outbox.status()) == {
        "pending": 2,
        "held": 1,
        "oldest_pending_age": 90.0,
        "next_attempt_at": START + 90 + 0.5,
        "last_error": "503",
        "by_kind": {"check-in": {"pending": 2, "held": 1}},
    }


def test_status_and_held_items_carry_no_phi(outbox):
    outbox.put(check_in(1))
    outbox.put(check_in(2))
    detail = f"{LAST_NAME}, born {BIRTH_DATE}, is already checked in"
    outbox.deliver_due(ScriptedTransport(Rejected(409, "already-checked-in", detail)))
    shown = json.dumps([asdict(outbox.status()), [asdict(h) for h in outbox.list_held()]])
    assert LAST_NAME not in shown
    assert BIRTH_DATE.isoformat() not in shown


def test_reprs_leave_bodies_out(outbox):
    outbox.put(check_in())
    report = outbox.deliver_due(ScriptedTransport(Acknowledged(201, {"name": LAST_NAME})))
    assert LAST_NAME not in repr(check_in()) + repr(report)


# --- keys ----------------------------------------------------------------------------------


def test_a_new_key_file_is_readable_by_its_owner_only(tmp_path):
    path = tmp_path / "keys" / "outbox.key"
    load_or_create_key(path)
    assert path.stat().st_mode & 0o777 == 0o600


def test_an_existing_key_file_is_read_not_replaced(tmp_path):
    path = tmp_path / "outbox.key"
    assert load_or_create_key(path) == load_or_create_key(path)


def test_a_key_file_others_can_read_is_refused(tmp_path):
    path = tmp_path / "outbox.key"
    load_or_create_key(path)
    path.chmod(0o644)
    with pytest.raises(OutboxKeyError, match="chmod 600"):
        load_or_create_key(path)


def test_a_truncated_key_file_is_refused(tmp_path):
    path = tmp_path / "outbox.key"
    path.write_bytes(bytes(16))
    path.chmod(0o600)
    with pytest.raises(OutboxKeyError, match="damaged"):
        load_or_create_key(path)


# --- threads -------------------------------------------------------------------------------


def test_items_put_while_delivering_are_each_sent_once(outbox):
    transport = ScriptedTransport()
    putting = [
        threading.Thread(
            target=lambda s=start: [outbox.put(check_in(n)) for n in range(s, s + 100)]
        )
        for start in (1, 101)
    ]
    for thread in putting:
        thread.start()
    while any(t.is_alive() for t in putting) or outbox.status().pending:
        outbox.deliver_due(transport)
    assert Counter(transport.sent_keys) == {key_of(n): 1 for n in range(1, 201)}


class SlowTransport:
    """Records how many sends of one key were ever in flight at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.in_flight: Counter[str] = Counter()
        self.sent: Counter[str] = Counter()
        self.overlaps = 0

    def send(self, request: OutgoingRequest) -> DeliveryResult:
        key = request.idempotency_key
        with self.lock:
            self.overlaps += self.in_flight[key] > 0
            self.in_flight[key] += 1
            self.sent[key] += 1
        time.sleep(0.001)
        with self.lock:
            self.in_flight[key] -= 1
        return Acknowledged(201, {})


@pytest.mark.parametrize("separate", [False, True], ids=["one-outbox", "two-outboxes"])
def test_concurrent_deliveries_never_send_an_item_twice(db_path, clock, separate):
    """Two outboxes on one file stand for the kiosk app and `frontdesk kiosk outbox flush`."""
    transport = SlowTransport()
    first = Outbox(db_path, KEY, clock=clock)
    second = Outbox(db_path, KEY, clock=clock) if separate else first
    for n in range(1, 41):
        first.put(check_in(n))
    deliverers = [threading.Thread(target=box.flush, args=(transport,)) for box in (first, second)]
    for thread in deliverers:
        thread.start()
    for thread in deliverers:
        thread.join()
    first.close()
    second.close()
    assert (transport.overlaps, set(transport.sent.values())) == (0, {1})
    assert len(transport.sent) == 40


# --- requests and responses ----------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"method": "GET"},
        {"path": "api/v1/kiosk/check-ins"},
        {"idempotency_key": ""},
        {"kind": "Check-in for Philippa"},
        {"created_at": datetime(2025, 6, 1, 9, 30)},
    ],
    ids=["method", "path", "key", "kind", "naive-time"],
)
def test_a_malformed_request_is_refused(change):
    fields = {
        "method": "POST",
        "path": f"{KIOSK_API}/check-ins",
        "body": {},
        "idempotency_key": key_of(1),
        "kind": "check-in",
    }
    with pytest.raises(ValueError):
        OutgoingRequest(**(fields | change))


@pytest.mark.parametrize(
    ("status", "retry_after", "expected"),
    [
        (200, None, Acknowledged(200, {"code": "x"})),
        (201, None, Acknowledged(201, {"code": "x"})),
        (500, None, RetryLater("500")),
        (503, 30.0, RetryLater("503", 30.0)),
        (408, None, RetryLater("408")),
        (425, None, RetryLater("425")),
        (429, 5.0, RetryLater("429", 5.0)),
        (401, None, RetryLater("401")),
        (400, None, Rejected(400, "x", "y")),
        (409, None, Rejected(409, "x", "y")),
        (422, None, Rejected(422, "x", "y")),
    ],
)
def test_classify_response(status, retry_after, expected):
    body = {"code": "x"} if status < 300 else {"code": "x", "detail": "y"}
    assert classify_response(status, body, retry_after=retry_after) == expected
