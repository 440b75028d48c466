"""The touchscreen's plain-Python parts, without a window: the palette's contrast, the
keypads' typing rules, the proposed corrections, the staff PIN, and what a scan means."""

from __future__ import annotations

from datetime import date

import pytest

from kiosk.scans import identification_from_scan
from kiosk.staff import LOCKOUT_SECONDS, MAX_TRIES, PinError, StaffAccess, hash_pin, pin_matches
from kiosk.ui.details import NotValid, ProposedChanges
from kiosk.ui.entry import DateEntry, DatePart, DateProblem, NameEntry
from kiosk.ui.palette import MIN_TEXT_CONTRAST, TEXT_PAIRS, contrast_ratio
from shared.contracts.kiosk import Address, ByAppointmentCode, ByLicence, Demographics

TODAY = date(2026, 11, 22)


@pytest.mark.parametrize(("text", "background"), TEXT_PAIRS.values(), ids=TEXT_PAIRS.keys())
def test_every_text_colour_reads_at_wcag_aa_on_its_background(text, background):
    assert contrast_ratio(text, background) >= MIN_TEXT_CONTRAST


def test_the_contrast_ratio_is_wcag_s():
    assert contrast_ratio("#000000", "#FFFFFF") == pytest.approx(21.0)
    assert contrast_ratio("#777777", "#FFFFFF") == pytest.approx(4.48, abs=0.01)


def test_a_name_is_typed_upper_case_without_leading_or_doubled_spaces():
    entry = NameEntry()
    for key in [" ", "d", "e", " ", " ", "l", "a", "?", "ñ"]:
        entry.press(key)
    assert entry.text == "DE LAÑ"
    entry.backspace()
    assert (entry.text, entry.value) == ("DE LA", "DE LA")
    entry.clear()
    entry.press("x")
    assert entry.value is None  # one letter is not a name to look up


@pytest.mark.parametrize(
    ("language", "keys", "expected"),
    [
        ("en", "05171980", date(1980, 5, 17)),
        ("en", "5171980", date(1980, 5, 17)),  # a "5" can only be May: it moves on
        ("es", "17051980", date(1980, 5, 17)),  # day first in Spanish
        ("es", "4121999", date(1999, 12, 4)),  # a "4" can only be the 4th
    ],
)
def test_a_date_of_birth_is_typed_in_the_languages_order(language, keys, expected):
    entry = DateEntry.for_language(language)
    for key in keys:
        entry.press(key)
    assert entry.value(TODAY) == expected


@pytest.mark.parametrize(
    ("keys", "problem"),
    [
        ("0517198", DateProblem.INCOMPLETE),
        ("02301980", DateProblem.NO_SUCH_DATE),
        ("01012030", DateProblem.IN_THE_FUTURE),
        ("01011850", DateProblem.TOO_LONG_AGO),
    ],
)
def test_a_date_that_cannot_be_a_birth_date_says_why(keys, problem):
    entry = DateEntry.for_language("en")
    for key in keys:
        entry.press(key)
    assert (entry.problem(TODAY), entry.value(TODAY)) == (problem, None)


def test_backspace_goes_back_into_the_previous_box_and_a_box_can_be_touched():
    entry = DateEntry.for_language("en")
    for key in "0517":
        entry.press(key)
    entry.backspace()  # the year is empty: the day loses its 7
    assert (entry.focus, entry.parts[DatePart.DAY]) == (DatePart.DAY, "1")
    entry.choose(DatePart.MONTH)
    entry.backspace()
    assert entry.parts[DatePart.MONTH] == "0"


ON_FILE = Demographics(
    first_name="Ana",
    last_name="Rivera",
    date_of_birth=date(1980, 5, 17),
    phone="+14135550146",
    email=None,
    address=Address(line1="1 Main St", city="Worcester", state="MA", postal_code="01608"),
    preferred_language="en",
)


def test_corrections_are_checked_and_become_proposed_changes():
    proposed = ProposedChanges(ON_FILE)
    proposed.propose("phone", "(415) 555-0123")
    proposed.propose("email", "ANA@Example.COM")
    proposed.propose("city", "boston")

    changes = proposed.changes()

    assert (changes.phone, changes.email) == ("+14155550123", "ana@example.com")
    assert changes.address == Address(
        line1="1 Main St", city="Boston", state="MA", postal_code="01608"
    )
    assert proposed.shown("last_name") == "Rivera"  # untouched: what is on file


@pytest.mark.parametrize(
    ("key", "typed"), [("phone", "12"), ("email", "ana@"), ("state", "XX"), ("phone", " ")]
)
def test_a_correction_that_cannot_be_right_is_refused_with_a_reason(key, typed):
    with pytest.raises(NotValid) as refused:
        ProposedChanges(ON_FILE).propose(key, typed)
    assert str(refused.value)


def test_a_new_address_without_one_on_file_waits_for_all_four_parts():
    proposed = ProposedChanges(ON_FILE.model_copy(update={"address": None}))
    proposed.propose("line1", "9 Elm St")
    assert proposed.address_incomplete and proposed.changes().address is None
    for key, typed in (("city", "Boston"), ("state", "ma"), ("postal_code", "02118")):
        proposed.propose(key, typed)
    assert not proposed.address_incomplete
    assert proposed.changes().address == Address(
        line1="9 ELM ST", city="Boston", state="MA", postal_code="02118"
    )


def test_the_staff_pin_is_kept_hashed_and_locks_after_too_many_wrong_tries():
    stored = hash_pin("482916")
    now = [0.0]
    access = StaffAccess(stored, clock=lambda: now[0])
    assert "482916" not in stored and pin_matches("482916", stored)
    for _ in range(MAX_TRIES):
        assert access.try_pin("000000") is False
    assert access.try_pin("482916") is False  # locked, even with the right PIN
    now[0] += LOCKOUT_SECONDS
    assert access.try_pin("482916") is True


def test_no_pin_configured_means_no_maintenance_and_short_pins_are_refused():
    assert StaffAccess(None).try_pin("1234") is False
    with pytest.raises(PinError):
        hash_pin("12")
    assert pin_matches("1234", "not-a-hash") is False


def test_a_scan_is_a_check_in_code_a_licence_or_nothing():
    from hardware.vision.corpus import make_licence

    licence = make_licence(3)
    read = identification_from_scan(licence.payload)

    assert identification_from_scan("FDQ1.abcdefghijklmnop.qrstuv") == ByAppointmentCode(
        token="FDQ1.abcdefghijklmnop.qrstuv"
    )
    assert isinstance(read, ByLicence)
    assert (read.last_name, read.date_of_birth) == (
        licence.truth.last_name,
        licence.truth.date_of_birth,
    )
    assert identification_from_scan("0123456789012") is None  # a product barcode
