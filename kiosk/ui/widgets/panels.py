"""One of several panels on a screen (the name keypad or the date of birth; the camera or
the card's review): only the current panel is in the widget tree, so hidden ones neither
take touches nor get drawn."""

from __future__ import annotations

from kivy.properties import StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.widget import Widget


class Panels(BoxLayout):
    """Children name themselves with `panel: 'name'` in the .kv; `current` picks one. The
    names are read when shown, as the .kv sets them after the children are added."""

    current = StringProperty("")

    def __init__(self, **kwargs: object) -> None:
        self._panels: list[Widget] = []
        super().__init__(**kwargs)

    def add_widget(self, widget: Widget, *args: object, **kwargs: object) -> None:
        self._panels.append(widget)  # every child is a panel, kept aside until current

    def on_kv_post(self, _base_widget: Widget) -> None:
        self._show()

    def on_current(self, _panels: Panels, _name: str) -> None:
        self._show()

    def _show(self) -> None:
        for widget in self._panels:
            if widget.parent is self and getattr(widget, "panel", "") != self.current:
                super().remove_widget(widget)
        for widget in self._panels:
            if getattr(widget, "panel", "") == self.current and widget.parent is None:
                super().add_widget(widget)
