"""Duplicate matching, pure: search keys, scoring a pair, ranking candidates."""

from datetime import date

import pytest

from backoffice.patients.matching import Demographics, rank_candidates, score_match, search_key

PHONE = "+16175550142"


def person(first: str, last: str, born: str, phone: str | None = None) -> Demographics:
    return Demographics(first, last, date.fromisoformat(born), phone)


# --- search_key -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Smith", "smith"),
        ("MCDONALD", "mcdonald"),
        ("  Smith  ", "smith"),
        ("O'Brien-Núñez", "obriennunez"),
        ("D'Angelo", "dangelo"),
        ("Mc Donald", "mcdonald"),
        ("José-María", "josemaria"),
        ("François", "francois"),
        ("Zoë", "zoe"),
        ("Straße", "strasse"),
        ("Nguyễn", "nguyen"),
    ],
)
def test_search_key_lower_cases_and_drops_accents_and_punctuation(name, key):
    assert search_key(name) == key


@pytest.mark.parametrize(
    ("written", "typed"),
    [
        # Unicode gives ø and ł no decomposition, so NFKD alone cannot reduce them.
        pytest.param("Søren", "Soren", id="o-stroke"),
        pytest.param("Bjørnstad", "Bjornstad", id="o-stroke inside"),
        pytest.param("Łukasz", "Lukasz", id="L-stroke"),
        pytest.param("Wałęsa", "Walesa", id="l-stroke and e-ogonek"),
    ],
)
def test_letters_with_strokes_key_like_their_plain_letter(written, typed):
    """A registrar types 'Soren' on a US keyboard and must still find 'Søren'."""
    assert search_key(written) == search_key(typed)


# --- pairs that are the same person -------------------------------------------------------------


SAME_PERSON = [
    pytest.param(
        person("Katherine", "Johnson", "1984-03-09"),
        person("Katherine", "Jonhson", "1984-03-09"),
        "same date of birth",
        id="last name letters swapped, same DOB",
    ),
    pytest.param(
        person("Michael", "Thompson", "1971-08-23"),
        person("Michael", "Thomson", "1971-08-23"),
        "same date of birth",
        id="last name letter dropped, same DOB",
    ),
    pytest.param(
        person("Wei", "Zhang", "1990-06-02"),
        person("Zhang", "Wei", "1990-06-02"),
        "same date of birth",
        id="first and last swapped",
    ),
    pytest.param(
        person("Thi Lan", "Nguyen", "1958-02-17"),
        person("Nguyen", "Thi Lan", "1958-02-17"),
        "same date of birth",
        id="two-word given name swapped with last name",
    ),
    pytest.param(
        person("José", "Núñez", "1962-11-30"),
        person("Jose", "Nunez", "1962-11-30"),
        "same date of birth",
        id="accents typed without",
    ),
    pytest.param(
        person("Zoë", "Bélanger", "1995-02-14"),
        person("ZOE", "BELANGER", "1995-02-14"),
        "same date of birth",
        id="upper case without accents",
    ),
    pytest.param(
        person("Ada", "Lovelace", "1985-12-10"),
        person("Ada", "Lovelace", "1985-12-16"),
        "date of birth differs by one digit or a day/month swap",
        id="DOB day mistyped",
    ),
    pytest.param(
        person("Ada", "Lovelace", "1985-12-10"),
        person("Ada", "Lovelace", "1986-12-10"),
        "date of birth differs by one digit or a day/month swap",
        id="DOB year mistyped",
    ),
    pytest.param(
        person("Ada", "Lovelace", "1985-12-10"),
        person("Ada", "Lovelace", "1985-10-12"),
        "date of birth differs by one digit or a day/month swap",
        id="DOB day and month swapped",
    ),
    pytest.param(
        person("Catherine", "Miller", "1990-04-17", PHONE),
        person("Katherine", "Miller", "1909-04-17", PHONE),
        "same phone",
        id="same phone, first name spelt differently, DOB garbled",
    ),
    pytest.param(
        person("Jon", "Smith", "1990-04-17", PHONE),
        person("John", "Smith", "1966-01-02", PHONE),
        "same phone",
        id="same phone, nickname spelling, DOB wrong",
    ),
]


@pytest.mark.parametrize(("new", "existing", "reason"), SAME_PERSON)
def test_same_person_matches_for_the_expected_reason(new, existing, reason):
    match = score_match(new, existing)
    assert match is not None
    assert reason in match.reasons
    assert 0.0 < match.score <= 100.0


@pytest.mark.parametrize(("new", "existing", "reason"), SAME_PERSON)
def test_matching_is_symmetric(new, existing, reason):
    assert score_match(new, existing) == score_match(existing, new)


def test_same_phone_adds_to_a_date_of_birth_match():
    without = score_match(
        person("Katherine", "Johnson", "1984-03-09"), person("Katherine", "Jonhson", "1984-03-09")
    )
    with_phone = score_match(
        person("Katherine", "Johnson", "1984-03-09", PHONE),
        person("Katherine", "Jonhson", "1984-03-09", PHONE),
    )
    assert without is not None and with_phone is not None
    assert "same phone" in with_phone.reasons and "same phone" not in without.reasons
    assert with_phone.score > without.score


def test_exact_match_scores_100():
    match = score_match(
        person("Maria", "Garcia", "1980-05-01", PHONE),
        person("Maria", "Garcia", "1980-05-01", PHONE),
    )
    assert match is not None and match.score == 100.0


# --- pairs that are different people ------------------------------------------------------------


DIFFERENT_PEOPLE = [
    pytest.param(
        person("John", "Smith", "2012-06-30"),
        person("Mary", "Smith", "2012-06-30"),
        id="twins John and Mary",
    ),
    pytest.param(
        person("Ethan", "Brown", "2015-04-17"),
        person("Olivia", "Brown", "2015-04-17"),
        id="twins Ethan and Olivia",
    ),
    pytest.param(
        person("John", "Smith", "2012-06-30"),
        person("Jane", "Smith", "2012-06-30"),
        id="twins John and Jane",
    ),
    pytest.param(
        person("Olivia", "Wilson", "2019-01-08"),
        person("Sophia", "Wilson", "2019-01-08"),
        id="twins Olivia and Sophia",
    ),
    pytest.param(
        person("Robert", "Johnson", "1970-03-02", PHONE),
        person("Emily", "Johnson", "2000-09-14", PHONE),
        id="father and daughter share a phone",
    ),
    pytest.param(
        person("John", "Smith", "1970-03-02", PHONE),
        person("James", "Smith", "2001-11-19", PHONE),
        id="father and son share a phone",
    ),
    pytest.param(
        person("Maria", "Garcia", "1975-03-02", PHONE),
        person("Sofia", "Garcia", "2005-09-14", PHONE),
        id="mother and daughter Maria and Sofia share a phone",
    ),
    pytest.param(
        person("Karen", "Davis", "1968-07-21", PHONE),
        person("Kevin", "Davis", "1999-02-03", PHONE),
        id="mother and son Karen and Kevin share a phone",
    ),
    pytest.param(
        person("Maria", "Garcia", "1980-05-01"),
        person("Maria", "Garcia", "1992-11-23"),
        id="common name, different DOB",
    ),
    pytest.param(
        person("James", "Smith", "1955-07-04", "+16175550100"),
        person("James", "Smith", "1988-02-29", "+17815550199"),
        id="common name, different DOB and phone",
    ),
    pytest.param(
        person("Ada", "Lovelace", "1985-12-10"),
        person("Ada", "Lovelace", "1958-12-10"),
        id="same name, DOB two digits apart",
    ),
    pytest.param(
        person("Priya", "Patel", "1985-12-10"),
        person("Ada", "Lovelace", "1985-12-10"),
        id="unrelated names, same DOB",
    ),
]


@pytest.mark.parametrize(("new", "existing"), DIFFERENT_PEOPLE)
def test_different_people_do_not_match(new, existing):
    assert score_match(new, existing) is None


# --- ranking ----------------------------------------------------------------------------------


def test_candidates_are_ranked_best_first_and_non_matches_dropped():
    new = person("Katherine", "Johnson", "1984-03-09", PHONE)
    pool = [
        ("dob-typo", person("Katherine", "Johnson", "1984-03-08")),
        ("exact", person("Katherine", "Johnson", "1984-03-09", PHONE)),
        ("stranger", person("Priya", "Patel", "1984-03-09")),
        ("name-typo", person("Katherine", "Jonhson", "1984-03-09")),
    ]
    ranked = rank_candidates(new, pool)
    assert [key for key, _ in ranked] == ["exact", "name-typo", "dob-typo"]
    scores = [m.score for _, m in ranked]
    assert scores == sorted(scores, reverse=True)


def test_ranking_keeps_only_the_best_few():
    new = person("Maria", "Garcia", "1980-05-01")
    pool = [(i, person("Maria", "Garcia", "1980-05-01")) for i in range(8)]
    assert len(rank_candidates(new, pool, limit=3)) == 3


def test_ranking_with_no_match_is_empty():
    new = person("Priya", "Patel", "1985-12-10")
    pool = [
        ("a", person("John", "Smith", "1985-12-10")),
        ("b", person("Mary", "Smith", "1970-01-01")),
    ]
    assert rank_candidates(new, pool) == []
