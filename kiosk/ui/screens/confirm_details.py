from __future__ import annotations

from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label

from kiosk.flow import DetailsConfirmed
from kiosk.ui.details import EDITABLE, Editable, NotValid, ProposedChanges
from kiosk.ui.formatting import long_date, readable_phone
from kiosk.ui.look import LOOK
from kiosk.ui.screens.base import StepScreen
from kiosk.ui.widgets.buttons import BigButton
from kiosk.ui.widgets.keypad import BACKSPACE, SPACE

_PARTS = {
    "first_name": ("first_name", "last_name"),
    "phone": ("phone",),
    "email": ("email",),
    "line1": ("line1", "city", "state", "postal_code"),
}


class ConfirmDetailsScreen(StepScreen):
    """Each detail on file with a Change button; a change opens a keypad for that field."""

    editing = BooleanProperty(False)
    editing_label = StringProperty("")
    typed = StringProperty("")
    problem = StringProperty("")
    has_changes = BooleanProperty(False)
    on_file = StringProperty("")

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.proposed: ProposedChanges | None = None
        self._field: Editable | None = None

    def show(self, kiosk) -> None:
        demographics = kiosk.flow.demographics
        if demographics is None:
            return
        if self.proposed is None or self.proposed.on_file != demographics:
            self.proposed = ProposedChanges(demographics)
            self._rows()

    def leave(self) -> None:
        self.proposed, self._field, self.editing = None, None, False
        self.typed = self.problem = ""

    def _rows(self) -> None:
        assert self.proposed is not None
        rows: BoxLayout = self.ids.rows
        rows.clear_widgets()
        on_file = self.proposed.on_file
        shown = self.proposed.shown
        lines = [
            ("Name", f"{shown('first_name')} {shown('last_name')}", "first_name"),
            ("Date of birth", long_date(on_file.date_of_birth, LOOK.language), None),
            ("Mobile phone", readable_phone(shown("phone")) or LOOK.t("none on file"), "phone"),
            ("Email", shown("email") or LOOK.t("none on file"), "email"),
            (
                "Address",
                ", ".join(
                    filter(None, (shown(k) for k in ("line1", "city", "state", "postal_code")))
                )
                or LOOK.t("none on file"),
                "line1",
            ),
        ]
        for label, value, key in lines:
            row = BoxLayout(spacing=LOOK.mm(2))
            changed = key is not None and any(k in self.proposed.values for k in _PARTS[key])
            for text, share, bold in ((LOOK.t(label), 0.25, True), (value, 0.5, False)):
                cell = Label(
                    text=text + (f"  ({LOOK.t('new')})" if changed and not bold else ""),
                    bold=bold,
                    font_size=LOOK.font(28),
                    halign="left",
                    valign="middle",
                    color=LOOK.colour("ink"),
                    size_hint_x=share,
                )
                cell.bind(size=lambda w, s: setattr(w, "text_size", s))
                row.add_widget(cell)
            if key is not None:
                button = BigButton(name=f"change-{key}", text=LOOK.t("Change"), size_hint_x=0.25)
                button.bind(on_release=lambda _b, k=key: self.change(k))
                row.add_widget(button)
            else:
                row.add_widget(Label(size_hint_x=0.25))
            rows.add_widget(row)
        self.has_changes = bool(self.proposed.values)

    def change(self, key: str) -> None:
        """Name and address are asked part by part: first then last, street to ZIP."""
        self._field = next(f for f in EDITABLE if f.key == key)
        assert self.proposed is not None
        self.typed = ""  # typed afresh; what is on file is shown beside it
        self.problem = ""
        on_file = self.proposed.shown(key)
        if key == "phone":
            on_file = readable_phone(on_file)
        self.editing_label = LOOK.t(self._field.label)
        self.on_file = LOOK.t("Now: {value}").format(value=on_file) if on_file else ""
        self.ids.keypad.layout = self._field.keypad
        self.editing = True
        self.kiosk.touched()

    def key(self, key: str) -> None:
        if key == BACKSPACE:
            self.typed = self.typed[:-1]
        elif len(self.typed) < 120:
            self.typed += " " if key == SPACE else key
        self.problem = ""
        self.kiosk.touched()

    def save(self) -> None:
        assert self.proposed is not None and self._field is not None
        try:
            self.proposed.propose(self._field.key, self.typed)
        except NotValid as exc:
            self.problem = LOOK.t(str(exc))
            return
        following = {
            "first_name": "last_name",
            "line1": "city",
            "city": "state",
            "state": "postal_code",
        }
        if self._field.key in following:
            self.change(following[self._field.key])
            return
        self.cancel()

    def cancel(self) -> None:
        self.editing, self._field = False, None
        self._rows()

    def confirm(self) -> None:
        assert self.proposed is not None
        changes = self.proposed.changes()
        self.kiosk.post(DetailsConfirmed, changes=None if changes.is_empty() else changes)
