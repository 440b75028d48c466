"""Reading X12 text, for any transaction: the separators (from the ISA), the segments with
their positions, and the envelopes (ISA/IEA, GS/GE, ST/SE) checked with their counts. A file
that cannot be read whole raises X12ReadError naming the first bad segment."""

from __future__ import annotations

import re
from dataclasses import dataclass

from shared.errors import BadRequest

_SEGMENT_ID = re.compile(r"[A-Z0-9]{2,3}")
_ENVELOPE_IDS = frozenset({"ISA", "IEA", "GS", "GE", "ST", "SE"})


class X12ReadError(BadRequest):
    """A file we cannot read whole: truncated, malformed, or not the transaction we expect."""

    code = "x12-unreadable"
    title = "Unreadable X12 file"


def x12_text(data: bytes) -> str:
    """A file's bytes as text: X12 is ASCII, but a payer's names may come in UTF-8 or
    Latin-1 (which reads any byte; what is not X12 is then the reader's to refuse)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


@dataclass(frozen=True)
class Segment:
    """One segment; `element(1)` is the guide's XX01. Absent elements read as ''."""

    id: str
    elements: tuple[str, ...]  # elements[0] is XX01
    position: int  # 1-based, counted from ISA
    component_separator: str
    repetition_separator: str

    def element(self, n: int) -> str:
        return self.elements[n - 1] if 0 < n <= len(self.elements) else ""

    def components(self, n: int) -> tuple[str, ...]:
        value = self.element(n)
        return tuple(value.split(self.component_separator)) if value else ()

    def where(self) -> str:
        return f"segment {self.position} ({self.id})"

    def fail(self, message: str) -> X12ReadError:
        return X12ReadError(f"{self.where()}: {message}")


@dataclass(frozen=True)
class TransactionSet:
    """The segments between ST and SE (both included), with the group's GS08 version."""

    version: str
    segments: tuple[Segment, ...]
    notes: tuple[str, ...] = ()


def _split(text: str) -> tuple[list[tuple[str, int]], str, str, str]:
    """The raw segments with their positions, and the element, component and repetition
    separators (read from the ISA: element at index 3, ISA16 and the terminator after it)."""
    text = text.lstrip("\ufeff \t\r\n")
    if not text:
        raise X12ReadError("empty file: no ISA segment")
    if not text.startswith("ISA") or len(text) < 4:
        raise X12ReadError("segment 1: the file does not start with an ISA segment")
    element = text[3]
    # ISA is fixed-width (106 characters), but count separators so a mis-padded one still reads.
    at = 3
    for _ in range(15):
        at = text.find(element, at + 1)
        if at < 0:
            raise X12ReadError("segment 1 (ISA): truncated before ISA16")
    if len(text) < at + 3:
        raise X12ReadError("segment 1 (ISA): truncated before ISA16")
    component, terminator = text[at + 1], text[at + 2]
    if terminator.isalnum() or len({element, component, terminator}) < 3:
        raise X12ReadError("segment 1 (ISA): cannot tell the separators apart")
    isa_elements = text[: at + 1].split(element)
    repetition = isa_elements[11] if len(isa_elements) > 11 and len(isa_elements[11]) == 1 else ""
    raw: list[tuple[str, int]] = []
    pieces = text.split(terminator)
    for index, piece in enumerate(pieces):
        body = piece.rstrip("\r") if terminator.isspace() else piece.strip("\r\n")
        last = index == len(pieces) - 1
        if last:
            if body.strip():
                name = body.split(element, 1)[0][:3] or "?"
                raise X12ReadError(
                    f"segment {len(raw) + 1} ({name}): truncated (the file ends inside it)"
                )
            break
        if not body.strip() and terminator.isspace():
            continue
        raw.append((body, len(raw) + 1))
    return raw, element, component, repetition


def read_interchange(text: str, *, functional_id: str, version: str) -> list[TransactionSet]:
    """Every transaction set in one interchange, after checking the envelopes (ISA/IEA,
    GS/GE, ST/SE and their counts). Raises X12ReadError naming the first bad segment."""
    raw, element, component, repetition = _split(text)
    segments: list[Segment] = []
    for body, position in raw:
        parts = body.split(element)
        if not _SEGMENT_ID.fullmatch(parts[0]):
            shown = parts[0][:10] or "nothing"
            raise X12ReadError(f"segment {position}: {shown!r} is not a segment id")
        segments.append(Segment(parts[0], tuple(parts[1:]), position, component, repetition))

    notes: list[str] = []
    sets: list[TransactionSet] = []
    isa = segments[0]
    if len(isa.elements) != 16:
        raise isa.fail(f"has {len(isa.elements)} elements, not 16")
    i, groups = 1, 0
    while i < len(segments) and segments[i].id == "GS":
        gs = segments[i]
        groups += 1
        if gs.element(1) != functional_id:
            raise gs.fail(f"GS01 is {gs.element(1)[:3]!r}, not {functional_id} (wrong transaction)")
        if gs.element(8) != version:
            raise gs.fail(f"GS08 is {gs.element(8)[:14]!r}, not {version}")
        i, count = i + 1, 0
        while i < len(segments) and segments[i].id == "ST":
            st = segments[i]
            end = i + 1
            while end < len(segments) and segments[end].id not in _ENVELOPE_IDS:
                end += 1
            if end == len(segments):
                raise X12ReadError(f"{segments[-1].where()}: truncated (no SE after it)")
            se = segments[end]
            if se.id != "SE":
                raise se.fail(f"expected SE to close the ST at segment {st.position}")
            members = tuple(segments[i : end + 1])
            if se.element(1) != str(len(members)):
                raise se.fail(
                    f"SE01 says {se.element(1)[:9]!r} segments, the set has {len(members)}"
                )
            set_notes = []
            if se.element(2) != st.element(2):
                set_notes.append(f"{se.where()}: SE02 does not match ST02")
            sets.append(TransactionSet(version, members, tuple(set_notes)))
            count += 1
            i = end + 1
        if i == len(segments):
            raise X12ReadError(f"{segments[-1].where()}: truncated (no GE after it)")
        ge = segments[i]
        if ge.id != "GE":
            raise ge.fail("expected ST (a transaction set) or GE")
        if ge.element(1) != str(count):
            raise ge.fail(f"GE01 says {ge.element(1)[:6]!r} sets, the group has {count}")
        if ge.element(2) != gs.element(6):
            notes.append(f"{ge.where()}: GE02 does not match GS06")
        i += 1
    if i == len(segments):
        raise X12ReadError(f"{segments[-1].where()}: truncated (no IEA after it)")
    iea = segments[i]
    if iea.id != "IEA":
        raise iea.fail("expected GS (a functional group) or IEA")
    if iea.element(1) != str(groups):
        raise iea.fail(f"IEA01 says {iea.element(1)[:5]!r} groups, the file has {groups}")
    if iea.element(2).lstrip("0") != isa.element(13).lstrip("0"):
        notes.append(f"{iea.where()}: IEA02 does not match ISA13")
    if i + 1 < len(segments):
        raise segments[i + 1].fail("data after IEA")
    return [TransactionSet(s.version, s.segments, tuple(notes) + s.notes) for s in sets]
