"""Insurance cards drawn as text and laid out into the words Tesseract would return.

Each line of a drawing is one printed line and each character one column of the card, so a
drawing shows the layout it tests: three spaces or more are a column gap, one or two are
the space between the words of a phrase.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping

from hardware.vision.words import OcrWord

LINE_HEIGHT = 20  # px, a word's box
CHAR_WIDTH = 12  # px at LINE_HEIGHT: one space is 0.6 of a line height
MARGIN = 10


def lay_out(
    drawing: str,
    *,
    confidence: float = 0.95,
    confidences: Mapping[str, float] | None = None,
    heights: Mapping[int, int] | None = None,
    top: int = MARGIN,
) -> list[OcrWord]:
    """The words of `drawing`, in reading order. `confidences` overrides the confidence of
    the words with those texts; `heights` gives the lines (by index) printed bigger."""
    words = []
    for row, line in enumerate(textwrap.dedent(drawing).strip("\n").splitlines()):
        height = (heights or {}).get(row, LINE_HEIGHT)
        char_width = CHAR_WIDTH * height / LINE_HEIGHT
        for word in re.finditer(r"\S+", line):
            words.append(
                OcrWord(
                    text=word.group(),
                    left=round(MARGIN + word.start() * char_width),
                    top=top,
                    width=round(len(word.group()) * char_width),
                    height=height,
                    confidence=(confidences or {}).get(word.group(), confidence),
                )
            )
        top += round(height * 1.5)
    return words
