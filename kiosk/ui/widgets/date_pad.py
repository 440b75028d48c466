"""A date of birth typed as three labelled boxes (in the patient's language's order) on a
number keypad; the boxes can be touched to correct one. The typing rules are
`kiosk.ui.entry.DateEntry`'s."""

from __future__ import annotations

from datetime import date

from kivy.factory import Factory
from kivy.properties import StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label

from kiosk.ui.entry import DateEntry, DatePart, DateProblem
from kiosk.ui.look import LOOK
from kiosk.ui.widgets.buttons import BigButton
from kiosk.ui.widgets.keypad import BACKSPACE, Keypad

PART_LABELS = {DatePart.MONTH: "Month", DatePart.DAY: "Day", DatePart.YEAR: "Year"}
PART_HINTS = {DatePart.MONTH: "MM", DatePart.DAY: "DD", DatePart.YEAR: "YYYY"}
PROBLEMS = {
    DateProblem.INCOMPLETE: "Please fill in the month, the day and all four digits of the year.",
    DateProblem.NO_SUCH_DATE: "That date does not exist. Please check the month and the day.",
    DateProblem.IN_THE_FUTURE: "That date is in the future. Please check the year.",
    DateProblem.TOO_LONG_AGO: "Please check the year.",
}


class DatePad(BoxLayout):
    """The boxes on the left, the keypad on the right at the pad's full height; widgets the
    .kv gives it (the screen's own button) go under the boxes."""

    problem_text = StringProperty("")
    __events__ = ("on_typed",)

    def __init__(self, **kwargs: object) -> None:
        super().__init__(orientation="horizontal", spacing=LOOK.mm(6), **kwargs)
        self.entry = DateEntry.for_language(LOOK.language)
        self._column = BoxLayout(orientation="vertical", spacing=LOOK.mm(2))
        self._row = BoxLayout(spacing=LOOK.mm(2), size_hint_y=None, height=LOOK.mm(30))
        problem = Factory.Hint(color=LOOK.colour("danger"))
        self.bind(problem_text=problem.setter("text"))
        for widget in (self._row, problem, BoxLayout()):
            self._column.add_widget(widget)
        keypad = Keypad(layout="digits", size_hint_x=0.9)
        keypad.bind(on_key=self._key)
        super().add_widget(self._column)
        super().add_widget(keypad)
        self._draw()

    def add_widget(self, widget, *args, **kwargs):
        self._column.add_widget(widget, *args, **kwargs)

    def reset(self) -> None:
        self.entry = DateEntry.for_language(LOOK.language)
        self.problem_text = ""
        self._draw()

    def value(self, today: date) -> date | None:
        problem = self.entry.problem(today)
        self.problem_text = LOOK.t(PROBLEMS[problem]) if problem else ""
        return self.entry.value(today)

    def _key(self, _keypad: Keypad, key: str) -> None:
        if key == BACKSPACE:
            self.entry.backspace()
        else:
            self.entry.press(key)
        self.problem_text = ""
        self._draw()
        self.dispatch("on_typed")

    def on_typed(self) -> None:
        """A key was pressed: the screen tells the flow the patient is busy."""

    def _choose(self, part: DatePart) -> None:
        self.entry.choose(part)
        self._draw()

    def _draw(self) -> None:
        if self.entry.order != DateEntry.for_language(LOOK.language).order:
            typed = dict(self.entry.parts)
            self.entry = DateEntry.for_language(LOOK.language)
            self.entry.parts = typed
        row = self._row
        row.clear_widgets()
        for part in self.entry.order:
            column = BoxLayout(
                orientation="vertical", size_hint_x=2 if part is DatePart.YEAR else 1.3
            )
            label = Label(
                text=LOOK.t(PART_LABELS[part]),
                font_size=LOOK.font(28),
                size_hint_y=None,
                height=LOOK.mm(10),
                color=LOOK.colour("ink"),
            )
            typed = self.entry.parts[part]
            box = BigButton(
                name=f"dob-{part.value}",
                text=typed or LOOK.t(PART_HINTS[part]),
                kind="primary" if part is self.entry.focus else "secondary",
                font_size=LOOK.font(40),
            )
            if not typed:
                box.color = LOOK.colour("on_primary" if part is self.entry.focus else "quiet_ink")
            box.bind(on_release=lambda _b, p=part: self._choose(p))
            column.add_widget(label)
            column.add_widget(box)
            row.add_widget(column)
