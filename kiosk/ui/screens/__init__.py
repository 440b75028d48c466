"""One screen per step of the flow (named as the step), and the staff's two; each a `.py`
with its `.kv` beside it, loaded when first shown."""

from __future__ import annotations

from typing import Final

from kiosk.ui.screens.base import StepScreen
from kiosk.ui.screens.confirm_details import ConfirmDetailsScreen
from kiosk.ui.screens.consent_forms import ConsentFormsScreen
from kiosk.ui.screens.copay import CopayScreen
from kiosk.ui.screens.done import DoneScreen
from kiosk.ui.screens.error import ErrorScreen
from kiosk.ui.screens.identify import IdentifyScreen
from kiosk.ui.screens.insurance_card import InsuranceCardScreen
from kiosk.ui.screens.language import LanguageScreen
from kiosk.ui.screens.maintenance import MaintenanceScreen
from kiosk.ui.screens.staff_pin import StaffPinScreen
from kiosk.ui.screens.verify import VerifyScreen
from kiosk.ui.screens.welcome import WelcomeScreen
from kiosk.ui.widgets.buttons import BigButton  # noqa: F401 - registered for the .kv files
from kiosk.ui.widgets.camera_view import CameraView  # noqa: F401
from kiosk.ui.widgets.date_pad import DatePad  # noqa: F401
from kiosk.ui.widgets.keypad import Keypad  # noqa: F401
from kiosk.ui.widgets.panels import Panels  # noqa: F401
from kiosk.ui.widgets.signature_pad import SignaturePad  # noqa: F401

SCREENS: Final[dict[str, type[StepScreen]]] = {
    "welcome": WelcomeScreen,
    "language": LanguageScreen,
    "identify": IdentifyScreen,
    "verify": VerifyScreen,
    "confirm_details": ConfirmDetailsScreen,
    "insurance_card": InsuranceCardScreen,
    "consent_forms": ConsentFormsScreen,
    "copay": CopayScreen,
    "done": DoneScreen,
    "error": ErrorScreen,
    "staff_pin": StaffPinScreen,
    "maintenance": MaintenanceScreen,
}

__all__ = ["SCREENS", "StepScreen"]
