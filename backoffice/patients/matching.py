"""Deciding whether two sets of demographics are probably the same person.

Pure functions: the service picks the candidates (same birth date, same phone, or same
last name), this module scores them. The rules follow what registrars see most: typos
and transposed names with the right birth date, a mistyped birth date with the right
name, and family members who share a phone but not a name.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from rapidfuzz import fuzz
from rapidfuzz.distance import JaroWinkler, Levenshtein

KEY_LENGTH = 80  # the width of the search-key columns
# Letters Unicode does not decompose, written as a US keyboard would type them.
_PLAIN_LATIN = str.maketrans(
    {
        "ø": "o",
        "ł": "l",
        "đ": "d",
        "ð": "d",
        "þ": "th",
        "æ": "ae",
        "œ": "oe",
        "ß": "ss",
        "\u0131": "i",  # dotless i
        "ħ": "h",
        "ŧ": "t",
    }
)
SIMILAR_PART = 0.88  # Jaro-Winkler similarity at which a first or last name counts as the same
SIMILAR_WHOLE = 90.0  # token similarity of the whole name, first and last in either order


def search_key(name: str) -> str:
    """Lower-case, accents and punctuation dropped: 'O'Brien-Núñez' → 'obriennunez',
    'Søren' → 'soren'. Letters of other scripts are kept, so '李' can be found too."""
    folded = unicodedata.normalize("NFKD", name.casefold().translate(_PLAIN_LATIN))
    key = "".join(ch for ch in folded if ch.isalnum() and not unicodedata.combining(ch))
    return key[:KEY_LENGTH]


@dataclass(frozen=True)
class Demographics:
    first_name: str
    last_name: str
    date_of_birth: date
    phone: str | None = None


@dataclass(frozen=True)
class Match:
    score: float
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class NameSimilarity:
    first: float  # 0 to 1
    last: float  # 0 to 1
    whole: float  # 0 to 100, order of the names ignored

    @property
    def same_person(self) -> bool:
        """Both names alike, or the whole name alike with first and last swapped. A shared
        last name alone is not enough: twins and parents share it."""
        both = self.first >= SIMILAR_PART and self.last >= SIMILAR_PART
        return both or self.whole >= SIMILAR_WHOLE

    @property
    def score(self) -> float:
        return max(100.0 * (0.4 * self.first + 0.6 * self.last), self.whole)


def name_similarity(a: Demographics, b: Demographics) -> NameSimilarity:
    first_a, first_b = search_key(a.first_name), search_key(b.first_name)
    last_a, last_b = search_key(a.last_name), search_key(b.last_name)
    return NameSimilarity(
        first=JaroWinkler.normalized_similarity(first_a, first_b),
        last=JaroWinkler.normalized_similarity(last_a, last_b),
        whole=fuzz.token_sort_ratio(f"{first_a} {last_a}", f"{first_b} {last_b}"),
    )


def birth_dates_close(a: date, b: date) -> bool:
    """One mistyped digit, or day and month swapped."""
    if a == b:
        return False
    if (a.year, a.month, a.day) == (b.year, b.day, b.month):
        return True
    return Levenshtein.distance(a.strftime("%Y%m%d"), b.strftime("%Y%m%d")) == 1


def score_match(new: Demographics, existing: Demographics) -> Match | None:
    names = name_similarity(new, existing)
    if not names.same_person:
        return None
    same_phone = bool(new.phone) and new.phone == existing.phone
    if new.date_of_birth == existing.date_of_birth:
        reasons, score = ["same date of birth", "similar name"], names.score
    elif birth_dates_close(new.date_of_birth, existing.date_of_birth) and names.score >= 92:
        reasons = ["date of birth differs by one digit or a day/month swap", "similar name"]
        score = names.score - 10
    elif same_phone:
        return Match(score=round(names.score - 5, 1), reasons=("same phone", "similar name"))
    else:
        return None
    if same_phone:
        reasons.append("same phone")
        score += 5
    return Match(score=round(min(score, 100.0), 1), reasons=tuple(reasons))


K = TypeVar("K")


def rank_candidates(
    new: Demographics, existing: list[tuple[K, Demographics]], limit: int = 5
) -> list[tuple[K, Match]]:
    scored = [(key, m) for key, d in existing if (m := score_match(new, d)) is not None]
    scored.sort(key=lambda pair: pair[1].score, reverse=True)
    return scored[:limit]
