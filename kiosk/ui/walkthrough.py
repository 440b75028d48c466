"""`frontdesk demo walkthrough`: the real app, driven by the robot through a whole check-in
against a running back office on simulated hardware, with a screenshot of every screen.

The screenshots are what the README shows; they are also the quickest way for a person to
look at every screen as a patient would, after any change.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from kiosk.flow import Step
from kiosk.ui.app import KioskApp
from kiosk.ui.robot import Robot

SIGNATURE = [(0.08 + 0.03 * i, 0.45 + 0.2 * ((i % 4) - 1.5) / 1.5) for i in range(26)]


@dataclass
class Patient:
    last_name: str
    date_of_birth: date


@dataclass
class Walkthrough:
    robot: Robot
    out: Path
    shots: list[Path] = field(default_factory=list)
    # Called on every screen photographed, with the robot (the tests check touch targets).
    inspect: Callable[[Robot], None] = lambda _robot: None

    async def shot(self, name: str) -> None:
        path = self.out / f"{len(self.shots) + 1:02d}-{name}.png"
        self.shots.append(await self.robot.screenshot(path))
        self.inspect(self.robot)

    async def check_in(self, patient: Patient, *, language: str = "en") -> None:
        robot = self.robot
        await robot.step(Step.WELCOME)
        await self.shot("welcome")
        await robot.tap("start")
        await robot.step(Step.LANGUAGE)
        await self.shot("language")
        await robot.tap(f"lang-{language}")
        await robot.step(Step.IDENTIFY)
        await robot.type(patient.last_name)
        await self.shot("identify-name")
        await robot.tap("next")
        await type_date(robot, patient.date_of_birth)
        await self.shot("identify-date-of-birth")
        await robot.tap("find")
        await robot.step(Step.VERIFY)
        await self.shot("verify")
        await robot.tap("match-0")
        await robot.step(Step.CONFIRM_DETAILS)
        await robot.until(lambda: robot.has("change-phone"), "the details")
        await self.shot("confirm-details")
        await robot.tap("change-phone")
        await robot.type("4155550123")
        await self.shot("confirm-details-change-phone")
        await robot.tap("edit-save")
        await robot.tap("confirm")
        await robot.step(Step.INSURANCE_CARD)
        card_screen = robot.kiosk.root.ids.screens.current_screen
        await robot.until(
            lambda: card_screen.ids.camera.texture is not None and card_screen.holding,
            "the card in the camera's picture",
        )
        await self.shot("insurance-card-camera")
        await robot.button_appears("use-card", timeout=60)
        await self.shot("insurance-card-review")
        await robot.tap("use-card")
        await robot.step(Step.CONSENT_FORMS)
        while robot.screen == Step.CONSENT_FORMS.value:
            await robot.until(lambda: robot.kiosk.flow.document_to_sign is not None, "a form")
            pad = robot.kiosk.root.ids.screens.current_screen.ids.pad
            await robot.draw(pad, SIGNATURE)
            if len(self.shots) and "consent" not in self.shots[-1].name:
                await self.shot("consent-signed")
            await robot.tap("sign")
            await robot.settle()
        if robot.screen == Step.COPAY.value:
            await self.shot("copay")
            await robot.tap("pay-card")
            await robot.button_appears("test-card-approved", timeout=30)
            await self.shot("copay-reader-waiting")
            await robot.tap("test-card-approved")
        await robot.step(Step.DONE, timeout=60)
        await self.shot("done")


async def type_date(robot: Robot, born: date) -> None:
    from kiosk.ui.look import LOOK

    parts = {"month": f"{born.month:02d}", "day": f"{born.day:02d}", "year": f"{born.year}"}
    order = ("day", "month", "year") if LOOK.language == "es" else ("month", "day", "year")
    for part in order:
        await robot.type(parts[part])


async def play(app: KioskApp, script) -> None:
    """Run the app and the script together; the app stops when the script ends, and a
    script's failure is raised after the app has closed."""
    failure: list[BaseException] = []

    async def driven() -> None:
        try:
            while app.kiosk is None or app.root is None or not app.root.get_root_window():
                await asyncio.sleep(0.05)
            await script(Robot(app.kiosk))
        except BaseException as exc:
            failure.append(exc)
        finally:
            app.stop()

    await asyncio.gather(app.async_run(async_lib="asyncio"), driven())
    if failure:
        raise failure[0]
