"""What the on-screen keypads type into: plain Python, so that every key a patient can press
is tested without a window.

A date of birth is typed as three labelled boxes in the order the patient's language writes
dates (month, day, year in English; day, month, year in Spanish), which is what people get
wrong on a single free-form field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Final

NAME_CHARACTERS: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZÁÉÍÓÚÑÜ '-")
MAX_NAME_LENGTH: Final = 35  # as NamePart allows


@dataclass
class NameEntry:
    """Letters from the name keypad; leading and doubled spaces are not typed."""

    text: str = ""

    def press(self, key: str) -> None:
        key = key.upper()
        if key not in NAME_CHARACTERS or len(self.text) >= MAX_NAME_LENGTH:
            return
        if key == " " and (not self.text or self.text.endswith(" ")):
            return
        self.text += key

    def backspace(self) -> None:
        self.text = self.text[:-1]

    def clear(self) -> None:
        self.text = ""

    @property
    def value(self) -> str | None:
        """The name to look up, or None while it is too short to be one."""
        name = self.text.strip(" -'")
        return name if len(name) >= 2 else None


class DatePart(StrEnum):
    MONTH = "month"
    DAY = "day"
    YEAR = "year"


class DateProblem(StrEnum):
    INCOMPLETE = "incomplete"
    NO_SUCH_DATE = "no-such-date"
    IN_THE_FUTURE = "in-the-future"
    TOO_LONG_AGO = "too-long-ago"


DATE_ORDER: Final = {
    "en": (DatePart.MONTH, DatePart.DAY, DatePart.YEAR),
    "es": (DatePart.DAY, DatePart.MONTH, DatePart.YEAR),
}
WIDTH: Final = {DatePart.MONTH: 2, DatePart.DAY: 2, DatePart.YEAR: 4}
OLDEST_YEAR: Final = 1900


@dataclass
class DateEntry:
    """Digits from the number keypad into the box in focus; a full box moves the focus on."""

    order: tuple[DatePart, ...] = DATE_ORDER["en"]
    parts: dict[DatePart, str] = field(default_factory=lambda: dict.fromkeys(DatePart, ""))
    focus: DatePart = DatePart.MONTH

    def __post_init__(self) -> None:
        self.focus = self.order[0]

    @classmethod
    def for_language(cls, language: str) -> DateEntry:
        return cls(order=DATE_ORDER.get(language, DATE_ORDER["en"]))

    def press(self, digit: str) -> None:
        if len(digit) != 1 or not digit.isdigit():
            return
        if len(self.parts[self.focus]) >= WIDTH[self.focus]:
            if self._next_part() is None:
                return  # the year is full
            self.focus = self._next_part()  # type: ignore[assignment]
        self.parts[self.focus] += digit
        full = len(self.parts[self.focus]) == WIDTH[self.focus]
        # "4" as a month can only be April: move on, as people expect, without a leading 0.
        early = self.focus is DatePart.MONTH and int(self.parts[self.focus]) > 1
        early = early or (self.focus is DatePart.DAY and int(self.parts[self.focus]) > 3)
        if (full or early) and self._next_part() is not None:
            if early and not full:
                self.parts[self.focus] = self.parts[self.focus].zfill(2)
            self.focus = self._next_part()  # type: ignore[assignment]

    def backspace(self) -> None:
        if not self.parts[self.focus]:
            previous = self._previous_part()
            if previous is None:
                return
            self.focus = previous
        self.parts[self.focus] = self.parts[self.focus][:-1]

    def choose(self, part: DatePart) -> None:
        """The patient touched a box to correct it."""
        self.focus = part

    def clear(self) -> None:
        self.parts = dict.fromkeys(DatePart, "")
        self.focus = self.order[0]

    def problem(self, today: date) -> DateProblem | None:
        if any(len(self.parts[p]) != WIDTH[p] for p in DatePart):
            return DateProblem.INCOMPLETE
        try:
            born = date(
                *(int(self.parts[p]) for p in (DatePart.YEAR, DatePart.MONTH, DatePart.DAY))
            )
        except ValueError:
            return DateProblem.NO_SUCH_DATE
        if born > today:
            return DateProblem.IN_THE_FUTURE
        if born.year < OLDEST_YEAR:
            return DateProblem.TOO_LONG_AGO
        return None

    def value(self, today: date) -> date | None:
        if self.problem(today) is not None:
            return None
        return date(*(int(self.parts[p]) for p in (DatePart.YEAR, DatePart.MONTH, DatePart.DAY)))

    def _next_part(self) -> DatePart | None:
        index = self.order.index(self.focus)
        return self.order[index + 1] if index + 1 < len(self.order) else None

    def _previous_part(self) -> DatePart | None:
        index = self.order.index(self.focus)
        return self.order[index - 1] if index > 0 else None
