"""The kiosk's Spanish catalog against the texts the screens show today (no Kivy: the
screens are read as source, never imported)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from kiosk.i18n import CATALOGS, translate, translate_plural
from kiosk.i18n.catalog import (
    compile_catalogs,
    extract_messages,
    placeholders,
    untranslated,
    update_catalogs,
)

SPANISH_PO = CATALOGS / "es" / "LC_MESSAGES" / "kiosk.po"
SPANISH_MO = SPANISH_PO.with_suffix(".mo")
EXTRACTED = extract_messages()


def _spanish() -> Catalog:
    with SPANISH_PO.open("rb") as file:
        return read_po(file, locale="es")


def _as_dict(catalog: Catalog) -> dict[object, object]:
    """Message → translation, plural forms as tuples (a read .mo gives lists)."""

    def frozen(value: object) -> object:
        return tuple(value) if isinstance(value, list) else value

    return {frozen(m.id): frozen(m.string) for m in catalog if m.id}


@pytest.mark.parametrize("msgid", list(EXTRACTED))
def test_every_text_on_screen_has_a_spanish_translation(msgid: str) -> None:
    message = _spanish().get(msgid if EXTRACTED[msgid] is None else (msgid, EXTRACTED[msgid]))
    assert message is not None, "not in the .po: run scripts/i18n"
    strings = message.string if isinstance(message.string, tuple) else (message.string,)
    assert all(s.strip() for s in strings) and not message.fuzzy


def test_the_spanish_catalog_has_nothing_left_to_translate() -> None:
    assert untranslated(_spanish()) == []


@pytest.mark.parametrize("message", [m for m in _spanish() if m.id], ids=lambda m: str(m.id)[:40])
def test_translations_keep_the_placeholders(message: Message) -> None:
    ids = message.id if isinstance(message.id, tuple) else (message.id,)
    strings = message.string if isinstance(message.string, tuple) else (message.string,)
    expected = set().union(*(placeholders(i) for i in ids))
    assert [placeholders(s) for s in strings] == [expected] * len(strings)


def test_the_committed_mo_is_what_the_po_compiles_to(tmp_path: Path) -> None:
    compile_catalogs(into=tmp_path)
    with (
        SPANISH_MO.open("rb") as committed,
        (tmp_path / SPANISH_MO.relative_to(CATALOGS)).open("rb") as fresh,
    ):
        assert _as_dict(read_mo(committed)) == _as_dict(read_mo(fresh))


def test_the_catalogs_are_current_and_a_second_run_writes_nothing(tmp_path: Path) -> None:
    """What scripts/i18n would write now is what is committed (texts added to the screens
    since are caught here), whatever the date."""
    copy = tmp_path / "i18n"
    shutil.copytree(CATALOGS, copy, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    assert update_catalogs(catalogs=copy, now=datetime(2040, 1, 1, tzinfo=UTC)) == []


def test_spanish_is_shown_from_the_compiled_catalog() -> None:
    assert translate("Start over", "es") == "Reiniciar"


@pytest.mark.parametrize(("count", "expected"), [(1, "Le queda 1 intento."), (2, "Le quedan 2")])
def test_spanish_plurals_follow_the_count(count: int, expected: str) -> None:
    text = translate_plural(
        "That date of birth does not match. {n} try left.",
        "That date of birth does not match. {n} tries left.",
        count,
        "es",
    ).format(n=count)
    assert expected in text


@pytest.mark.parametrize("language", ["en", "fr", "xx"])
def test_a_language_without_a_catalog_shows_english(language: str) -> None:
    assert translate("Start over", language) == "Start over"


# --- the extractor, on a small screen tree --------------------------------------------------

SOURCES = {
    "screens/thanks.py": (
        'GREETING = LOOK.t("Thank you")\n'
        "line = f\"{value}  ({LOOK.t('new')})\"\n"
        'wait = LOOK.tn("{n} minute", "{n} minutes", n)\n'
        'raise NotValid("Please type a ZIP code.")\n'
    ),
    "screens/thanks.kv": (
        "<Thanks>:\n"
        "    BigButton:\n"
        "        text: '<  ' + look.t('Back', look.language)\n"
        '        hint: look.t("I\'m done", look.language)\n'
    ),
    "screens/copay.py": (
        'READER = {Status.WAITING: "Tap your card.", Status.OK: "Approved"}\n'
        'DEFAULT_PROBLEM = "Please pay at the desk."\n'
        'KEYS = ("first_name", "postal_code")\n'
        'FIELDS = (Editable("email", "Email", "email"),)\n'
        "def rows():\n"
        '    lines = [("Name", f"{first} {last}", "first_name")]\n'
    ),
    "screens/staff_pin.py": 'TITLE = LOOK.t("Staff only")\n',
    "screens/staff_pin.kv": "    text: look.t('Enter your PIN', look.language)\n",
    "screens/other.py": 'HELD = {"x": "Not a registered module"}\n',
}


@pytest.fixture
def screens(tmp_path: Path) -> Path:
    for relative, source in SOURCES.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(source, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("msgid", "plural"),
    [
        ("Thank you", None),
        ("new", None),  # inside an f-string
        ("{n} minute", "{n} minutes"),
        ("Please type a ZIP code.", None),
        ("Back", None),
        ("I'm done", None),
        ("Tap your card.", None),
        ("Approved", None),
        ("Please pay at the desk.", None),
        ("Email", None),
        ("Name", None),
    ],
)
def test_the_extractor_finds_each_shape_of_text(
    screens: Path, msgid: str, plural: str | None
) -> None:
    found = extract_messages(screens)
    assert msgid in found and found[msgid] == plural


@pytest.mark.parametrize(
    "msgid",
    ["Staff only", "Enter your PIN", "first_name", "email", "Not a registered module", " "],
)
def test_the_extractor_leaves_out_staff_screens_names_and_unlisted_literals(
    screens: Path, msgid: str
) -> None:
    assert msgid not in extract_messages(screens)


def test_a_kv_call_the_extractor_cannot_read_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "broken.kv").write_text("    text: look.t('Split\n        ', look.language)\n")
    with pytest.raises(ValueError, match=r"broken\.kv:1"):
        extract_messages(tmp_path)
