"""The payer directory: the shipped file, matching names as printed and as misread."""

from __future__ import annotations

from pathlib import Path

import pytest

from hardware.vision.payers import (
    MATCH_THRESHOLD,
    Payer,
    PayerDirectory,
    payer_key,
    shipped_payers,
)

SHIPPED = shipped_payers()
SPELLINGS = [
    pytest.param(payer.name, spelling, id=spelling)
    for payer in SHIPPED
    for spelling in (payer.name, *payer.aliases)
]


def test_the_shipped_directory_has_at_least_forty_payers_with_ids() -> None:
    assert sum(payer.payer_id is not None for payer in SHIPPED) >= 40


def test_the_shipped_directory_names_each_payer_once() -> None:
    names = [payer.name for payer in SHIPPED]

    assert len(names) == len(set(names))


@pytest.mark.parametrize(("name", "spelling"), SPELLINGS)
def test_every_shipped_spelling_finds_its_own_payer(name: str, spelling: str) -> None:
    match = SHIPPED.match(spelling)

    assert match is not None and (match.name, match.score) == (name, 1.0)


@pytest.mark.parametrize(
    ("name", "payer_id"),
    [
        ("Aetna", "60054"),
        ("Cigna", "62308"),
        ("UnitedHealthcare", "87726"),
        ("Humana", "61101"),
        ("Blue Cross and Blue Shield of Texas", "84980"),
        ("Florida Blue", "00590"),
        ("Highmark Blue Cross Blue Shield", "54771"),
        ("Empire BlueCross BlueShield", "00803"),
        ("Oxford Health Plans", "06111"),
        ("WellCare", "14163"),
        ("Ambetter", "68069"),
    ],
)
def test_well_known_payer_ids(name: str, payer_id: str) -> None:
    match = SHIPPED.match(name)

    assert match is not None and match.payer_id == payer_id


@pytest.mark.parametrize(
    ("printed", "name"),
    [
        ("aetna", "Aetna"),
        ("AETNA", "Aetna"),
        ("Aetna, Inc.", "Aetna"),
        ("Aetna Better Health", "Aetna Better Health"),
        ("UHC", "UnitedHealthcare"),
        ("United HealthCare", "UnitedHealthcare"),
        ("UnitedHealthcare Choice Plus", "UnitedHealthcare"),
        ("BlueCross BlueShield", "Blue Cross Blue Shield"),
        ("Blue Cross & Blue Shield of Texas", "Blue Cross and Blue Shield of Texas"),
        ("BCBS of Illinois", "Blue Cross and Blue Shield of Illinois"),
        ("Kaiser Permanente", "Kaiser Permanente"),
        ("TRICARE", "TRICARE"),
        ("Humana Military", "TRICARE East"),
        ("oscar", "Oscar Health"),
    ],
)
def test_names_as_printed_on_cards(printed: str, name: str) -> None:
    match = SHIPPED.match(printed)

    assert match is not None and match.name == name


@pytest.mark.parametrize(
    ("misread", "name"),
    [
        ("Aetra", "Aetna"),
        ("UnitedHea1thcare", "UnitedHealthcare"),
        ("Cigma", "Cigna"),
        ("Humama", "Humana"),
        ("B1ueCross B1ueShield of Texas", "Blue Cross and Blue Shield of Texas"),
        ("F1orida Blue", "Florida Blue"),
        ("Ambeter", "Ambetter"),
    ],
)
def test_a_misread_name_still_finds_its_payer(misread: str, name: str) -> None:
    match = SHIPPED.match(misread)

    assert match is not None and match.name == name


@pytest.mark.parametrize("misread", ["Aetra", "UnitedHea1thcare", "Cigma"])
def test_a_misread_name_scores_below_one_and_at_least_the_threshold(misread: str) -> None:
    match = SHIPPED.match(misread)

    assert match is not None and MATCH_THRESHOLD <= match.score < 1.0


@pytest.mark.parametrize(
    "text",
    [
        "Medical",
        "Pharmacy",
        "Member Services",
        "Dental",
        "Copay",
        "Emergency",
        "Network",
        "Health Plan",
        "MARIA GARCIA",
        "Prescription Drug List",
        "Acme Widgets",
    ],
)
def test_text_that_is_no_payer_is_refused(text: str) -> None:
    assert SHIPPED.match(text) is None


@pytest.mark.parametrize("text", ["", "  ", "A", "UH", "&"])
def test_text_too_short_to_tell_is_refused(text: str) -> None:
    assert SHIPPED.match(text) is None


def test_a_stricter_threshold_refuses_a_misread_name() -> None:
    strict = PayerDirectory(SHIPPED, threshold=0.9)

    assert strict.match("Aetra") is None


def test_a_spelling_shared_by_two_payers_is_refused() -> None:
    payers = [Payer("Aetna", "60054", ("Aetna Health",)), Payer("Other", None, ("aetna health",))]

    with pytest.raises(ValueError, match="spelling of Aetna and Other"):
        PayerDirectory(payers)


@pytest.mark.parametrize("payer_id", ["6005", "600544", "60-54"])
def test_a_payer_id_is_five_letters_or_digits(payer_id: str) -> None:
    with pytest.raises(ValueError, match="payer id"):
        Payer("Aetna", payer_id)


def test_a_directory_reads_its_csv(tmp_path: Path) -> None:
    path = tmp_path / "payers.csv"
    path.write_text("payer_id,name,aliases\n60054,Aetna,aetna| Aetna Health \n,Medicare,\n")

    assert list(PayerDirectory.from_csv(path)) == [
        Payer("Aetna", "60054", ("aetna", "Aetna Health")),
        Payer("Medicare", None, ()),
    ]


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Blue Cross & Blue Shield of Texas", ("blue", "cross", "blue", "shield", "texas")),
        ("Aetna, Inc.", ("aetna",)),
        ("UnitedHea1thcare", ("unitedhea1thcare",)),
    ],
)
def test_payer_key_keeps_the_words_that_matter(text: str, key: tuple[str, ...]) -> None:
    assert payer_key(text) == key
