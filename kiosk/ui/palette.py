"""The kiosk's colours, and the WCAG contrast check they are held to (1.4.3: 4.5:1 for text).

Every pair of text and the background it sits on is listed in `TEXT_PAIRS`, so a test can
prove the whole palette readable rather than the colours one at a time.
"""

from __future__ import annotations

from typing import Final

PAGE: Final = "#F4F7FA"  # the screen behind everything: off-white, no glare
INK: Final = "#14212E"  # body text
QUIET_INK: Final = "#43525F"  # hints and small print, still well above 4.5:1
PRIMARY: Final = "#0A5399"  # the one button that moves on
ON_PRIMARY: Final = "#FFFFFF"
SECONDARY: Final = "#DCE7F2"  # other choices
ON_SECONDARY: Final = "#0B3660"
DANGER: Final = "#A4221A"  # cancel, clear
ON_DANGER: Final = "#FFFFFF"
SUCCESS: Final = "#1B6630"
ON_SUCCESS: Final = "#FFFFFF"
WARNING: Final = "#FFF1C2"  # the offline banner, "Still there?"
ON_WARNING: Final = "#4A3000"
FIELD: Final = "#FFFFFF"  # entry boxes, the signature pad, the document
ON_FIELD: Final = INK
DISABLED: Final = "#C9D1D9"
ON_DISABLED: Final = "#3A4550"
OUTLINE: Final = "#0A5399"  # focus rings, the card outline on the camera preview

TEXT_PAIRS: Final = {
    "body": (INK, PAGE),
    "hint": (QUIET_INK, PAGE),
    "primary button": (ON_PRIMARY, PRIMARY),
    "secondary button": (ON_SECONDARY, SECONDARY),
    "danger button": (ON_DANGER, DANGER),
    "success": (ON_SUCCESS, SUCCESS),
    "banner": (ON_WARNING, WARNING),
    "field": (ON_FIELD, FIELD),
    "disabled button": (ON_DISABLED, DISABLED),
    "secondary text on field": (ON_SECONDARY, FIELD),
    "problem": (DANGER, PAGE),
}

MIN_TEXT_CONTRAST: Final = 4.5


def rgb(colour: str) -> tuple[float, float, float]:
    """'#RRGGBB' as three floats in [0, 1], as Kivy takes them."""
    value = colour.removeprefix("#")
    if len(value) != 6:
        raise ValueError(f"not a #RRGGBB colour: {colour!r}")
    red, green, blue = (int(value[i : i + 2], 16) / 255 for i in (0, 2, 4))
    return red, green, blue


def rgba(colour: str, alpha: float = 1.0) -> tuple[float, float, float, float]:
    return (*rgb(colour), alpha)


def relative_luminance(colour: str) -> float:
    """WCAG 2.1's definition, from sRGB."""

    def linear(channel: float) -> float:
        return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(c) for c in rgb(colour))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast_ratio(foreground: str, background: str) -> float:
    lighter, darker = sorted(
        (relative_luminance(foreground), relative_luminance(background)), reverse=True
    )
    return (lighter + 0.05) / (darker + 0.05)
