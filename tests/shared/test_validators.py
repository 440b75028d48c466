"""Identifier validators shared by the back office and the kiosk: MRN and NPI check digits,
phone numbers, SSNs, US states and ZIP codes."""

import random

import pytest

from shared.validators import (
    is_valid_mrn,
    is_valid_npi,
    luhn_check_digit,
    luhn_valid,
    mask_ssn,
    normalize_phone,
    normalize_postal_code,
    normalize_ssn,
    normalize_state,
    npi_with_check_digit,
)

# Eight-digit MRN bodies as `new_mrn` draws them (10000000-99999999), a few chosen to hold
# the adjacent 0/9 pair that the Luhn digit cannot see transposed.
_FIXED_BODIES = ["10000000", "40912675", "58390217", "77777777", "90817263", "99999999"]
_RANDOM_BODIES = [str(random.Random(seed).randrange(10_000_000, 100_000_000)) for seed in range(24)]
_FULL_WIDTH_BODY = "".join(chr(0xFF10 + int(d)) for d in "12345678")  # what an IME types
MRNS = [body + luhn_check_digit(body) for body in _FIXED_BODIES + _RANDOM_BODIES]


# --- Luhn -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number",
    [
        "79927398713",  # the worked example of the Luhn algorithm
        "4111111111111111",  # the Visa test card number
        "5555555555554444",  # the Mastercard test card number
    ],
)
def test_published_luhn_numbers_are_valid(number):
    assert luhn_valid(number)


@pytest.mark.parametrize("number", ["79927398710", "4111111111111112", "5555555555554440"])
def test_published_luhn_numbers_with_a_wrong_last_digit_are_invalid(number):
    assert not luhn_valid(number)


# --- MRN --------------------------------------------------------------------------------------


@pytest.mark.parametrize("mrn", MRNS)
def test_mrn_with_its_check_digit_is_valid(mrn):
    assert is_valid_mrn(mrn)


@pytest.mark.parametrize("mrn", MRNS)
def test_every_single_mistyped_digit_of_an_mrn_is_caught(mrn):
    mistyped = [
        mrn[:i] + d + mrn[i + 1 :] for i in range(len(mrn)) for d in "0123456789" if d != mrn[i]
    ]
    assert [m for m in mistyped if is_valid_mrn(m)] == []


@pytest.mark.parametrize("mrn", MRNS)
def test_adjacent_transpositions_are_caught_except_09_and_90(mrn):
    """Luhn's one blind spot is swapping a neighbouring 0 and 9; every other swap is caught."""
    outcomes = []
    for i in range(len(mrn) - 1):
        a, b = mrn[i], mrn[i + 1]
        if a == b:
            continue
        swapped = mrn[:i] + b + a + mrn[i + 2 :]
        outcomes.append((swapped, is_valid_mrn(swapped), {a, b} == {"0", "9"}))
    assert outcomes, "no transposition to try"
    assert [(m, valid) for m, valid, blind in outcomes if valid != blind] == []


@pytest.mark.parametrize(
    "mrn",
    [
        pytest.param("40912675", id="eight digits, no check digit"),
        pytest.param("4091267555", id="ten digits"),
        pytest.param("", id="empty"),
        pytest.param("4091267-5", id="punctuation"),
        pytest.param(" 40912675", id="leading space"),
        pytest.param("A09126755", id="letter"),
        pytest.param(_FULL_WIDTH_BODY + "2", id="full-width digits"),
        pytest.param("²23456789", id="superscript digit"),
    ],
)
def test_malformed_mrn_is_invalid(mrn):
    assert is_valid_mrn(mrn) is False


# --- NPI --------------------------------------------------------------------------------------


def test_cms_example_npi_is_valid():
    assert is_valid_npi("1234567893")


@pytest.mark.parametrize(
    "npi",
    [
        pytest.param("1234567890", id="wrong check digit"),
        pytest.param("123456789", id="nine digits"),
        pytest.param("12345678931", id="eleven digits"),
        pytest.param("123456789X", id="letter"),
        pytest.param("1234567839", id="last two digits swapped"),
        pytest.param("2234567893", id="first digit mistyped"),
    ],
)
def test_npi_without_a_valid_check_digit_is_invalid(npi):
    assert not is_valid_npi(npi)


def test_npi_check_digit_uses_the_80840_prefix():
    assert npi_with_check_digit("123456789") == "1234567893"


@pytest.mark.parametrize("first_nine", ["123456789", "198765432", "245319599", "100000000"])
def test_built_npi_is_valid(first_nine):
    assert is_valid_npi(npi_with_check_digit(first_nine))


# --- phone ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("(617) 555-0123", "+16175550123"),
        ("617-555-0123", "+16175550123"),
        ("617.555.0123", "+16175550123"),
        ("6175550123", "+16175550123"),
        ("1 (617) 555-0123", "+16175550123"),
        ("+1 617 555 0123", "+16175550123"),
        ("+1-212-555-0199", "+12125550199"),
        (" (212) 555-0199 ", "+12125550199"),
        ("+44 20 7946 0958", "+442079460958"),
    ],
)
def test_phone_is_normalised_to_e164(raw, e164):
    assert normalize_phone(raw) == e164


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("555-0123", id="no area code"),
        pytest.param("(617) 555-012", id="nine digits"),
        pytest.param("+1 617 555 01234", id="eleven digits"),
        pytest.param("(000) 555-0123", id="area code 000"),
        pytest.param("+1 (123) 456-7890", id="area code starting with 1"),
        pytest.param("911", id="short code"),
        pytest.param("not a phone", id="words"),
        pytest.param("", id="empty"),
    ],
)
def test_impossible_phone_is_rejected(raw):
    with pytest.raises(ValueError):
        normalize_phone(raw)


# --- SSN --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("123-45-6789", "123-45-6789"),
        ("123456789", "123-45-6789"),
        (" 078-05-1120 ", "078-05-1120"),
        ("665-01-0001", "665-01-0001"),
        ("899-99-9999", "899-99-9999"),
        ("001-01-0001", "001-01-0001"),
    ],
)
def test_ssn_is_normalised_to_dashed_form(raw, normalised):
    assert normalize_ssn(raw) == normalised


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("000-12-3456", id="area 000"),
        pytest.param("666-12-3456", id="area 666"),
        pytest.param("900-12-3456", id="area 900"),
        pytest.param("987-65-4321", id="area 987"),
        pytest.param("999-99-9999", id="area 999"),
        pytest.param("123-00-6789", id="group 00"),
        pytest.param("123-45-0000", id="serial 0000"),
        pytest.param("12-345-6789", id="dashes misplaced"),
        pytest.param("123-45-67890", id="ten digits"),
        pytest.param("12345678", id="eight digits"),
        pytest.param("abc-de-fghi", id="letters"),
        pytest.param("", id="empty"),
    ],
)
def test_ssn_never_issued_is_rejected(raw):
    with pytest.raises(ValueError):
        normalize_ssn(raw)


def test_masked_ssn_shows_only_the_last_four_digits():
    assert mask_ssn("123-45-6789") == "***-**-6789"


# --- state and ZIP ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "code"),
    [("ma", "MA"), (" ny ", "NY"), ("CA", "CA"), ("dc", "DC"), ("PR", "PR"), ("GU", "GU")],
)
def test_state_code_is_upper_cased(raw, code):
    assert normalize_state(raw) == code


@pytest.mark.parametrize("raw", ["XX", "Mass", "M", "", "Massachusetts", "ON"])
def test_unknown_state_is_rejected(raw):
    with pytest.raises(ValueError):
        normalize_state(raw)


@pytest.mark.parametrize(
    ("raw", "zip_code"),
    [("02110", "02110"), ("02110-1234", "02110-1234"), (" 94103 ", "94103"), ("00601", "00601")],
)
def test_zip_code_is_accepted(raw, zip_code):
    assert normalize_postal_code(raw) == zip_code


@pytest.mark.parametrize(
    "raw", ["2110", "021101", "02110-123", "02110 1234", "021101234", "ABCDE", "K1A 0B1", ""]
)
def test_malformed_zip_code_is_rejected(raw):
    with pytest.raises(ValueError):
        normalize_postal_code(raw)
