"""The kiosk's durable, encrypted outbox: every submission to the back office goes through it.

A request is written to one SQLite file before anything is sent, so a check-in survives a kiosk
restart or a back-office outage. Delivery sends the oldest item first with exponential back-off;
an acknowledged item is deleted (its pages are zeroed and the WAL truncated), a permanently
rejected one is *held* for a technician. A crash between sending and deleting means the item is
sent again after the restart: its idempotency key makes the back office answer the replay with
the first result, so each submission takes effect exactly once.

Bodies are encrypted with AES-256-GCM; the idempotency key, method and path are the associated
data, so a body cannot be moved to another row or endpoint. What is stored in clear (the
idempotency key, kind, method, path, timings, status codes) must never carry PHI.

An item's life::

    put ──► pending ──Acknowledged──► deleted
             │  ▲ │
             │  │ └──RetryLater──► pending, later (the round stops: order is kept)
             │  └────────────── release_held
             └──Rejected / undecryptable──► held ──discard_held──► deleted

Errors::

    OutboxError
     ├── OutboxKeyError         the key file is unsafe or damaged, or not this outbox's key
     ├── IdempotencyKeyReused   the same key was put again with a different request
     └── NotHeld                release_held / discard_held of a key that is not held
"""

from __future__ import annotations

import fcntl
import json
import os
import random
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = [
    "BACKOFF_BASE",
    "BACKOFF_CAP",
    "RETRYABLE_STATUSES",
    "RETRY_AFTER_CAP",
    "Acknowledged",
    "DeliveryReport",
    "DeliveryResult",
    "HeldItem",
    "IdempotencyKeyReused",
    "NotHeld",
    "Outbox",
    "OutboxError",
    "OutboxKeyError",
    "OutboxStatus",
    "OutgoingRequest",
    "Rejected",
    "RetryLater",
    "ScriptedTransport",
    "Transport",
    "backoff_delay",
    "classify_response",
    "load_or_create_key",
]

KEY_BYTES = 32
BACKOFF_BASE = 1.0  # seconds before the first retry, at most
BACKOFF_CAP = 300.0  # the longest back-off we choose ourselves
RETRY_AFTER_CAP = 3600.0  # a server's Retry-After is honoured up to this, so a bad one cannot
# freeze check-ins for days
RETRYABLE_STATUSES = frozenset({401, 408, 425, 429})  # plus every 5xx; see classify_response

_KIND = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
_KEY_CHECK = b"frontdesk-outbox key check"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox_item (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    nonce BLOB NOT NULL,
    ciphertext BLOB NOT NULL,
    created_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    last_attempt_at REAL,
    last_error TEXT,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'held'))
);
CREATE INDEX IF NOT EXISTS outbox_item_by_state ON outbox_item (state, id);
CREATE TABLE IF NOT EXISTS outbox_meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);
"""


class OutboxError(Exception):
    pass


class OutboxKeyError(OutboxError):
    pass


class IdempotencyKeyReused(OutboxError):
    pass


class NotHeld(OutboxError, LookupError):
    pass


# --- what is sent and what comes back ------------------------------------------------------


@dataclass(frozen=True)
class OutgoingRequest:
    """One submission to the back office. `kind` is a short label for status screens
    ("check-in"); the body is left out of the repr because it is full of PHI."""

    method: Literal["POST", "PUT"]
    path: str
    body: dict[str, Any] = field(repr=False)
    idempotency_key: str
    kind: str
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        if self.method not in ("POST", "PUT"):
            raise ValueError(f"an outbox request is a POST or a PUT, not {self.method!r}")
        if not self.path.startswith("/"):
            raise ValueError("an outbox request's path starts with /")
        if not (0 < len(self.idempotency_key) <= 100 and self.idempotency_key.isprintable()):
            raise ValueError("an idempotency key is 1 to 100 printable characters")
        if not _KIND.match(self.kind):
            raise ValueError("a kind is a short lower-case label such as 'check-in'")
        if self.created_at.tzinfo is None:
            raise ValueError("created_at must carry a time zone")


@dataclass(frozen=True)
class Acknowledged:
    """The back office took it (2xx); `body` is its answer, such as a check-in receipt."""

    status: int
    body: dict[str, Any] = field(repr=False)


@dataclass(frozen=True)
class RetryLater:
    """Not delivered, but it may be later: no network, a timeout, 5xx, 401, 408, 425, 429.
    `reason` is stored in clear, so it is a status code or an exception class name."""

    reason: str
    retry_after: float | None = None


@dataclass(frozen=True)
class Rejected:
    """A permanent refusal (most 4xx): sending it again cannot help."""

    status: int
    code: str
    detail: str = field(default="", repr=False)  # the server's words may repeat PHI


DeliveryResult = Acknowledged | RetryLater | Rejected


class Transport(Protocol):
    """Sends one request; answers with a `DeliveryResult` rather than raising for anything
    the network or the server can do."""

    def send(self, request: OutgoingRequest) -> DeliveryResult: ...


class ScriptedTransport:
    """A transport for tests: answers from a script, then with `otherwise`, and records what it
    was sent. A scripted exception is raised instead of returned."""

    def __init__(
        self,
        *script: DeliveryResult | Exception,
        otherwise: DeliveryResult | Exception = Acknowledged(200, {}),
    ) -> None:
        self._script = list(script)
        self._otherwise = otherwise
        self._lock = threading.Lock()
        self.sent: list[OutgoingRequest] = []

    def send(self, request: OutgoingRequest) -> DeliveryResult:
        with self._lock:
            self.sent.append(request)
            result = self._script.pop(0) if self._script else self._otherwise
        if isinstance(result, Exception):
            raise result
        return result

    @property
    def sent_keys(self) -> list[str]:
        with self._lock:
            return [request.idempotency_key for request in self.sent]


def classify_response(
    status: int, body: dict[str, Any], *, retry_after: float | None = None
) -> DeliveryResult:
    """The outbox's reading of an HTTP answer, for the real transport. 401 waits rather than
    holds: a kiosk whose credentials lapsed should keep its items until they are renewed."""
    if 200 <= status < 300:
        return Acknowledged(status, body)
    if status >= 500 or status in RETRYABLE_STATUSES:
        return RetryLater(str(status), retry_after)
    return Rejected(status, str(body.get("code", "")), str(body.get("detail", "")))


def backoff_delay(attempts: int, *, fraction: float, retry_after: float | None = None) -> float:
    """Seconds to wait after the `attempts`-th failure: full jitter (`fraction` in [0, 1) of a
    ceiling that doubles from BACKOFF_BASE up to BACKOFF_CAP), or the server's Retry-After
    when that is longer."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2.0 ** min(max(attempts, 1) - 1, 30))
    delay = fraction * ceiling
    if retry_after is not None:
        delay = max(delay, min(retry_after, RETRY_AFTER_CAP))
    return delay


# --- reports -------------------------------------------------------------------------------


@dataclass
class DeliveryReport:
    """What one delivery round did. `receipts` are the acknowledged bodies by idempotency key;
    they may hold PHI, so they stay out of the repr."""

    delivered: int = 0
    retried: int = 0
    held: int = 0
    receipts: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class OutboxStatus:
    """For the technician's screen and health checks; JSON-able through `asdict`, no PHI.
    Times are seconds since the epoch."""

    pending: int
    held: int
    oldest_pending_age: float | None
    next_attempt_at: float | None
    last_error: str | None
    by_kind: dict[str, dict[str, int]]  # kind -> {"pending": n, "held": n}


@dataclass(frozen=True)
class HeldItem:
    """A held item as a technician sees it: enough to decide, nothing of the body."""

    idempotency_key: str
    kind: str
    created_at: float
    attempts: int
    last_error: str | None


# --- keys ----------------------------------------------------------------------------------


def load_or_create_key(path: Path) -> bytes:
    """The outbox key at `path`, made (owner-only) on first use. A key that others can read is
    refused: it protects every check-in waiting on this kiosk."""
    if not path.exists():
        _create_key_file(path)
    fd = os.open(path, os.O_RDONLY)
    try:
        mode = os.fstat(fd).st_mode
        if mode & 0o077:
            raise OutboxKeyError(
                f"the outbox key file {path} can be read by others (mode {mode & 0o777:o}); "
                f"run: chmod 600 {path}"
            )
        key = os.read(fd, KEY_BYTES + 1)
    finally:
        os.close(fd)
    if len(key) != KEY_BYTES:
        raise OutboxKeyError(f"the outbox key file {path} is damaged: it is not {KEY_BYTES} bytes")
    return key


def _create_key_file(path: Path) -> None:
    """Written aside and linked into place, so that a power cut leaves no half key and a key
    made by another process at the same moment is never replaced."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    scratch = path.with_name(f".{path.name}.{os.getpid()}.new")
    try:
        fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, AESGCM.generate_key(bit_length=256))
            os.fsync(fd)
        finally:
            os.close(fd)
        with suppress(FileExistsError):  # another process made one first: we use theirs
            os.link(scratch, path)
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)  # the new name survives a power cut too
        finally:
            os.close(directory)
    finally:
        scratch.unlink(missing_ok=True)


# --- the outbox ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Row:
    id: int
    idempotency_key: str
    kind: str
    method: str
    path: str
    nonce: bytes
    ciphertext: bytes
    created_at: float
    attempts: int
    next_attempt_at: float


_ROW_COLUMNS = (
    "id, idempotency_key, kind, method, path, nonce, ciphertext, created_at, attempts, "
    "next_attempt_at"
)


class Outbox:
    """Safe to share between threads: the UI thread puts while a background thread delivers.
    One delivery round runs at a time, across threads and across processes on the same file
    (the kiosk app and `frontdesk kiosk outbox flush`), so no item is ever in flight twice."""

    def __init__(
        self,
        path: Path,
        key: bytes,
        *,
        clock: Callable[[], float] = time.time,
        rng: Callable[[], float] = random.random,
    ) -> None:
        if len(key) != KEY_BYTES:
            raise OutboxKeyError(f"the outbox key must be {KEY_BYTES} bytes, not {len(key)}")
        self._aead = AESGCM(key)
        self._clock = clock
        self._rng = rng
        self._lock = threading.Lock()  # guards the connection
        self._delivery_lock = threading.Lock()  # one delivery round at a time in this process
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))  # SQLite's -wal/-shm copy this
        self._round_file = open(path.with_name(path.name + ".lock"), "ab")  # noqa: SIM115
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            # a put() that returned survives a power cut; deleted rows do not linger in free
            # pages (Debian's SQLite has secure_delete on already, others may not)
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA secure_delete=ON")
            self._db.executescript(_SCHEMA)
            self._check_key()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Waits for a delivery round in progress to finish."""
        with self._delivery_lock, self._lock:
            self._db.close()
            self._round_file.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- queueing ---

    def put(self, request: OutgoingRequest) -> None:
        """Stored durably before it returns. Putting the same request again while it is still
        here does nothing; once delivered, a replay is answered by the back office's own
        idempotency."""
        plaintext = json.dumps(request.body, ensure_ascii=False, allow_nan=False)
        nonce = os.urandom(12)
        associated = _associated_data(request.idempotency_key, request.method, request.path)
        ciphertext = self._aead.encrypt(nonce, plaintext.encode(), associated)
        created_at = request.created_at.timestamp()
        with self._lock:
            inserted = self._db.execute(
                "INSERT INTO outbox_item (idempotency_key, kind, method, path, nonce, ciphertext,"
                " created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (idempotency_key) DO NOTHING",
                (
                    request.idempotency_key,
                    request.kind,
                    request.method,
                    request.path,
                    nonce,
                    ciphertext,
                    created_at,
                    self._clock(),
                ),
            ).rowcount
            if inserted:
                return
            existing = self._row_by_key(request.idempotency_key)
        if existing is None:  # delivered by another process a moment ago: queue it again
            return self.put(request)
        if not _same_request(self._open(existing), request, plaintext):
            raise IdempotencyKeyReused(
                f"idempotency key {request.idempotency_key} was already put with another request"
            )

    # --- delivering ---

    def deliver_due(self, transport: Transport, *, now: float | None = None) -> DeliveryReport:
        """Sends the pending items whose time has come, oldest first; a RetryLater ends the
        round, because the back office is probably unreachable and order must be kept."""
        return self._deliver(transport, now=now, due_only=True)

    def flush(self, transport: Transport) -> DeliveryReport:
        """Like `deliver_due`, but without waiting for anyone's back-off (a technician's
        `frontdesk kiosk outbox flush`)."""
        return self._deliver(transport, now=None, due_only=False)

    def _deliver(
        self, transport: Transport, *, now: float | None, due_only: bool
    ) -> DeliveryReport:
        report = DeliveryReport()
        with self._one_round_at_a_time():
            try:
                while (row := self._head()) is not None:
                    if due_only and row.next_attempt_at > (self._clock() if now is None else now):
                        break
                    if not self._send(row, transport, now, report):
                        break
            finally:
                if report.delivered:
                    self._truncate_wal()
        return report

    def _send(
        self, row: _Row, transport: Transport, now: float | None, report: DeliveryReport
    ) -> bool:
        """Sends one item and records the outcome; False when the round should stop."""
        try:
            request = self._open(row)
        except OutboxError:
            self._hold(row, "undecryptable", now)  # altered or moved on disk: never send it
            report.held += 1
            return True
        try:
            result = transport.send(request)
        except Exception as exc:  # a transport bug: keep the back-off honest, then surface it
            self._retry_later(row, type(exc).__name__, None, now)
            raise
        match result:
            case Acknowledged(body=body):
                with self._lock:
                    self._db.execute("DELETE FROM outbox_item WHERE id = ?", (row.id,))
                report.delivered += 1
                report.receipts[row.idempotency_key] = body
                return True
            case RetryLater(reason=reason, retry_after=retry_after):
                self._retry_later(row, reason, retry_after, now)
                report.retried += 1
                return False
            case Rejected(status=status, code=code):
                self._hold(row, f"rejected {status} {code}".strip(), now)
                report.held += 1
                return True
        raise TypeError(f"a transport returned {type(result).__name__}, not a DeliveryResult")

    def _retry_later(
        self, row: _Row, reason: str, retry_after: float | None, now: float | None
    ) -> None:
        at = self._clock() if now is None else now
        delay = backoff_delay(row.attempts + 1, fraction=self._rng(), retry_after=retry_after)
        with self._lock:
            self._db.execute(
                "UPDATE outbox_item SET attempts = attempts + 1, last_attempt_at = ?,"
                " next_attempt_at = ?, last_error = ? WHERE id = ?",
                (at, at + delay, reason[:200], row.id),
            )

    def _hold(self, row: _Row, reason: str, now: float | None) -> None:
        at = self._clock() if now is None else now
        with self._lock:
            self._db.execute(
                "UPDATE outbox_item SET state = 'held', attempts = attempts + 1,"
                " last_attempt_at = ?, last_error = ? WHERE id = ?",
                (at, reason[:200], row.id),
            )

    @contextmanager
    def _one_round_at_a_time(self) -> Iterator[None]:
        with self._delivery_lock:
            fcntl.flock(self._round_file, fcntl.LOCK_EX)  # and across processes
            try:
                yield
            finally:
                fcntl.flock(self._round_file, fcntl.LOCK_UN)

    # --- for the technician ---

    def status(self) -> OutboxStatus:
        now = self._clock()
        with self._lock:
            counts = self._db.execute(
                "SELECT kind, state, COUNT(*) FROM outbox_item GROUP BY kind, state"
            ).fetchall()
            oldest = self._db.execute(
                "SELECT MIN(created_at) FROM outbox_item WHERE state = 'pending'"
            ).fetchone()[0]
            head = self._db.execute(
                "SELECT next_attempt_at FROM outbox_item WHERE state = 'pending'"
                " ORDER BY id LIMIT 1"
            ).fetchone()
            last_error = self._db.execute(
                "SELECT last_error FROM outbox_item WHERE last_error IS NOT NULL"
                " ORDER BY last_attempt_at DESC, id DESC LIMIT 1"
            ).fetchone()
        by_kind: dict[str, dict[str, int]] = {}
        for kind, state, count in counts:
            by_kind.setdefault(kind, {"pending": 0, "held": 0})[state] = count
        return OutboxStatus(
            pending=sum(c["pending"] for c in by_kind.values()),
            held=sum(c["held"] for c in by_kind.values()),
            oldest_pending_age=None if oldest is None else max(0.0, now - oldest),
            next_attempt_at=None if head is None else head[0],
            last_error=None if last_error is None else last_error[0],
            by_kind=by_kind,
        )

    def list_held(self) -> list[HeldItem]:
        with self._lock:
            rows = self._db.execute(
                "SELECT idempotency_key, kind, created_at, attempts, last_error"
                " FROM outbox_item WHERE state = 'held' ORDER BY id"
            ).fetchall()
        return [HeldItem(*row) for row in rows]

    def release_held(self, idempotency_key: str) -> None:
        """Back in the queue at its original place, due at once."""
        with self._lock:
            changed = self._db.execute(
                "UPDATE outbox_item SET state = 'pending', next_attempt_at = ?"
                " WHERE idempotency_key = ? AND state = 'held'",
                (self._clock(), idempotency_key),
            ).rowcount
        if not changed:
            raise NotHeld(f"no held item has idempotency key {idempotency_key}")

    def discard_held(self, idempotency_key: str) -> None:
        with self._lock:
            changed = self._db.execute(
                "DELETE FROM outbox_item WHERE idempotency_key = ? AND state = 'held'",
                (idempotency_key,),
            ).rowcount
        if not changed:
            raise NotHeld(f"no held item has idempotency key {idempotency_key}")
        self._truncate_wal()

    # --- storage ---

    def _check_key(self) -> None:
        """Fails at opening, not at the first delivery, when the key is not this outbox's."""
        nonce = os.urandom(12)
        sealed = nonce + self._aead.encrypt(nonce, _KEY_CHECK, _KEY_CHECK)
        self._db.execute(
            "INSERT INTO outbox_meta (name, value) VALUES ('key_check', ?)"
            " ON CONFLICT (name) DO NOTHING",
            (sealed,),
        )
        stored = self._db.execute("SELECT value FROM outbox_meta WHERE name = 'key_check'")
        check = stored.fetchone()[0]
        try:
            self._aead.decrypt(check[:12], check[12:], _KEY_CHECK)
        except InvalidTag:
            raise OutboxKeyError(
                "this outbox was written with a different key; its items cannot be read"
            ) from None

    def _head(self) -> _Row | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {_ROW_COLUMNS} FROM outbox_item WHERE state = 'pending'"  # noqa: S608
                " ORDER BY id LIMIT 1"
            ).fetchone()
        return None if row is None else _Row(*row)

    def _row_by_key(self, idempotency_key: str) -> _Row | None:
        row = self._db.execute(
            f"SELECT {_ROW_COLUMNS} FROM outbox_item WHERE idempotency_key = ?",  # noqa: S608
            (idempotency_key,),
        ).fetchone()
        return None if row is None else _Row(*row)

    def _open(self, row: _Row) -> OutgoingRequest:
        associated = _associated_data(row.idempotency_key, row.method, row.path)
        try:
            plaintext = self._aead.decrypt(row.nonce, row.ciphertext, associated)
            return OutgoingRequest(
                method=row.method,  # type: ignore[arg-type]  # checked by __post_init__
                path=row.path,
                body=json.loads(plaintext),
                idempotency_key=row.idempotency_key,
                kind=row.kind,
                created_at=datetime.fromtimestamp(row.created_at, UTC),
            )
        except (InvalidTag, ValueError):
            raise OutboxError(f"outbox item {row.idempotency_key} does not decrypt") from None

    def _truncate_wal(self) -> None:
        """Deleted rows are zeroed in the database file by secure_delete, but the WAL still
        holds their older pages until a checkpoint."""
        with self._lock:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _associated_data(idempotency_key: str, method: str, path: str) -> bytes:
    """Binds a body to its row and its endpoint."""
    return json.dumps(["outbox-item", idempotency_key, method, path]).encode()


def _same_request(stored: OutgoingRequest, request: OutgoingRequest, plaintext: str) -> bool:
    return (stored.method, stored.path, stored.kind, stored.body) == (
        request.method,
        request.path,
        request.kind,
        json.loads(plaintext),
    )
