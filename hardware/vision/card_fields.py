"""The fields of a US health-insurance card, read from Tesseract's words.

    words ──▶ lines ──▶ runs (columns) ──▶ tokens ──▶ labels ──▶ values ──▶ CardReading
                                                        │           ├─ the rest of the run
                                                        │           ├─ the next run on the line
                                                        │           └─ the words under the label
                                                        └─ the words no label took ──▶ payer

Cards print one field under many labels ("ID #", "Subscriber ID", "Identification No.") and
in several layouts: "Label: value", "Label value", the value under its label, two columns on
one line, grids of copays. Identifiers are corrected for the letter/digit confusions
Tesseract makes, by where they sit in the identifier. Every field carries a confidence made
of the words' OCR confidences, how clearly its label matched, whether the value has the
field's shape and whether it had to be corrected; a doubtful field is returned flagged for
review, never silently guessed.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from hardware.vision.payers import PayerDirectory, PayerMatch, shipped_payers
from hardware.vision.words import OcrWord, lines_of, runs_of
from shared.contracts.kiosk import CardField, CardFieldName

__all__ = [
    "EXPECTED_ON_EVERY_CARD",
    "NOT_FOUND",
    "REVIEW_BELOW",
    "CardReading",
    "FieldReading",
    "extract_card_fields",
]

REVIEW_BELOW = 0.80
# Without these the card is of no use: a card without them is flagged, not just left blank.
EXPECTED_ON_EVERY_CARD = (CardFieldName.PAYER_NAME, CardFieldName.MEMBER_ID)
MAX_VALUE_LENGTH = 80  # CardField's limit

LABEL_SIMILARITY = 0.80  # a label with a misread letter or two still counts
FUZZY_LABEL_LENGTH = 6  # shorter labels ("ID", "GRP", "ER") must be read exactly
MAX_LABEL_WORDS = 4
MAX_PREFIX = 4  # letters before the digits of a member id or group number
MAX_NAME_WORDS = 5
MAX_PAYER_WORDS = 6

# How much each doubt costs, as factors of the words' OCR confidence.
NEXT_RUN = 0.97  # the value stands in the next column, not beside its label
BELOW = 0.95  # the value stands under its label
PER_CORRECTION = 0.94  # each character swapped (O for 0, ...)
UNUSUAL_SHAPE = 0.80  # a value the field may have, though it seldom does: worth a look
WRONG_SHAPE = 0.50  # a value the field should not have
AMBIGUOUS = 0.80  # "I23456789", "MEDDADy": could be read either way
NO_DOLLAR_SIGN = 0.90
CONFLICT = 0.85  # another reading of the same field came close: staff decide
UNLISTED_PAYER = 0.50  # a payer name that is not in the directory
RIVAL_MARGIN = 0.15  # readings within this of the best are a conflict
PAYER_RIVAL_MARGIN = 0.05  # payers within this rank of the best (size and place count too)
WIDER_SPAN = 0.10  # a longer payer name may score this much less than a part of it
IN_A_VALUE = 0.80  # a payer named in a plan name or "Send claims to" rather than on its own

# Tesseract's confusions, both ways. Case matters: "b" is a 6 and "B" an 8, and "g" could be
# an 8 or a 9, so it is left for review.
_AS_DIGIT = {"O": "0", "o": "0", "Q": "0", "D": "0", "I": "1", "i": "1", "l": "1", "L": "1"}
_AS_DIGIT |= {"|": "1", "Z": "2", "z": "2", "S": "5", "s": "5", "G": "6", "b": "6", "B": "8"}
_AS_LETTER = {"0": "O", "1": "I", "2": "Z", "5": "S", "6": "G", "8": "B"}
_DIGITS = frozenset("0123456789")

_MEMBER_ID = re.compile(r"[A-Z]{0,4}\d{6,12}")
_MEDICARE_MBI = re.compile(  # CMS's Medicare Beneficiary Identifier, which avoids S L O I B Z
    r"[1-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y\d]\d[AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y\d]\d"
    r"[AC-HJKMNP-RT-Y]{2}\d{2}"
)
_ANY_MEMBER_ID = re.compile(r"[A-Z0-9]{5,20}")
_GROUP = re.compile(r"[A-Z]{0,4}\d{3,12}(-\d{1,6})*")
_ANY_GROUP = re.compile(r"[A-Z0-9][A-Z0-9-]{1,19}")
_RX_BIN = re.compile(r"\d{6}")
_RX_PCN = re.compile(r"[A-Z0-9]{1,10}")
_RX_GROUP = re.compile(r"[A-Z0-9][A-Z0-9-]{0,14}")
_PAYER_ID = re.compile(r"[A-Z0-9]{5}")
_NAME_WORD = re.compile(r"[A-Za-z][A-Za-z'.,-]*")
_MONEY = re.compile(r"(\d{1,3}(?:,\d{3})+|\d{1,6})(?:\.(\d{2}))?")
_PERCENT = re.compile(r"\d{1,3}(\.\d+)?%")
# In a code of letters and digits, a look-alike letter touching a digit ("AETNAO1"): either
# may be right, so nothing is corrected, and staff look.
_DOUBTFUL_IN_CODE = re.compile(r"[OILSBZ](?=\d)|(?<=\d)[OILSBZ]")
# The closing run of digits and digit look-alikes of a code, after at least one letter.
_DIGIT_TAIL = re.compile(r"(?<=[A-Z])[0-9OIL]+$")
_STRAY_MARKS = "_~`'\"\u2014\u2013"  # what Tesseract leaves from lines, dots and dust
_LABEL_THEN_VALUE = re.compile(r"([A-Za-z][A-Za-z.\-]*)([:#]|(?=\$))(.*)")
_GLUED_LABEL = re.compile(r"(Rx(?:BIN|PCN|GROUP|GRP)|BIN|PCN|GRP)([:#]?)(\w.*)", re.IGNORECASE)


# --- results ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldReading:
    """One field as read. `notes` say why it needs a look (or why it was left out)."""

    value: str | None = None
    confidence: float = 0.0
    needs_review: bool = False
    notes: tuple[str, ...] = ()


NOT_FOUND = FieldReading()


@dataclass(frozen=True)
class CardReading:
    """Every field of a card; a field the card did not show is `NOT_FOUND`."""

    fields: Mapping[CardFieldName, FieldReading]

    def __getitem__(self, name: CardFieldName) -> FieldReading:
        return self.fields.get(name, NOT_FOUND)

    def value(self, name: CardFieldName) -> str | None:
        return self[name].value

    @property
    def needs_review(self) -> bool:
        return any(reading.needs_review for reading in self.fields.values())

    def as_card_fields(self) -> dict[CardFieldName, CardField]:
        """The fields that were read, as the kiosk contract carries them."""
        return {
            name: CardField(value=reading.value, confidence=reading.confidence)
            for name, reading in self.fields.items()
            if reading.value is not None
        }


# --- labels -----------------------------------------------------------------------------

_LABEL_SPELLINGS: Mapping[CardFieldName | None, tuple[str, ...]] = {
    CardFieldName.MEMBER_ID: (
        "Member ID", "MemberID", "Member ID #", "Member No", "Member Number", "Mbr ID", "Mbr No",
        "ID", "ID #", "ID No", "ID Number", "Identification", "Identification No",
        "Identification Number", "Subscriber ID", "Subscriber ID #", "Subscriber #",
        "Subscriber No", "Subscriber Number", "Enrollee ID", "Policy #", "Policy No",
        "Policy Number", "Medicare Number", "Medicare No", "Medicare ID", "Medicaid ID",
        "Medicaid No",
    ),
    CardFieldName.GROUP_NUMBER: (
        "Group", "Group #", "Group No", "Group Number", "Group ID", "GRP", "GRP #", "GRP No",
        "GRP ID",
    ),
    CardFieldName.MEMBER_NAME: (
        "Member", "Member Name", "Mbr Name", "Name", "Subscriber", "Subscriber Name", "Enrollee",
        "Enrollee Name", "Patient Name",
    ),
    CardFieldName.PLAN_NAME: (
        "Plan", "Plan Name", "Plan Type", "Product", "Network", "Coverage", "Benefit Plan",
    ),
    CardFieldName.RX_BIN: ("RxBIN", "Rx BIN", "BIN", "RxBIN #", "Rx BIN #", "BIN #"),
    CardFieldName.RX_PCN: ("RxPCN", "Rx PCN", "PCN", "RxPCN #", "PCN #"),
    CardFieldName.RX_GRP: (
        "RxGRP", "Rx GRP", "RxGroup", "Rx Group", "RxGRP #", "Rx GRP #", "Rx Group #",
    ),
    CardFieldName.PAYER_ID: ("Payer ID", "PayerID", "Payer #", "Payer No", "EDI Payer ID"),
    CardFieldName.COPAY_PRIMARY_CARE: (
        "PCP", "PCP Copay", "Office Visit", "Office Visit Copay", "OV", "OV Copay", "Office",
        "Primary Care", "Primary Care Copay", "Primary Care Visit", "Primary", "Doctor Visit",
    ),
    CardFieldName.COPAY_SPECIALIST: (
        "Specialist", "Specialist Copay", "Specialist Visit", "SPC", "SPEC", "Spec Copay",
        "SPC Copay",
    ),
    CardFieldName.COPAY_URGENT_CARE: (
        "Urgent Care", "Urgent Care Copay", "UC", "UC Copay", "Urgent",
    ),
    CardFieldName.COPAY_EMERGENCY: (
        "ER", "ER Copay", "Emergency", "Emergency Room", "Emergency Room Copay", "EMER",
        "ER Visit",
    ),
    None: (  # labels of things that are no field here: their words are neither value nor payer
        "Health Plan", "Issuer", "Effective", "Effective Date", "Eff Date", "DOB",
        "Date of Birth", "Birth Date", "Dependents", "Dependent", "Members", "Member Services",
        "Customer Service", "Provider Services", "Providers", "Pharmacist", "Pharmacists",
        "Pharmacy", "Pharmacy Help Desk", "Claims", "Send Claims To", "Group Name", "Employer",
        "Deductible", "Coinsurance", "Out of Pocket", "OOP", "Copay", "Copays", "Copayment",
        "Copayments", "PCP Name", "PCP Phone", "Primary Care Physician",
        "Primary Care Provider", "Specialty", "Issue Date",
    ),
}  # fmt: skip

# Single words that are labels wherever they stand; other single words ("Plan", "Member",
# "Primary") are everyday words too, and count as labels only where a label can be.
_DISTINCT_LABEL_WORDS = frozenset(
    {"MEMBERID", "RXBIN", "RXPCN", "RXGRP", "RXGROUP", "BIN", "PCN", "GRP", "PCP", "SPC", "SPEC"}
    | {"UC", "ER", "EMER", "OV", "PAYERID"}
)
# Fields whose value is one token (or an id and its suffix): a label may follow it directly.
_ONE_TOKEN_FIELDS = frozenset(CardFieldName) - {
    CardFieldName.MEMBER_NAME,
    CardFieldName.PLAN_NAME,
    CardFieldName.PAYER_NAME,
}
_NUMBER_WORDS = frozenset({"#", "NO", "NUMBER", "NUM", "NBR", "NMBR"})


@dataclass(frozen=True, slots=True)
class _Label:
    field: CardFieldName | None  # None: a label of something we do not read
    keys: tuple[str, ...]
    anywhere: bool  # a label even in the middle of free text


def _label_key(text: str) -> str:
    """A word as labels are compared: upper case, letters and digits, "#" and "No." alike."""
    key = re.sub(r"[^A-Z0-9#]", "", text.upper())
    return "NO" if key in _NUMBER_WORDS else key


def _split_word(text: str) -> list[tuple[str, bool]]:
    """A word's parts and whether a colon ended each: "ID:W123" is a label and its value, and
    so are what Tesseract glues together ("RxPCNADV", "PCP$25"). Stray marks ("_", "/") go."""
    text = text.strip().strip(_STRAY_MARKS)
    if not any(char.isalnum() for char in text):
        mark = text.rstrip(":")
        return [(mark, text.endswith(":"))] if mark in ("$", "#") else []
    glued = _GLUED_LABEL.fullmatch(text)
    if glued:
        label, mark, rest = glued.groups()
        return [(label, mark == ":"), *([("#", False)] if mark == "#" else []), *_split_word(rest)]
    found = _LABEL_THEN_VALUE.fullmatch(text)
    if found:
        head, mark, rest = found.groups()
        parts = [(head, mark == ":")]
        if mark == "#":
            parts.append(("#", rest.startswith(":")))
            rest = rest.removeprefix(":")
        return parts + (_split_word(rest) if rest else [])
    if text.startswith("#") and len(text) > 1:
        return [("#", False), *_split_word(text[1:])]
    return [(text, False)]


def _build_labels() -> dict[tuple[str, ...], _Label]:
    labels: dict[tuple[str, ...], _Label] = {}
    for field, spellings in _LABEL_SPELLINGS.items():
        for spelling in spellings:
            parts = (part for word in spelling.split() for part, _ in _split_word(word))
            keys = tuple(key for key in map(_label_key, parts) if key)
            known = labels.get(keys)
            if known is not None and known.field != field:
                raise ValueError(f"label {spelling!r} is given to {known.field} and {field}")
            anywhere = field is not None and (len(keys) > 1 or keys[0] in _DISTINCT_LABEL_WORDS)
            labels[keys] = _Label(field=field, keys=keys, anywhere=anywhere)
    return labels


_LABELS = _build_labels()
_LABELS_BY_LENGTH: Mapping[int, tuple[list[str], list[_Label]]] = {
    length: (
        [" ".join(keys) for keys in _LABELS if len(keys) == length],
        [label for keys, label in _LABELS.items() if len(keys) == length],
    )
    for length in range(1, MAX_LABEL_WORDS + 1)
}


# --- tokens, runs, hits -----------------------------------------------------------------

_LABEL_ROLE = "label"
_IGNORED_ROLE = "ignored"
_PAYER_MAY_HIDE_IN = frozenset({CardFieldName.PLAN_NAME.value, _IGNORED_ROLE})


@dataclass(eq=False)
class _Token:
    """A word, or one part of a word split at a colon ("ID:W123")."""

    text: str
    key: str
    word: OcrWord
    marked: bool  # a colon or "#" closed it: whatever it ends is a label
    role: str | None = None  # None while free; "label", "ignored", or the field it is read as


@dataclass(eq=False)
class _Hit:
    label: _Label
    run: list[_Token]
    start: int
    end: int
    similarity: float  # 1.0 for an exact spelling

    @property
    def first_word(self) -> OcrWord:
        return self.run[self.start].word

    @property
    def last_word(self) -> OcrWord:
        return self.run[self.end - 1].word

    @property
    def printed(self) -> str:
        return " ".join(token.text for token in self.run[self.start : self.end])


@dataclass(frozen=True, slots=True)
class _Candidate:
    value: str | None
    confidence: float
    notes: tuple[str, ...] = ()
    review: bool = False  # even when confident


@dataclass(frozen=True, slots=True)
class _Read:
    """What a field's reader made of the tokens after a label."""

    value: str | None  # None: read and deliberately left out (coinsurance)
    used: int  # how many of the tokens it took
    factor: float = 1.0
    notes: tuple[str, ...] = ()


def _tokens_of(run: Sequence[OcrWord]) -> list[_Token]:
    tokens: list[_Token] = []
    for word in run:
        if word.text.strip() == ":" and tokens:
            tokens[-1].marked = True
        for text, marked in _split_word(word.text):
            tokens.append(_Token(text=text, key=_label_key(text), word=word, marked=marked))
    return tokens


def _label_at(run: list[_Token], start: int) -> _Hit | None:
    """The longest label starting at `start`: exact if any, else a near miss where a misread
    label is likely (the run's start, or before a colon)."""
    longest = min(MAX_LABEL_WORDS, len(run) - start)
    for length in range(longest, 0, -1):
        keys = tuple(token.key for token in run[start : start + length])
        label = _LABELS.get(keys)
        if label is not None:
            return _Hit(label, run, start, start + length, 1.0)
    for length in range(longest, 0, -1):
        if start > 0 and not run[start + length - 1].marked:
            continue
        keys = tuple(token.key for token in run[start : start + length])
        joined = " ".join(keys)
        if (
            not all(keys)
            or len(joined) < FUZZY_LABEL_LENGTH
            or not joined.replace(" ", "").isalpha()
        ):
            continue
        spellings, labels = _LABELS_BY_LENGTH[length]
        found = process.extractOne(
            joined,
            spellings,
            scorer=Levenshtein.normalized_similarity,
            score_cutoff=LABEL_SIMILARITY,
        )
        if found is not None:
            return _Hit(labels[found[2]], run, start, start + length, round(found[1], 3))
    return None


def _labels_in(run: list[_Token]) -> list[_Hit]:
    """The labels of a run, left to right. An everyday word is a label at the start of a
    run, before a colon, or where a label can follow: right after another label, or after
    the value of a field that takes one token."""
    hits: list[_Hit] = []
    start = 0
    while start < len(run):
        hit = _label_at(run, start)
        if hit is not None and _stands_as_label(hit, hits):
            hits.append(hit)
            start = hit.end
        else:
            start += 1
    return hits


def _stands_as_label(hit: _Hit, before: list[_Hit]) -> bool:
    if hit.start == 0 or hit.run[hit.end - 1].marked or hit.label.anywhere:
        return True
    if not before:
        return False
    previous = before[-1]
    return previous.end == hit.start or previous.label.field in _ONE_TOKEN_FIELDS


# --- readers: the tokens after a label, made into a field's value -------------------------


def _identifier_text(text: str) -> str:
    """Without spaces, hyphens and edge punctuation; in its own case, which tells look-alikes
    apart."""
    return re.sub(r"[\s\-]", "", text).strip(".,;:()[]'\"")


def _mixed_case(text: str) -> bool:
    """Cards print codes in capitals: a lower-case letter among them is likely misread."""
    letters = [char for char in text if char.isalpha()]
    return any(char.isupper() for char in letters) and any(char.islower() for char in letters)


def _swapped(
    text: str, table: Mapping[str, str], keep: Callable[[str], bool]
) -> tuple[str, int] | None:
    """`text` with look-alikes swapped through `table` and how many were; None when a
    character is neither kept nor swappable."""
    swapped, swaps = [], 0
    for char in text:
        if keep(char):
            swapped.append(char)
        elif char in table:
            swapped.append(table[char])
            swaps += 1
        else:
            return None
    return "".join(swapped), swaps


def _letters_then_digits(raw: str) -> tuple[str, int] | None:
    """`raw` read as a letter prefix and a digit body with the fewest swaps; on a tie, the
    fewest in the prefix (misread digits are likelier in the long body), then the longer
    prefix. None when no split works."""
    best: tuple[tuple[int, int, int], str] | None = None
    for split in range(min(MAX_PREFIX, len(raw)) + 1):
        prefix = _swapped(raw[:split], _AS_LETTER, str.isalpha)
        body = _swapped(raw[split:], _AS_DIGIT, _DIGITS.__contains__)
        if prefix is None or body is None or len(body[0]) < 3:
            continue
        rank = (prefix[1] + body[1], prefix[1], -split)
        if best is None or rank < best[0]:
            best = (rank, prefix[0].upper() + body[0])
    return None if best is None else (best[1], best[0][0])


def _settled_identifier(
    raw: str, *, expected: re.Pattern[str], plausible: re.Pattern[str], what: str
) -> tuple[str, float, tuple[str, ...]]:
    """An identifier as read or as corrected, upper case, with the factor its doubts cost and
    why."""
    upper, factor, notes = raw.upper(), 1.0, tuple[str, ...]()
    if expected.fullmatch(upper):
        value = upper
        if _mixed_case(raw):
            factor, notes = AMBIGUOUS, (f"{raw!r} mixes capitals and small letters",)
    else:
        corrected = _letters_then_digits(raw)
        if corrected is not None and expected.fullmatch(corrected[0]):
            value, swaps = corrected
            factor, notes = PER_CORRECTION**swaps, (f"read {raw!r}, corrected to {value!r}",)
        elif plausible.fullmatch(upper):
            return upper, UNUSUAL_SHAPE, (f"{raw!r} is an unusual {what}",)
        else:
            return upper, WRONG_SHAPE, (f"{raw!r} does not look like a {what}",)
    prefix = re.match(r"[A-Z]*", value)
    letters = prefix.group() if prefix else ""
    if letters and all(char in _AS_DIGIT for char in letters):
        factor *= AMBIGUOUS
        notes += (f"the prefix {letters!r} may be misread digits",)
    elif letters[-1:] in ("O", "I", "L") and len(value) > len(letters):
        factor *= AMBIGUOUS  # "PRAO17351759": the likeliest confusions, at the seam
        notes += (f"the {letters[-1]!r} before the digits may be a misread digit",)
    return value, factor, notes


def _read_member_id(tokens: Sequence[_Token]) -> _Read | None:
    raw, used = _identifier_text(tokens[0].text), 1
    if re.fullmatch(r"[A-Za-z]{2,4}", raw) and len(tokens) > 1:  # a prefix printed apart
        body = _identifier_text(tokens[1].text)
        if len(body) >= 5 and sum(char in _DIGITS for char in body) > len(body) / 2:
            raw, used = raw + body, 2
    if not raw:
        return None
    notes: tuple[str, ...]
    if _MEDICARE_MBI.fullmatch(raw):
        value, factor, notes = raw, 1.0, ()  # in capitals, or the pattern would not match
    else:
        value, factor, notes = _settled_identifier(
            raw, expected=_MEMBER_ID, plausible=_ANY_MEMBER_ID, what="member id"
        )
    if len(tokens) > used and re.fullmatch(r"\d{1,3}", tokens[used].text.strip()):
        value, used = f"{value} {tokens[used].text.strip()}", used + 1  # a dependant's suffix
    return _Read(value, used, factor, notes)


def _read_group(tokens: Sequence[_Token]) -> _Read | None:
    raw = _identifier_text(tokens[0].text) if "-" not in tokens[0].text else tokens[0].text
    raw = raw.strip(".,;:()")
    if not raw:
        return None
    value, factor, notes = _settled_identifier(
        raw, expected=_GROUP, plausible=_ANY_GROUP, what="group number"
    )
    return _Read(value, 1, factor, notes)


def _read_rx_bin(tokens: Sequence[_Token]) -> _Read | None:
    raw, used = _identifier_text(tokens[0].text), 1
    if len(raw) < 6 and len(tokens) > 1 and len(raw + _identifier_text(tokens[1].text)) == 6:
        raw, used = raw + _identifier_text(tokens[1].text), 2  # "610 014"
    if not raw:
        return None
    if _RX_BIN.fullmatch(raw):
        return _Read(raw, used)
    digits = _swapped(raw, _AS_DIGIT, _DIGITS.__contains__)
    if digits is not None and _RX_BIN.fullmatch(digits[0]):
        value, swaps = digits
        return _Read(value, used, PER_CORRECTION**swaps, (f"read {raw!r}, corrected to {value!r}",))
    return _Read(raw.upper(), used, WRONG_SHAPE, (f"a BIN has 6 digits, read {raw!r}",))


def _code_reader(shape: re.Pattern[str], what: str) -> Callable[[Sequence[_Token]], _Read | None]:
    """Codes such as a PCN mix letters and digits freely: nothing to correct, only to check."""

    def read(tokens: Sequence[_Token]) -> _Read | None:
        raw = tokens[0].text.strip(".,;:()[]'\"")
        code = raw.upper()
        if not code:
            return None
        if not shape.fullmatch(code):
            return _Read(code, 1, WRONG_SHAPE, (f"{raw!r} does not look like a {what}",))
        if _mixed_case(raw):
            return _Read(code, 1, AMBIGUOUS, (f"{raw!r} mixes capitals and small letters",))
        tail = _DIGIT_TAIL.search(code)
        if tail and any(ch in _DIGITS for ch in tail.group()):
            # "AETNAO1": a code's closing number is digits, so an O or I among them is one.
            fixed = code[: tail.start()] + "".join(_AS_DIGIT.get(ch, ch) for ch in tail.group())
            if fixed != code and not _DOUBTFUL_IN_CODE.search(fixed):
                note = f"read {code!r}, corrected to {fixed!r}"
                return _Read(
                    fixed,
                    1,
                    PER_CORRECTION ** sum(a != b for a, b in zip(code, fixed, strict=True)),
                    (note,),
                )
        doubtful = _DOUBTFUL_IN_CODE.search(code)
        if doubtful:
            note = f"{doubtful.group()!r} in {code!r} may be misread (O or 0, I or 1, ...)"
            return _Read(code, 1, AMBIGUOUS, (note,))
        return _Read(code, 1)

    return read


def _read_payer_id(tokens: Sequence[_Token]) -> _Read | None:
    """Payer ids are mostly five digits ("60054"), some letters and digits ("SX109")."""
    raw = _identifier_text(tokens[0].text)
    if not raw:
        return None
    if sum(char in _DIGITS for char in raw) >= 3 and not raw.isdigit():
        digits = _swapped(raw, _AS_DIGIT, _DIGITS.__contains__)
        if digits is not None and len(digits[0]) == 5:
            value, swaps = digits
            notes = (f"read {raw!r}, corrected to {value!r}",)
            return _Read(value, 1, PER_CORRECTION**swaps, notes)
    if _PAYER_ID.fullmatch(raw.upper()):
        return _Read(raw.upper(), 1, AMBIGUOUS if _mixed_case(raw) else 1.0)
    return _Read(raw.upper(), 1, WRONG_SHAPE, (f"{raw!r} does not look like a payer id",))


def _read_name(tokens: Sequence[_Token]) -> _Read | None:
    words: list[str] = []
    swaps = 0
    for token in tokens[:MAX_NAME_WORDS]:
        text = token.text.strip()
        if _NAME_WORD.fullmatch(text):
            words.append(text)
            continue
        letters = sum(char.isalpha() for char in text)
        fixed = _swapped(text, _AS_LETTER, lambda char: char.isalpha() or char in "'.,-")
        if fixed is None or letters * 2 < len(text):
            break
        words.append(fixed[0])
        swaps += fixed[1]
    if not words:
        return None
    value = " ".join(words).strip(" ,")
    factor = PER_CORRECTION**swaps * (1.0 if len(words) > 1 else UNUSUAL_SHAPE)
    notes: tuple[str, ...] = (f"corrected {swaps} digit(s) to letters",) if swaps else ()
    if len(words) == 1:
        notes += ("a single word: the name may be cut short",)
    return _Read(value, len(words), factor, notes)


def _read_text(tokens: Sequence[_Token]) -> _Read | None:
    value = " ".join(token.text for token in tokens).strip(" :,;")
    if not any(char.isalpha() for char in value):
        return None
    if len(value) > MAX_VALUE_LENGTH:
        return _Read(value[:MAX_VALUE_LENGTH].rstrip(), len(tokens), 1.0, ("cut to 80 characters",))
    return _Read(value, len(tokens))


def _read_copay(tokens: Sequence[_Token]) -> _Read | None:
    """Dollars as "25.00". A percentage is coinsurance, not a copay: read, and left out."""
    start = 0
    while start < len(tokens) and not tokens[start].key and tokens[start].text != "$":
        start += 1  # "/" and other filler between a label and its amount
    if start == len(tokens):
        return None
    text, used = tokens[start].text.strip().rstrip(",;."), start + 1
    if text == "$" and used < len(tokens):
        text, used = "$" + tokens[used].text.strip().rstrip(",;."), used + 1
    if _PERCENT.fullmatch(text):
        return _Read(None, used, 1.0, (f"coinsurance {text}, not a copay",))
    swaps = 0
    if len(text) > 1 and text[0] in "Ss" and text[1] in _DIGITS:
        text, swaps = "$" + text[1:], 1  # "$" read as "S"
    dollar_sign = text.startswith("$")
    amount = re.match(r"[0-9A-Za-z|,.]+", text.removeprefix("$"))
    if amount is None or not _DIGITS & set(amount.group()):
        return None
    digits = _swapped(amount.group(), _AS_DIGIT, lambda char: char in _DIGITS or char in ",.")
    if digits is None:
        return None
    found = _MONEY.fullmatch(digits[0].rstrip(".,"))
    if found is None:
        return None
    swaps += digits[1]
    dollars, cents = found.group(1).replace(",", ""), found.group(2) or "00"
    value = f"{Decimal(f'{dollars}.{cents}'):.2f}"
    factor, notes = PER_CORRECTION**swaps, tuple[str, ...]()
    if swaps:
        notes += (f"read {tokens[start].text!r}, corrected to ${value}",)
    if not dollar_sign:
        factor *= NO_DOLLAR_SIGN
        notes += ("no dollar sign",)
    return _Read(value, used, factor, notes)


_READERS: Mapping[CardFieldName, Callable[[Sequence[_Token]], _Read | None]] = {
    CardFieldName.MEMBER_ID: _read_member_id,
    CardFieldName.GROUP_NUMBER: _read_group,
    CardFieldName.MEMBER_NAME: _read_name,
    CardFieldName.PLAN_NAME: _read_text,
    CardFieldName.RX_BIN: _read_rx_bin,
    CardFieldName.RX_PCN: _code_reader(_RX_PCN, "processor control number"),
    CardFieldName.RX_GRP: _code_reader(_RX_GROUP, "pharmacy group"),
    CardFieldName.PAYER_ID: _read_payer_id,
    CardFieldName.COPAY_PRIMARY_CARE: _read_copay,
    CardFieldName.COPAY_SPECIALIST: _read_copay,
    CardFieldName.COPAY_URGENT_CARE: _read_copay,
    CardFieldName.COPAY_EMERGENCY: _read_copay,
}


# --- the card ---------------------------------------------------------------------------


def extract_card_fields(
    words: Sequence[OcrWord],
    *,
    payers: PayerDirectory | None = None,
    review_below: float = REVIEW_BELOW,
) -> CardReading:
    """Read a card's fields from its OCR words (one side or both). `payers` defaults to the
    shipped directory; an empty `PayerDirectory([])` reads the payer from the card alone."""
    directory = shipped_payers() if payers is None else payers
    lines = [[_tokens_of(run) for run in runs_of(line)] for line in lines_of(words)]
    hits = [[_labels_in(run) for run in line] for line in lines]
    found: dict[CardFieldName, list[_Candidate]] = defaultdict(list)

    for hit in (hit for line in hits for run_hits in line for hit in run_hits):
        for token in hit.run[hit.start : hit.end]:
            token.role = _LABEL_ROLE

    waiting: list[tuple[int, _Hit, CardFieldName]] = []  # labels whose value may be below
    for line_no, line in enumerate(lines):
        for run_no, run in enumerate(line):
            run_hits = hits[line_no][run_no]
            for index, hit in enumerate(run_hits):
                following = run_hits[index + 1] if index + 1 < len(run_hits) else None
                value = run[hit.end : following.start if following else len(run)]
                factor = 1.0
                if not value and following is None and run_no + 1 < len(line):
                    next_run, next_hits = line[run_no + 1], hits[line_no][run_no + 1]
                    value = next_run[: next_hits[0].start if next_hits else len(next_run)]
                    factor = NEXT_RUN
                if value:
                    _take(hit, value, factor, found)
                elif hit.label.field is not None:
                    waiting.append((line_no, hit, hit.label.field))

    for line_no, hit, field in waiting:
        line_hits = [other for others in hits[line_no] for other in others]
        below = _value_below(lines, line_no, hit, line_hits)
        if below:
            _take(hit, below, BELOW, found)
        elif hit.run[hit.end - 1].marked or hit.label.anywhere:  # surely a label: say so
            note = f"{hit.printed!r} has no value beside or under it"
            found[field].append(_Candidate(None, 0.0, (note,), review=True))

    fields = {name: _settled(found.get(name, []), review_below) for name in CardFieldName}
    payer_name, payer_id = _payer_fields(
        lines, words, directory, fields[CardFieldName.PAYER_ID], review_below
    )
    fields[CardFieldName.PAYER_NAME], fields[CardFieldName.PAYER_ID] = payer_name, payer_id
    if lines:
        for name in EXPECTED_ON_EVERY_CARD:
            if fields[name] == NOT_FOUND:
                fields[name] = FieldReading(None, 0.0, True, ("not found on the card",))
    return CardReading(fields)


def _take(
    hit: _Hit, tokens: Sequence[_Token], factor: float, found: dict[CardFieldName, list[_Candidate]]
) -> None:
    """Read the value of `hit` from `tokens`; the tokens it uses are no longer free."""
    field = hit.label.field
    if field is None:
        for token in tokens:
            token.role = _IGNORED_ROLE
        return
    read = _READERS[field](tokens)
    if read is None:
        return  # the words there are not this field's: a "PCP: Dr Jones" is no copay
    used = tokens[: read.used]
    for token in used:
        token.role = field
    notes = read.notes
    if hit.similarity < 1.0:
        notes += (f"label read as {hit.printed!r}",)
    if read.value is None:
        found[field].append(_Candidate(None, 0.0, notes))
        return
    ocr = min(token.word.confidence for token in used)
    confidence = ocr * factor * hit.similarity * read.factor
    found[field].append(_Candidate(read.value, confidence, notes))


def _value_below(
    lines: list[list[list[_Token]]], line_no: int, hit: _Hit, line_hits: list[_Hit]
) -> list[_Token]:
    """The free tokens on the next line that stand in the label's column: from the label's
    left edge to the next label to its right."""
    if line_no + 1 >= len(lines):
        return []
    label = hit.first_word
    left = label.left - label.height
    right = min(
        (other.first_word.left for other in line_hits if other.first_word.left > label.left),
        default=float("inf"),
    )
    column = [
        token for run in lines[line_no + 1] for token in run if left <= token.word.left < right
    ]
    if not column or column[0].word.top - hit.last_word.bottom > 1.5 * hit.last_word.height:
        return []
    value: list[_Token] = []
    for token in column:
        if token.role is not None:
            break
        value.append(token)
    return value


def _settled(candidates: Sequence[_Candidate], review_below: float) -> FieldReading:
    """The most confident reading of a field; a close rival with another value costs it."""
    valued = [c for c in candidates if c.value is not None]
    if not valued:
        if not candidates:
            return NOT_FOUND
        first = candidates[0]
        return FieldReading(None, 0.0, needs_review=first.review, notes=first.notes)
    best = max(valued, key=lambda c: c.confidence)
    close = best.confidence - RIVAL_MARGIN
    rivals = sorted(
        {c.value for c in valued if c.value not in (None, best.value) and c.confidence >= close}
    )
    confidence, notes = best.confidence, best.notes
    if rivals:
        confidence *= CONFLICT
        notes += ("also read " + ", ".join(repr(value) for value in rivals),)
    confidence = round(confidence, 3)
    review = best.review or bool(rivals) or confidence < review_below
    return FieldReading(best.value, confidence, review, notes)


# --- the payer --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _PayerCandidate:
    match: PayerMatch
    tokens: tuple[_Token, ...]
    rank: float


def _payer_fields(
    lines: list[list[list[_Token]]],
    words: Sequence[OcrWord],
    directory: PayerDirectory,
    printed_id: FieldReading,
    review_below: float,
) -> tuple[FieldReading, FieldReading]:
    """The payer: the free text that best matches the directory, favouring big text near the
    top (the logo line); a plan name or "Send claims to" may carry it too. Without a match,
    the biggest free text near the top, flagged."""
    if not words:
        return NOT_FOUND, printed_id
    card_top = min(w.top for w in words)
    card_height = max(max(w.bottom for w in words) - card_top, 1)
    tallest = max(max(w.height for w in words), 1)

    def prominence(tokens: Iterable[_Token]) -> float:
        boxes = [token.word for token in tokens]
        size = max(w.height for w in boxes) / tallest
        height_on_card = (min(w.top for w in boxes) - card_top) / card_height
        return (0.7 + 0.3 * size) * (1.0 - 0.2 * height_on_card)

    candidates: list[_PayerCandidate] = []
    matches: dict[str, PayerMatch | None] = {}
    for segment in _free_segments(lines, also=_PAYER_MAY_HIDE_IN):
        pieces = [
            (piece, token)
            for token in segment
            for piece in re.findall(r"[A-Za-z0-9&]+", token.text)
        ]
        for start in range(len(pieces)):
            for end in range(start + 1, min(start + MAX_PAYER_WORDS, len(pieces)) + 1):
                text = " ".join(piece for piece, _ in pieces[start:end])
                if text not in matches:
                    matches[text] = (
                        directory.match(text) if any(c.isalpha() for c in text) else None
                    )
                match = matches[text]
                if match is None:
                    continue
                tokens = tuple(dict.fromkeys(token for _, token in pieces[start:end]))
                in_value = any(token.role is not None for token in tokens)
                rank = match.score * prominence(tokens) * (IN_A_VALUE if in_value else 1.0)
                candidates.append(_PayerCandidate(match, tokens, rank))

    if not candidates:
        return _unlisted_payer(lines, card_top, card_height), printed_id
    best = max(candidates, key=lambda c: (round(c.rank, 6), len(c.tokens)))
    # "BlueCross BlueShield of Texs" names the Texas plan, though "BlueCross BlueShield" is exact
    wider = [
        c
        for c in candidates
        if set(c.tokens) > set(best.tokens) and c.match.score >= best.match.score - WIDER_SPAN
    ]
    if wider:
        best = max(wider, key=lambda c: (len(c.tokens), round(c.rank, 6)))
    rivals = sorted(
        {
            c.match.name
            for c in candidates
            if c.match.name != best.match.name
            and c.rank >= best.rank - PAYER_RIVAL_MARGIN
            and not set(c.tokens) & set(best.tokens)
        }
    )
    ocr = sum(token.word.confidence for token in best.tokens) / len(best.tokens)
    confidence = best.match.score * ocr
    notes: tuple[str, ...] = ()
    indirect = any(token.role is not None for token in best.tokens)
    if indirect:  # "Medicare Advantage" is a plan of a private payer, not Medicare
        notes += ("named only within another field",)
    if best.match.score < 1.0:
        notes += (
            f"read {' '.join(t.text for t in best.tokens)!r}, closest to {best.match.spelling!r}",
        )
    if rivals:
        confidence *= CONFLICT
        notes += ("also looks like " + ", ".join(rivals),)
    confidence = round(confidence, 3)
    review = indirect or bool(rivals) or confidence < review_below
    name = FieldReading(best.match.name, confidence, review, notes)
    return name, _payer_id(best.match, confidence, printed_id, review_below)


def _payer_id(
    match: PayerMatch, confidence: float, printed: FieldReading, review_below: float
) -> FieldReading:
    """The id the card prints, checked against the directory's; else the directory's."""
    if printed.value is not None:
        if match.payer_id is None or printed.value == match.payer_id:
            return printed
        adjusted = round(printed.confidence * CONFLICT, 3)
        note = f"the payer directory gives {match.payer_id} for {match.name}"
        return FieldReading(printed.value, adjusted, True, (*printed.notes, note))
    if match.payer_id is None:
        return FieldReading(
            None, 0.0, True, (f"{match.name}'s payer id depends on the state or region",)
        )
    return FieldReading(match.payer_id, confidence, confidence < review_below, ())


def _unlisted_payer(
    lines: list[list[list[_Token]]], card_top: int, card_height: int
) -> FieldReading:
    """The biggest free text in the top part of the card, where the logo line is: likely the
    payer, but with nothing to check it against it always needs a look."""
    top_text = [
        segment
        for segment in _free_segments(lines)
        if sum(char.isalpha() for token in segment for char in token.text) >= 3
        and segment[0].word.top - card_top <= 0.4 * card_height
    ]
    if not top_text:
        return NOT_FOUND
    biggest = max(
        top_text, key=lambda segment: (max(t.word.height for t in segment), -segment[0].word.top)
    )
    ocr = sum(token.word.confidence for token in biggest) / len(biggest)
    value = " ".join(token.text for token in biggest)[:MAX_VALUE_LENGTH]
    return FieldReading(
        value, round(min(ocr, UNLISTED_PAYER), 3), True, ("not in the payer directory",)
    )


def _free_segments(
    lines: list[list[list[_Token]]], also: frozenset[str] = frozenset()
) -> list[list[_Token]]:
    """Stretches of a run that no label took, nor a value unless its role is in `also`."""
    segments: list[list[_Token]] = []
    for line in lines:
        for run in line:
            current: list[_Token] = []
            for token in run:
                if token.role is None or token.role in also:
                    current.append(token)
                elif current:
                    segments.append(current)
                    current = []
            if current:
                segments.append(current)
    return segments
