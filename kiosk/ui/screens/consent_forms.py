from __future__ import annotations

import base64

from kivy.properties import NumericProperty, StringProperty

from kiosk.flow import Signed
from kiosk.signature import render_png
from kiosk.ui.look import LOOK
from kiosk.ui.screens.base import StepScreen
from shared.contracts.kiosk import Signature


class ConsentFormsScreen(StepScreen):
    """The form to read, scrolled with a finger, and the pad to sign it on."""

    title = StringProperty("")
    body = StringProperty("")
    position = StringProperty("")
    strokes = NumericProperty(0)
    _document_id = None

    def show(self, kiosk) -> None:
        flow = kiosk.flow
        document = flow.document_to_sign
        if document is None:
            self.title, self.body, self.position = LOOK.t("Loading your forms…"), "", ""
            return
        if document.document_id != self._document_id:
            self._document_id = document.document_id
            self.title, self.body = document.title, document.body
            self.ids.pad.clear()
            self.ids.scroller.scroll_y = 1
        self.position = LOOK.t("Form {n} of {total}").format(
            n=len(flow.signatures) + 1, total=len(flow.consents)
        )

    def leave(self) -> None:
        self._document_id = None
        self.ids.pad.clear()

    def sign(self) -> None:
        document, pad = self.kiosk.flow.document_to_sign, self.ids.pad
        if document is None or not pad.strokes:
            return
        width, height = int(pad.width), int(pad.height)
        strokes = [list(stroke) for stroke in pad.strokes]
        png = render_png(strokes, width=width, height=height)
        self.kiosk.post(
            Signed,
            signature=Signature(
                document_id=document.document_id,
                document_sha256=document.sha256,
                strokes=strokes,
                png=base64.b64encode(png).decode(),
                signed_at=self.kiosk.driver.now(),
            ),
        )
