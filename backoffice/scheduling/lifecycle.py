"""The appointment lifecycle as a pure state machine: history in, the next change out.

The state is never stored here: it is the `to_state` of the last change (scheduled before the
first), so the history is the single record of who did what when, and an undo is one more
change rather than an erasure. All transitions live here, in `TRANSITIONS` and `apply`.

    scheduled ─confirm─▶ confirmed
        │                    │
        └──────arrive────────┤
                             ▼
                          arrived ───────────┐
                             │ room          │
                             ▼               │ start (straight in)
                          roomed ────────┐   │
                             │ start     │   │
                             ▼           │   │
                        in_progress ◀────┼───┘
                             │ complete  │ complete (nobody pressed start)
                             ▼           │
                         completed ◀─────┘

    cancel ───────▶ cancelled    from scheduled or confirmed; from arrived or roomed it means
                                 "left without being seen". A reason is always required.
    mark_no_show ─▶ no_show      from scheduled or confirmed
    reschedule ───▶ rescheduled  from scheduled or confirmed, with the new appointment's id
    undo ─────────▶ the state before the latest change still in force (never a reschedule)

    completed, cancelled and no_show take no event but undo; rescheduled takes none.

Errors:

    ValueError
     └── IllegalTransition   not allowed now; the message is for staff (a 409 at the edge)

A plain ValueError (a naive `at`, a blank actor, a new appointment id on another event) is a
bug in the caller, never something to show staff.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

__all__ = [
    "TERMINAL_STATES",
    "TRANSITIONS",
    "AppointmentEvent",
    "AppointmentState",
    "Change",
    "IllegalTransition",
    "allowed_events",
    "apply",
    "state_of",
]


class AppointmentState(StrEnum):
    SCHEDULED = "scheduled"
    CONFIRMED = "confirmed"
    ARRIVED = "arrived"
    ROOMED = "roomed"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"
    RESCHEDULED = "rescheduled"


class AppointmentEvent(StrEnum):
    CONFIRM = "confirm"
    ARRIVE = "arrive"
    ROOM = "room"
    START = "start"
    COMPLETE = "complete"
    CANCEL = "cancel"
    MARK_NO_SHOW = "mark_no_show"
    RESCHEDULE = "reschedule"
    # Its target comes from the history, not the table: see `apply`.
    UNDO = "undo"


_S = AppointmentState
_E = AppointmentEvent

# Every state has a row, even an empty one, so a new state cannot be forgotten here.
TRANSITIONS: Mapping[AppointmentState, Mapping[AppointmentEvent, AppointmentState]] = (
    MappingProxyType(
        {
            _S.SCHEDULED: MappingProxyType(
                {
                    _E.CONFIRM: _S.CONFIRMED,
                    _E.ARRIVE: _S.ARRIVED,
                    _E.CANCEL: _S.CANCELLED,
                    _E.MARK_NO_SHOW: _S.NO_SHOW,
                    _E.RESCHEDULE: _S.RESCHEDULED,
                }
            ),
            _S.CONFIRMED: MappingProxyType(
                {
                    _E.ARRIVE: _S.ARRIVED,
                    _E.CANCEL: _S.CANCELLED,
                    _E.MARK_NO_SHOW: _S.NO_SHOW,
                    _E.RESCHEDULE: _S.RESCHEDULED,
                }
            ),
            # Cancel here is "left without being seen"; start is for providers who take the
            # patient straight in.
            _S.ARRIVED: MappingProxyType(
                {_E.ROOM: _S.ROOMED, _E.START: _S.IN_PROGRESS, _E.CANCEL: _S.CANCELLED}
            ),
            # Complete without start: the visit happened but nobody pressed start.
            _S.ROOMED: MappingProxyType(
                {_E.START: _S.IN_PROGRESS, _E.COMPLETE: _S.COMPLETED, _E.CANCEL: _S.CANCELLED}
            ),
            _S.IN_PROGRESS: MappingProxyType({_E.COMPLETE: _S.COMPLETED}),
            _S.COMPLETED: MappingProxyType({}),
            _S.CANCELLED: MappingProxyType({}),
            _S.NO_SHOW: MappingProxyType({}),
            _S.RESCHEDULED: MappingProxyType({}),
        }
    )
)

TERMINAL_STATES: frozenset[AppointmentState] = frozenset(
    state for state, row in TRANSITIONS.items() if not row
)

# "<subject> cannot be <done>.": the words staff see, so no identifiers leak into messages.
_SUBJECT = {
    _S.SCHEDULED: "A scheduled appointment",
    _S.CONFIRMED: "A confirmed appointment",
    _S.ARRIVED: "An appointment whose patient has arrived",
    _S.ROOMED: "An appointment whose patient is in a room",
    _S.IN_PROGRESS: "An appointment in progress",
    _S.COMPLETED: "A completed appointment",
    _S.CANCELLED: "A cancelled appointment",
    _S.NO_SHOW: "An appointment marked as a no-show",
    _S.RESCHEDULED: "A rescheduled appointment",
}
_DONE = {
    _E.CONFIRM: "confirmed",
    _E.ARRIVE: "marked as arrived",
    _E.ROOM: "moved to a room",
    _E.START: "started",
    _E.COMPLETE: "completed",
    _E.CANCEL: "cancelled",
    _E.MARK_NO_SHOW: "marked as a no-show",
    _E.RESCHEDULE: "rescheduled",
}
_NOUN = {
    _E.CONFIRM: "confirmation",
    _E.ARRIVE: "arrival",
    _E.ROOM: "rooming",
    _E.START: "start of the visit",
    _E.COMPLETE: "completion",
    _E.CANCEL: "cancellation",
    _E.MARK_NO_SHOW: "no-show",
    _E.RESCHEDULE: "reschedule",
}


class IllegalTransition(ValueError):
    """The event is not allowed now; `str()` is a sentence to show staff as it is."""

    def __init__(self, message: str, *, state: AppointmentState, event: AppointmentEvent):
        super().__init__(message)
        self.state = state
        self.event = event


@dataclass(frozen=True, slots=True)
class Change:
    """One step in an appointment's history; `undoes` is the seq of the change an undo reverses."""

    seq: int
    event: AppointmentEvent
    from_state: AppointmentState
    to_state: AppointmentState
    actor: str
    at: datetime
    reason: str | None = None
    undoes: int | None = None
    new_appointment_id: str | None = None

    def __post_init__(self) -> None:
        # Caught here too because a history read back from SQLite can lose its time zone.
        if self.at.tzinfo is None:
            raise ValueError("a change takes an aware datetime")


def state_of(history: Sequence[Change]) -> AppointmentState:
    return history[-1].to_state if history else AppointmentState.SCHEDULED


def allowed_events(
    history: Sequence[Change],
    *,
    at: datetime | None = None,
    undo_window: timedelta | None = None,
) -> frozenset[AppointmentEvent]:
    """The events `apply` would accept now (for the buttons to show). Undo is offered only
    within `undo_window` of the change it would reverse, which needs the time `at`."""
    if undo_window is not None and at is None:
        raise ValueError("the undo window needs the time `at`")
    events = set(TRANSITIONS[state_of(history)])
    try:
        _undo_target(history, at=at, undo_window=undo_window)
    except IllegalTransition:
        pass
    else:
        events.add(AppointmentEvent.UNDO)
    return frozenset(events)


def apply(
    history: Sequence[Change],
    event: AppointmentEvent,
    *,
    actor: str,
    at: datetime,
    reason: str | None = None,
    new_appointment_id: str | None = None,
    undo_window: timedelta | None = None,
) -> Change:
    """The change `event` makes after `history`, for the caller to append; the history itself
    is left alone. Raises `IllegalTransition` when the event is not allowed now."""
    event = AppointmentEvent(event)
    if at.tzinfo is None:
        raise ValueError("`at` must be an aware datetime")
    if not actor.strip():
        raise ValueError("a change needs an actor")
    if new_appointment_id is not None and event != AppointmentEvent.RESCHEDULE:
        raise ValueError("only a reschedule links to a new appointment")
    if undo_window is not None and undo_window < timedelta(0):
        raise ValueError("the undo window cannot be negative")

    state = state_of(history)
    reason = (reason or "").strip() or None
    undoes = None
    if event == AppointmentEvent.UNDO:
        undone = _undo_target(history, at=at, undo_window=undo_window)
        to_state, undoes = undone.from_state, undone.seq
    elif event in TRANSITIONS[state]:
        to_state = TRANSITIONS[state][event]
    else:
        raise IllegalTransition(
            f"{_SUBJECT[state]} cannot be {_DONE[event]}.", state=state, event=event
        )

    if event == AppointmentEvent.CANCEL and reason is None:
        raise IllegalTransition(
            "A reason is needed to cancel an appointment.", state=state, event=event
        )
    if event == AppointmentEvent.RESCHEDULE and not (new_appointment_id or "").strip():
        raise IllegalTransition(
            "A reschedule needs the new appointment it moves to.", state=state, event=event
        )
    if history and at < history[-1].at:
        raise IllegalTransition(
            "This change is dated earlier than the last change on this appointment.",
            state=state,
            event=event,
        )
    return Change(
        seq=history[-1].seq + 1 if history else 1,
        event=event,
        from_state=state,
        to_state=to_state,
        actor=actor,
        at=at,
        reason=reason,
        undoes=undoes,
        new_appointment_id=new_appointment_id,
    )


def _undo_target(
    history: Sequence[Change], *, at: datetime | None, undo_window: timedelta | None
) -> Change:
    """The latest change still in force: not an undo and not undone. Undos only ever reverse
    the latest such change, so its `to_state` is the current state and its `from_state` is
    where undo goes; a second undo then reaches the one before."""
    state = state_of(history)
    undone = {change.undoes for change in history if change.undoes is not None}
    target = next(
        (
            change
            for change in reversed(history)
            if change.event != AppointmentEvent.UNDO and change.seq not in undone
        ),
        None,
    )
    if target is None:
        raise IllegalTransition(
            "There is nothing to undo on this appointment.", state=state, event=_E.UNDO
        )
    # The new appointment already exists: undoing would leave two live bookings.
    if target.event == AppointmentEvent.RESCHEDULE:
        raise IllegalTransition(
            "A reschedule cannot be undone, because the new appointment has already been"
            " booked: cancel the new appointment instead.",
            state=state,
            event=_E.UNDO,
        )
    if undo_window is not None and at is not None and at - target.at > undo_window:
        raise IllegalTransition(
            f"The {_NOUN[target.event]} can no longer be undone: a change can only be undone"
            f" within {_duration(undo_window)}.",
            state=state,
            event=_E.UNDO,
        )
    return target


def _duration(span: timedelta) -> str:
    """A window as staff would say it: "30 minutes", "2 hours", "1 day"."""
    seconds = int(span.total_seconds())
    unit, count = "second", seconds
    for name, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds and seconds % size == 0:
            unit, count = name, seconds // size
            break
    return f"{count} {unit}{'' if count == 1 else 's'}"
