"""The 837P builder: every kind of file we write validates with pyx12 with zero findings, and
the segments say what the claim says (envelopes, hierarchy, COB, frequency codes)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal

import pytest

from backoffice.billing.claim import (
    Address,
    Adjustment,
    Claim,
    Coverage,
    FrequencyCode,
    Interchange,
    LineAdjudication,
    OtherPayer,
    Party,
    Person,
    Provider,
    Relationship,
    ServiceLine,
)
from backoffice.billing.x12.claim_837p import build_837p
from backoffice.billing.x12.segments import (
    X12WriteError,
    amount,
    clean_text,
    interchange_control_number,
    quantity,
    segment,
    transaction_set_control_number,
)
from backoffice.billing.x12.validate import validate_x12

CREATED = datetime(2025, 3, 14, 9, 26)
VISIT = date(2025, 3, 3)

CLINIC_ADDRESS = Address("100 Main St", "Springfield", "IL", "627011234", line2="Suite 200")
PRACTICE = Provider(
    npi="1234567893",
    last_name="Springfield Family Medicine",
    tax_id="12-3456789",
    taxonomy_code="207Q00000X",
    address=CLINIC_ADDRESS,
)
SOLO_DOCTOR = Provider(
    npi="1999999992",
    last_name="Nguyen",
    first_name="Linh",
    tax_id="987654321",
    taxonomy_code="208D00000X",
    address=Address("7 Elm Ave", "Springfield", "IL", "62702-3301"),
)
RENDERING = Provider(
    npi="1111111112", last_name="Okafor", first_name="Ada", taxonomy_code="207Q00000X"
)
REFERRING = Provider(npi="1444444446", last_name="Brandt", first_name="Karl")
PRIMARY_PAYER = Party(
    name="Prairie Health Plan",
    identifier="PHP01",
    address=Address("PO Box 500", "Chicago", "IL", "60601"),
)
SECONDARY_PAYER = Party(name="Lakeside Mutual", identifier="LKM22")
SUBSCRIBER = Person(
    last_name="Rivera",
    first_name="Maria",
    date_of_birth=date(1980, 5, 17),
    sex="F",
    address=Address("42 Oak St", "Springfield", "IL", "62704"),
    member_id="PHP123456789",
)
CHILD = Person(
    last_name="Rivera",
    first_name="Lucas",
    date_of_birth=date(2015, 9, 2),
    sex="M",
    address=Address("42 Oak St", "Springfield", "IL", "62704"),
)
COVERAGE = Coverage(payer=PRIMARY_PAYER, subscriber=SUBSCRIBER, group_number="GRP-7788")


def office_visit(pcn: str = "C0001", **changes: object) -> Claim:
    claim = Claim(
        patient_control_number=pcn,
        billing_provider=PRACTICE,
        coverage=COVERAGE,
        diagnoses=("J02.9", "R50.9", "Z00.00"),
        lines=(
            ServiceLine(
                procedure_code="99213",
                charge=Decimal("125.00"),
                units=Decimal("1"),
                service_date=VISIT,
                diagnosis_pointers=(1, 2),
                modifiers=("25",),
                line_control_number=f"{pcn}-1",
            ),
            ServiceLine(
                procedure_code="87880",
                charge=Decimal("32.50"),
                units=Decimal("1"),
                service_date=VISIT,
                diagnosis_pointers=(1,),
                modifiers=("QW",),
                line_control_number=f"{pcn}-2",
            ),
        ),
        rendering_provider=RENDERING,
        referring_provider=REFERRING,
        onset=date(2025, 3, 1),
    )
    return replace(claim, **changes)  # type: ignore[arg-type]


def secondary_claim() -> Claim:
    """Billed to Lakeside after Prairie paid: claim-level and line-level adjudication."""
    primary = OtherPayer(
        coverage=COVERAGE,
        paid=Decimal("100.00"),
        paid_on=date(2025, 3, 20),
        adjustments=(),
        remaining_patient_liability=Decimal("20.00"),
    )
    base = office_visit("C0002")
    lines = (
        replace(
            base.lines[0],
            adjudications=(
                LineAdjudication(
                    payer_identifier="PHP01",
                    procedure_code="99213",
                    modifiers=("25",),
                    paid=Decimal("80.00"),
                    units=Decimal("1"),
                    paid_on=date(2025, 3, 20),
                    adjustments=(
                        Adjustment("CO", "45", Decimal("25.00")),
                        Adjustment("PR", "2", Decimal("15.00")),
                        Adjustment("PR", "3", Decimal("5.00")),
                    ),
                ),
            ),
        ),
        replace(
            base.lines[1],
            adjudications=(
                LineAdjudication(
                    payer_identifier="PHP01",
                    procedure_code="87880",
                    modifiers=("QW",),
                    paid=Decimal("20.00"),
                    units=Decimal("1"),
                    paid_on=date(2025, 3, 20),
                    adjustments=(Adjustment("CO", "45", Decimal("12.50")),),
                ),
            ),
        ),
    )
    return replace(
        base,
        coverage=Coverage(
            payer=SECONDARY_PAYER,
            subscriber=replace(SUBSCRIBER, member_id="LKM-55-901"),
            payer_responsibility="S",
            filing_indicator="CI",
        ),
        lines=lines,
        other_payers=(primary,),
    )


def claim_level_cob_claim() -> Claim:
    """Secondary claim where the primary's adjudication is known only for the whole claim."""
    return replace(
        office_visit("C0003"),
        coverage=replace(secondary_claim().coverage),
        other_payers=(
            OtherPayer(
                coverage=replace(COVERAGE, filing_indicator="MB"),
                paid=Decimal("90.00"),
                paid_on=date(2025, 3, 21),
                adjustments=(
                    Adjustment("CO", "45", Decimal("40.00")),
                    Adjustment("PR", "1", Decimal("20.00")),
                    Adjustment("PR", "2", Decimal("7.50"), quantity=Decimal("1")),
                ),
            ),
        ),
    )


def dependent_claim() -> Claim:
    return office_visit(
        "C0004",
        patient=CHILD,
        coverage=replace(COVERAGE, relationship=Relationship.CHILD),
    )


def interchange(*claims: Claim, control: int = 1001) -> Interchange:
    return Interchange(
        sender_id="FRONTDESK01",
        receiver_id="CLEARHOUSE",
        submitter=Party(
            name="Springfield Family Medicine",
            identifier="SFM0001",
            contact_name="Billing Office",
            contact_phone="(217) 555-0100",
        ),
        receiver=Party(name="Clear House Exchange", identifier="CLEARHOUSE"),
        interchange_control_number=control,
        group_control_number=7,
        claims=claims,
    )


def segments(text: str) -> list[list[str]]:
    return [seg.strip().split("*") for seg in text.split("~") if seg.strip()]


def ids(text: str) -> list[str]:
    return [seg[0] for seg in segments(text)]


def find(text: str, segment_id: str, first: str | None = None) -> list[list[str]]:
    return [
        seg for seg in segments(text) if seg[0] == segment_id and (first is None or seg[1] == first)
    ]


CASES = {
    "single, organisation billing provider": lambda: (office_visit(),),
    "person billing provider, no rendering loop": lambda: (
        office_visit("C0010", billing_provider=SOLO_DOCTOR, rendering_provider=SOLO_DOCTOR),
    ),
    "dependent patient": lambda: (dependent_claim(),),
    "secondary with line COB": lambda: (secondary_claim(),),
    "secondary with claim-level COB": lambda: (claim_level_cob_claim(),),
    "replacement": lambda: (
        office_visit(
            "C0005", frequency=FrequencyCode.REPLACEMENT, payer_claim_number="PHP2025030100123"
        ),
    ),
    "void": lambda: (
        office_visit("C0006", frequency=FrequencyCode.VOID, payer_claim_number="PHP2025030100124"),
    ),
    "batch of mixed claims": lambda: tuple(
        [office_visit(f"B{n:04d}") for n in range(20)]
        + [dependent_claim(), secondary_claim(), claim_level_cob_claim()]
        + [office_visit(f"S{n:04d}", billing_provider=SOLO_DOCTOR) for n in range(5)]
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_every_file_we_write_validates_with_pyx12(case: str) -> None:
    text = build_837p(interchange(*CASES[case]()), created=CREATED)
    assert validate_x12(text) == []


def test_envelope_counts_and_control_numbers() -> None:
    text = build_837p(interchange(office_visit("A1"), office_visit("A2")), created=CREATED)
    segs = segments(text)
    isa, gs, st = segs[0], segs[1], segs[2]
    assert len(text.split("~")[0]) + 1 == 106  # the ISA is fixed width
    assert isa[13] == "000001001" and segs[-1] == ["IEA", "1", "000001001"]
    assert isa[9:11] == ["250314", "0926"] and isa[15] == "T"
    assert gs[6] == "7" and gs[8] == "005010X222A1" and segs[-2] == ["GE", "1", "7"]
    assert st == ["ST", "837", "0001", "005010X222A1"]
    se = segs[-3]
    assert se == ["SE", str(len(segs) - 4), "0001"]  # ST..SE inclusive
    assert find(text, "BHT")[0] == ["BHT", "0019", "00", "0000010010001", "20250314", "0926", "CH"]


def test_more_than_5000_claims_split_into_transaction_sets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("backoffice.billing.x12.claim_837p.MAX_CLAIMS_PER_TRANSACTION", 2)
    text = build_837p(interchange(*(office_visit(f"N{n}") for n in range(5))), created=CREATED)
    assert [seg[2] for seg in find(text, "ST")] == ["0001", "0002", "0003"]
    assert find(text, "GE")[0][1] == "3"
    assert len(find(text, "CLM")) == 5
    assert validate_x12(text) == []


def test_hierarchy_groups_claims_under_their_billing_provider() -> None:
    claims = (office_visit("P1"), office_visit("D1", billing_provider=SOLO_DOCTOR))
    text = build_837p(interchange(*claims, dependent_claim()), created=CREATED)
    hls = [seg[1:] for seg in find(text, "HL")]
    assert hls == [
        ["1", "", "20", "1"],  # practice
        ["2", "1", "22", "0"],  # P1, the subscriber is the patient
        ["3", "1", "22", "1"],  # dependent claim: subscriber...
        ["4", "3", "23", "0"],  # ...and the patient under them
        ["5", "", "20", "1"],  # solo doctor
        ["6", "5", "22", "0"],
    ]
    assert [seg[1] for seg in find(text, "CLM")] == ["P1", "C0004", "D1"]


def test_claim_lines_and_diagnoses() -> None:
    text = build_837p(interchange(office_visit()), created=CREATED)
    assert find(text, "CLM")[0] == ["CLM", "C0001", "157.5", "", "", "11:B:1", "Y", "A", "Y", "Y"]
    assert find(text, "HI")[0] == ["HI", "ABK:J029", "ABF:R509", "ABF:Z0000"]
    assert find(text, "DTP", "431")[0] == ["DTP", "431", "D8", "20250301"]
    assert find(text, "SV1") == [
        ["SV1", "HC:99213:25", "125", "UN", "1", "", "", "1:2"],
        ["SV1", "HC:87880:QW", "32.5", "UN", "1", "", "", "1"],
    ]
    assert find(text, "DTP", "472")[0] == ["DTP", "472", "D8", "20250303"]
    assert find(text, "REF", "6R") == [["REF", "6R", "C0001-1"], ["REF", "6R", "C0001-2"]]
    assert find(text, "REF", "F8") == []  # only replacements and voids carry it


def test_providers_person_and_organisation() -> None:
    text = build_837p(interchange(office_visit()), created=CREATED)
    assert find(text, "NM1", "85")[0] == [
        "NM1", "85", "2", "SPRINGFIELD FAMILY MEDICINE", "", "", "", "", "XX", "1234567893",
    ]  # fmt: skip
    assert find(text, "N3")[0] == ["N3", "100 MAIN ST", "SUITE 200"]
    assert find(text, "REF", "EI")[0] == ["REF", "EI", "123456789"]
    assert find(text, "PRV", "BI")[0] == ["PRV", "BI", "PXC", "207Q00000X"]
    assert find(text, "NM1", "DN")[0][2:5] == ["1", "BRANDT", "KARL"]
    assert find(text, "NM1", "82")[0][2:5] == ["1", "OKAFOR", "ADA"]
    assert find(text, "PRV", "PE")[0] == ["PRV", "PE", "PXC", "207Q00000X"]
    solo = build_837p(
        interchange(office_visit(billing_provider=SOLO_DOCTOR, rendering_provider=SOLO_DOCTOR)),
        created=CREATED,
    )
    assert find(solo, "NM1", "85")[0][2:5] == ["1", "NGUYEN", "LINH"]
    assert find(solo, "NM1", "82") == []  # the billing provider rendered: no 2310B


def test_line_rendering_provider_when_it_differs() -> None:
    claim = office_visit()
    lines = (replace(claim.lines[0], rendering_provider=SOLO_DOCTOR), claim.lines[1])
    text = build_837p(interchange(replace(claim, lines=lines)), created=CREATED)
    rendering = find(text, "NM1", "82")
    assert [seg[3] for seg in rendering] == ["OKAFOR", "NGUYEN"]  # 2310B, then 2420A
    assert ids(text).index("NM1", ids(text).index("LX")) > 0
    assert validate_x12(text) == []


def test_dependent_patient_gets_2000c_and_subscriber_no_demographics() -> None:
    text = build_837p(interchange(dependent_claim()), created=CREATED)
    assert find(text, "SBR")[0][1:3] == ["P", ""]  # SBR02 18 only when self
    assert find(text, "PAT")[0] == ["PAT", "19"]
    assert find(text, "NM1", "QC")[0][2:5] == ["1", "RIVERA", "LUCAS"]
    assert find(text, "DMG") == [["DMG", "D8", "20150902", "M"]]  # the patient's, not Maria's


def test_subscriber_as_patient() -> None:
    text = build_837p(interchange(office_visit()), created=CREATED)
    assert find(text, "SBR")[0] == ["SBR", "P", "18", "GRP-7788", "", "", "", "", "", "CI"]
    assert find(text, "NM1", "IL")[0][2:] == [
        "1",
        "RIVERA",
        "MARIA",
        "",
        "",
        "",
        "MI",
        "PHP123456789",
    ]
    assert find(text, "DMG") == [["DMG", "D8", "19800517", "F"]]
    assert find(text, "NM1", "PR")[0][3] == "PRAIRIE HEALTH PLAN"
    assert find(text, "PAT") == []


@pytest.mark.parametrize(
    ("frequency", "number"),
    [(FrequencyCode.REPLACEMENT, "PHP2025030100123"), (FrequencyCode.VOID, "PHP9")],
)
def test_replacement_and_void_carry_frequency_and_payer_claim_number(
    frequency: FrequencyCode, number: str
) -> None:
    claim = office_visit(frequency=frequency, payer_claim_number=number)
    text = build_837p(interchange(claim), created=CREATED)
    assert find(text, "CLM")[0][5] == f"11:B:{frequency.value}"
    assert find(text, "REF", "F8") == [["REF", "F8", number]]


def test_secondary_claim_carries_primary_adjudication() -> None:
    text = build_837p(interchange(secondary_claim()), created=CREATED)
    sbrs = find(text, "SBR")
    assert sbrs[0][1] == "S" and sbrs[1][1:3] == ["P", "18"]  # 2000B, then 2320
    assert find(text, "AMT") == [["AMT", "D", "100"], ["AMT", "EAF", "20"]]
    assert find(text, "OI")[0] == ["OI", "", "", "Y", "", "", "Y"]
    assert [seg[3] for seg in find(text, "NM1", "PR")] == ["LAKESIDE MUTUAL", "PRAIRIE HEALTH PLAN"]
    assert find(text, "SVD") == [
        ["SVD", "PHP01", "80", "HC:99213:25", "", "1"],
        ["SVD", "PHP01", "20", "HC:87880:QW", "", "1"],
    ]
    assert find(text, "CAS") == [
        ["CAS", "CO", "45", "25"],
        ["CAS", "PR", "2", "15", "", "3", "5"],  # one CAS per group, triples inside
        ["CAS", "CO", "45", "12.5"],
    ]
    assert find(text, "DTP", "573") == [["DTP", "573", "D8", "20250320"]] * 2  # 2430 only


def test_claim_level_cob_has_claim_cas_and_remittance_date() -> None:
    text = build_837p(interchange(claim_level_cob_claim()), created=CREATED)
    assert find(text, "CAS") == [
        ["CAS", "CO", "45", "40"],
        ["CAS", "PR", "1", "20", "", "2", "7.5", "1"],
    ]
    assert find(text, "DTP", "573") == [["DTP", "573", "D8", "20250321"]]  # 2330B
    assert find(text, "SBR")[1][-1] == "MB"
    assert find(text, "SVD") == []


def test_text_x12_cannot_carry_is_cleaned_not_passed_through() -> None:
    patient = replace(
        SUBSCRIBER,
        last_name="O'Brien-Núñez*Smith~",
        first_name="Zoë:Ann^",
        address=Address("12 Ch. de l'Église  #4", "Montréal", "IL", "62704"),
    )
    claim = office_visit(coverage=replace(COVERAGE, subscriber=patient))
    text = build_837p(interchange(claim), created=CREATED)
    assert find(text, "NM1", "IL")[0][3:5] == ["O'BRIEN-NUNEZ SMITH", "ZOE ANN"]
    assert ["N3", "12 CH. DE L'EGLISE 4"] in segments(text)
    assert validate_x12(text) == []


def test_long_names_are_cut_to_the_element_length() -> None:
    claim = office_visit(billing_provider=replace(PRACTICE, last_name="X" * 80))
    text = build_837p(interchange(claim), created=CREATED)
    assert len(find(text, "NM1", "85")[0][3]) == 60
    assert validate_x12(text) == []


@pytest.mark.parametrize(
    ("claim", "where"),
    [
        (
            lambda: office_visit(
                coverage=replace(COVERAGE, subscriber=replace(SUBSCRIBER, member_id=None))
            ),
            "claims[0].coverage.subscriber.member_id",
        ),
        (
            lambda: office_visit(frequency=FrequencyCode.REPLACEMENT),
            "claims[0].payer_claim_number",
        ),
        (
            lambda: office_visit(
                lines=(replace(office_visit().lines[0], diagnosis_pointers=(1, 4)),)
            ),
            "claims[0].lines[0].diagnosis_pointers",
        ),
        (
            lambda: office_visit(billing_provider=replace(PRACTICE, tax_id=None)),
            "claims[0].billing_provider.tax_id",
        ),
        (
            lambda: office_visit(billing_provider=replace(PRACTICE, address=None)),
            "claims[0].billing_provider.address",
        ),
        (lambda: office_visit(patient_control_number="C*1"), "claims[0].patient_control_number"),
        (lambda: office_visit(diagnoses=()), "claims[0].diagnoses"),
        (
            lambda: office_visit(patient=CHILD),  # relationship still SELF
            "claims[0].coverage.relationship",
        ),
        (
            lambda: office_visit(referring_provider=PRACTICE),
            "claims[0].referring_provider",
        ),
        (
            lambda: office_visit(
                coverage=replace(COVERAGE, subscriber=replace(SUBSCRIBER, sex="X"))
            ),
            "claims[0].coverage.subscriber.sex",
        ),
        (
            lambda: office_visit(
                billing_provider=replace(
                    PRACTICE, address=replace(CLINIC_ADDRESS, postal_code="62701")
                )
            ),
            "claims[0].billing_provider.address.postal_code",
        ),
        (
            lambda: office_visit(lines=(replace(office_visit().lines[0], modifiers=("QW1",)),)),
            "claims[0].lines[0].modifiers",
        ),
        (lambda: office_visit(place_of_service="office"), "claims[0].place_of_service"),
        (lambda: office_visit(patient_control_number="P" * 21), "claims[0].patient_control_number"),
        (
            lambda: office_visit(coverage=replace(COVERAGE, filing_indicator="XX")),
            "claims[0].coverage.filing_indicator",
        ),
    ],
)
def test_data_no_valid_file_can_carry_raises_naming_the_field(claim, where: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(X12WriteError) as raised:
        build_837p(interchange(claim()), created=CREATED)
    assert raised.value.where == where


def test_line_adjudication_from_an_unknown_payer_is_refused() -> None:
    claim = secondary_claim()
    stray = replace(claim.lines[0].adjudications[0], payer_identifier="NOPE")
    lines = (replace(claim.lines[0], adjudications=(stray,)), claim.lines[1])
    with pytest.raises(X12WriteError) as raised:
        build_837p(interchange(replace(claim, lines=lines)), created=CREATED)
    assert raised.value.where == "claims[0].lines[0].adjudications[0].payer_identifier"


def test_an_empty_interchange_is_refused() -> None:
    with pytest.raises(X12WriteError):
        build_837p(interchange(), created=CREATED)


def test_without_line_breaks_the_file_is_one_line() -> None:
    text = build_837p(interchange(office_visit()), created=CREATED, line_breaks=False)
    assert "\n" not in text and text.endswith("~")
    assert validate_x12(text) == []


def test_an_amount_with_fractions_of_a_cent_is_refused() -> None:
    line = replace(office_visit().lines[0], charge=Decimal("10.005"))
    with pytest.raises(X12WriteError):
        build_837p(interchange(office_visit(lines=(line,))), created=CREATED)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("40.00"), "40"),
        (Decimal("12.50"), "12.5"),
        (Decimal("0.00"), "0"),
        (Decimal("-7.25"), "-7.25"),
        (Decimal("1E+3"), "1000"),
    ],
)
def test_amounts_are_written_without_trailing_zeros(value: Decimal, text: str) -> None:
    assert amount(value) == text


def test_quantities_have_no_exponent() -> None:
    assert [quantity(Decimal(v)) for v in ("1", "1.50", "100", "0.25")] == [
        "1",
        "1.5",
        "100",
        "0.25",
    ]


def test_segment_drops_trailing_empty_elements_and_components() -> None:
    assert segment("SV1", ("HC", "99213", None, None), "40", None, None) == "SV1*HC:99213*40"
    assert segment("NM1", "IL", None, "DOE") == "NM1*IL**DOE"


@pytest.mark.parametrize("value", ["A*B", "A:B", "A~B", "A^B"])
def test_segment_refuses_a_value_holding_a_separator(value: str) -> None:
    with pytest.raises(X12WriteError) as raised:
        segment("REF", "6R", value)
    assert raised.value.where == "REF02"


def test_clean_text_keeps_what_x12_can_carry() -> None:
    assert clean_text("  Zoë  O'Brien*Núñez~ ", max_length=60) == "ZOE O'BRIEN NUNEZ"
    assert clean_text("Łódź Straße 5", max_length=60) == "LODZ STRASSE 5"
    assert clean_text("日本 Clinic", max_length=60) == "CLINIC"  # no ASCII form: dropped
    assert clean_text("abc def", max_length=5) == "ABC D"
    assert clean_text(None, max_length=5) == ""


def test_control_numbers_are_bounded() -> None:
    assert interchange_control_number(42) == "000000042"
    assert transaction_set_control_number(7) == "0007"
    with pytest.raises(X12WriteError):
        interchange_control_number(1_000_000_000)
    with pytest.raises(X12WriteError):
        interchange_control_number(0)
