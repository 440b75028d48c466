"""Predicted no-show probability from a patient's own attendance, as a pure function.

A patient with two past visits and one no-show is not a 50 % risk: the estimate starts at
the clinic's own rate and moves toward the patient's record as it grows (a beta prior worth
`prior_visits` visits, i.e. the posterior mean of a beta-binomial model). A new patient gets
the clinic's rate; a patient with twenty visits is mostly judged on them.
"""

from __future__ import annotations

from dataclasses import dataclass

# Statuses that count, for a past appointment: it was kept, or it was a no-show.
# Cancellations say nothing about showing up, so they are left out.
KEPT_STATUSES = frozenset({"arrived", "roomed", "in_progress", "completed"})
NO_SHOW_STATUS = "no_show"
DEFAULT_RATE = 0.12  # when the clinic has too little history of its own (U.S. primary care)
MIN_CLINIC_VISITS = 50


@dataclass(frozen=True)
class Attendance:
    kept: int = 0
    no_shows: int = 0

    @property
    def visits(self) -> int:
        return self.kept + self.no_shows


def clinic_rate(history: Attendance) -> float:
    """The clinic's no-show rate, or a published typical one while it has little history."""
    if history.visits < MIN_CLINIC_VISITS:
        return DEFAULT_RATE
    return history.no_shows / history.visits


def no_show_probability(
    patient: Attendance, *, base_rate: float, prior_visits: float = 4.0
) -> float:
    if not 0.0 <= base_rate <= 1.0:
        raise ValueError("base_rate is a probability")
    return (patient.no_shows + base_rate * prior_visits) / (patient.visits + prior_visits)
