"""Who issued an insurance card, found from the name printed on it.

The directory (`data/payers.csv`: payer_id, name, aliases separated by '|') gives each payer
its electronic claim payer id. An empty payer id means the payer's claims go to a state or
regional id that the card's name alone does not settle ("Blue Cross Blue Shield", "Molina
Healthcare"): the name is still worth knowing, the id is for staff to choose.

Names are compared after dropping case, punctuation and filler words ("of", "and"), both as
sorted tokens (word order does not matter) and squashed together ("BlueCross" is "Blue
Cross"). The score is a Levenshtein similarity, not rapidfuzz's default Indel ratio: a
misread letter is one substitution, so "Aetra" scores 0.8 against "Aetna" while "Medical"
scores 0.75 against "Medicare" (the Indel ratio gives both 0.8).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

__all__ = [
    "MATCH_THRESHOLD",
    "PAYERS_CSV",
    "Payer",
    "PayerDirectory",
    "PayerMatch",
    "payer_key",
    "shipped_payers",
]

PAYERS_CSV = Path(__file__).parent / "data" / "payers.csv"
MATCH_THRESHOLD = 0.80  # one misread letter in five
MIN_KEY_LENGTH = 3  # "UHC"; shorter text matches too much by chance

_FILLER_WORDS = frozenset({"of", "and", "the", "inc", "co", "company", "corp", "llc"})
_PAYER_ID = re.compile(r"[A-Z0-9]{5}")


@dataclass(frozen=True, slots=True)
class Payer:
    name: str
    payer_id: str | None  # None: depends on the state or region
    aliases: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("a payer needs a name")
        if self.payer_id is not None and not _PAYER_ID.fullmatch(self.payer_id):
            raise ValueError(f"{self.name}: payer id {self.payer_id!r} is not 5 letters or digits")


@dataclass(frozen=True, slots=True)
class PayerMatch:
    name: str  # the directory's canonical name
    payer_id: str | None
    score: float  # 0..1, 1 for an exact spelling
    spelling: str  # the name or alias that matched


def payer_key(text: str) -> tuple[str, ...]:
    """The words of a payer name that matter, lower case: what both sides are compared on."""
    words = re.sub(r"[^a-z0-9]+", " ", text.lower().replace("&", " and ")).split()
    return tuple(word for word in words if word not in _FILLER_WORDS)


class PayerDirectory:
    """Payers by every spelling printed on their cards, matched fuzzily."""

    def __init__(self, payers: Iterable[Payer], *, threshold: float = MATCH_THRESHOLD) -> None:
        self.payers = tuple(payers)
        self.threshold = threshold
        # rapidfuzz turns the cutoff into a distance and loses a score equal to it to rounding
        self._cutoff = threshold - 1e-6
        owners: dict[str, Payer] = {}
        self._spellings: list[tuple[Payer, str]] = []
        self._sorted_keys: list[str] = []
        self._squashed_keys: list[str] = []
        for payer in self.payers:
            for spelling in (payer.name, *payer.aliases):
                words = payer_key(spelling)
                squashed = "".join(words)
                owner = owners.setdefault(squashed, payer)
                if owner is not payer:
                    raise ValueError(f"{spelling!r} is a spelling of {owner.name} and {payer.name}")
                if len(squashed) < MIN_KEY_LENGTH:
                    raise ValueError(f"{spelling!r} is too short to match safely")
                self._spellings.append((payer, spelling))
                self._sorted_keys.append(" ".join(sorted(words)))
                self._squashed_keys.append(squashed)

    @classmethod
    def from_csv(
        cls, path: Path = PAYERS_CSV, *, threshold: float = MATCH_THRESHOLD
    ) -> PayerDirectory:
        with path.open(newline="", encoding="utf-8") as file:
            rows = list(csv.DictReader(file))
        return cls(
            (
                Payer(
                    name=row["name"].strip(),
                    payer_id=row["payer_id"].strip() or None,
                    aliases=tuple(
                        a.strip() for a in (row["aliases"] or "").split("|") if a.strip()
                    ),
                )
                for row in rows
            ),
            threshold=threshold,
        )

    def __len__(self) -> int:
        return len(self.payers)

    def __iter__(self) -> Iterator[Payer]:
        return iter(self.payers)

    def match(self, text: str) -> PayerMatch | None:
        """The payer `text` names, or None when no spelling scores `threshold` or more."""
        words = payer_key(text)
        squashed = "".join(words)
        if len(squashed) < MIN_KEY_LENGTH:
            return None
        best: tuple[float, int] | None = None
        for query, keys in (
            (" ".join(sorted(words)), self._sorted_keys),
            (squashed, self._squashed_keys),
        ):
            found = process.extractOne(
                query, keys, scorer=Levenshtein.normalized_similarity, score_cutoff=self._cutoff
            )
            if found is not None and (best is None or found[1] > best[0]):
                best = (found[1], found[2])
        if best is None:
            return None
        score, index = best
        payer, spelling = self._spellings[index]
        return PayerMatch(
            name=payer.name,
            payer_id=payer.payer_id,
            score=round(min(score, 1.0), 4),
            spelling=spelling,
        )


@cache
def shipped_payers() -> PayerDirectory:
    """The directory shipped with the kiosk, read once."""
    return PayerDirectory.from_csv(PAYERS_CSV)
