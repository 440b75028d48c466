"""Simulated fingers for the real app: touches go in through Kivy's input pipeline, as the
touchscreen's would, at the place on the glass where a named button is drawn. Used by the
walkthrough (`frontdesk demo walkthrough`) and by the tests.

Every wait pumps the app's own event loop (it runs under asyncio), so the app redraws, its
clock ticks and answers from the back office arrive while the robot waits.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from kivy.base import EventLoop
from kivy.input.motionevent import MotionEvent
from kivy.uix.widget import Widget

from kiosk.flow import Step
from kiosk.ui.app import Kiosk
from kiosk.ui.widgets.buttons import BigButton

_ids = itertools.count(1000)


class RobotError(AssertionError):
    """The app was not where the script expected it to be."""


class _Finger(MotionEvent):
    def __init__(self, x: float, y: float) -> None:
        window = EventLoop.window
        super().__init__(
            "robot",
            next(_ids),
            {"x": x / window.width, "y": y / window.height},
            is_touch=True,
            type_id="touch",
        )

    def depack(self, args: dict[str, float]) -> None:
        self.sx, self.sy = args["x"], args["y"]
        self.profile = ["pos"]
        super().depack(args)


class Robot:
    def __init__(self, kiosk: Kiosk, *, timeout: float = 20.0) -> None:
        self.kiosk = kiosk
        self.timeout = timeout

    # --- looking ---------------------------------------------------------------------------

    def visible(self, widget: Widget) -> bool:
        node: Widget | None = widget
        while node is not None and node is not node.parent:
            if node.opacity == 0 or node.disabled:
                return False
            if node.width < 1 or node.height < 1:
                return False
            node = node.parent
        return True

    def buttons(self) -> Iterator[BigButton]:
        for widget in self.kiosk.root.walk(restrict=False):
            named = isinstance(widget, BigButton) and widget.name
            if named and self.visible(widget) and self._on_current_screen(widget):
                yield widget

    def _on_current_screen(self, widget: Widget) -> bool:
        from kivy.uix.screenmanager import Screen

        node = widget.parent
        while node is not None and node is not node.parent:
            if isinstance(node, Screen):
                return node.manager is not None and node.manager.current == node.name
            node = node.parent
        return True  # the top bar and the overlays

    def button(self, name: str) -> BigButton:
        found = [button for button in self.buttons() if button.name == name]
        if not found:
            shown = sorted({button.name for button in self.buttons()})
            raise RobotError(f"no button {name!r} on screen; there are {shown}")
        return found[0]

    def has(self, name: str) -> bool:
        return any(button.name == name for button in self.buttons())

    @property
    def screen(self) -> str:
        return str(self.kiosk.root.ids.screens.current)

    # --- touching ----------------------------------------------------------------------------

    async def tap(self, name: str) -> None:
        await self.settle()
        button = self.button(name)
        if not button.enabled:
            raise RobotError(f"the button {name!r} is not enabled")
        await self.touch_at(*button.to_window(*button.center))

    async def touch_at(self, x: float, y: float, *, hold: float = 0.05) -> None:
        finger = _Finger(x, y)
        EventLoop.post_dispatch_input("begin", finger)
        await asyncio.sleep(hold)
        EventLoop.post_dispatch_input("end", finger)
        await self.frames(2)

    async def draw(self, widget: Widget, points: list[tuple[float, float]]) -> None:
        """A stroke through `points`, given as fractions of the widget's width and height."""

        def at(fx: float, fy: float) -> tuple[float, float]:
            return widget.to_window(widget.x + fx * widget.width, widget.y + fy * widget.height)

        finger = _Finger(*at(*points[0]))
        EventLoop.post_dispatch_input("begin", finger)
        await self.frames(1)
        window = EventLoop.window
        for point in points[1:]:
            x, y = at(*point)
            finger.move({"x": x / window.width, "y": y / window.height})
            EventLoop.post_dispatch_input("update", finger)
            await self.frames(1)
        EventLoop.post_dispatch_input("end", finger)
        await self.frames(2)

    async def type(self, text: str) -> None:
        for character in text.upper():
            await self.tap("key-space" if character == " " else f"key-{character}")

    # --- waiting --------------------------------------------------------------------------------

    async def frames(self, count: int = 1) -> None:
        for _ in range(count):
            await asyncio.sleep(1 / 60)

    async def settle(self) -> None:
        """Until the flow has handled everything posted and the screen is redrawn."""
        await self.until(lambda: not self.kiosk.session.busy, "the kiosk to be idle")
        await self.frames(3)

    async def until(
        self, condition: Callable[[], bool], what: str, timeout: float | None = None
    ) -> None:
        deadline = time.monotonic() + (timeout or self.timeout)
        while not condition():
            if time.monotonic() > deadline:
                raise RobotError(f"waited in vain for {what} (screen: {self.screen})")
            await asyncio.sleep(0.05)

    async def step(self, step: Step, timeout: float | None = None) -> None:
        await self.until(
            lambda: self.screen == step.value and not self.kiosk.session.busy,
            f"the {step.value} screen",
            timeout,
        )
        await self.frames(4)

    async def button_appears(self, name: str, timeout: float | None = None) -> None:
        await self.until(lambda: self.has(name), f"the {name!r} button", timeout)
        await self.frames(2)

    async def screenshot(self, path: Path) -> Path:
        """The window as the patient sees it, as PNG."""
        await self.frames(6)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        written = Path(EventLoop.window.screenshot(str(path)))
        written.replace(path)
        return path
