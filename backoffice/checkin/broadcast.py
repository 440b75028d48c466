"""Queue events to every connected staff screen, on every back-office process.

    service ── publish(session, event) ──▶ NOTIFY frontdesk_queue     (PostgreSQL: sent at
                                              │                         COMMIT, never before)
                                              ▼ LISTEN, one thread per process
                                         QueueBroadcaster ──▶ each stream's asyncio.Queue

On SQLite (one process only) the event goes to the subscribers straight after the commit.
Events carry ids, never PHI; each stream loads what its staff member may see. An event
published by a transaction that rolls back is never seen, on either database.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from typing import Any

import sqlalchemy
from sqlalchemy import Engine, text
from sqlmodel import Session

from backoffice.db import is_postgres

CHANNEL = "frontdesk_queue"
log = logging.getLogger("frontdesk.queue")


class Subscription:
    """One stream's share of the events, read with `await next_event()`."""

    def __init__(self, broadcaster: QueueBroadcaster) -> None:
        self._broadcaster = broadcaster
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1000)

    async def next_event(self, timeout: float) -> dict[str, Any] | None:
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None

    def close(self) -> None:
        self._broadcaster._unsubscribe(self)


class QueueBroadcaster:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._postgres = is_postgres(engine)
        self._subscribers: set[Subscription] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.listening = threading.Event()

    def publish(self, session: Session, event: dict[str, Any]) -> None:
        """Send `event` when, and only if, the session's transaction commits."""
        payload = json.dumps(event, default=str)
        if self._postgres:
            session.execute(
                text("SELECT pg_notify(:channel, :payload)"),
                {"channel": CHANNEL, "payload": payload},
            )
        else:
            sqlalchemy.event.listen(
                session, "after_commit", lambda _s: self.deliver(payload), once=True
            )

    def deliver(self, payload: str) -> None:
        event = json.loads(payload)
        with self._lock:
            subscribers = list(self._subscribers)
        for subscription in subscribers:
            with contextlib.suppress(RuntimeError):  # its event loop has closed
                subscription.loop.call_soon_threadsafe(_offer, subscription.queue, event)

    def subscribe(self) -> Subscription:
        """A share of the events; the first one starts listening (PostgreSQL), so processes
        nobody watches from hold no extra connection."""
        subscription = Subscription(self)
        with self._lock:
            self._subscribers.add(subscription)
        self.start()
        return subscription

    async def ready(self, timeout: float = 5.0) -> bool:
        """Whether events from other processes reach this one yet (always, on SQLite)."""
        if not self._postgres:
            return True
        return await asyncio.to_thread(self.listening.wait, timeout)

    def _unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            self._subscribers.discard(subscription)

    # --- PostgreSQL: one listening connection per process --------------------------------

    def start(self) -> None:
        with self._lock:
            if not self._postgres or self._thread is not None:
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._listen, name="queue-listen", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.listening.clear()

    def _listen(self) -> None:
        import psycopg

        url = self._engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        while not self._stop.is_set():
            try:
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    while not self._stop.is_set():
                        for notice in conn.notifies(timeout=0.5):
                            self.deliver(notice.payload)
            except psycopg.Error as exc:
                # Events sent while reconnecting are missed; streams tell their screens
                # to reload the queue when they reconnect, so nothing stays wrong.
                self.listening.clear()
                log.warning("queue listener lost its connection (%s); retrying", type(exc).__name__)
                self._stop.wait(1.0)


def _offer(queue: asyncio.Queue[dict[str, Any]], event: dict[str, Any]) -> None:
    with contextlib.suppress(asyncio.QueueFull):  # a stalled screen loses events, not memory
        queue.put_nowait(event)
