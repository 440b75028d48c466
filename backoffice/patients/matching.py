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

LIKELY = 85.0


def search_key(name: str) -> str:
    """Lower-case, accents and punctuation dropped: 'O'Brien-Núñez' → 'obriennunez'."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(ch for ch in decomposed.casefold() if ch.isalnum() and ch.isascii())


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


def name_similarity(a: Demographics, b: Demographics) -> float:
    """From 0 to 100; the best of field-by-field similarity and whole-name token similarity, which
    forgives first and last names entered the wrong way round."""
    first = JaroWinkler.normalized_similarity(search_key(a.first_name), search_key(b.first_name))
    last = JaroWinkler.normalized_similarity(search_key(a.last_name), search_key(b.last_name))
    by_field = 100.0 * (0.4 * first + 0.6 * last)
    whole = fuzz.token_sort_ratio(
        f"{search_key(a.first_name)} {search_key(a.last_name)}",
        f"{search_key(b.first_name)} {search_key(b.last_name)}",
    )
    return max(by_field, whole)


def birth_dates_close(a: date, b: date) -> bool:
    """One mistyped digit, or day and month swapped."""
    if a == b:
        return False
    if (a.year, a.month, a.day) == (b.year, b.day, b.month):
        return True
    return Levenshtein.distance(a.strftime("%Y%m%d"), b.strftime("%Y%m%d")) == 1


def score_match(new: Demographics, existing: Demographics) -> Match | None:
    names = name_similarity(new, existing)
    same_dob = new.date_of_birth == existing.date_of_birth
    same_phone = bool(new.phone) and new.phone == existing.phone
    reasons: list[str] = []
    if same_dob and names >= LIKELY:
        reasons += ["same date of birth", "similar name"]
        score = names
    elif same_phone and names >= 80:
        reasons += ["same phone", "similar name"]
        score = names - 5
    elif birth_dates_close(new.date_of_birth, existing.date_of_birth) and names >= 92:
        reasons += ["date of birth differs by one digit or a day/month swap", "similar name"]
        score = names - 10
    else:
        return None
    if same_phone and "same phone" not in reasons:
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
