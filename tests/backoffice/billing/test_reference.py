"""Reference data: places of service, CARC/RARC explanations, code shapes, ICD-10-CM checks."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping

import pytest

from backoffice.billing.reference import (
    ADJUSTMENT_GROUPS,
    CARC,
    PLACES_OF_SERVICE,
    PROCEDURE_LABELS,
    RARC,
    Reason,
    ReasonCategory,
    describe_icd10,
    explain_carc,
    explain_rarc,
    icd10_problem,
    icd10_with_dot,
    icd10_without_dot,
    is_billable_icd10,
    is_modifier,
    is_place_of_service,
    is_procedure_code,
    is_valid_icd10,
)

# --- Places of service --------------------------------------------------------------------


def test_place_of_service_codes_are_two_digits_with_a_label() -> None:
    assert all(len(code) == 2 and code.isdigit() for code in PLACES_OF_SERVICE)
    assert all(label.strip() for label in PLACES_OF_SERVICE.values())
    assert PLACES_OF_SERVICE["11"] == "Office"
    assert "Telehealth" in PLACES_OF_SERVICE["10"]


@pytest.mark.parametrize(
    ("code", "known"), [("11", True), ("23", True), ("30", False), ("1", False), ("011", False)]
)
def test_is_place_of_service(code: str, known: bool) -> None:
    assert is_place_of_service(code) is known


def test_reference_tables_are_read_only() -> None:
    with pytest.raises(TypeError):
        PLACES_OF_SERVICE["30"] = "Made up"  # type: ignore[index]


# --- CARC, RARC and groups ----------------------------------------------------------------


@pytest.mark.parametrize("table", [CARC, RARC], ids=["carc", "rarc"])
def test_every_reason_has_its_code_a_sentence_and_a_category(table: Mapping[str, Reason]) -> None:
    for code, reason in table.items():
        assert reason.code == code
        assert reason.explanation[0].isupper() and reason.explanation.endswith(".")
        assert isinstance(reason.category, ReasonCategory)


def test_the_patient_share_reasons_are_deductible_coinsurance_and_copay() -> None:
    share = {code for code, r in CARC.items() if r.category is ReasonCategory.PATIENT_SHARE}
    assert share == {"1", "2", "3"}


def test_remark_codes_carry_the_cms_prefixes() -> None:
    assert all(code.startswith(("M", "MA", "N")) for code in RARC)


def test_explain_carc_and_rarc() -> None:
    assert explain_carc("45") == "The charge is above the allowed amount or fee schedule."
    assert explain_carc(" 45 ") == explain_carc("45")
    assert explain_rarc("n290") == explain_rarc("N290")
    assert "rendering provider" in explain_rarc("N290")


def test_an_unknown_code_is_said_to_be_unknown_not_guessed() -> None:
    assert explain_carc("999") == "Adjustment reason 999: not in our table."
    assert explain_rarc("N9999") == "Remark N9999: not in our table."


def test_adjustment_groups_cover_the_835_groups() -> None:
    assert set(ADJUSTMENT_GROUPS) == {"CO", "PR", "OA", "PI"}  # 5010's groups, no more
    assert "patient owes" in ADJUSTMENT_GROUPS["PR"]


# --- Procedure codes and modifiers ------------------------------------------------------


@pytest.mark.parametrize("code", ["99213", "3074F", "0042T", "0001U", "G0439", "J3420"])
def test_procedure_code_shapes_accepted(code: str) -> None:
    assert is_procedure_code(code)


@pytest.mark.parametrize("code", ["9921", "992135", "99213 ", "g0439", "W1234", "ABCDE", ""])
def test_procedure_code_shapes_refused(code: str) -> None:
    assert not is_procedure_code(code)


def test_our_procedure_labels_are_short_and_for_well_formed_codes() -> None:
    # Our own labels, never AMA descriptors: short by design.
    assert all(is_procedure_code(code) for code in PROCEDURE_LABELS)
    assert all(len(label) <= 40 for label in PROCEDURE_LABELS.values())


@pytest.mark.parametrize(
    ("modifier", "ok"),
    [("25", True), ("XE", True), ("GT", True), ("5", False), ("255", False), ("gt", False)],
)
def test_is_modifier(modifier: str, ok: bool) -> None:
    assert is_modifier(modifier) is ok


# --- ICD-10-CM ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code", ["E11.9", "E119", "I10", "S52.501A", "S52501A", "W01.0XXA", "Z3A.20", "U07.1"]
)
def test_billable_codes_with_or_without_the_dot(code: str) -> None:
    assert is_valid_icd10(code)
    assert is_billable_icd10(code)
    assert icd10_problem(code) is None


@pytest.mark.parametrize("code", ["E11", "E11.6", "S52.501", "M54.5"])
def test_headings_are_valid_but_not_billable(code: str) -> None:
    assert is_valid_icd10(code)
    assert not is_billable_icd10(code)
    assert icd10_problem(code) == (
        f"{icd10_with_dot(code)} is a heading, not billable: choose a more specific code."
    )


@pytest.mark.parametrize("code", ["E11.99", "E1.19", "e11.9", " E11.9", "E08-E13", "4", "", "?"])
def test_invalid_codes_and_book_headings(code: str) -> None:
    assert not is_valid_icd10(code)
    assert not is_billable_icd10(code)
    assert icd10_problem(code) == f"{code!r} is not an ICD-10-CM code."
    assert describe_icd10(code) is None


def test_dot_forms() -> None:
    assert icd10_with_dot("E119") == "E11.9"
    assert icd10_with_dot("S52501A") == "S52.501A"
    assert icd10_without_dot("S52.501A") == "S52501A"
    assert icd10_without_dot("I10") == "I10"


def test_describe_gives_the_tabular_title() -> None:
    assert describe_icd10("E11.9") == "Type 2 diabetes mellitus without complications"


def test_importing_reference_does_not_load_the_icd_data() -> None:
    # The ICD-10-CM tables take seconds to parse: the CLI and the app must not pay for them
    # until a code is checked.
    code = "import sys, backoffice.billing.reference; print('simple_icd_10_cm' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
