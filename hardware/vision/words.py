"""Tesseract's words as boxes, regrouped into the lines and column runs a person reads.

Tesseract's own block and line ids follow its page segmentation, which splits a card's line
at a column gap or merges two lines of a tilted card; the boxes are what can be trusted.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from statistics import median

__all__ = ["COLUMN_GAP", "OcrWord", "lines_of", "runs_of"]

SAME_LINE_OVERLAP = 0.5  # of the shorter height: less is the line above or below
SAME_LINE_HEIGHTS = 2.5  # a word this many times taller than a line is a logo beside it
COLUMN_GAP = 1.5  # in word heights: wider than the space between two words of one phrase


@dataclass(frozen=True, slots=True)
class OcrWord:
    """One word as Tesseract read it: its pixel box and a confidence scaled to 0..1."""

    text: str
    left: int
    top: int
    width: int
    height: int
    confidence: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence is 0..1 (Tesseract's / 100), got {self.confidence}")
        if self.width < 0 or self.height < 0:
            raise ValueError(f"a box has no negative size, got {self.width} x {self.height}")

    @property
    def right(self) -> int:
        return self.left + self.width

    @property
    def bottom(self) -> int:
        return self.top + self.height

    @property
    def middle(self) -> float:
        return self.top + self.height / 2


def lines_of(words: Iterable[OcrWord]) -> list[list[OcrWord]]:
    """Words grouped into visual lines by vertical overlap, top to bottom, each left to right.
    Blank words are dropped."""
    lines: list[list[OcrWord]] = []
    for word in sorted((w for w in words if w.text.strip()), key=lambda w: (w.middle, w.left)):
        line = _line_for(word, lines)
        if line is None:
            lines.append([word])
        else:
            line.append(word)
    return [sorted(line, key=lambda w: w.left) for line in lines]  # made top to bottom


def _line_for(word: OcrWord, lines: list[list[OcrWord]]) -> list[OcrWord] | None:
    """The line whose band the word overlaps most, measured against the line's median box
    so that one tall or shifted word does not stretch it."""
    best: list[OcrWord] | None = None
    best_overlap = SAME_LINE_OVERLAP
    word_height = max(word.height, 1)
    for line in lines:
        top = median(w.top for w in line)
        bottom = median(w.bottom for w in line)
        line_height = max(bottom - top, 1)
        if max(line_height, word_height) > SAME_LINE_HEIGHTS * min(line_height, word_height):
            continue
        overlap = (min(bottom, word.bottom) - max(top, word.top)) / min(line_height, word_height)
        if overlap >= best_overlap:
            best, best_overlap = line, overlap
    return best


def runs_of(line: Sequence[OcrWord], *, column_gap: float = COLUMN_GAP) -> list[list[OcrWord]]:
    """A line cut where the space between two words is wider than `column_gap` times the
    line's median word height: the columns of a two-column card become separate runs."""
    ordered = sorted(line, key=lambda w: w.left)
    if not ordered:
        return []
    widest_space = column_gap * median(w.height for w in ordered)
    runs = [[ordered[0]]]
    for before, word in pairwise(ordered):
        if word.left - before.right > widest_space:
            runs.append([word])
        else:
            runs[-1].append(word)
    return runs
