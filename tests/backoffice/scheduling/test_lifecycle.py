"""The appointment lifecycle: the whole table, generated from the enums, then undo and time."""

from collections import deque
from datetime import UTC, datetime, timedelta
from itertools import product

import pytest

from backoffice.scheduling.lifecycle import (
    TERMINAL_STATES,
    TRANSITIONS,
    AppointmentEvent,
    AppointmentState,
    Change,
    IllegalTransition,
    allowed_events,
    apply,
    state_of,
)

S = AppointmentState
E = AppointmentEvent
T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
FORWARD = [event for event in E if event != E.UNDO]
# Scheduled is only ever the start (nothing to undo); a reschedule cannot be undone.
NOT_UNDOABLE = {S.SCHEDULED, S.RESCHEDULED}


def needs(event: AppointmentEvent) -> dict[str, str]:
    """What an event must carry to be accepted where the table allows it."""
    if event == E.CANCEL:
        return {"reason": "patient called"}
    if event == E.RESCHEDULE:
        return {"new_appointment_id": "appt-2"}
    return {}


def step(history: list[Change], event: AppointmentEvent, **kwargs) -> Change:
    kwargs = {"actor": "dana", "at": T0 + len(history) * MIN, **needs(event), **kwargs}
    return apply(history, event, **kwargs)


def run(*events: AppointmentEvent) -> list[Change]:
    history: list[Change] = []
    for event in events:
        history.append(step(history, event))
    return history


def shortest_paths() -> dict[AppointmentState, list[AppointmentEvent]]:
    paths: dict[AppointmentState, list[AppointmentEvent]] = {S.SCHEDULED: []}
    queue = deque([S.SCHEDULED])
    while queue:
        state = queue.popleft()
        for event, target in TRANSITIONS[state].items():
            if target not in paths:
                paths[target] = [*paths[state], event]
                queue.append(target)
    return paths


PATHS = shortest_paths()


def history_in(state: AppointmentState) -> list[Change]:
    return run(*PATHS[state])


LEGAL = [(s, e) for s, e in product(S, FORWARD) if e in TRANSITIONS[s]]
ILLEGAL = [(s, e) for s, e in product(S, FORWARD) if e not in TRANSITIONS[s]]


# The rules as agreed, written out a second time so that changing the table is deliberate.
ALLOWED_FROM = {
    E.CONFIRM: {S.SCHEDULED},
    E.ARRIVE: {S.SCHEDULED, S.CONFIRMED},
    E.ROOM: {S.ARRIVED},
    E.START: {S.ARRIVED, S.ROOMED},
    E.COMPLETE: {S.ROOMED, S.IN_PROGRESS},
    E.CANCEL: {S.SCHEDULED, S.CONFIRMED, S.ARRIVED, S.ROOMED},
    E.MARK_NO_SHOW: {S.SCHEDULED, S.CONFIRMED},
    E.RESCHEDULE: {S.SCHEDULED, S.CONFIRMED},
}


def test_every_forward_event_has_agreed_rules():
    assert set(ALLOWED_FROM) == set(FORWARD)


@pytest.mark.parametrize("event", FORWARD)
def test_the_table_allows_each_event_from_the_agreed_states(event):
    assert {state for state in S if event in TRANSITIONS[state]} == ALLOWED_FROM[event]


def test_the_table_has_a_row_for_every_state():
    assert set(TRANSITIONS) == set(S)


def test_undo_is_not_in_the_table():
    assert all(E.UNDO not in row for row in TRANSITIONS.values())


def test_every_state_is_reachable_from_scheduled():
    assert set(PATHS) == set(S)


def test_the_terminal_states_are_the_ones_without_forward_events():
    assert {S.COMPLETED, S.CANCELLED, S.NO_SHOW, S.RESCHEDULED} == TERMINAL_STATES


@pytest.mark.parametrize(("state", "event"), LEGAL)
def test_an_event_in_the_table_moves_to_its_target(state, event):
    history = history_in(state)
    change = step(history, event)
    assert (change.from_state, change.to_state) == (state, TRANSITIONS[state][event])


@pytest.mark.parametrize(("state", "event"), ILLEGAL)
def test_an_event_not_in_the_table_raises_in_plain_english(state, event):
    with pytest.raises(IllegalTransition) as caught:
        step(history_in(state), event)
    message = str(caught.value)
    assert message.endswith(".") and "_" not in message
    assert (caught.value.state, caught.value.event) == (state, event)


@pytest.mark.parametrize("state", list(S))
def test_undo_works_from_every_state_but_the_start_and_a_reschedule(state):
    history = history_in(state)
    if state in NOT_UNDOABLE:
        with pytest.raises(IllegalTransition):
            step(history, E.UNDO)
    else:
        assert step(history, E.UNDO).to_state == history[-1].from_state


def test_a_refusal_names_the_state_and_the_event():
    with pytest.raises(
        IllegalTransition, match=r"^A completed appointment cannot be marked as a no-show"
    ):
        step(history_in(S.COMPLETED), E.MARK_NO_SHOW)


def test_an_illegal_transition_is_a_value_error():
    assert issubclass(IllegalTransition, ValueError)


def test_the_happy_path_walks_to_completed_in_sequence():
    history = run(E.CONFIRM, E.ARRIVE, E.ROOM, E.START, E.COMPLETE)
    assert [c.to_state for c in history] == [
        S.CONFIRMED,
        S.ARRIVED,
        S.ROOMED,
        S.IN_PROGRESS,
        S.COMPLETED,
    ]
    assert [c.seq for c in history] == [1, 2, 3, 4, 5]
    assert state_of(history) == S.COMPLETED


def test_an_empty_history_is_scheduled():
    assert state_of([]) == S.SCHEDULED


def test_apply_leaves_the_history_alone():
    history = run(E.CONFIRM)
    step(history, E.ARRIVE)
    assert len(history) == 1 and state_of(history) == S.CONFIRMED


def test_a_change_records_who_when_and_why():
    change = step([], E.MARK_NO_SHOW, actor="sam", at=T0, reason="no answer on the phone")
    assert (change.actor, change.at, change.reason) == ("sam", T0, "no answer on the phone")


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_cancel_needs_a_reason(reason):
    with pytest.raises(IllegalTransition, match="reason"):
        apply([], E.CANCEL, actor="dana", at=T0, reason=reason)


def test_a_patient_who_left_before_being_seen_is_cancelled_from_arrived():
    history = run(E.ARRIVE)
    change = step(history, E.CANCEL, reason="left without being seen")
    assert (change.from_state, change.to_state) == (S.ARRIVED, S.CANCELLED)


@pytest.mark.parametrize("new_id", [None, "", " "])
def test_reschedule_needs_the_new_appointment(new_id):
    with pytest.raises(IllegalTransition, match="new appointment"):
        apply([], E.RESCHEDULE, actor="dana", at=T0, new_appointment_id=new_id)


def test_reschedule_links_to_the_new_appointment():
    change = step([], E.RESCHEDULE, new_appointment_id="appt-42")
    assert change.new_appointment_id == "appt-42"


def test_a_new_appointment_on_another_event_is_a_caller_bug():
    with pytest.raises(ValueError) as caught:
        apply([], E.CANCEL, actor="dana", at=T0, reason="ill", new_appointment_id="appt-2")
    assert not isinstance(caught.value, IllegalTransition)


def test_a_blank_actor_is_a_caller_bug():
    with pytest.raises(ValueError, match="actor"):
        apply([], E.CONFIRM, actor=" ", at=T0)


def test_undo_of_a_no_show_returns_to_the_state_before_and_keeps_both():
    history = run(E.CONFIRM, E.MARK_NO_SHOW)
    history.append(step(history, E.UNDO))
    no_show, undo = history[1], history[2]
    assert state_of(history) == S.CONFIRMED
    assert (no_show.event, undo.event, undo.undoes) == (E.MARK_NO_SHOW, E.UNDO, no_show.seq)
    assert len(history) == 3


def test_undo_twice_walks_further_back():
    history = run(E.CONFIRM, E.ARRIVE, E.UNDO, E.UNDO)
    assert [c.undoes for c in history] == [None, None, 2, 1]
    assert state_of(history) == S.SCHEDULED


def test_undo_after_redoing_reverses_the_redo_not_the_first_attempt():
    history = run(E.CONFIRM, E.ARRIVE, E.UNDO, E.ARRIVE, E.UNDO)
    assert history[-1].undoes == 4
    assert state_of(history) == S.CONFIRMED


def test_undo_of_an_early_check_out_reopens_the_visit():
    history = run(E.ARRIVE, E.ROOM, E.COMPLETE, E.UNDO)
    assert state_of(history) == S.ROOMED


def test_there_is_nothing_to_undo_on_a_new_appointment():
    with pytest.raises(IllegalTransition, match="nothing to undo"):
        apply([], E.UNDO, actor="dana", at=T0)


def test_there_is_nothing_left_to_undo_once_every_change_is_undone():
    history = run(E.CONFIRM, E.UNDO)
    with pytest.raises(IllegalTransition, match="nothing to undo"):
        step(history, E.UNDO)


def test_a_reschedule_cannot_be_undone():
    history = run(E.CONFIRM, E.RESCHEDULE)
    with pytest.raises(IllegalTransition, match="cancel the new appointment instead"):
        step(history, E.UNDO)


def test_undo_is_allowed_up_to_the_end_of_the_window():
    history = run(E.MARK_NO_SHOW)
    at = history[-1].at + 30 * MIN
    change = apply(history, E.UNDO, actor="dana", at=at, undo_window=30 * MIN)
    assert change.to_state == S.SCHEDULED


def test_undo_is_refused_after_the_window():
    history = run(E.MARK_NO_SHOW)
    at = history[-1].at + 31 * MIN
    with pytest.raises(IllegalTransition, match=r"no-show can no longer be undone.*30 minutes"):
        apply(history, E.UNDO, actor="dana", at=at, undo_window=30 * MIN)


def test_the_window_runs_from_the_change_being_undone_not_the_latest_undo():
    history = run(E.CONFIRM, E.ARRIVE)
    history.append(apply(history, E.UNDO, actor="dana", at=T0 + 20 * MIN, undo_window=30 * MIN))
    with pytest.raises(IllegalTransition, match="confirmation can no longer be undone"):
        apply(history, E.UNDO, actor="dana", at=T0 + 40 * MIN, undo_window=30 * MIN)


def test_a_naive_time_is_a_caller_bug():
    with pytest.raises(ValueError, match="aware") as caught:
        apply([], E.CONFIRM, actor="dana", at=datetime(2026, 6, 1, 9, 0))
    assert not isinstance(caught.value, IllegalTransition)


def test_a_change_read_back_without_a_time_zone_is_refused():
    with pytest.raises(ValueError, match="aware"):
        Change(1, E.CONFIRM, S.SCHEDULED, S.CONFIRMED, "dana", datetime(2026, 6, 1))


def test_a_change_dated_before_the_last_one_is_refused():
    history = run(E.CONFIRM)
    with pytest.raises(IllegalTransition, match="earlier than the last change"):
        apply(history, E.ARRIVE, actor="dana", at=history[-1].at - timedelta(seconds=1))


def test_two_changes_at_the_same_instant_are_allowed():
    history = run(E.ARRIVE)
    change = apply(history, E.ROOM, actor="dana", at=history[-1].at)
    assert change.at == history[-1].at


@pytest.mark.parametrize("state", list(S))
def test_allowed_events_match_the_table(state):
    assert allowed_events(history_in(state)) - {E.UNDO} == set(TRANSITIONS[state])


@pytest.mark.parametrize(("state", "event"), list(product(S, E)))
def test_allowed_events_offer_exactly_what_apply_accepts(state, event):
    history = history_in(state)
    try:
        step(history, event)
    except IllegalTransition:
        accepted = False
    else:
        accepted = True
    assert (event in allowed_events(history)) is accepted


def test_allowed_events_hide_undo_once_the_window_has_passed():
    history = run(E.MARK_NO_SHOW)
    late = history[-1].at + 2 * 60 * MIN
    assert E.UNDO in allowed_events(history)
    assert E.UNDO not in allowed_events(history, at=late, undo_window=60 * MIN)


def test_allowed_events_need_the_time_to_apply_a_window():
    with pytest.raises(ValueError, match="needs the time"):
        allowed_events(run(E.CONFIRM), undo_window=60 * MIN)
