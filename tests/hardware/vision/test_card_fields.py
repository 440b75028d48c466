"""Reading an insurance card's fields from OCR words: lines and columns, every label
spelling, every layout, Tesseract's letter/digit confusions, copays, the payer, and the
confidence that says when staff should look."""

from __future__ import annotations

import random

import pytest

from hardware.vision.card_fields import CardReading, extract_card_fields
from hardware.vision.payers import PayerDirectory
from hardware.vision.words import OcrWord, lines_of, runs_of
from shared.contracts.kiosk import CardField, CardFieldName
from tests.hardware.vision.cards import lay_out

TITLE = {0: 40}  # the first line of a drawing is the payer's logo line, printed big


def read(
    drawing: str,
    *,
    confidence: float = 0.95,
    confidences: dict[str, float] | None = None,
    heights: dict[int, int] | None = None,
) -> CardReading:
    words = lay_out(drawing, confidence=confidence, confidences=confidences, heights=heights)
    return extract_card_fields(words)


def texts(lines: list[list[OcrWord]]) -> list[list[str]]:
    return [[word.text for word in line] for line in lines]


# --- lines and runs -----------------------------------------------------------------------

CARD_TEXT = """
aetna
Member: MARIA GARCIA                 RxBIN: 610502
ID: W123456789                       RxPCN: ADV
PCP $25  SPEC $50 / UC $75  ER $250
"""


@pytest.mark.parametrize("seed", range(5))
def test_lines_are_rebuilt_from_the_boxes_whatever_order_the_words_came_in(seed: int) -> None:
    words = lay_out(CARD_TEXT)
    random.Random(seed).shuffle(words)

    assert texts(lines_of(words)) == [line.split() for line in CARD_TEXT.strip().splitlines()]


def test_a_slightly_tilted_line_stays_one_line() -> None:
    words = [
        OcrWord(text, left=10 + 130 * i, top=100 + 3 * i, width=120, height=20, confidence=0.9)
        for i, text in enumerate(["Member", "ID", "W123456789", "Group", "0701234", "Plan"])
    ]
    below = OcrWord("JOHN", left=10, top=140, width=48, height=20, confidence=0.9)

    assert texts(lines_of([*words, below])) == [
        ["Member", "ID", "W123456789", "Group", "0701234", "Plan"],
        ["JOHN"],
    ]


def test_a_tall_logo_beside_two_lines_does_not_join_them() -> None:
    logo = OcrWord("aetna", left=10, top=95, width=200, height=60, confidence=0.9)
    first = lay_out("Member ID W123456789", top=100)
    second = lay_out("Group 0701234", top=130)
    moved = [
        OcrWord(w.text, w.left + 300, w.top, w.width, w.height, w.confidence)
        for w in [*first, *second]
    ]

    lines = texts(lines_of([logo, *moved]))

    assert ["Member", "ID", "W123456789"] in lines and ["Group", "0701234"] in lines


def test_blank_words_are_dropped() -> None:
    words = [*lay_out("ID W123456789"), OcrWord("  ", 400, 10, 12, 20, 0.3)]

    assert texts(lines_of(words)) == [["ID", "W123456789"]]


@pytest.mark.parametrize(
    ("printed", "runs"),
    [
        (
            "Member ID: W123456789      Group: 0701234",
            [["Member", "ID:", "W123456789"], ["Group:", "0701234"]],
        ),
        ("PCP $25  SPEC $50", [["PCP", "$25", "SPEC", "$50"]]),
        ("Name JOHN Q PUBLIC", [["Name", "JOHN", "Q", "PUBLIC"]]),
        (
            "RxBIN 610279    RxPCN 9999    RxGRP UHEALTH",
            [["RxBIN", "610279"], ["RxPCN", "9999"], ["RxGRP", "UHEALTH"]],
        ),
    ],
)
def test_a_line_is_cut_into_runs_at_column_gaps(printed: str, runs: list[list[str]]) -> None:
    assert texts(runs_of(lay_out(printed))) == runs


@pytest.mark.parametrize("confidence", [95.0, -1.0, 1.01])
def test_a_word_confidence_must_be_scaled_to_one(confidence: float) -> None:
    with pytest.raises(ValueError, match="confidence"):
        OcrWord("W123456789", 0, 0, 120, 20, confidence)


# --- every label spelling -----------------------------------------------------------------

LABELS: list[tuple[CardFieldName, str, str, str]] = [
    *(
        (CardFieldName.MEMBER_ID, label, "W123456789", "W123456789")
        for label in (
            "Member ID", "Member ID#", "ID", "ID #", "ID No.", "Identification No.",
            "Identification Number", "Subscriber ID", "Subscriber #", "Member Number", "Mbr ID",
        )
    ),
    *(
        (CardFieldName.GROUP_NUMBER, label, "0701234", "0701234")
        for label in ("Group", "Group #", "Group No.", "Group Number", "GRP", "GRP#", "Grp No")
    ),
    *(
        (CardFieldName.MEMBER_NAME, label, "MARIA GARCIA", "MARIA GARCIA")
        for label in ("Member", "Member Name", "Name", "Subscriber", "Subscriber Name", "Enrollee")
    ),
    *(
        (CardFieldName.PLAN_NAME, label, "Choice Plus", "Choice Plus")
        for label in ("Plan", "Plan Name", "Product", "Network", "Coverage")
    ),
    *((CardFieldName.RX_BIN, label, "610279", "610279") for label in ("RxBIN", "Rx BIN", "BIN")),
    *((CardFieldName.RX_PCN, label, "CTRXCOM", "CTRXCOM") for label in ("RxPCN", "Rx PCN", "PCN")),
    *(
        (CardFieldName.RX_GRP, label, "RX1234", "RX1234")
        for label in ("RxGRP", "RxGroup", "Rx GRP", "Rx Group")
    ),
    *(
        (CardFieldName.COPAY_PRIMARY_CARE, label, "$25", "25.00")
        for label in ("PCP", "Office Visit", "OV", "Primary Care", "Primary", "PCP Copay")
    ),
    *(
        (CardFieldName.COPAY_SPECIALIST, label, "$50", "50.00")
        for label in ("Specialist", "SPC", "SPEC", "Spec Copay")
    ),
    *(
        (CardFieldName.COPAY_URGENT_CARE, label, "$75", "75.00")
        for label in ("Urgent Care", "UC", "Urgent")
    ),
    *(
        (CardFieldName.COPAY_EMERGENCY, label, "$250", "250.00")
        for label in ("ER", "Emergency", "Emergency Room", "EMER")
    ),
]  # fmt: skip
LABEL_IDS = [f"{field.value}-{label}" for field, label, _, _ in LABELS]


@pytest.mark.parametrize(("field", "label", "printed", "expected"), LABELS, ids=LABEL_IDS)
def test_every_label_spelling_with_a_colon(
    field: CardFieldName, label: str, printed: str, expected: str
) -> None:
    assert read(f"{label}: {printed}").value(field) == expected


@pytest.mark.parametrize(("field", "label", "printed", "expected"), LABELS, ids=LABEL_IDS)
def test_every_label_spelling_without_a_colon(
    field: CardFieldName, label: str, printed: str, expected: str
) -> None:
    assert read(f"{label} {printed}").value(field) == expected


@pytest.mark.parametrize(("field", "label", "printed", "expected"), LABELS, ids=LABEL_IDS)
def test_every_label_spelling_with_the_value_below(
    field: CardFieldName, label: str, printed: str, expected: str
) -> None:
    assert read(f"{label}\n{printed}").value(field) == expected


def test_a_label_with_a_misread_letter_still_counts_with_less_confidence() -> None:
    clean = read("Member ID: W123456789")[CardFieldName.MEMBER_ID]
    misread = read("Memher ID: W123456789")[CardFieldName.MEMBER_ID]

    assert misread.value == "W123456789" and misread.confidence < clean.confidence


def test_an_everyday_label_word_inside_free_text_is_no_label() -> None:
    reading = read(
        """
        UnitedHealthcare Community Plan
        In an emergency call 911
        """
    )

    assert reading.value(CardFieldName.PLAN_NAME) is None
    assert reading.value(CardFieldName.COPAY_EMERGENCY) is None


@pytest.mark.parametrize(
    "printed", ["Visit our Network directory online", "Ask about Coverage for dependants"]
)
def test_an_everyday_label_word_within_a_sentence_is_no_label(printed: str) -> None:
    assert read(printed).value(CardFieldName.PLAN_NAME) is None


def test_an_everyday_label_word_within_a_plan_name_stays_in_it() -> None:
    reading = read("Plan: Open Access Plus Network")

    assert reading.value(CardFieldName.PLAN_NAME) == "Open Access Plus Network"


def test_a_misread_label_in_the_middle_of_a_sentence_is_no_label() -> None:
    reading = read("Questions about Rx groups call 1-800-555-0100")

    assert reading.value(CardFieldName.RX_GRP) is None


def test_a_colon_makes_an_everyday_word_a_label_anywhere() -> None:
    assert read("Choice Plus Group: 0701234").value(CardFieldName.GROUP_NUMBER) == "0701234"


def test_a_value_in_the_next_column_is_taken_when_none_is_beside_its_label() -> None:
    reading = read("Member ID:        W123456789\nGroup:            0701234")

    assert reading.value(CardFieldName.MEMBER_ID) == "W123456789"


def test_the_health_plan_issuer_number_is_no_field() -> None:
    reading = read("Health Plan (80840) 9140461101")

    assert {name: r.value for name, r in reading.fields.items() if r.value} == {}


def test_a_label_with_nothing_beside_or_under_it_needs_review() -> None:
    reading = read("Member ID: W123456789\nGroup:")[CardFieldName.GROUP_NUMBER]

    assert reading.value is None and reading.needs_review


@pytest.mark.parametrize(
    ("printed", "field", "expected"),
    [
        ("RxPCNADV", CardFieldName.RX_PCN, "ADV"),
        ("PCNADV", CardFieldName.RX_PCN, "ADV"),
        ("RxBIN610279", CardFieldName.RX_BIN, "610279"),
        ("RxGroup:HUMANA", CardFieldName.RX_GRP, "HUMANA"),
        ("GRP#0701234", CardFieldName.GROUP_NUMBER, "0701234"),
        ("ID:W123456789", CardFieldName.MEMBER_ID, "W123456789"),
        ("PCP$25", CardFieldName.COPAY_PRIMARY_CARE, "25.00"),
        ("Spec:$50", CardFieldName.COPAY_SPECIALIST, "50.00"),
    ],
)
def test_a_label_glued_to_its_value_is_split(
    printed: str, field: CardFieldName, expected: str
) -> None:
    assert read(printed).value(field) == expected


@pytest.mark.parametrize(
    ("printed", "field", "expected"),
    [
        ("Identification No.:_ W123456789", CardFieldName.MEMBER_ID, "W123456789"),
        ("RxPCN: MEDDADV_", CardFieldName.RX_PCN, "MEDDADV"),
        ("Group: ~0701234", CardFieldName.GROUP_NUMBER, "0701234"),
        ("PCP / $25", CardFieldName.COPAY_PRIMARY_CARE, "25.00"),
    ],
)
def test_stray_marks_are_no_part_of_a_value(
    printed: str, field: CardFieldName, expected: str
) -> None:
    assert read(printed).value(field) == expected


# --- layouts ------------------------------------------------------------------------------

COLON = """
aetna
Member: MARIA GARCIA
Member ID: W123456789
Group: 0701234
Plan: Aetna Choice POS II
RxBIN: 610502   RxPCN: ADV   RxGRP: RX1234
PCP: $25   Specialist: $50
Urgent Care: $75   ER: $250
"""
NO_COLON = """
Cigna
Name JAMES JOHNSON
ID U12345678 01
Group 3331234
Network Open Access Plus
Rx BIN 017010  Rx PCN 02040000  Rx Group RX8826
Office Visit $30  Specialist $60  Urgent $100  Emergency Room $400
"""
VALUE_BELOW = """
UnitedHealthcare
Member ID          Group Number
912345678          0701234
Subscriber Name
JOHN Q PUBLIC
Rx Bin    Rx PCN    Rx Grp
610279    9999      UHEALTH
PCP      SPEC      UC      ER
$25      $50       $75     $250
"""
TWO_COLUMNS = """
Humana
Member: AISHA OKAFOR              RxBIN 610649
ID: H12345678                     RxPCN 03200000
Group: 1234567                    RxGRP RX4321
Plan: Gold Plus HMO
PCP $20                           SPEC $40
UC $50                            ER $300
"""
COPAY_GRID = """
Ambetter
Subscriber: SOFIA SILVA
Subscriber ID: U76543210
Copays: PCP $25  SPEC $50 / UC $75  ER $250
"""
LAYOUTS: dict[str, tuple[str, dict[CardFieldName, str]]] = {
    "colon": (
        COLON,
        {
            CardFieldName.PAYER_NAME: "Aetna",
            CardFieldName.PAYER_ID: "60054",
            CardFieldName.MEMBER_NAME: "MARIA GARCIA",
            CardFieldName.MEMBER_ID: "W123456789",
            CardFieldName.GROUP_NUMBER: "0701234",
            CardFieldName.PLAN_NAME: "Aetna Choice POS II",
            CardFieldName.RX_BIN: "610502",
            CardFieldName.RX_PCN: "ADV",
            CardFieldName.RX_GRP: "RX1234",
            CardFieldName.COPAY_PRIMARY_CARE: "25.00",
            CardFieldName.COPAY_SPECIALIST: "50.00",
            CardFieldName.COPAY_URGENT_CARE: "75.00",
            CardFieldName.COPAY_EMERGENCY: "250.00",
        },
    ),
    "no-colon": (
        NO_COLON,
        {
            CardFieldName.PAYER_NAME: "Cigna",
            CardFieldName.PAYER_ID: "62308",
            CardFieldName.MEMBER_NAME: "JAMES JOHNSON",
            CardFieldName.MEMBER_ID: "U12345678 01",
            CardFieldName.GROUP_NUMBER: "3331234",
            CardFieldName.PLAN_NAME: "Open Access Plus",
            CardFieldName.RX_BIN: "017010",
            CardFieldName.RX_PCN: "02040000",
            CardFieldName.RX_GRP: "RX8826",
            CardFieldName.COPAY_PRIMARY_CARE: "30.00",
            CardFieldName.COPAY_SPECIALIST: "60.00",
            CardFieldName.COPAY_URGENT_CARE: "100.00",
            CardFieldName.COPAY_EMERGENCY: "400.00",
        },
    ),
    "value-below": (
        VALUE_BELOW,
        {
            CardFieldName.PAYER_NAME: "UnitedHealthcare",
            CardFieldName.PAYER_ID: "87726",
            CardFieldName.MEMBER_NAME: "JOHN Q PUBLIC",
            CardFieldName.MEMBER_ID: "912345678",
            CardFieldName.GROUP_NUMBER: "0701234",
            CardFieldName.RX_BIN: "610279",
            CardFieldName.RX_PCN: "9999",
            CardFieldName.RX_GRP: "UHEALTH",
            CardFieldName.COPAY_PRIMARY_CARE: "25.00",
            CardFieldName.COPAY_SPECIALIST: "50.00",
            CardFieldName.COPAY_URGENT_CARE: "75.00",
            CardFieldName.COPAY_EMERGENCY: "250.00",
        },
    ),
    "two-columns": (
        TWO_COLUMNS,
        {
            CardFieldName.PAYER_NAME: "Humana",
            CardFieldName.PAYER_ID: "61101",
            CardFieldName.MEMBER_NAME: "AISHA OKAFOR",
            CardFieldName.MEMBER_ID: "H12345678",
            CardFieldName.GROUP_NUMBER: "1234567",
            CardFieldName.PLAN_NAME: "Gold Plus HMO",
            CardFieldName.RX_BIN: "610649",
            CardFieldName.RX_PCN: "03200000",
            CardFieldName.RX_GRP: "RX4321",
            CardFieldName.COPAY_PRIMARY_CARE: "20.00",
            CardFieldName.COPAY_SPECIALIST: "40.00",
            CardFieldName.COPAY_URGENT_CARE: "50.00",
            CardFieldName.COPAY_EMERGENCY: "300.00",
        },
    ),
    "copay-grid": (
        COPAY_GRID,
        {
            CardFieldName.PAYER_NAME: "Ambetter",
            CardFieldName.PAYER_ID: "68069",
            CardFieldName.MEMBER_NAME: "SOFIA SILVA",
            CardFieldName.MEMBER_ID: "U76543210",
            CardFieldName.COPAY_PRIMARY_CARE: "25.00",
            CardFieldName.COPAY_SPECIALIST: "50.00",
            CardFieldName.COPAY_URGENT_CARE: "75.00",
            CardFieldName.COPAY_EMERGENCY: "250.00",
        },
    ),
}
LAYOUT_FIELDS = [
    pytest.param(drawing, field, value, id=f"{layout}-{field.value}")
    for layout, (drawing, expected) in LAYOUTS.items()
    for field, value in expected.items()
]


@pytest.mark.parametrize(("drawing", "field", "expected"), LAYOUT_FIELDS)
def test_each_layout_reads_each_field(drawing: str, field: CardFieldName, expected: str) -> None:
    assert read(drawing, heights=TITLE).value(field) == expected


@pytest.mark.parametrize(
    ("drawing", "expected"), [pytest.param(*case, id=name) for name, case in LAYOUTS.items()]
)
def test_each_layout_reads_nothing_it_does_not_print(
    drawing: str, expected: dict[CardFieldName, str]
) -> None:
    reading = read(drawing, heights=TITLE)

    assert {name for name, r in reading.fields.items() if r.value is not None} == set(expected)


@pytest.mark.parametrize("drawing", [pytest.param(d, id=name) for name, (d, _) in LAYOUTS.items()])
def test_a_clean_card_needs_no_review(drawing: str) -> None:
    assert not read(drawing, heights=TITLE).needs_review


def test_a_name_stops_at_the_column_gap() -> None:
    reading = read("Member: MARIA GARCIA              Aetna Choice POS II")

    assert reading.value(CardFieldName.MEMBER_NAME) == "MARIA GARCIA"


def test_a_value_below_is_taken_from_its_labels_column() -> None:
    reading = read(
        """
        Group          Member ID
        0701234        W123456789
        """
    )

    assert reading.value(CardFieldName.MEMBER_ID) == "W123456789"


# --- identifiers --------------------------------------------------------------------------

MEMBER_ID_MISREADS = [
    pytest.param("W1O3456789", "W103456789", id="O-for-0"),
    pytest.param("W1o3456789", "W103456789", id="o-for-0"),
    pytest.param("W1I3456789", "W113456789", id="I-for-1"),
    pytest.param("W1l3456789", "W113456789", id="l-for-1"),
    pytest.param("W1234S6789", "W123456789", id="S-for-5"),
    pytest.param("W1234567B9", "W123456789", id="B-for-8"),
    pytest.param("W1Z3456789", "W123456789", id="Z-for-2"),
    pytest.param("W12345G789", "W123456789", id="G-for-6"),
    pytest.param("XYZ9I2345678", "XYZ912345678", id="I-for-1-after-three-letters"),
    pytest.param("91234567B", "912345678", id="B-for-8-all-digits"),
    pytest.param("X5Y912345678", "XSY912345678", id="5-for-S-in-prefix"),
    pytest.param("0EF123456789", "OEF123456789", id="0-for-O-in-prefix"),
    pytest.param("A8C123456789", "ABC123456789", id="8-for-B-in-prefix"),
    pytest.param("X1Y123456789", "XIY123456789", id="1-for-I-in-prefix"),
    pytest.param("2GP123456789", "ZGP123456789", id="2-for-Z-in-prefix"),
    pytest.param("H1234S67B", "H12345678", id="two-misreads"),
]


@pytest.mark.parametrize(("printed", "expected"), MEMBER_ID_MISREADS)
def test_member_id_misreads_are_corrected(printed: str, expected: str) -> None:
    assert read(f"Member ID: {printed}").value(CardFieldName.MEMBER_ID) == expected


@pytest.mark.parametrize(("printed", "expected"), MEMBER_ID_MISREADS)
def test_a_corrected_member_id_is_less_confident(printed: str, expected: str) -> None:
    clean = read(f"Member ID: {expected}")[CardFieldName.MEMBER_ID]
    corrected = read(f"Member ID: {printed}")[CardFieldName.MEMBER_ID]

    assert corrected.confidence < clean.confidence


def test_one_corrected_character_alone_does_not_call_for_review() -> None:
    assert not read("Member ID: W1234S6789")[CardFieldName.MEMBER_ID].needs_review


@pytest.mark.parametrize("printed", ["XYZ912345678", "ZGP123456789", "SBG123456789"])
def test_a_letter_prefix_that_fits_is_not_turned_into_digits(printed: str) -> None:
    assert read(f"ID: {printed}").value(CardFieldName.MEMBER_ID) == printed


@pytest.mark.parametrize("printed", ["I23456789", "O12345678", "SB1234567", "PRAO17351759"])
def test_a_prefix_that_may_be_misread_digits_needs_review(printed: str) -> None:
    reading = read(f"ID: {printed}")[CardFieldName.MEMBER_ID]

    assert reading.value == printed and reading.needs_review


@pytest.mark.parametrize("printed", ["W12345", "MARIA", "W123-45?"])
def test_a_member_id_of_the_wrong_shape_needs_review(printed: str) -> None:
    assert read(f"Member ID: {printed}")[CardFieldName.MEMBER_ID].needs_review


@pytest.mark.parametrize(
    ("printed", "expected"),
    [
        ("912345678 01", "912345678 01"),
        ("912345678 1 2 3", "912345678 1"),
        ("XYZ 912345678", "XYZ912345678"),
        ("1EG4-TE5-MK73", "1EG4TE5MK73"),
    ],
    ids=["dependant-suffix", "one-suffix-only", "prefix-printed-apart", "medicare-mbi"],
)
def test_member_id_forms(printed: str, expected: str) -> None:
    reading = read(f"Member ID: {printed}")[CardFieldName.MEMBER_ID]

    assert (reading.value, reading.needs_review) == (expected, False)


BIN_MISREADS = [
    pytest.param("61OO14", "610014", id="O-for-0"),
    pytest.param("6l0014", "610014", id="l-for-1"),
    pytest.param("6I0014", "610014", id="I-for-1"),
    pytest.param("61001S", "610015", id="S-for-5"),
    pytest.param("B10014", "810014", id="B-for-8"),
    pytest.param("6Z0014", "620014", id="Z-for-2"),
    pytest.param("0G0014", "060014", id="G-for-6"),
]


@pytest.mark.parametrize(("printed", "expected"), BIN_MISREADS)
def test_bin_misreads_are_corrected(printed: str, expected: str) -> None:
    assert read(f"RxBIN: {printed}").value(CardFieldName.RX_BIN) == expected


def test_a_bin_printed_in_two_groups_is_joined() -> None:
    assert read("RxBIN: 610 014").value(CardFieldName.RX_BIN) == "610014"


@pytest.mark.parametrize(("printed", "expected"), BIN_MISREADS)
def test_a_corrected_bin_is_less_confident(printed: str, expected: str) -> None:
    clean = read(f"RxBIN: {expected}")[CardFieldName.RX_BIN]
    corrected = read(f"RxBIN: {printed}")[CardFieldName.RX_BIN]

    assert corrected.confidence < clean.confidence


@pytest.mark.parametrize("printed", ["61001", "6100145", "61OO1", "ADV", "24537g"])
def test_a_bin_that_is_not_six_digits_needs_review(printed: str) -> None:
    reading = read(f"RxBIN: {printed}")[CardFieldName.RX_BIN]

    assert reading.value is not None and reading.needs_review


@pytest.mark.parametrize(
    ("printed", "expected"),
    [("12O456", "120456"), ("0701Z34", "0701234"), ("S1234S", "S12345")],
)
def test_group_number_misreads_are_corrected(printed: str, expected: str) -> None:
    assert read(f"Group: {printed}").value(CardFieldName.GROUP_NUMBER) == expected


@pytest.mark.parametrize("printed", ["ADV", "MEDDADV", "9999", "03200000"])
def test_a_pcn_is_kept_as_printed(printed: str) -> None:
    reading = read(f"RxPCN: {printed}")[CardFieldName.RX_PCN]

    assert (reading.value, reading.needs_review) == (printed, False)


@pytest.mark.parametrize(
    ("label", "printed"),
    [("RxGRP", "RX1Z34"), ("RxPCN", "MEDDADy"), ("RxGRP", "CIGNArx"), ("RxGRP", "AETNAO1X")],
)
def test_a_code_that_may_be_misread_needs_review(label: str, printed: str) -> None:
    reading = read(f"{label}: {printed}")

    assert reading[CardFieldName.RX_GRP if label == "RxGRP" else CardFieldName.RX_PCN].needs_review


@pytest.mark.parametrize(("printed", "meant"), [("AETNAO1", "AETNA01"), ("RXI234", "RX1234")])
def test_a_codes_closing_number_is_read_as_digits(printed: str, meant: str) -> None:
    reading = read(f"RxGRP: {printed}")[CardFieldName.RX_GRP]

    assert reading.value == meant
    assert reading.notes == (f"read {printed!r}, corrected to {meant!r}",)
    assert reading.confidence < read(f"RxGRP: {meant}")[CardFieldName.RX_GRP].confidence


@pytest.mark.parametrize("printed", ["AETNA01", "RX1234", "CIGNARX", "UHEALTH"])
def test_a_code_in_capitals_with_clear_digits_needs_no_review(printed: str) -> None:
    assert not read(f"RxGRP: {printed}")[CardFieldName.RX_GRP].needs_review


def test_digits_misread_in_a_name_are_corrected() -> None:
    assert read("Name: J0HN SM1TH").value(CardFieldName.MEMBER_NAME) == "JOHN SMITH"


# --- copays -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("printed", "expected"),
    [
        ("$25", "25.00"),
        ("$0", "0.00"),
        ("$25.00", "25.00"),
        ("$7.50", "7.50"),
        ("$1,000", "1000.00"),
        ("$ 40", "40.00"),
        ("$250/$500", "250.00"),
        ("$2O", "20.00"),
        ("S35", "35.00"),
        ("30", "30.00"),
    ],
)
def test_copay_amounts(printed: str, expected: str) -> None:
    assert read(f"PCP: {printed}").value(CardFieldName.COPAY_PRIMARY_CARE) == expected


@pytest.mark.parametrize("printed", ["30", "$2O", "S35"])
def test_a_copay_read_with_a_doubt_is_less_confident(printed: str) -> None:
    clean = read("PCP: $30")[CardFieldName.COPAY_PRIMARY_CARE]

    assert read(f"PCP: {printed}")[CardFieldName.COPAY_PRIMARY_CARE].confidence < clean.confidence


@pytest.mark.parametrize("printed", ["20%", "0%", "10.5%"])
def test_coinsurance_is_not_a_copay(printed: str) -> None:
    reading = read(f"Specialist: {printed}")[CardFieldName.COPAY_SPECIALIST]

    assert reading.value is None and not reading.needs_review
    assert any("coinsurance" in note for note in reading.notes)


def test_a_name_after_a_copay_label_is_no_copay() -> None:
    reading = read("PCP: DR ANA LOPEZ")[CardFieldName.COPAY_PRIMARY_CARE]

    assert reading.value is None and not reading.needs_review


# --- the payer ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("printed", "name", "payer_id"),
    [
        ("aetna", "Aetna", "60054"),
        ("CIGNA", "Cigna", "62308"),
        ("UnitedHealthcare", "UnitedHealthcare", "87726"),
        ("UHC", "UnitedHealthcare", "87726"),
        ("UnitedHealthcare Choice Plus", "UnitedHealthcare", "87726"),
        ("HUMANA Gold Plus", "Humana", "61101"),
        ("BlueCross BlueShield of Texas", "Blue Cross and Blue Shield of Texas", "84980"),
        ("Florida Blue", "Florida Blue", "00590"),
        ("Aetra", "Aetna", "60054"),
        ("UnitedHea1thcare", "UnitedHealthcare", "87726"),
        ("B1ueCross B1ueShield of Texas", "Blue Cross and Blue Shield of Texas", "84980"),
        ("BlueCross BlueShield of Texs", "Blue Cross and Blue Shield of Texas", "84980"),
    ],
)
def test_the_payer_is_matched_to_the_directory(printed: str, name: str, payer_id: str) -> None:
    reading = read(f"{printed}\nMember ID: W123456789", heights=TITLE)

    assert (reading.value(CardFieldName.PAYER_NAME), reading.value(CardFieldName.PAYER_ID)) == (
        name,
        payer_id,
    )


def test_a_payer_name_is_no_rival_of_the_longer_name_it_is_part_of() -> None:
    reading = read("BlueCross BlueShield of Texas\nID: XYZ912345678", heights=TITLE)

    assert not reading[CardFieldName.PAYER_NAME].needs_review


def test_two_payers_printed_alike_need_review() -> None:
    reading = read("Aetna  Cigna\nID: W123456789", heights=TITLE)[CardFieldName.PAYER_NAME]

    assert reading.needs_review and any("also looks like" in note for note in reading.notes)


@pytest.mark.parametrize("printed", ["Aetra", "UnitedHea1thcare"])
def test_a_misread_payer_name_is_less_confident(printed: str) -> None:
    clean = read("aetna\nID: W123456789", heights=TITLE)[CardFieldName.PAYER_NAME]
    misread = read(f"{printed}\nID: W123456789", heights=TITLE)[CardFieldName.PAYER_NAME]

    assert misread.confidence < clean.confidence


@pytest.mark.parametrize("printed", ["Medical", "Dental Care", "Vision Benefits", "Acme Widgets"])
def test_text_that_names_no_payer_is_not_matched_and_needs_review(printed: str) -> None:
    reading = read(f"{printed}\nMember ID: W123456789", heights=TITLE)

    assert reading.value(CardFieldName.PAYER_ID) is None
    assert reading[CardFieldName.PAYER_NAME].needs_review


def test_a_payer_named_only_in_small_print_is_found() -> None:
    reading = read(
        "MEDICAL\nMember ID: W123456789\nSend claims to: Aetna PO Box 981106", heights=TITLE
    )

    assert reading.value(CardFieldName.PAYER_NAME) == "Aetna"


def test_the_big_logo_line_wins_over_a_payer_in_small_print() -> None:
    reading = read("Cigna\nID: U12345678\nAdministered by Meritain Health", heights=TITLE)

    assert reading.value(CardFieldName.PAYER_NAME) == "Cigna"


def test_a_payer_named_only_within_the_plan_name_needs_review() -> None:
    reading = read("Member ID: W123456789\nProduct: Medicare Advantage")[CardFieldName.PAYER_NAME]

    assert reading.needs_review and any("within another field" in note for note in reading.notes)


@pytest.mark.parametrize("field", [CardFieldName.PAYER_NAME, CardFieldName.MEMBER_ID])
def test_a_card_without_payer_or_member_id_needs_review(field: CardFieldName) -> None:
    reading = read("PCP $25   SPEC $50")[field]

    assert reading.value is None and reading.needs_review


def test_a_member_named_like_a_payer_is_not_the_payer() -> None:
    reading = read("aetna\nMember: OSCAR MOLINA\nID: W123456789", heights=TITLE)

    assert reading.value(CardFieldName.PAYER_NAME) == "Aetna"


@pytest.mark.parametrize(
    "printed", ["Kaiser Permanente", "Blue Cross Blue Shield", "Molina Healthcare"]
)
def test_a_payer_whose_id_depends_on_the_region_leaves_the_id_to_staff(printed: str) -> None:
    reading = read(f"{printed}\nID: W123456789", heights=TITLE)[CardFieldName.PAYER_ID]

    assert reading.value is None and reading.needs_review


def test_a_printed_payer_id_is_read() -> None:
    reading = read("Oscar\nID: W123456789\nPayer ID: 99999", heights=TITLE)

    assert reading.value(CardFieldName.PAYER_ID) == "99999"


def test_a_printed_payer_id_that_disagrees_with_the_directory_needs_review() -> None:
    reading = read("UnitedHealthcare\nID: 912345678\nPayer ID: 60054", heights=TITLE)

    assert reading[CardFieldName.PAYER_ID].needs_review


def test_without_a_directory_the_big_top_text_is_the_payer_and_needs_review() -> None:
    words = lay_out("aetna\nMember ID: W123456789", heights=TITLE)
    reading = extract_card_fields(words, payers=PayerDirectory([]))[CardFieldName.PAYER_NAME]

    assert (reading.value, reading.needs_review) == ("aetna", True)


# --- confidence ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "drawing", "word"),
    [
        (CardFieldName.MEMBER_ID, "Member ID: W123456789", "W123456789"),
        (CardFieldName.GROUP_NUMBER, "Group: 0701234", "0701234"),
        (CardFieldName.RX_BIN, "RxBIN: 610279", "610279"),
        (CardFieldName.MEMBER_NAME, "Name: MARIA GARCIA", "GARCIA"),
        (CardFieldName.COPAY_SPECIALIST, "Specialist: $50", "$50"),
        (CardFieldName.PAYER_NAME, "aetna\nID: W123456789", "aetna"),
    ],
)
@pytest.mark.parametrize(("confidence", "needs_review"), [(0.96, False), (0.55, True)])
def test_a_word_tesseract_doubted_needs_review(
    field: CardFieldName, drawing: str, word: str, confidence: float, needs_review: bool
) -> None:
    reading = read(drawing, confidences={word: confidence}, heights=TITLE)[field]

    assert reading.needs_review is needs_review


def test_confidence_never_exceeds_the_words_own() -> None:
    reading = read("Member ID: W123456789", confidence=0.9)[CardFieldName.MEMBER_ID]

    assert reading.confidence <= 0.9


def test_a_conflict_costs_confidence() -> None:
    alone = read("ID: W123456789")[CardFieldName.MEMBER_ID]
    disputed = read("ID: W123456789\nMember ID: W987654321")[CardFieldName.MEMBER_ID]

    assert disputed.confidence < alone.confidence


def test_two_different_readings_of_one_field_need_review() -> None:
    reading = read("ID: W123456789\nMember ID: W987654321")[CardFieldName.MEMBER_ID]

    assert reading.needs_review and any("also read" in note for note in reading.notes)


def test_the_same_reading_twice_is_no_conflict() -> None:
    reading = read("ID: W123456789\nMember ID: W123456789")[CardFieldName.MEMBER_ID]

    assert not reading.needs_review


def test_the_review_threshold_can_be_raised() -> None:
    words = lay_out("Member ID: W123456789", confidence=0.9)
    reading = extract_card_fields(words, review_below=0.95)[CardFieldName.MEMBER_ID]

    assert reading.needs_review


# --- nothing, and the contract ------------------------------------------------------------


def test_no_words_read_no_fields() -> None:
    reading = extract_card_fields([])

    assert all(r.value is None and not r.needs_review for r in reading.fields.values())
    assert set(reading.fields) == set(CardFieldName)


def test_the_contract_carries_the_fields_that_were_read() -> None:
    reading = read("aetna\nID: W123456789\nPCP $25", heights=TITLE)

    assert reading.as_card_fields() == {
        CardFieldName.PAYER_NAME: CardField(value="Aetna", confidence=0.95),
        CardFieldName.PAYER_ID: CardField(value="60054", confidence=0.95),
        CardFieldName.MEMBER_ID: CardField(value="W123456789", confidence=0.95),
        CardFieldName.COPAY_PRIMARY_CARE: CardField(value="25.00", confidence=0.95),
    }
