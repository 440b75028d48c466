from __future__ import annotations

import base64
import io

from kivy.clock import Clock
from kivy.core.image import Image as CoreImage
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.label import Label

from hardware.vision.quality import Guidance
from kiosk.card_capture import CardCapture, Side
from kiosk.flow import CardAccepted, CardCaptured, CardOnFileKept, SelfPayChosen
from kiosk.ui.look import LOOK
from kiosk.ui.screens.base import StepScreen
from shared.contracts.kiosk import CARD_SURE, CardFieldName, InsuranceCard

GUIDANCE = {
    Guidance.NO_CARD: "Place your insurance card, front side up, inside the frame.",
    Guidance.TOO_SMALL: "Move the card a little closer.",
    Guidance.TOO_DARK: "It's too dark. Move out of your own shadow.",
    Guidance.BLURRY: "Hold the card still for a moment.",
    Guidance.GLARE: "There's a reflection. Tilt the card slightly.",
    Guidance.OK: "Hold still…",
}
SHOWN_FIELDS = (
    (CardFieldName.PAYER_NAME, "Insurance company"),
    (CardFieldName.MEMBER_NAME, "Member"),
    (CardFieldName.MEMBER_ID, "Member ID"),
    (CardFieldName.GROUP_NUMBER, "Group number"),
)


class InsuranceCardScreen(StepScreen):
    """The camera's picture with a card outline and live advice; the card is taken by itself,
    front then back; then what was read, to use or to take again."""

    reviewing = BooleanProperty(False)
    guidance = StringProperty("")
    side = StringProperty("front")
    camera_failed = BooleanProperty(False)
    holding = BooleanProperty(False)  # a card is in the picture, not yet taken

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._capture: CardCapture | None = None
        self._reviewed: InsuranceCard | None = None

    def show(self, kiosk) -> None:
        card = kiosk.flow.insurance_card
        self.reviewing = card is not None
        if card is None and self._capture is None:
            self._start_camera()
        if card is not None and card is not self._reviewed:
            self._review(card)

    def leave(self) -> None:
        self._stop_camera()
        self._reviewed = None
        self.reviewing = False

    def retake(self) -> None:
        self.reviewing = False
        self._reviewed = None
        self._start_camera()
        self.kiosk.touched()

    def skip_back(self) -> None:
        if self._capture is not None:
            self._capture.skip_back()

    def use_card(self) -> None:
        self.kiosk.post(CardAccepted)

    def keep_on_file(self) -> None:
        self.kiosk.post(CardOnFileKept)

    def self_pay(self) -> None:
        self.kiosk.post(SelfPayChosen)

    # --- the camera ---------------------------------------------------------------------------

    def _start_camera(self) -> None:
        self._stop_camera()
        self.camera_failed = False
        self.side = Side.FRONT.value
        self.guidance = LOOK.t(GUIDANCE[Guidance.NO_CARD])
        self._capture = CardCapture(
            self.kiosk.devices.camera,
            on_frame=lambda frame, guidance, side: Clock.schedule_once(
                lambda _dt: self._frame(frame, guidance, side)
            ),
            on_card=lambda card: self.kiosk.post(CardCaptured, card=card),
            on_failure=lambda: Clock.schedule_once(lambda _dt: self._failed()),
        )
        self._capture.start()

    def _stop_camera(self) -> None:
        if self._capture is not None:
            self._capture.stop()
            self._capture = None

    def _frame(self, frame, guidance: Guidance, side: Side) -> None:
        if self._capture is None or self.reviewing:
            return
        self.ids.camera.show_frame(frame)
        self.side = side.value
        self.holding = guidance is not Guidance.NO_CARD
        if side is Side.BACK and guidance is Guidance.NO_CARD:
            self.guidance = LOOK.t("Now turn the card over and place the back inside the frame.")
        else:
            self.guidance = LOOK.t(GUIDANCE[guidance])
        if self._capture.side is Side.READING:
            self.guidance = LOOK.t("Reading your card…")

    def _failed(self) -> None:
        self.camera_failed = True
        self.guidance = LOOK.t("The camera isn't working. You can give your card at the desk.")

    # --- the review ---------------------------------------------------------------------------

    def _review(self, card: InsuranceCard) -> None:
        self._stop_camera()
        self._reviewed = card
        data = io.BytesIO(base64.b64decode(card.front_image))
        self.ids.card_image.texture = CoreImage(
            data, ext="jpg" if "jpeg" in card.media_type else "png"
        ).texture
        fields = self.ids.fields
        fields.clear_widgets()
        for name, label in SHOWN_FIELDS:
            read = card.fields.get(name)
            value = read.value if read else LOOK.t("not read")
            unsure = read is None or read.confidence < CARD_SURE
            fields.add_widget(
                Label(
                    text=f"[b]{LOOK.t(label)}[/b]: {value}"
                    + (f"  [color=A4221A]({LOOK.t('please check')})[/color]" if unsure else ""),
                    markup=True,
                    font_size=LOOK.font(28),
                    color=LOOK.colour("ink"),
                    halign="left",
                    valign="middle",
                )
            )
            fields.children[0].bind(size=lambda w, s: setattr(w, "text_size", s))
