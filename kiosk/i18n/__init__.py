"""The kiosk's words in the patient's language: gettext catalogs, English as the source.

Catalogs live in `kiosk/i18n/<language>/LC_MESSAGES/kiosk.po`, compiled to `.mo` beside them
by `scripts/i18n` (`kiosk.i18n.catalog`, which also re-extracts the texts); a missing
translation falls back to the English text, so a new phrase never shows a blank button.
"""

from __future__ import annotations

import gettext
from functools import cache
from pathlib import Path

CATALOGS = Path(__file__).parent
DOMAIN = "kiosk"
LANGUAGE_NAMES = {"en": "English", "es": "Español"}  # each in its own language


@cache
def translations(language: str) -> gettext.NullTranslations:
    return gettext.translation(DOMAIN, CATALOGS, languages=[language], fallback=True)


def translate(message: str, language: str) -> str:
    return translations(language).gettext(message)


def translate_plural(singular: str, plural: str, count: int, language: str) -> str:
    return translations(language).ngettext(singular, plural, count)
