"""The pyx12 wrapper: the shared samples come out as their README says, files we break on
purpose come out with findings that name the segment, and nothing of the file reaches a log."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from backoffice.billing.x12.claim_837p import build_837p
from backoffice.billing.x12.validate import Finding, validate_x12, validate_x12_file
from tests.backoffice.billing.test_claim_837p import CREATED, interchange, office_visit

SAMPLES = Path(__file__).parents[2] / "data" / "x12"  # with their provenance in README.md


def sample(name: str) -> Path:
    return SAMPLES / name


@pytest.mark.parametrize(
    "name",
    [
        "derived_837P_X222A1_from_lfh_example1.837",
        "derived_837P_X222A1_icd10.837",
        "pyx12__835_mult_loops.835",
    ],
)
def test_clean_samples_have_no_findings(name: str) -> None:
    assert validate_x12_file(sample(name)) == []


def test_negative_sample_fails_with_its_three_findings() -> None:
    findings = validate_x12_file(sample("derived_837P_X222A1_NEGATIVE_bad_dmg_sv103.837"))
    assert [(f.segment, f.element, f.position, f.code) for f in findings] == [
        ("DMG", "DMG02", 26, "8"),  # invalid date 19731341
        ("DMG", "DMG03", 26, "7"),  # gender X
        ("SV1", "SV103", 31, "7"),  # unit ZZ
    ]
    assert "invalid date" in findings[0].message


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "lfh_835_005010X221A1__managed-care.835",
            {("BPR", "BPR16", "8"), ("PER", None, "3")},  # BPR16 20002316, no PER*BL
        ),
        (
            "lfh_835_005010X221A1__medicare-part-a.835",
            {("PER", None, "3"), ("TS3", "TS309", "10"), ("TS3", "TS311", "10")},
        ),
        (
            "lfh_demo-file__demo.835",
            {("PER", None, "3"), ("TS3", "TS309", "10"), ("TS3", "TS311", "10")},
        ),
    ],
)
def test_messy_835_samples_are_flagged_as_the_readme_says(name: str, expected: set) -> None:  # type: ignore[type-arg]
    findings = validate_x12_file(sample(name))
    assert {(f.segment, f.element, f.code) for f in findings} == expected


@pytest.mark.parametrize(
    "name",
    [
        "lfh_837_005010X222A2__demo.example1.837",
        "lfh_837_005010X222A2__demo.cob.example4.837",
        "lfh_demo-file__demo.837",
    ],
)
def test_x222a2_samples_have_no_pyx12_map(name: str) -> None:
    assert validate_x12_file(sample(name)) == [
        Finding("GS", None, "no-map", "Map not found.  icvn=00501, fic=HC, vriic=005010X222A2")
    ]


def test_pyx12_has_no_005010x279a1_map_for_eligibility() -> None:
    """pyx12 4.0.0 ships 270/271 maps for 4010 only: say so, do not crash."""
    findings = validate_x12_file(
        sample("lfh_270_005010X279A1__subscriber-health-benefit-check.270")
    )
    assert [(f.segment, f.code) for f in findings] == [("GS", "no-map")]


def our_file() -> str:
    return build_837p(interchange(office_visit()), created=CREATED)


def test_our_file_is_clean_before_we_break_it() -> None:
    assert validate_x12(our_file()) == []


def test_a_missing_required_segment_is_named() -> None:
    lines = our_file().split("~\n")
    billing_n4 = next(i for i, seg in enumerate(lines) if seg.startswith("N4"))
    broken = "~\n".join(lines[:billing_n4] + lines[billing_n4 + 1 :])
    findings = validate_x12(broken)
    assert (
        Finding(
            "N4", 12, "3", 'Mandatory segment "Billing Provider City, State, ZIP Code" (N4) missing'
        )
        in findings
    )
    assert any(f.segment == "ST" and "SE count" in f.message for f in findings)


def test_a_bad_code_is_named_down_to_the_element() -> None:
    findings = validate_x12(our_file().replace("*UN*", "*XX*", 1))
    assert [(f.segment, f.element, f.code) for f in findings] == [("SV1", "SV103", "7")]
    assert findings[0].position == next(
        i for i, s in enumerate(our_file().split("~\n"), 1) if s.startswith("SV1")
    )


def test_a_wrong_segment_count_is_named() -> None:
    findings = validate_x12(our_file().replace("~\nSE*", "~\nSE*9"))
    assert [(f.segment, f.code) for f in findings] == [("ST", "4")]
    assert "SE count" in findings[0].message


def test_a_truncated_file_misses_its_trailers() -> None:
    text = our_file()
    findings = validate_x12(text[: text.index("~\nLX*2")])  # cut inside the claim
    assert [(f.segment, f.code) for f in findings] == [("ISA", "023"), ("GS", "3"), ("ST", "2")]
    assert "Interchange Control Trailer" in findings[0].message


@pytest.mark.parametrize("text", ["", "hello world", "GS*HC*A*B~"])
def test_text_that_is_not_x12_gives_one_finding(text: str) -> None:
    findings = validate_x12(text)
    assert [(f.segment, f.code) for f in findings] == [("ISA", "not-x12")]


def test_finding_reads_as_one_line() -> None:
    finding = Finding("SV1", 30, "7", "(XX) is not a valid code", "SV103")
    assert str(finding) == "SV103 (segment 30): (XX) is not a valid code [7]"


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_no_value_from_the_file_reaches_the_logs() -> None:
    """pyx12 logs each error with its value (here a birth date): our root handlers never see it."""
    root = logging.getLogger()
    collect, level = _Collect(), root.level
    root.addHandler(collect)
    root.setLevel(logging.DEBUG)
    try:
        findings = validate_x12(our_file().replace("DMG*D8*19800517", "DMG*D8*19801317"))
    finally:
        root.removeHandler(collect)
        root.setLevel(level)
    assert [f.element for f in findings] == ["DMG02"]
    assert not any("19801317" in line for line in collect.lines)
